//! Every write the store accepts, applied inside one LMDB write transaction, with the
//! integrity rules enforced here and nowhere else: [`Tx::apply`] dispatches each request to
//! the module of its records (accounts, OMMs, users and DECT phones, relations, rooms,
//! statistics); [`schema`] holds the database's version and meta keys.

use crate::rules::{self, MAX_PERMANENT_USERS};
use crate::storage::{id_key, seq_key, Db};
use ipc::api::store::{
    AccountUpdate, ChangeOp, NewAccount, StoreError, StoreRequest, StoreResponse,
};
use model::{
    now, Account, ConferenceRoom, ConfigTemplate, Counter, Device, Entity, EventEntry, Ipei, Omm,
    RelType, Settings, Severity, Source, Tombstone, User, COUNTER_HISTORY, DEFAULT_ACCOUNT_ID,
    EVENT_LOG_CAPACITY,
};

/// Largest configuration template.
pub use crate::fields::MAX_TEMPLATE;

/// Largest placeholder file of one OMM.
pub use provisioning::MAX_PLACEHOLDERS;

mod accounts;
mod directory;
mod omms;
mod relations;
mod rooms;
pub mod schema;
mod statistics;

#[cfg(test)]
pub(crate) use accounts::hash_for_tests;
use accounts::hash_password;
pub use accounts::verify_password;
use directory::owner;
pub use schema::{
    default_template, meta, new_database_id, CHANGE_LOG_CAPACITY, DEFAULT_TEMPLATE, SCHEMA_VERSION,
};

/// A write transaction plus the changes it made, for the change feed.
pub struct Tx<'v, 'e> {
    /// The LMDB transaction.
    pub view: &'v mut crate::storage::WriteView<'e>,
    /// Changes made so far.
    pub changes: Vec<(Entity, u32, ChangeOp, u32)>,
    /// The OMM whose link asked for this write (`StoreRequest::FromOmm`), 0 for anyone else.
    pub origin: u32,
}

fn not_found(entity: Entity, id: u32) -> StoreError {
    StoreError::NotFound { entity, id }
}

fn invalid(why: impl Into<String>) -> StoreError {
    StoreError::Invalid(why.into())
}

impl Tx<'_, '_> {
    pub(crate) fn changed(&mut self, entity: Entity, id: u32, op: ChangeOp) {
        self.changed_at(entity, id, op, 0);
    }

    /// A change of a record that belongs to OMM `omm`.
    fn changed_at(&mut self, entity: Entity, id: u32, op: ChangeOp, omm: u32) {
        self.changes.push((entity, id, op, omm));
    }

    /// Creates the schema version, default settings and the default account `mom`/`mom` in
    /// an empty database. Does nothing to an initialised one.
    ///
    /// # Errors
    /// [`StoreError::Storage`].
    pub fn initialise(&mut self) -> Result<bool, StoreError> {
        if self.view.get_raw(Db::Meta, meta::SCHEMA)?.is_some() {
            return Ok(false);
        }
        self.view.put(Db::Meta, meta::SCHEMA, &SCHEMA_VERSION)?;
        self.view
            .put(Db::Meta, meta::DATABASE_ID, &new_database_id())?;
        self.view
            .put(Db::Meta, meta::SETTINGS, &Settings::default())?;
        let account = Account {
            id: DEFAULT_ACCOUNT_ID,
            name: "mom".into(),
            password_hash: hash_password("mom")?,
            enabled: true,
            read: true,
            write: true,
            must_change_password: true,
        };
        self.put_account(&account)?;
        self.changed(Entity::Account, DEFAULT_ACCOUNT_ID, ChangeOp::Put);
        self.view
            .put(Db::Meta, meta::TEMPLATE, &default_template())?;
        Ok(true)
    }

