//! The store as its callers use it: one typed method per request of [`StoreRequest`](crate::api::store::StoreRequest), each
//! answering the value the request asks for or a [`Failure`].
//!
//! Every service and the admin CLI reach the store through [`Store`], so the request →
//! answer contract is written once, here, instead of a `match` on [`StoreResponse`] at every
//! call. The methods are generated from one table (the `calls!` macro): a method's name, its
//! arguments, the request it sends and the answer it expects.

use crate::api::store::{
    AccountUpdate, Audit, NewAccount, StoreApi, StoreError, StoreRequest as R, StoreResponse as S,
};
use crate::client::Client;
use model::{
    Account, AuditEntry, ConferenceRoom, ConfigTemplate, Conflict, Counter, Device, EventEntry,
    Filter, FilterOp, HealthState, Ipei, License, Omm, OmmHealth, OverviewRow, Page, Query,
    RelType, Settings, Severity, Source, Timestamp, Tombstone, User,
};
use std::sync::Arc;

/// Why a store request did not succeed: the store refused it, or it did not arrive.
///
/// The two are handled apart: a refusal concerns one request (a rule, a missing record, a
/// full disk) and is shown or logged as the store words it; an unreachable store is a
/// service-wide state (svc-store down or restarting) that callers wait out or report as 503.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// The store refused the request.
    Refused(StoreError),
    /// The store did not answer: svc-store is down or restarting, or the answer was of the
    /// wrong shape.
    Unreachable(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Refused(e) => write!(f, "the store refused: {e}"),
            Self::Unreachable(e) => write!(f, "the store is unreachable: {e}"),
        }
    }
}

impl std::error::Error for Failure {}

/// A store answer: the value, or why there is none.
pub type Result<T> = std::result::Result<T, Failure>;

/// The outcome of each record of a batch write, in order.
pub type Outcomes = Vec<std::result::Result<u32, StoreError>>;

fn unexpected(answer: &S) -> Failure {
    let name = format!("{answer:?}");
    let name = name.split(['(', ' ', '{']).next().unwrap_or_default();
    Failure::Unreachable(format!("unexpected answer from the store: {name}"))
}

/// The store client with typed methods. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    client: Client<StoreApi>,
    origin: u32,
    audit: Option<Arc<Audit>>,
}

