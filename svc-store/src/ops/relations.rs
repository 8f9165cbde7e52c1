//! Bindings of users to DECT phones (the relation types) and a user's provisioning source.

use super::*;

impl Tx<'_, '_> {
    /// Binds. A bind made here stamps the relation and both records now; one taken over from
    /// an OMM (`taken_over` = its relation stamp) keeps that stamp and leaves the records'
    /// stamps alone, so the records still equal the OMM's at the next reconciliation.
    pub(super) fn bind(
        &mut self,
        uid: u32,
        ppn: u32,
        rel_type: RelType,
        taken_over: Option<u64>,
    ) -> Result<StoreResponse, StoreError> {
        if rel_type == RelType::Unbound {
            return Err(StoreError::RelationChange(
                "bind needs Dynamic or Fixed".into(),
            ));
        }
        let mut user: User = self.record(uid)?;
        let mut device: Device = self.get(Db::Devices, ppn, Entity::Device)?;
        if user.ppn != 0 && user.ppn != ppn {
            return Err(StoreError::RelationChange(format!(
                "user {uid} is bound to device {}",
                user.ppn
            )));
        }
        if device.uid != 0 && device.uid != uid {
            return Err(StoreError::RelationChange(format!(
                "device {ppn} is bound to user {}",
                device.uid
            )));
        }
        let t = taken_over.unwrap_or_else(now);
        user.ppn = ppn;
        user.rel_type = rel_type;
        user.timestamp_relation = t;
        device.uid = uid;
        device.rel_type = rel_type;
        device.timestamp_relation = t;
        if taken_over.is_none() {
            user.timestamp = t;
            device.timestamp = t;
            // A binding made at the MOM follows the handset: a user bound to a handset that
            // lives at an OMM lives there too (profile §4), so that OMM's link creates the
            // user with the binding and later edits reach it. A permanent user is on every
            // OMM already.
            if device.location != 0 && !user.permanent && user.home_omm != device.location {
                user.home_omm = device.location;
                user.omm_uid = 0;
            }
        }
        self.save_pair(&user, &device)?;
        Ok(StoreResponse::Done)
    }

    pub(super) fn unbind(&mut self, uid: u32) -> Result<StoreResponse, StoreError> {
        let mut user: User = self.record(uid)?;
        if user.ppn == 0 {
            return Err(StoreError::RelationChange(format!(
                "user {uid} is not bound"
            )));
        }
        let mut device: Device = self.get(Db::Devices, user.ppn, Entity::Device)?;
        let t = now();
        user.ppn = 0;
        user.rel_type = RelType::Unbound;
        user.timestamp_relation = t;
        user.timestamp = t;
        device.uid = 0;
        device.rel_type = RelType::Unbound;
        device.timestamp_relation = t;
        device.timestamp = t;
        self.save_pair(&user, &device)?;
        Ok(StoreResponse::Done)
    }

    pub(super) fn change_relation_type(
        &mut self,
        uid: u32,
        rel_type: RelType,
    ) -> Result<StoreResponse, StoreError> {
        let mut user: User = self.record(uid)?;
        if user.ppn == 0 {
            return Err(StoreError::RelationChange(format!(
                "user {uid} is not bound"
            )));
        }
        let mut device: Device = self.get(Db::Devices, user.ppn, Entity::Device)?;
        rules::check_relation_change(user.rel_type, rel_type, device.s)?;
        let t = now();
        user.rel_type = rel_type;
        user.timestamp_relation = t;
        user.timestamp = t;
        device.rel_type = rel_type;
        device.timestamp_relation = t;
        device.timestamp = t;
        self.save_pair(&user, &device)?;
        Ok(StoreResponse::Done)
    }

    pub(super) fn change_source(
        &mut self,
        uid: u32,
        source: Source,
    ) -> Result<StoreResponse, StoreError> {
        let mut user: User = self.record(uid)?;
        rules::check_source_change(user.source, source, user.rel_type, user.permanent)?;
        user.source = source;
        user.timestamp = now();
        self.view.put_record(&user)?;
        self.changed_at(Entity::User, uid, ChangeOp::Put, owner(&user));
        Ok(StoreResponse::Done)
    }
}