    /// Applies one write request.
    ///
    /// # Errors
    /// The [`StoreError`] of the first rule the request breaks; the caller aborts the
    /// transaction so nothing of it is kept.
    pub fn apply(&mut self, request: StoreRequest) -> Result<StoreResponse, StoreError> {
        use StoreRequest as R;
        match request {
            R::PutSettings(settings) => self.put_settings(&settings),
            R::CreateAccount(new) => self.create_account(new),
            R::UpdateAccount(update) => self.update_account(update),
            R::ResetPassword { name, password } => self.reset_password(&name, &password),
            R::DeleteAccount(id) => self.delete_account(id),
            R::PutOmm(omm) => self.put_omm(omm),
            R::DeleteOmm(id) => self.delete_omm(id),
            R::SetOmmHealth {
                id,
                health,
                cloud_id,
            } => {
                let mut omm: Omm = self.record(id)?;
                omm.health = health;
                if let Some(cloud_id) = cloud_id {
                    crate::fields::check_cloud_id(&cloud_id)?;
                    omm.cloud_id = cloud_id;
                }
                self.view.put_record(&omm)?;
                self.changed(Entity::Omm, id, ChangeOp::Put);
                Ok(StoreResponse::Done)
            }
            R::LinksLost { before, reason } => {
                let omms: Vec<Omm> = self.view.records()?;
                let mut still_up = 0;
                for mut omm in omms {
                    if omm.health.link == model::LinkState::Down {
                        continue;
                    }
                    if omm.health.since > before {
                        still_up += u64::from(omm.health.link == model::LinkState::Up);
                        continue;
                    }
                    omm.health.link = model::LinkState::Down;
                    omm.health.healthy = false;
                    omm.health.last_error.clone_from(&reason);
                    omm.health.since = before;
                    self.view.put_record(&omm)?;
                    self.changed(Entity::Omm, omm.id, ChangeOp::Put);
                }
                // The gauge counts what is left: links a new svc-axi reported already.
                self.update_counter("axi.links_up", |_| still_up)?;
                Ok(StoreResponse::Done)
            }
            R::PutTemplate(text) => {
                crate::fields::check_template(&text)?;
                let template = ConfigTemplate {
                    text,
                    modified: now(),
                };
                self.view.put(Db::Meta, meta::TEMPLATE, &template)?;
                self.changed(Entity::Template, 0, ChangeOp::Put);
                Ok(StoreResponse::Done)
            }
            R::RecordFetch { id, fetch, served } => self.record_fetch(id, fetch, served),
            R::UpdateSent { id, at } => self.provisioning(id, |state| {
                state.update_sent = Some(at);
                state.warning.clear();
            }),
            // A served fetch clears `update_sent`, so what is still pending was not fetched
            // (no comparison of one-second timestamps).
            R::FetchOverdue { id, sent, reason } => {
                let mut late = false;
                let done = self.provisioning(id, |state| {
                    if state.update_sent == Some(sent) {
                        state.warning.clone_from(&reason);
                        late = true;
                    }
                })?;
                if late {
                    tracing::warn!(omm = id, "{reason}");
                    self.log_event(Severity::Warning, "provisioning", &reason)?;
                }
                Ok(done)
            }
            R::PutUser(user) => self.put_user(user).map(StoreResponse::Created),
            R::DeleteUser(uid) => self.delete_user(uid),
            R::PutDevice(device) => self.put_device(device).map(StoreResponse::Created),
            R::DeleteDevice(ppn) => self.delete_device(ppn),
            R::UnsubscribeDevice(ppn) => {
                let device: Device = self.get(Db::Devices, ppn, Entity::Device)?;
                if device.rel_type != RelType::Fixed {
                    return Err(StoreError::RelationChange(format!(
                        "only a handset with relation type Fixed can be unsubscribed; handset \
                         {ppn} is {:?}",
                        device.rel_type
                    )));
                }
                self.delete_device(ppn)
            }
            R::CreateFixed {
                mut user,
                mut device,
            } => {
                if user.uid != 0 || device.ppn != 0 {
                    return Err(invalid("a fixed pair is created from new records (ids 0)"));
                }
                user.ppn = 0;
                device.uid = 0;
                let uid = self.put_user(user)?;
                let ppn = self.put_device(device)?;
                self.bind(uid, ppn, RelType::Fixed, None)?;
                Ok(StoreResponse::CreatedFixed { uid, ppn })
            }
            R::Bind { uid, ppn, rel_type } => self.bind(uid, ppn, rel_type, None),
            R::Unbind(uid) => self.unbind(uid),
            R::ChangeRelationType { uid, rel_type } => self.change_relation_type(uid, rel_type),
            R::ChangeSource { uid, source } => self.change_source(uid, source),
            R::BulkPut { users, devices } => {
                for user in users {
                    self.put_user(user)?;
                }
                for device in devices {
                    self.put_device(device)?;
                }
                Ok(StoreResponse::Done)
            }
            R::PutUsers(users) => Ok(StoreResponse::CreatedMany(
                users.into_iter().map(|u| self.put_user(u)).collect(),
            )),
            R::PutDevices(devices) => Ok(StoreResponse::CreatedMany(
                devices.into_iter().map(|d| self.put_device(d)).collect(),
            )),
            R::BindMany(pairs) => Ok(StoreResponse::CreatedMany(
                pairs
                    .into_iter()
                    .map(|(uid, ppn, rel, stamp)| {
                        self.bind(uid, ppn, rel, Some(stamp)).map(|_| uid)
                    })
                    .collect(),
            )),
            R::PutConferenceRoom(room) => self.put_room(room),
            R::DeleteConferenceRoom(id) => {
                let room: ConferenceRoom = self.record(id)?;
                self.view.delete(Db::IdxRoomNum, room.number.as_bytes())?;
                self.view.delete(Db::Rooms, &id_key(id))?;
                self.changed_at(Entity::ConferenceRoom, id, ChangeOp::Delete, room.omm_id);
                Ok(StoreResponse::Done)
            }
            R::LogEvent {
                severity,
                subsystem,
                text,
            } => {
                self.log_event(severity, &subsystem, &text)?;
                Ok(StoreResponse::Done)
            }
            R::AddToCounter { name, delta } => {
                self.update_counter(&name, |v| v.saturating_add(delta))
            }
            R::SetCounter { name, value } => self.update_counter(&name, |_| value),
            R::SampleCounters => {
                self.sample_counters()?;
                Ok(StoreResponse::Done)
            }
            R::SetConflicts { omm, conflicts } => self.set_conflicts(omm, conflicts),
            R::AppendAudit(entry) => self.append_audit(entry),
            R::Audited { audit, request } => self.audited(audit, *request),
            R::ClearEvents => self.clear_events(),
            other => Err(invalid(format!("{other:?} is not a write"))),
        }
    }

