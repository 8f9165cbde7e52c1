//! Every write the store accepts, applied inside one LMDB write transaction, with the
//! integrity rules enforced here and nowhere else.

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

/// The OMM a user's changes concern: its home, or 0 (every OMM) for a permanent user.
fn owner(user: &User) -> u32 {
    if user.permanent {
        0
    } else {
        user.home_omm
    }
}

/// The OMM a device's changes concern: its location, or 0 (every OMM) when it is bound to
/// a permanent user, whose handset every OMM holds.
fn device_owner(device: &Device, bound_to_permanent: bool) -> u32 {
    if device.uid != 0 && bound_to_permanent {
        0
    } else {
        device.location
    }
}

/// Schema version of the database; an import of another version is refused.
/// 3: changes carry their origin (version 2's change log is dropped on open); 4: OMM
/// provisioning; 5: secrets sealed at rest ([`crate::migrate`]).
pub const SCHEMA_VERSION: u32 = 5;

/// Meta keys.
pub mod meta {
    /// Schema version (u32).
    pub const SCHEMA: &[u8] = b"schema";
    /// Global revision (u64).
    pub const REVISION: &[u8] = b"revision";
    /// Oldest revision still in the change log (u64).
    pub const CHANGES_START: &[u8] = b"changes-start";
    /// System settings.
    pub const SETTINGS: &[u8] = b"settings";
    /// License.
    pub const LICENSE: &[u8] = b"license";
    /// The installed license's signed file, verified again at every start.
    pub const LICENSE_FILE: &[u8] = b"license-file";
    /// Configuration template.
    pub const TEMPLATE: &[u8] = b"template";
    /// Next event sequence number (u64).
    pub const NEXT_EVENT: &[u8] = b"next-event";
    /// Prefix of what an OMM was last served (`served/` and its id, big-endian).
    pub const SERVED: &[u8] = b"served/";
    /// This database's random id (u64), made anew at creation and at every import.
    pub const DATABASE_ID: &[u8] = b"database-id";

    /// The key of what OMM `id` was last served.
    #[must_use]
    pub fn served(id: u32) -> Vec<u8> {
        [SERVED, &id.to_be_bytes()].concat()
    }
}

/// The configuration template of a new database (`packaging/ipdect-template.xml`): the
/// admin guide's provisioning checklist as commented-out commands.
pub const DEFAULT_TEMPLATE: &str = include_str!("../../packaging/ipdect-template.xml");

/// Largest configuration template.
pub use crate::fields::MAX_TEMPLATE;

/// Largest placeholder file of one OMM.
pub use provisioning::MAX_PLACEHOLDERS;

/// The template a new database starts with.
#[must_use]
pub fn default_template() -> ConfigTemplate {
    ConfigTemplate {
        text: DEFAULT_TEMPLATE.to_owned(),
        modified: now(),
    }
}

/// Change-log entries kept for subscribers to resume from.
pub const CHANGE_LOG_CAPACITY: u64 = 100_000;

/// A write transaction plus the changes it made, for the change feed.
pub struct Tx<'v, 'e> {
    /// The LMDB transaction.
    pub view: &'v mut crate::storage::WriteView<'e>,
    /// Changes made so far.
    pub changes: Vec<(Entity, u32, ChangeOp, u32)>,
    /// The OMM whose link asked for this write (`StoreRequest::FromOmm`), 0 for anyone else.
    pub origin: u32,
}

fn hash_password(password: &str) -> Result<String, StoreError> {
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
    let salt = SaltString::generate(&mut OsRng);
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Storage(format!("password hashing failed: {e}")))
}

/// A fresh random database id ([`meta::DATABASE_ID`]).
#[must_use]
pub fn new_database_id() -> u64 {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    OsRng.next_u64()
}

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

/// A hash of `password` for tests of other modules.
#[cfg(test)]
pub(crate) fn hash_for_tests(password: &str) -> String {
    hash_password(password).expect("hash")
}

