//! OMM records: their addresses (one record per OMM) and the provisioning state of each.

use super::*;

/// The first fields of a stored OMM record, borrowed: what the address check reads. Their
/// order is [`Omm`]'s (postcard reads fields in order; a test guards it).
#[derive(serde::Deserialize)]
struct OmmAddresses<'a> {
    id: u32,
    _enabled: bool,
    name: &'a str,
    _description: &'a str,
    omm1: &'a str,
    omm2: &'a str,
}

impl Tx<'_, '_> {
    pub(super) fn put_omm(&mut self, mut omm: Omm) -> Result<StoreResponse, StoreError> {
        if omm.name.trim().is_empty() {
            return Err(invalid("the OMM name must not be empty"));
        }
        crate::fields::check_label("the OMM name", &omm.name)?;
        crate::fields::check_label("the description", &omm.description)?;
        if omm.omm1.trim().is_empty() {
            return Err(invalid("the OMM 1 address must not be empty"));
        }
        let mut addresses = vec![model::OmmAddress::parse(&omm.omm1)
            .map_err(|e| invalid(format!("OMM 1 address: {e}")))?];
        if !omm.omm2.is_empty() {
            addresses.push(
                model::OmmAddress::parse(&omm.omm2)
                    .map_err(|e| invalid(format!("OMM 2 address: {e}")))?,
            );
        }
        self.check_address_unused(omm.id, &addresses)?;
        crate::fields::check_cloud_id(&omm.cloud_id)?;
        if omm.placeholders.len() > MAX_PLACEHOLDERS {
            return Err(invalid(format!(
                "the placeholder file is {} bytes; at most {MAX_PLACEHOLDERS} are allowed",
                omm.placeholders.len()
            )));
        }
        if let Some(e) = provisioning::PlaceholderFile::parse(&omm.placeholders)
            .1
            .first()
        {
            return Err(invalid(format!("placeholder file, {e}")));
        }
        if omm.id != 0 {
            // Link state belongs to svc-axi, the provisioning state to svc-axi and svc-web:
            // an edit keeps them.
            if let Some(old) = self.view.record::<Omm>(omm.id)? {
                omm.health = old.health;
                omm.provisioning_state = old.provisioning_state;
                if omm.cloud_id.is_empty() {
                    omm.cloud_id = old.cloud_id;
                }
            }
        }
        omm.id = self.take_id(Db::Omms, omm.id)?;
        self.view.put_record(&omm)?;
        self.changed(Entity::Omm, omm.id, ChangeOp::Put);
        Ok(StoreResponse::Created(omm.id))
    }

    /// One OMM, one record: refuses `addresses` when another record than `id` has one of
    /// them (a second record would open a second link to the same OMM). Reads only the
    /// start of each record, borrowed ([`OmmAddresses`]), so adding OMMs one by one stays
    /// cheap at thousands of them.
    pub(super) fn check_address_unused(
        &self,
        id: u32,
        addresses: &[model::OmmAddress],
    ) -> Result<(), StoreError> {
        let mut taken = None;
        self.view.scan(Db::Omms, None, |_, raw| {
            let (other, _) = postcard::take_from_bytes::<OmmAddresses<'_>>(raw)
                .map_err(|e| StoreError::Storage(format!("an OMM record: {e}")))?;
            if other.id == id {
                return Ok(true);
            }
            let clash = [other.omm1, other.omm2]
                .into_iter()
                .filter(|a| !a.is_empty())
                .filter_map(|a| model::OmmAddress::parse(a).ok())
                .find(|theirs| addresses.iter().any(|a| a.same_as(theirs)));
            if let Some(address) = clash {
                taken = Some(format!(
                    "the address {}:{} is already OMM {} ({})",
                    address.host,
                    address.port,
                    other.id,
                    model::printable(other.name)
                ));
                return Ok(false);
            }
            Ok(true)
        })?;
        taken.map_or(Ok(()), |why| Err(invalid(why)))
    }

    /// Changes OMM `id`'s provisioning state.
    pub(super) fn provisioning(
        &mut self,
        id: u32,
        change: impl FnOnce(&mut model::ProvisioningState),
    ) -> Result<StoreResponse, StoreError> {
        let mut omm: Omm = self.record(id)?;
        let before = omm.provisioning_state.clone();
        change(&mut omm.provisioning_state);
        if omm.provisioning_state != before {
            self.view.put_record(&omm)?;
            self.changed(Entity::Omm, id, ChangeOp::Put);
        }
        Ok(StoreResponse::Done)
    }

    pub(super) fn record_fetch(
        &mut self,
        id: u32,
        fetch: model::ConfigFetch,
        served: Option<String>,
    ) -> Result<StoreResponse, StoreError> {
        let was_served = served.is_some();
        if let Some(text) = served {
            self.view.put(Db::Meta, &meta::served(id), &text)?;
        }
        self.provisioning(id, |state| {
            state.last_fetch = Some(fetch);
            if was_served {
                state.warning.clear();
                state.update_sent = None;
            }
        })
    }

    pub(super) fn delete_omm(&mut self, id: u32) -> Result<StoreResponse, StoreError> {
        let _: Omm = self.record(id)?;
        // Rooms it hosted stay at the MOM (OMM id 0) instead of pointing nowhere.
        let rooms: Vec<ConferenceRoom> = self.view.records()?;
        for mut room in rooms.into_iter().filter(|r| r.omm_id == id) {
            room.omm_id = 0;
            self.view.put_record(&room)?;
            self.changed(Entity::ConferenceRoom, room.id, ChangeOp::Put);
        }
        self.view.delete(Db::Omms, &id_key(id))?;
        self.view.delete(Db::Meta, &meta::served(id))?;
        self.drop_conflicts(id)?;
        self.changed(Entity::Omm, id, ChangeOp::Delete);
        Ok(StoreResponse::Done)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_address_check_reads_the_first_fields_of_an_omm_record() {
        let omm = model::Omm {
            id: 7,
            name: "Ward".into(),
            description: "north".into(),
            omm1: "192.0.2.1".into(),
            omm2: "192.0.2.2:4000".into(),
            password: "secret".into(),
            ..model::Omm::default()
        };
        let raw = postcard::to_stdvec(&omm).unwrap();
        let (view, _) = postcard::take_from_bytes::<super::OmmAddresses<'_>>(&raw).unwrap();
        assert_eq!(
            (view.id, view.name, view.omm1, view.omm2),
            (7, "Ward", "192.0.2.1", "192.0.2.2:4000")
        );
    }
}