    fn get<V: serde::de::DeserializeOwned>(
        &self,
        db: Db,
        id: u32,
        entity: Entity,
    ) -> Result<V, StoreError> {
        self.view
            .get(db, &id_key(id))?
            .ok_or_else(|| not_found(entity, id))
    }

    /// The record `id`, its secrets opened, or `NotFound`.
    fn record<V: crate::secrets::Sealed>(&self, id: u32) -> Result<V, StoreError> {
        self.view
            .record(id)?
            .ok_or_else(|| not_found(V::ENTITY, id))
    }

    /// The next free id of `db` (one past the largest key), never 0.
    fn next_id(&self, db: Db) -> Result<u32, StoreError> {
        // Ids are big-endian, so the last key is the largest; scanning from the top would
        // need a reverse cursor, which the storage module does not offer: use a counter key.
        let key = [b"next-".as_slice(), format!("{db:?}").as_bytes()].concat();
        let next: u32 = self.view.get(Db::Meta, &key)?.unwrap_or(1);
        Ok(next.max(1))
    }

    fn take_id(&mut self, db: Db, requested: u32) -> Result<u32, StoreError> {
        let key = [b"next-".as_slice(), format!("{db:?}").as_bytes()].concat();
        let next = self.next_id(db)?;
        let id = if requested == 0 { next } else { requested };
        if id >= next {
            let after = id
                .checked_add(1)
                .ok_or_else(|| invalid("id space exhausted"))?;
            self.view.put(Db::Meta, &key, &after)?;
        }
        Ok(id)
    }

    fn put_settings(&mut self, settings: &Settings) -> Result<StoreResponse, StoreError> {
        crate::fields::check_settings(settings)?;
        // The SARI comes from the license only (see `licensing`), never from a settings edit.
        let stored: Settings = self.view.get(Db::Meta, meta::SETTINGS)?.unwrap_or_default();
        let settings = Settings {
            sari: stored.sari,
            ..settings.clone()
        };
        self.view.put(Db::Meta, meta::SETTINGS, &settings)?;
        self.changed(Entity::Settings, 0, ChangeOp::Put);
        Ok(StoreResponse::Done)
    }
}