/// Whether `password` matches the PHC string `hash`.
#[must_use]
pub fn verify_password(hash: &str, password: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(hash).is_ok_and(|parsed| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
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

    fn put_account(&mut self, account: &Account) -> Result<(), StoreError> {
        let name = login_throttle::account_key(&account.name);
        if name.is_empty() {
            return Err(invalid("the account name must not be empty"));
        }
        if let Some(owner) = self.view.get::<u32>(Db::IdxAccount, name.as_bytes())? {
            if owner != account.id {
                return Err(StoreError::DuplicateAccountName(name.to_owned()));
            }
        }
        if let Some(old) = self
            .view
            .get::<Account>(Db::Accounts, &id_key(account.id))?
        {
            self.view.delete(Db::IdxAccount, old.name.as_bytes())?;
        }
        self.view
            .put(Db::IdxAccount, name.as_bytes(), &account.id)?;
        self.view.put(Db::Accounts, &id_key(account.id), account)
    }

    fn create_account(&mut self, new: NewAccount) -> Result<StoreResponse, StoreError> {
        rules::check_password(&new.password, &new.name, None)?;
        let id = self.take_id(Db::Accounts, 0)?;
        let account = Account {
            id,
            name: login_throttle::account_key(&new.name).to_owned(),
            password_hash: hash_password(&new.password)?,
            enabled: new.enabled,
            read: true,
            write: new.write,
            must_change_password: new.must_change_password,
        };
        self.put_account(&account)?;
        self.changed(Entity::Account, id, ChangeOp::Put);
        Ok(StoreResponse::Created(id))
    }

    fn update_account(&mut self, update: AccountUpdate) -> Result<StoreResponse, StoreError> {
        let mut account: Account = self.get(Db::Accounts, update.id, Entity::Account)?;
        if let Some(name) = update.name {
            account.name = login_throttle::account_key(&name).to_owned();
        }
        if let Some(password) = update.password {
            rules::check_password(&password, &account.name, None)?;
            if verify_password(&account.password_hash, &password) {
                return Err(invalid("password must differ from the old password"));
            }
            account.password_hash = hash_password(&password)?;
            account.must_change_password = update.must_change_password.unwrap_or(false);
        }
        if let Some(enabled) = update.enabled {
            account.enabled = enabled;
        }
        if let Some(write) = update.write {
            account.write = write;
        }
        self.put_account(&account)?;
        self.changed(Entity::Account, account.id, ChangeOp::Put);
        Ok(StoreResponse::Done)
    }

    fn reset_password(&mut self, name: &str, password: &str) -> Result<StoreResponse, StoreError> {
        let id: u32 = self
            .view
            .get(Db::IdxAccount, login_throttle::account_key(name).as_bytes())?
            .ok_or_else(|| {
                invalid(format!(
                    "there is no account {:?}",
                    login_throttle::account_key(name)
                ))
            })?;
        let mut account: Account = self.get(Db::Accounts, id, Entity::Account)?;
        rules::check_password(password, &account.name, None)?;
        account.password_hash = hash_password(password)?;
        account.enabled = true;
        account.must_change_password = true;
        self.put_account(&account)?;
        self.changed(Entity::Account, id, ChangeOp::Put);
        Ok(StoreResponse::Done)
    }

    fn delete_account(&mut self, id: u32) -> Result<StoreResponse, StoreError> {
        if id == DEFAULT_ACCOUNT_ID {
            return Err(StoreError::DefaultAccountUndeletable);
        }
        let account: Account = self.get(Db::Accounts, id, Entity::Account)?;
        self.view.delete(Db::IdxAccount, account.name.as_bytes())?;
        self.view.delete(Db::Accounts, &id_key(id))?;
        self.changed(Entity::Account, id, ChangeOp::Delete);
        Ok(StoreResponse::Done)
    }

    fn put_omm(&mut self, mut omm: Omm) -> Result<StoreResponse, StoreError> {
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
    fn check_address_unused(
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
    fn provisioning(
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

    fn record_fetch(
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

    fn delete_omm(&mut self, id: u32) -> Result<StoreResponse, StoreError> {
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

    fn put_user(&mut self, mut user: User) -> Result<u32, StoreError> {
        let num = user.num.trim().to_owned();
        user.num.clone_from(&num);
        crate::fields::check_user(&user)?;
        let old: Option<User> = if user.uid == 0 {
            None
        } else {
            self.view.record(user.uid)?
        };
        match &old {
            Some(old) => {
                // Relations change only through Bind/Unbind/ChangeRelationType, and so does
                // their own timestamp (the relation is an aspect of its own).
                user.ppn = old.ppn;
                user.rel_type = old.rel_type;
                user.timestamp_relation = old.timestamp_relation;
                user.created = old.created;
                if user.omm_uid == 0 && user.home_omm == old.home_omm {
                    user.omm_uid = old.omm_uid;
                }
                rules::check_source_change(old.source, user.source, user.rel_type, user.permanent)?;
            }
            None if user.uid != 0 && self.origin != 0 => {
                // An OMM link writes back a record it knows by id (the OMM's uid of a user it
                // just created there, say). Deleted at the MOM meanwhile, it stays deleted:
                // the link's new records come with id 0.
                return Err(not_found(Entity::User, user.uid));
            }
            None => {
                user.ppn = 0;
                user.rel_type = RelType::Unbound;
                user.created = now();
                if user.permanent && user.source == Source::External {
                    return Err(StoreError::PermanentMustBeInternal);
                }
            }
        }
        if let Some(owner) = self.view.get::<u32>(Db::IdxNum, num.as_bytes())? {
            if old.as_ref().is_none_or(|o| o.uid != owner) {
                return Err(StoreError::DuplicateNumber(num));
            }
        }
        let was_permanent = old.as_ref().is_some_and(|o| o.permanent);
        if user.permanent
            && !was_permanent
            && self.view.count(Db::IdxPermanent)? >= MAX_PERMANENT_USERS
        {
            return Err(StoreError::TooManyPermanentUsers(MAX_PERMANENT_USERS));
        }
        if user.timestamp == 0 {
            user.timestamp = now();
        }
        user.uid = self.take_id(Db::Users, user.uid)?;
        let key = id_key(user.uid);
        if let Some(old) = &old {
            self.view.delete(Db::IdxNum, old.num.as_bytes())?;
        }
        self.view.put(Db::IdxNum, num.as_bytes(), &user.uid)?;
        if user.permanent {
            self.view.put(Db::IdxPermanent, &key, &())?;
        } else {
            self.view.delete(Db::IdxPermanent, &key)?;
        }
        self.view.put_record(&user)?;
        self.changed_at(Entity::User, user.uid, ChangeOp::Put, owner(&user));
        Ok(user.uid)
    }

    fn put_device(&mut self, mut device: Device) -> Result<u32, StoreError> {
        let ipei = Ipei::new(device.ipei.emc, device.ipei.psn)
            .map_err(|e| StoreError::InvalidIpei(e.to_string()))?;
        let ipei_key = ipei.to_string();
        crate::fields::check_device(&device)?;
        let old: Option<Device> = if device.ppn == 0 {
            None
        } else {
            self.view.get(Db::Devices, &id_key(device.ppn))?
        };
        match &old {
            Some(old) => {
                device.uid = old.uid;
                device.rel_type = old.rel_type;
                device.timestamp_relation = old.timestamp_relation;
                device.created = old.created;
                if device.omm_ppn == 0 && device.location == old.location {
                    device.omm_ppn = old.omm_ppn;
                }
            }
            None if device.ppn != 0 && self.origin != 0 => {
                // As for users: a link's write-back does not bring back a deleted handset.
                return Err(not_found(Entity::Device, device.ppn));
            }
            None => {
                device.uid = 0;
                device.rel_type = RelType::Unbound;
                device.created = now();
            }
        }
        if let Some(owner) = self.view.get::<u32>(Db::IdxIpei, ipei_key.as_bytes())? {
            if old.as_ref().is_none_or(|o| o.ppn != owner) {
                return Err(StoreError::DuplicateIpei(ipei_key));
            }
        }
        if device.timestamp == 0 {
            device.timestamp = now();
        }
        device.ppn = self.take_id(Db::Devices, device.ppn)?;
        if let Some(old) = &old {
            self.view
                .delete(Db::IdxIpei, old.ipei.to_string().as_bytes())?;
        }
        self.view
            .put(Db::IdxIpei, ipei_key.as_bytes(), &device.ppn)?;
        self.view.put(Db::Devices, &id_key(device.ppn), &device)?;
        let owner = device_owner(&device, self.is_permanent(device.uid)?);
        self.changed_at(Entity::Device, device.ppn, ChangeOp::Put, owner);
        Ok(device.ppn)
    }

    fn tombstone(&mut self, entity: Entity, id: u32, key: String) -> Result<(), StoreError> {
        let stone = Tombstone {
            entity,
            id,
            key,
            deleted: now(),
        };
        let mut k = vec![entity as u8];
        k.extend(id_key(id));
        self.view.put(Db::Tombstones, &k, &stone)
    }

    fn delete_user(&mut self, uid: u32) -> Result<StoreResponse, StoreError> {
        let user: User = self.record(uid)?;
        if user.ppn != 0 {
            self.unbind(uid)?;
        }
        self.view.delete(Db::IdxNum, user.num.as_bytes())?;
        self.view.delete(Db::IdxPermanent, &id_key(uid))?;
        self.view.delete(Db::Users, &id_key(uid))?;
        let home = user.home_omm;
        self.tombstone(Entity::User, uid, user.num)?;
        self.changed_at(Entity::User, uid, ChangeOp::Delete, home);
        Ok(StoreResponse::Done)
    }

    fn delete_device(&mut self, ppn: u32) -> Result<StoreResponse, StoreError> {
        let device: Device = self.get(Db::Devices, ppn, Entity::Device)?;
        if device.uid != 0 {
            self.unbind(device.uid)?;
        }
        self.view
            .delete(Db::IdxIpei, device.ipei.to_string().as_bytes())?;
        self.view.delete(Db::Devices, &id_key(ppn))?;
        self.tombstone(Entity::Device, ppn, device.ipei.to_string())?;
        self.changed_at(Entity::Device, ppn, ChangeOp::Delete, device.location);
        Ok(StoreResponse::Done)
    }

    fn save_pair(&mut self, user: &User, device: &Device) -> Result<(), StoreError> {
        self.view.put_record(user)?;
        self.view.put(Db::Devices, &id_key(device.ppn), device)?;
        self.changed_at(Entity::User, user.uid, ChangeOp::Put, owner(user));
        let owner = device_owner(device, user.permanent && device.uid == user.uid);
        self.changed_at(Entity::Device, device.ppn, ChangeOp::Put, owner);
        Ok(())
    }

    /// Whether `uid` is a permanent user (false for 0).
    fn is_permanent(&self, uid: u32) -> Result<bool, StoreError> {
        Ok(uid != 0 && self.view.get_raw(Db::IdxPermanent, &id_key(uid))?.is_some())
    }

    /// Binds. A bind made here stamps the relation and both records now; one taken over from
    /// an OMM (`taken_over` = its relation stamp) keeps that stamp and leaves the records'
    /// stamps alone, so the records still equal the OMM's at the next reconciliation.
    fn bind(
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

    fn unbind(&mut self, uid: u32) -> Result<StoreResponse, StoreError> {
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

    fn change_relation_type(
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

    fn change_source(&mut self, uid: u32, source: Source) -> Result<StoreResponse, StoreError> {
        let mut user: User = self.record(uid)?;
        rules::check_source_change(user.source, source, user.rel_type, user.permanent)?;
        user.source = source;
        user.timestamp = now();
        self.view.put_record(&user)?;
        self.changed_at(Entity::User, uid, ChangeOp::Put, owner(&user));
        Ok(StoreResponse::Done)
    }

    fn put_room(&mut self, mut room: ConferenceRoom) -> Result<StoreResponse, StoreError> {
        room.number = room.number.trim().to_owned();
        if room.name.trim().is_empty() || room.number.is_empty() {
            return Err(invalid("a conference room needs a name and a number"));
        }
        crate::fields::check_label("the room name", &room.name)?;
        crate::fields::check_number(&room.number)?;
        if room.omm_id != 0 && self.view.get_raw(Db::Omms, &id_key(room.omm_id))?.is_none() {
            return Err(invalid(format!(
                "OMM {} does not exist (use 0 to keep the room at the MOM)",
                room.omm_id
            )));
        }
        if let Some(owner) = self
            .view
            .get::<u32>(Db::IdxRoomNum, room.number.as_bytes())?
        {
            if owner != room.id {
                return Err(StoreError::DuplicateRoomNumber(room.number));
            }
        }
        if room.id != 0 {
            if let Some(old) = self.view.record::<ConferenceRoom>(room.id)? {
                self.view.delete(Db::IdxRoomNum, old.number.as_bytes())?;
            }
        }
        room.id = self.take_id(Db::Rooms, room.id)?;
        room.modified = now();
        self.view
            .put(Db::IdxRoomNum, room.number.as_bytes(), &room.id)?;
        self.view.put_record(&room)?;
        self.changed_at(Entity::ConferenceRoom, room.id, ChangeOp::Put, room.omm_id);
        Ok(StoreResponse::Created(room.id))
    }

    /// Adds an event-log entry; the same event again raises its count and moves it to the
    /// top. At most [`EVENT_LOG_CAPACITY`] entries are kept.
    ///
    /// # Errors
    /// [`StoreError::Storage`].
    pub fn log_event(
        &mut self,
        severity: Severity,
        subsystem: &str,
        text: &str,
    ) -> Result<(), StoreError> {
        let subsystem: String = subsystem.chars().take(64).collect();
        let text: String = text.chars().take(512).collect();
        let mut entries: Vec<EventEntry> = self.view.all(Db::Events)?;
        let mut count = 1;
        if let Some(pos) = entries
            .iter()
            .position(|e| e.severity == severity && e.subsystem == subsystem && e.text == text)
        {
            let old = entries.remove(pos);
            count = old.count.saturating_add(1);
            self.view.delete(Db::Events, &seq_key(old.seq))?;
        }
        let seq: u64 = self.view.get(Db::Meta, meta::NEXT_EVENT)?.unwrap_or(1);
        self.view.put(Db::Meta, meta::NEXT_EVENT, &(seq + 1))?;
        let entry = EventEntry {
            seq,
            severity,
            subsystem,
            count,
            time: now(),
            text,
        };
        self.view.put(Db::Events, &seq_key(seq), &entry)?;
        let excess = (entries.len() + 1).saturating_sub(EVENT_LOG_CAPACITY);
        for old in entries.iter().take(excess) {
            self.view.delete(Db::Events, &seq_key(old.seq))?;
        }
        self.changed(Entity::EventLog, 0, ChangeOp::Put);
        Ok(())
    }

    fn update_counter(
        &mut self,
        name: &str,
        f: impl FnOnce(u64) -> u64,
    ) -> Result<StoreResponse, StoreError> {
        if name.is_empty() || name.len() > 64 {
            return Err(invalid("a counter name has 1 to 64 characters"));
        }
        let mut counter: Counter = self
            .view
            .get(Db::Counters, name.as_bytes())?
            .unwrap_or_else(|| Counter {
                name: name.to_owned(),
                ..Counter::default()
            });
        counter.value = f(counter.value);
        self.view.put(Db::Counters, name.as_bytes(), &counter)?;
        Ok(StoreResponse::Done)
    }

    /// Appends the current value of every counter to its history.
    ///
    /// # Errors
    /// [`StoreError::Storage`].
    pub fn sample_counters(&mut self) -> Result<(), StoreError> {
        let t = now();
        let counters: Vec<Counter> = self.view.all(Db::Counters)?;
        for mut counter in counters {
            counter.history.push((t, counter.value));
            let excess = counter.history.len().saturating_sub(COUNTER_HISTORY);
            counter.history.drain(..excess);
            self.view
                .put(Db::Counters, counter.name.as_bytes(), &counter)?;
        }
        Ok(())
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