/// Generates one typed method per entry: `name(args) -> Type = request => answer pattern =>
/// value;`. A `lookup` entry answers `Option<Type>`: a record the store does not have is
/// `None`, not a refusal.
macro_rules! calls {
    ($(
        $(#[doc = $doc:literal])*
        $kind:ident $name:ident($($arg:ident: $ty:ty),*) -> $out:ty = $request:expr => $answer:pat => $value:expr;
    )*) => {
        impl Store {$(
            calls!(@one $kind, [$(#[doc = $doc])*], $name, ($($arg: $ty),*), $out, $request, $answer, $value);
        )*}
    };
    (@one call, [$($doc:tt)*], $name:ident, ($($arg:ident: $ty:ty),*), $out:ty, $request:expr, $answer:pat, $value:expr) => {
        $($doc)*
        ///
        /// # Errors
        /// [`Failure::Refused`] with the store's reason, or [`Failure::Unreachable`].
        pub async fn $name(&self, $($arg: $ty),*) -> Result<$out> {
            match self.call($request).await? {
                $answer => Ok($value),
                other => Err(unexpected(&other)),
            }
        }
    };
    (@one lookup, [$($doc:tt)*], $name:ident, ($($arg:ident: $ty:ty),*), $out:ty, $request:expr, $answer:pat, $value:expr) => {
        $($doc)*
        ///
        /// # Errors
        /// As the other methods, but a record the store does not have is `Ok(None)`.
        pub async fn $name(&self, $($arg: $ty),*) -> Result<Option<$out>> {
            match self.call($request).await {
                Ok($answer) => Ok(Some($value)),
                Ok(other) => Err(unexpected(&other)),
                Err(Failure::Refused(StoreError::NotFound { .. })) => Ok(None),
                Err(e) => Err(e),
            }
        }
    };
}

impl Store {
    /// The store as a service uses it.
    #[must_use]
    pub fn new(client: Client<StoreApi>) -> Self {
        Self {
            client,
            origin: 0,
            audit: None,
        }
    }

    /// The store as the link of OMM `omm` uses it: its writes carry the OMM as their origin
    /// ([`R::FromOmm`]), so that link can skip their echo in the change feed.
    #[must_use]
    pub fn for_omm(&self, omm: u32) -> Self {
        Self {
            client: self.client.clone(),
            origin: omm,
            audit: None,
        }
    }

    /// The store for one change a person makes: its writes go as
    /// [`R::Audited`], so the store records `audit` with the records before and after in the
    /// write's own transaction (see svc-store's `audit` module). Reads go as they are. An
    /// action that ends in `.` is a prefix: each write's is the prefix and the request's
    /// name (`cli.` → `cli.PutOmm`).
    #[must_use]
    pub fn audited(&self, audit: Audit) -> Self {
        Self {
            client: self.client.clone(),
            origin: 0,
            audit: Some(Arc::new(audit)),
        }
    }

    /// One request, its answer as the store gave it (refusals as [`Failure::Refused`]). For
    /// the few callers that handle several answers, such as a dry run.
    ///
    /// # Errors
    /// [`Failure::Refused`] with the store's reason, or [`Failure::Unreachable`].
    pub async fn call(&self, request: R) -> Result<S> {
        let request = match (&self.audit, self.origin) {
            (Some(audit), _) if request.auditable() => {
                let mut audit = Audit::clone(audit);
                if audit.action.ends_with('.') {
                    audit.action.push_str((&request).into());
                }
                R::Audited {
                    audit,
                    request: Box::new(request),
                }
            }
            (_, 0) => request,
            (_, omm) if !request.is_read() => R::FromOmm {
                omm,
                request: Box::new(request),
            },
            _ => request,
        };
        match self.client.request(request).await {
            Ok(S::Error(e)) => Err(Failure::Refused(e)),
            Ok(answer) => Ok(answer),
            Err(e) => Err(Failure::Unreachable(e.to_string())),
        }
    }

    /// The users with these numbers, in order (in requests of at most 1,000).
    ///
    /// # Errors
    /// As [`Store::call`].
    pub async fn users_by_number(&self, nums: Vec<String>) -> Result<Vec<Option<User>>> {
        let mut out = Vec::with_capacity(nums.len());
        for chunk in nums.chunks(model::MAX_PAGE as usize) {
            out.extend(self.users_by_numbers(chunk.to_vec()).await?);
        }
        Ok(out)
    }

    /// The devices with these IPEIs, in order (in requests of at most 1,000).
    ///
    /// # Errors
    /// As [`Store::call`].
    pub async fn devices_by_ipei(&self, ipeis: Vec<Ipei>) -> Result<Vec<Option<Device>>> {
        let mut out = Vec::with_capacity(ipeis.len());
        for chunk in ipeis.chunks(model::MAX_PAGE as usize) {
            out.extend(self.devices_by_ipeis(chunk.to_vec()).await?);
        }
        Ok(out)
    }

    /// Every record a query finds, page after page (`query`'s offset and limit are set
    /// here).
    async fn every<T>(
        &self,
        mut query: Query,
        request: fn(Query) -> R,
        page: fn(S) -> Option<Page<T>>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        loop {
            query.offset = u32::try_from(out.len()).unwrap_or(u32::MAX);
            query.limit = model::MAX_PAGE;
            let found = page(self.call(request(query.clone())).await?).ok_or_else(|| {
                Failure::Unreachable("unexpected answer from the store to a page query".into())
            })?;
            let done = found.items.is_empty()
                || out.len() + found.items.len()
                    >= usize::try_from(found.total).unwrap_or(usize::MAX);
            out.extend(found.items);
            if done {
                return Ok(out);
            }
        }
    }

    /// Every user whose `column` equals `value` (all pages).
    ///
    /// # Errors
    /// As [`Store::call`].
    pub async fn users_where(&self, column: &str, value: &str) -> Result<Vec<User>> {
        self.every(equals(column, value), R::QueryUsers, S::into_users)
            .await
    }

    /// Every device whose `column` equals `value` (all pages).
    ///
    /// # Errors
    /// As [`Store::call`].
    pub async fn devices_where(&self, column: &str, value: &str) -> Result<Vec<Device>> {
        self.every(equals(column, value), R::QueryDevices, S::into_devices)
            .await
    }

    /// Adds an event-log entry, logging (not returning) a failure: the event log is where
    /// failures are reported, so there is nowhere further to report its own.
    pub async fn log(&self, severity: Severity, subsystem: &str, text: String) {
        if let Err(e) = self.log_event(severity, subsystem.to_owned(), text).await {
            tracing::debug!(error = %e, "could not write an event-log entry");
        }
    }

    /// Adds to a statistics counter, logging (not returning) a failure: a lost count must
    /// not fail the work it counts.
    pub async fn count(&self, name: &str, delta: u64) {
        if let Err(e) = self.add_to_counter(name.to_owned(), delta).await {
            tracing::debug!(counter = name, error = %e, "could not count");
        }
    }
}

/// A query for every record whose `column` equals `value`.
fn equals(column: &str, value: &str) -> Query {
    Query {
        filters: vec![Filter {
            column: column.into(),
            op: FilterOp::Equals,
            value: value.into(),
        }],
        ..Query::default()
    }
}

calls! {
    /// The system settings.
    call settings() -> Settings = R::GetSettings => S::Settings(x) => x;
    /// Replaces the system settings.
    call put_settings(settings: Settings) -> () = R::PutSettings(settings) => S::Done => ();
    /// The license, if one is installed.
    call license() -> Option<License> = R::GetLicense => S::License(x) => x;
    /// Installs a signed license file.
    call install_license(file: Vec<u8>) -> () = R::InstallLicense(file) => S::Done => ();
    /// Every account (password hashes included).
    call accounts() -> Vec<Account> = R::ListAccounts => S::Accounts(x) => x;
    /// Creates an account; its id.
    call create_account(account: NewAccount) -> u32 = R::CreateAccount(account) => S::Created(id) => id;
    /// Changes an account.
    call update_account(update: AccountUpdate) -> () = R::UpdateAccount(update) => S::Done => ();
    /// Deletes an account.
    call delete_account(id: u32) -> () = R::DeleteAccount(id) => S::Done => ();
    /// Checks a login; the account.
    call check_login(name: String, password: String) -> Account = R::CheckLogin { name, password } => S::Account(x) => x;
    /// The administrator's way back in: a temporary password for account `name`.
    call reset_password(name: String, password: String) -> () = R::ResetPassword { name, password } => S::Done => ();
    /// Every OMM record.
    call omms() -> Vec<Omm> = R::ListOmms => S::Omms(x) => x;
    /// One OMM record.
    lookup omm(id: u32) -> Omm = R::GetOmm(id) => S::Omm(x) => x;
    /// Creates (id 0) or replaces an OMM record; its id.
    call put_omm(omm: Omm) -> u32 = R::PutOmm(omm) => S::Created(id) => id;
    /// Deletes an OMM record.
    call delete_omm(id: u32) -> () = R::DeleteOmm(id) => S::Done => ();
    /// Records an OMM's link state.
    call set_omm_health(id: u32, health: OmmHealth, cloud_id: Option<String>) -> () = R::SetOmmHealth { id, health, cloud_id } => S::Done => ();
    /// Every link not reported since `before` is down, with `reason`.
    call links_lost(before: Timestamp, reason: String) -> () = R::LinksLost { before, reason } => S::Done => ();
    /// The configuration template.
    call template() -> ConfigTemplate = R::GetTemplate => S::Template(x) => x;
    /// Replaces the configuration template text.
    call put_template(text: String) -> () = R::PutTemplate(text) => S::Done => ();
    /// Records a fetch of `ipdect.cfg` by OMM `id`.
    call record_fetch(id: u32, fetch: model::ConfigFetch, served: Option<String>) -> () = R::RecordFetch { id, fetch, served } => S::Done => ();
    /// What OMM `id` was last served, if anything.
    call served_config(id: u32) -> Option<String> = R::GetServedConfig(id) => S::ServedConfig(x) => x;
    /// "Update OMM" is being sent to OMM `id` at `at`.
    call update_sent(id: u32, at: Timestamp) -> () = R::UpdateSent { id, at } => S::Done => ();
    /// The fetch after the update sent at `sent` is overdue.
    call fetch_overdue(id: u32, sent: Timestamp, reason: String) -> () = R::FetchOverdue { id, sent, reason } => S::Done => ();
    /// One user.
    lookup user(uid: u32) -> User = R::GetUser(uid) => S::User(x) => x;
    /// The user with number `num`.
    lookup user_by_number(num: &str) -> User = R::GetUserByNumber(num.to_owned()) => S::User(x) => x;
    /// The users with these numbers, in order (at most 1,000; see [`Store::users_by_number`]).
    call users_by_numbers(nums: Vec<String>) -> Vec<Option<User>> = R::GetUsersByNumber(nums) => S::UsersByKey(x) => x;
    /// Creates (uid 0) or replaces a user; its id.
    call put_user(user: User) -> u32 = R::PutUser(user) => S::Created(id) => id;
    /// Creates or replaces users in one transaction.
    call put_users(users: Vec<User>) -> Outcomes = R::PutUsers(users) => S::CreatedMany(x) => x;
    /// Deletes a user.
    call delete_user(uid: u32) -> () = R::DeleteUser(uid) => S::Done => ();
    /// A page of users.
    call query_users(query: Query) -> Page<User> = R::QueryUsers(query) => S::Users(x) => x;
    /// One device.
    lookup device(ppn: u32) -> Device = R::GetDevice(ppn) => S::Device(x) => x;
    /// The device with `ipei`.
    lookup device_by_ipei(ipei: Ipei) -> Device = R::GetDeviceByIpei(ipei) => S::Device(x) => x;
    /// The devices with these IPEIs, in order (at most 1,000; see [`Store::devices_by_ipei`]).
    call devices_by_ipeis(ipeis: Vec<Ipei>) -> Vec<Option<Device>> = R::GetDevicesByIpei(ipeis) => S::DevicesByKey(x) => x;
    /// Creates (ppn 0) or replaces a device; its id.
    call put_device(device: Device) -> u32 = R::PutDevice(device) => S::Created(id) => id;
    /// Creates or replaces devices in one transaction.
    call put_devices(devices: Vec<Device>) -> Outcomes = R::PutDevices(devices) => S::CreatedMany(x) => x;
    /// Deletes a device.
    call delete_device(ppn: u32) -> () = R::DeleteDevice(ppn) => S::Done => ();
    /// Unsubscribes a handset (relation Fixed only).
    call unsubscribe_device(ppn: u32) -> () = R::UnsubscribeDevice(ppn) => S::Done => ();
    /// A page of devices.
    call query_devices(query: Query) -> Page<Device> = R::QueryDevices(query) => S::Devices(x) => x;
    /// A page of the Overview (users with their bound DECT phones).
    call query_overview(query: Query) -> Page<OverviewRow> = R::QueryOverview(query) => S::Overview(x) => x;
    /// Creates a user and a device bound Fixed; `(uid, ppn)`.
    call create_fixed(user: User, device: Device) -> (u32, u32) = R::CreateFixed { user, device } => S::CreatedFixed { uid, ppn } => (uid, ppn);
    /// Binds a user and a device.
    call bind(uid: u32, ppn: u32, rel_type: RelType) -> () = R::Bind { uid, ppn, rel_type } => S::Done => ();
    /// Takes over bindings an OMM has, in one transaction.
    call bind_many(binds: Vec<(u32, u32, RelType, Timestamp)>) -> Outcomes = R::BindMany(binds) => S::CreatedMany(x) => x;
    /// Unbinds a user from its device.
    call unbind(uid: u32) -> () = R::Unbind(uid) => S::Done => ();
    /// Changes a bound pair's relation type.
    call change_relation_type(uid: u32, rel_type: RelType) -> () = R::ChangeRelationType { uid, rel_type } => S::Done => ();
    /// Changes a user's provisioning source.
    call change_source(uid: u32, source: Source) -> () = R::ChangeSource { uid, source } => S::Done => ();
    /// Creates or replaces users and devices in one transaction.
    call bulk_put(users: Vec<User>, devices: Vec<Device>) -> () = R::BulkPut { users, devices } => S::Done => ();
    /// Every conference room.
    call rooms() -> Vec<ConferenceRoom> = R::ListConferenceRooms => S::Rooms(x) => x;
    /// Creates (id 0) or replaces a conference room; its id.
    call put_room(room: ConferenceRoom) -> u32 = R::PutConferenceRoom(room) => S::Created(id) => id;
    /// Deletes a conference room.
    call delete_room(id: u32) -> () = R::DeleteConferenceRoom(id) => S::Done => ();
    /// Tombstones of deletions at or after `since`.
    call tombstones_since(since: Timestamp) -> Vec<Tombstone> = R::TombstonesSince(since) => S::Tombstones(x) => x;
    /// Adds an event-log entry (see [`Store::log`] for the best-effort form).
    call log_event(severity: Severity, subsystem: String, text: String) -> () = R::LogEvent { severity, subsystem, text } => S::Done => ();
    /// The event log, newest first.
    call events() -> Vec<EventEntry> = R::ListEvents => S::Events(x) => x;
    /// Clears the event log.
    call clear_events() -> () = R::ClearEvents => S::Done => ();
    /// Adds to a counter (see [`Store::count`] for the best-effort form).
    call add_to_counter(name: String, delta: u64) -> () = R::AddToCounter { name, delta } => S::Done => ();
    /// Sets a counter (a gauge).
    call set_counter(name: String, value: u64) -> () = R::SetCounter { name, value } => S::Done => ();
    /// Every counter with its history.
    call counters() -> Vec<Counter> = R::ListCounters => S::Counters(x) => x;
    /// The health states, in the pane's order.
    call health() -> Vec<HealthState> = R::GetHealth => S::Health(x) => x;
    /// This node's view of its cluster.
    call cluster_status() -> crate::api::store::ClusterStatus = R::ClusterStatus => S::ClusterStatus(x) => x;
    /// Adds node `id` at `address` to the cluster (on its leader).
    call cluster_add_node(id: u64, address: String) -> () = R::ClusterAddNode { id, address } => S::Done => ();
    /// Removes node `id` from the cluster (on its leader).
    call cluster_remove_node(id: u64) -> () = R::ClusterRemoveNode(id) => S::Done => ();
    /// Appends every counter's value to its history (the statistics sampler's tick).
    call sample_counters() -> () = R::SampleCounters => S::Done => ();
    /// Replaces the open conflicts of OMM `omm`.
    call set_conflicts(omm: u32, conflicts: Vec<Conflict>) -> () = R::SetConflicts { omm, conflicts } => S::Done => ();
    /// Every open conflict.
    call conflicts() -> Vec<Conflict> = R::ListConflicts => S::Conflicts(x) => x;
    /// Appends an entry to the audit trail.
    call append_audit(entry: AuditEntry) -> () = R::AppendAudit(entry) => S::Done => ();
    /// The audit trail.
    call audit() -> Vec<AuditEntry> = R::ListAudit => S::Audit(x) => x;
    /// The current global revision.
    call revision() -> u64 = R::CurrentRevision => S::Revision(x) => x;
    /// Subscribes this connection to the change feed after `from_rev`; the current revision.
    call subscribe(from_rev: u64) -> u64 = R::Subscribe { from_rev } => S::Revision(x) => x;
    /// This database's random id.
    call database_id() -> u64 = R::DatabaseId => S::DatabaseId(x) => x;
    /// Starts an export; `(export id, size in bytes)`.
    call export_begin() -> (u64, u64) = R::ExportBegin => S::ExportReady { export, size } => (export, size);
    /// One chunk of an export; empty at the end.
    call export_chunk(export: u64, offset: u64) -> Vec<u8> = R::ExportChunk { export, offset } => S::Chunk(x) => x;
    /// Starts an import of `size` bytes; its id.
    call import_begin(size: u64) -> u64 = R::ImportBegin { size } => S::ImportReady { import } => import;
    /// One chunk of an import, in order.
    call import_chunk(import: u64, data: Vec<u8>) -> () = R::ImportChunk { import, data } => S::Done => ();
    /// The secrets key of the installation that wrote an import.
    call import_secrets_key(import: u64, key: String) -> () = R::ImportSecretsKey { import, key } => S::Done => ();
    /// A batch write (`PutUsers`, `PutDevices`, `BindMany`): the outcome of each record.
    call batch(request: R) -> Outcomes = request => S::CreatedMany(x) => x;
    /// A batch write carried out in a transaction that is then aborted: what its outcome
    /// would be, with nothing changed.
    call dry_run_batch(request: R) -> Outcomes = R::DryRun(Box::new(request)) => S::CreatedMany(x) => x;
    /// Validates an import and swaps it in; the new revision.
    call import_commit(import: u64) -> u64 = R::ImportCommit { import } => S::Revision(x) => x;
    /// As [`Store::import_commit`], also for another installation's license or SARI.
    call import_commit_foreign(import: u64) -> u64 = R::ImportCommitForeign { import } => S::Revision(x) => x;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ClientOptions, Envelope, Hello, Listener};
    use std::path::{Path, PathBuf};
    use std::time::Duration;

    /// A store stand-in at `dir/store.sock` that answers every request with `answer`.
    fn store_answering(dir: &Path, answer: S) -> PathBuf {
        let path = dir.join("store.sock");
        let me = nix::unistd::getuid().as_raw();
        let listener = Listener::<StoreApi>::bind(&path, 0o600, vec![me]).expect("bind");
        tokio::spawn(async move {
            while let Ok(pending) = listener.accept().await {
                let answer = answer.clone();
                tokio::spawn(async move {
                    let Ok(mut ch) = pending.handshake(&Hello::new("store", 1)).await else {
                        return;
                    };
                    while let Ok(Some(request)) = ch.rx.recv().await {
                        let reply = Envelope {
                            id: request.id,
                            body: answer.clone(),
                        };
                        if ch.tx.send(&reply).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        path
    }

    fn store_at(path: PathBuf) -> Store {
        let options = ClientOptions {
            request_timeout: Duration::from_millis(300),
            ..ClientOptions::default()
        };
        Store::new(Client::start(path, Hello::new("test", 0), options).0)
    }

    #[tokio::test]
    async fn a_refusal_an_answer_of_the_wrong_shape_and_a_missing_record_are_told_apart() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let not_found = S::Error(StoreError::NotFound {
            entity: model::Entity::User,
            id: 7,
        });
        let refused = store_at(store_answering(a.path(), not_found));
        assert_eq!(
            refused.user(7).await,
            Ok(None),
            "a lookup: not found is None"
        );
        assert!(matches!(
            refused.delete_user(7).await,
            Err(Failure::Refused(StoreError::NotFound { id: 7, .. }))
        ));
        let wrong = store_at(store_answering(b.path(), S::Done));
        let Err(Failure::Unreachable(why)) = wrong.settings().await else {
            panic!("an answer of the wrong shape is not a value")
        };
        assert!(
            why.ends_with("unexpected answer from the store: Done"),
            "{why}"
        );
        assert_eq!(wrong.delete_user(7).await, Ok(()));
        assert!(matches!(wrong.user(7).await, Err(Failure::Unreachable(_))));
    }

    #[tokio::test]
    async fn a_store_that_is_not_there_is_unreachable() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_at(dir.path().join("nobody.sock"));
        assert!(matches!(
            store.settings().await,
            Err(Failure::Unreachable(_))
        ));
        assert!(matches!(store.user(1).await, Err(Failure::Unreachable(_))));
        // Best-effort writes neither fail nor hang past the timeout.
        tokio::time::timeout(Duration::from_secs(2), store.count("x", 1))
            .await
            .expect("gives up after the request timeout");
    }

    #[tokio::test]
    async fn an_omm_links_writes_carry_its_origin_and_its_reads_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.sock");
        let me = nix::unistd::getuid().as_raw();
        let listener = Listener::<StoreApi>::bind(&path, 0o600, vec![me]).expect("bind");
        let seen = tokio::spawn(async move {
            let mut ch = listener
                .accept()
                .await
                .unwrap()
                .handshake(&Hello::new("store", 1))
                .await
                .unwrap();
            let mut seen = Vec::new();
            for _ in 0..2 {
                let request = ch.rx.recv().await.unwrap().unwrap();
                seen.push(request.body);
                ch.tx
                    .send(&Envelope {
                        id: request.id,
                        body: S::Done,
                    })
                    .await
                    .unwrap();
            }
            seen
        });
        let link = store_at(path).for_omm(4);
        assert_eq!(link.delete_user(9).await, Ok(()));
        let _ = link.settings().await;
        assert_eq!(
            seen.await.unwrap(),
            [
                R::FromOmm {
                    omm: 4,
                    request: Box::new(R::DeleteUser(9))
                },
                R::GetSettings
            ]
        );
    }
}
