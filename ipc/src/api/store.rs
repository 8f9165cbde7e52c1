//! The store's API (`store.sock`): every read and write of the MOM's records.

use crate::Api;
use model::{
    Account, AuditEntry, ConferenceRoom, ConfigTemplate, Conflict, Counter, Device, Entity,
    EventEntry, HealthState, License, Omm, OmmHealth, OverviewRow, Page, Query, QueryError,
    RelType, Settings, Severity, Source, Timestamp, Tombstone, User,
};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Marker type for the store API.
pub struct StoreApi;

impl Api for StoreApi {
    const NAME: &'static str = "store";
    const MAX_FRAME: u32 = 16 * 1024 * 1024;
    type Request = StoreRequest;
    type Response = StoreResponse;
}

/// Size of one export or import chunk.
pub const CHUNK_SIZE: usize = 1024 * 1024;

/// A new account as the administrator enters it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAccount {
    /// Login name.
    pub name: String,
    /// Password in clear; the store keeps only its argon2 hash.
    pub password: String,
    /// Enabled.
    pub enabled: bool,
    /// Write permission.
    pub write: bool,
    /// The password must be changed at the first login (true when an administrator made
    /// the account: the password is the administrator's, not its user's). Protocol 20.
    pub must_change_password: bool,
}

/// Changes to an existing account; `None` leaves a field as it is.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AccountUpdate {
    /// Account id.
    pub id: u32,
    /// New login name.
    pub name: Option<String>,
    /// New password; the store keeps only its hash and clears must-change-password.
    pub password: Option<String>,
    /// Enabled.
    pub enabled: Option<bool>,
    /// Write permission.
    pub write: Option<bool>,
    /// With a new password: whether it must be changed at the next login (`Some(true)`
    /// when an administrator sets another account's password); `None` clears it.
    /// Protocol 20.
    pub must_change_password: Option<bool>,
}

/// Store requests. Append-only; bump `PROTO_VERSION` on any change.
///
/// `<&'static str>::from(&request)` is the variant's name (`"PutOmm"`), as the admin CLI's
/// audit entries name their actions (`cli.PutOmm`).
// As for responses: a request lives only between decoding and handling.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, strum::IntoStaticStr)]
pub enum StoreRequest {
    /// Read the system settings.
    GetSettings,
    /// Replace the system settings.
    PutSettings(Settings),
    /// Read the license.
    GetLicense,
    /// Install a signed license file (see the `license` crate): its signature must come from
    /// a configured issuer key and its installation id must match an installed one.
    /// (Protocol 5 replaced the unsigned `PutLicense` in this slot.)
    InstallLicense(Vec<u8>),
    /// Every account (password hashes included; only services see them).
    ListAccounts,
    /// Create an account.
    CreateAccount(NewAccount),
    /// Change an account.
    UpdateAccount(AccountUpdate),
    /// Delete an account (never the default one).
    DeleteAccount(u32),
    /// Check a login; answers with the account.
    CheckLogin {
        /// Login name.
        name: String,
        /// Password in clear.
        password: String,
    },
    /// Every OMM record.
    ListOmms,
    /// Create (id 0) or replace an OMM record.
    PutOmm(Omm),
    /// Delete an OMM record.
    DeleteOmm(u32),
    /// Record an OMM's link state (from svc-axi).
    SetOmmHealth {
        /// OMM id.
        id: u32,
        /// New health.
        health: OmmHealth,
        /// Cloud-ID, when learnt.
        cloud_id: Option<String>,
    },
    /// Read the configuration template.
    GetTemplate,
    /// Replace the configuration template text.
    PutTemplate(String),
    /// One user.
    GetUser(u32),
    /// Create (uid 0) or replace a user; relation fields are kept as stored.
    PutUser(User),
    /// Delete a user (unbinding its device), leaving a tombstone.
    DeleteUser(u32),
    /// A page of users.
    QueryUsers(Query),
    /// One device.
    GetDevice(u32),
    /// Create (ppn 0) or replace a device; relation fields are kept as stored.
    PutDevice(Device),
    /// Delete a device (unbinding its user), leaving a tombstone.
    DeleteDevice(u32),
    /// A page of devices.
    QueryDevices(Query),
    /// Create a user and a device bound with relation Fixed, in one transaction.
    CreateFixed {
        /// The user (uid 0).
        user: User,
        /// The device (ppn 0).
        device: Device,
    },
    /// Bind a user and a device (Dynamic or Fixed).
    Bind {
        /// User id.
        uid: u32,
        /// Device id.
        ppn: u32,
        /// Dynamic or Fixed.
        rel_type: RelType,
    },
    /// Unbind a user from its device.
    Unbind(u32),
    /// Change a bound pair's relation between Dynamic and Fixed.
    ChangeRelationType {
        /// User id.
        uid: u32,
        /// The new relation type.
        rel_type: RelType,
    },
    /// Change a user's provisioning source (only External to Internal).
    ChangeSource {
        /// User id.
        uid: u32,
        /// The new source.
        source: Source,
    },
    /// Create or replace many users and devices in one transaction (imports).
    BulkPut {
        /// Users.
        users: Vec<User>,
        /// Devices.
        devices: Vec<Device>,
    },
    /// Every conference room.
    ListConferenceRooms,
    /// Create (id 0) or replace a conference room.
    PutConferenceRoom(ConferenceRoom),
    /// Delete a conference room.
    DeleteConferenceRoom(u32),
    /// Tombstones of deletions at or after a time.
    TombstonesSince(Timestamp),
    /// Add an event-log entry (a repeat raises the count of the same entry).
    LogEvent {
        /// Severity.
        severity: Severity,
        /// Subsystem.
        subsystem: String,
        /// Text.
        text: String,
    },
    /// The event log, newest first.
    ListEvents,
    /// Add to a statistics counter.
    AddToCounter {
        /// Counter name.
        name: String,
        /// Amount.
        delta: u64,
    },
    /// Set a statistics counter (gauges such as links up).
    SetCounter {
        /// Counter name.
        name: String,
        /// Value.
        value: u64,
    },
    /// Every counter with its history.
    ListCounters,
    /// Subscribe to the change feed after revision `from_rev`.
    Subscribe {
        /// Last revision the subscriber has seen (0 for all it can get).
        from_rev: u64,
    },
    /// The current global revision.
    CurrentRevision,
    /// Start an export: the store makes a consistent, compacted copy.
    ExportBegin,
    /// Read one chunk of an export.
    ExportChunk {
        /// Export id.
        export: u64,
        /// Byte offset.
        offset: u64,
    },
    /// Start an import of `size` bytes.
    ImportBegin {
        /// Total size.
        size: u64,
    },
    /// Send one chunk of an import, in order.
    ImportChunk {
        /// Import id.
        import: u64,
        /// Bytes.
        data: Vec<u8>,
    },
    /// Validate the whole import and swap it in.
    ImportCommit {
        /// Import id.
        import: u64,
    },
    /// The user with this number.
    GetUserByNumber(String),
    /// The device with this IPEI.
    GetDeviceByIpei(model::Ipei),
    /// The users with these numbers, in order (`None` where there is none).
    GetUsersByNumber(Vec<String>),
    /// The devices with these IPEIs, in order.
    GetDevicesByIpei(Vec<model::Ipei>),
    /// Create or replace many users in one transaction; each succeeds or fails alone.
    PutUsers(Vec<User>),
    /// Create or replace many devices in one transaction; each succeeds or fails alone.
    PutDevices(Vec<Device>),
    /// Take over many bindings an OMM has, `(uid, ppn, relation, the OMM's relation
    /// timestamp)`, in one transaction; the records' own timestamps stay as they are. Each
    /// succeeds or fails alone.
    BindMany(Vec<(u32, u32, RelType, Timestamp)>),
    /// The "Health states" pane: license and OMM connections.
    GetHealth,
    /// `request`, made by the link of OMM `omm`: the changes it causes carry
    /// `origin = omm`, so that link need not look at them again.
    FromOmm {
        /// The OMM whose link sends it.
        omm: u32,
        /// The request itself.
        request: Box<StoreRequest>,
    },
    /// Unsubscribe a handset (relation type Fixed only): it is deleted on its OMM and
    /// everywhere else, its user unbound.
    UnsubscribeDevice(u32),
    /// Replace the open conflicts of OMM `omm` (from its link, which finds them); a new one
    /// gets an event-log entry. Protocol 7.
    SetConflicts {
        /// The OMM whose records are held back.
        omm: u32,
        /// Every open conflict of that OMM.
        conflicts: Vec<Conflict>,
    },
    /// Every open conflict.
    ListConflicts,
    /// svc-axi is not running (from the supervisor, before it starts svc-axi again): every
    /// OMM link the store shows as not down, last reported at or before `before`, becomes
    /// down with `reason`, in one transaction. Protocol 9.
    LinksLost {
        /// When svc-axi ended (or the MOM started).
        before: Timestamp,
        /// Why, for the OMM records.
        reason: String,
    },
    /// Clear the event log ("Clear all" in the event log pane).
    ClearEvents,
    /// Append an entry to the audit trail (`seq` and `time` are assigned).
    AppendAudit(AuditEntry),
    /// The audit trail, oldest first.
    ListAudit,
    /// As [`StoreRequest::ImportCommit`], but also when the import carries another
    /// installation's license or SARI onto a MOM with linked OMMs (the administrator
    /// confirmed it).
    ImportCommitForeign {
        /// Import id.
        import: u64,
    },
    /// Carry out a write in a transaction and abort it: its answer (per-record results of
    /// `PutUsers`, say) without changing anything. Not for license installs, OMM-link writes
    /// or another dry run.
    DryRun(Box<StoreRequest>),
    /// One OMM record. Protocol 13.
    GetOmm(u32),
    /// Record a fetch of `ipdect.cfg` by OMM `id` (from svc-web): the OMM's last fetch, and
    /// when it was served, the file itself (for the diff with what it would get next) and
    /// the end of a provisioning warning.
    RecordFetch {
        /// OMM id.
        id: u32,
        /// The fetch.
        fetch: model::ConfigFetch,
        /// What was served; `None` when it was refused.
        served: Option<String>,
    },
    /// What OMM `id` was last served, if anything.
    GetServedConfig(u32),
    /// "Update OMM" is being sent to OMM `id` at `at` (from svc-axi); a served fetch clears it.
    UpdateSent {
        /// OMM id.
        id: u32,
        /// When.
        at: Timestamp,
    },
    /// The fetch timeout after the update sent at `sent` ran out (from svc-axi): unless OMM
    /// `id` fetched since, its provisioning gets a warning with `reason`.
    FetchOverdue {
        /// OMM id.
        id: u32,
        /// When the update was sent.
        sent: Timestamp,
        /// The warning.
        reason: String,
    },
    /// The administrator's way back in (`sip-dect-mom reset-password`, root on the MOM's
    /// server): account `name` gets `password` (checked by the rules), is enabled, and must
    /// change the password at its next login. Protocol 15.
    ResetPassword {
        /// Account name.
        name: String,
        /// The new, temporary password.
        password: String,
    },
    /// This database's random id, made anew when a database is created or imported: state
    /// kept outside the database and keyed by its record ids (svc-web's sessions, API tokens
    /// and second factors) is valid only for the id it was made under. Protocol 19.
    DatabaseId,
    /// The secrets key of the installation that wrote import `import` (the text of its
    /// `secrets.key`), for an export made elsewhere: its sealed PINs and passwords are
    /// opened with it and sealed again with this installation's key. Protocol 21.
    ImportSecretsKey {
        /// Import id.
        import: u64,
        /// The key file's text.
        key: String,
    },
    /// A page of the Overview: users with their bound DECT phones, filtered and sorted on
    /// the columns of both (a phone's as `device.<column>`, see [`model::overview`]).
    /// Protocol 22.
    QueryOverview(Query),
    /// `request`, a write, made by `audit.actor`: the store reads the records it touches,
    /// applies it and appends the audit entry with their images before and after (secrets
    /// redacted), all in one transaction. A write whose entry cannot be written is not made.
    /// Protocol 23.
    Audited {
        /// Who, from where, what.
        audit: Audit,
        /// The write itself.
        request: Box<StoreRequest>,
    },
}

/// Who makes an audited write, from where, and what it is, as the audit trail names them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Audit {
    /// The account (or `cli:<user>`).
    pub actor: String,
    /// Where from: an address, `maxi <address>` or `local`.
    pub source: String,
    /// What, as `users.edit`.
    pub action: String,
    /// The record or records, as `user 7`.
    pub target: String,
}

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangeOp {
    /// Created or replaced.
    Put,
    /// Deleted.
    Delete,
}

impl StoreRequest {
    /// Whether the request is a write the store can audit in its own transaction
    /// ([`StoreRequest::Audited`]): not a read, a transfer, a license file (checked before
    /// any transaction), an audit entry, a dry run or a wrapper.
    #[must_use]
    pub fn auditable(&self) -> bool {
        !self.is_read()
            && !matches!(
                self,
                Self::InstallLicense(_)
                    | Self::Subscribe { .. }
                    | Self::ExportBegin
                    | Self::ExportChunk { .. }
                    | Self::ImportBegin { .. }
                    | Self::ImportChunk { .. }
                    | Self::ImportCommit { .. }
                    | Self::ImportCommitForeign { .. }
                    | Self::ImportSecretsKey { .. }
                    | Self::AppendAudit(_)
                    | Self::Audited { .. }
                    | Self::DryRun(_)
                    | Self::FromOmm { .. }
            )
    }

    /// Whether the request only reads (the store answers it from a snapshot).
    #[must_use]
    pub fn is_read(&self) -> bool {
        matches!(
            self,
            Self::GetSettings
                | Self::GetLicense
                | Self::GetHealth
                | Self::ListAccounts
                | Self::CheckLogin { .. }
                | Self::ListOmms
                | Self::GetTemplate
                | Self::GetUser(_)
                | Self::GetDevice(_)
                | Self::QueryUsers(_)
                | Self::QueryDevices(_)
                | Self::ListConferenceRooms
                | Self::TombstonesSince(_)
                | Self::ListEvents
                | Self::ListCounters
                | Self::CurrentRevision
                | Self::GetUserByNumber(_)
                | Self::GetDeviceByIpei(_)
                | Self::GetUsersByNumber(_)
                | Self::GetDevicesByIpei(_)
                | Self::ListConflicts
                | Self::ListAudit
                | Self::GetOmm(_)
                | Self::GetServedConfig(_)
                | Self::DatabaseId
                | Self::QueryOverview(_)
        )
    }
}

/// One entry of the change feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// Global revision of this change.
    pub rev: u64,
    /// Kind of record.
    pub entity: Entity,
    /// Its id (0 for singletons).
    pub id: u32,
    /// What happened.
    pub op: ChangeOp,
    /// The OMM the record belongs to after the change (a user's home, a device's location),
    /// 0 for none; lets each OMM link skip the changes of other OMMs without a lookup.
    pub omm: u32,
    /// The OMM whose link made the change ([`StoreRequest::FromOmm`]), 0 for anyone else; a
    /// link skips its own changes without a lookup.
    pub origin: u32,
}

impl Change {
    /// The change that stands for "the whole database was replaced" at revision `rev`:
    /// every subscriber reloads.
    #[must_use]
    pub fn database(rev: u64) -> Self {
        Self {
            rev,
            entity: model::Entity::Database,
            id: 0,
            op: ChangeOp::Put,
            omm: 0,
            origin: 0,
        }
    }
}

/// Store responses and events. Append-only; bump `PROTO_VERSION` on any change.
// A response lives only between decoding and handling; boxing the large records would cost
// an allocation each for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum StoreResponse {
    /// The write committed durably.
    Done,
    /// The request was refused.
    Error(StoreError),
    /// Settings.
    Settings(Settings),
    /// The license, if one is installed.
    License(Option<License>),
    /// Accounts.
    Accounts(Vec<Account>),
    /// One account.
    Account(Account),
    /// OMMs.
    Omms(Vec<Omm>),
    /// The template.
    Template(ConfigTemplate),
    /// One user.
    User(User),
    /// One device.
    Device(Device),
    /// A page of users.
    Users(Page<User>),
    /// A page of devices.
    Devices(Page<Device>),
    /// A record was created with this id.
    Created(u32),
    /// A fixed pair was created.
    CreatedFixed {
        /// User id.
        uid: u32,
        /// Device id.
        ppn: u32,
    },
    /// Conference rooms.
    Rooms(Vec<ConferenceRoom>),
    /// Tombstones.
    Tombstones(Vec<Tombstone>),
    /// Event log, newest first.
    Events(Vec<EventEntry>),
    /// Counters.
    Counters(Vec<Counter>),
    /// The current revision.
    Revision(u64),
    /// An export is ready.
    ExportReady {
        /// Export id.
        export: u64,
        /// Total size in bytes.
        size: u64,
    },
    /// One export chunk; empty at the end.
    Chunk(Vec<u8>),
    /// An import was started.
    ImportReady {
        /// Import id.
        import: u64,
    },
    /// Event: a committed change.
    Changed(Change),
    /// Event: the subscriber's revision is no longer in the change log; reload everything.
    ResyncNeeded {
        /// The current revision to resume from after reloading.
        rev: u64,
    },
    /// Users found by key, in the order asked.
    UsersByKey(Vec<Option<User>>),
    /// Devices found by key, in the order asked.
    DevicesByKey(Vec<Option<Device>>),
    /// Outcome of each record of a batch write, in order.
    CreatedMany(Vec<Result<u32, StoreError>>),
    /// The health states, in the pane's order.
    Health(Vec<HealthState>),
    /// The open conflicts, by OMM.
    Conflicts(Vec<Conflict>),
    /// The audit trail.
    Audit(Vec<AuditEntry>),
    /// One OMM record. Protocol 13.
    Omm(Omm),
    /// What an OMM was last served, if anything.
    ServedConfig(Option<String>),
    /// The answer to [`StoreRequest::DatabaseId`].
    DatabaseId(u64),
    /// The answer to [`StoreRequest::QueryOverview`]. Protocol 22.
    Overview(Page<OverviewRow>),
}

impl StoreResponse {
    /// The page of users this answer carries, if it is one.
    #[must_use]
    pub fn into_users(self) -> Option<Page<User>> {
        match self {
            Self::Users(page) => Some(page),
            _ => None,
        }
    }

    /// The page of devices this answer carries, if it is one.
    #[must_use]
    pub fn into_devices(self) -> Option<Page<Device>> {
        match self {
            Self::Devices(page) => Some(page),
            _ => None,
        }
    }
}

/// Why the store refused a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoreError {
    /// No such record.
    NotFound {
        /// Kind.
        entity: Entity,
        /// Id.
        id: u32,
    },
    /// The IPEI is not valid.
    InvalidIpei(String),
    /// Another device has this IPEI.
    DuplicateIpei(String),
    /// Another user has this number.
    DuplicateNumber(String),
    /// Another account has this name.
    DuplicateAccountName(String),
    /// Another conference room has this number.
    DuplicateRoomNumber(String),
    /// The permanent-user limit would be exceeded.
    TooManyPermanentUsers(usize),
    /// A permanent user must have source Internal.
    PermanentMustBeInternal,
    /// The default account cannot be deleted.
    DefaultAccountUndeletable,
    /// The relation change is not allowed; the text says why.
    RelationChange(String),
    /// The source change is not allowed; the text says why.
    SourceChange(String),
    /// A field value is not acceptable; the text says which and why.
    Invalid(String),
    /// The query is malformed.
    Query(QueryError),
    /// Wrong name or password.
    WrongPassword,
    /// The account is disabled.
    AccountDisabled,
    /// A new license is for another installation.
    LicenseMismatch {
        /// Installed id.
        installed: String,
        /// Offered id.
        offered: String,
    },
    /// The import file was refused; nothing was changed.
    Import(String),
    /// The export or import id is unknown or expired.
    UnknownTransfer(u64),
    /// The database failed; the text is for the log.
    Storage(String),
    /// The license file was refused (shape, signature or issuer); the text says why.
    LicenseRefused(String),
    /// The import carries another installation's identity onto a MOM with linked OMMs;
    /// refused unless confirmed ([`StoreRequest::ImportCommitForeign`]).
    ForeignIdentity {
        /// What this MOM has (installation id or SARI).
        installed: String,
        /// What the import carries.
        offered: String,
    },
    /// The database was written by a newer version (after a downgrade); it is left as it
    /// is, and no restart can cure this.
    NewerDatabase {
        /// The database folder.
        dir: String,
        /// The schema version it has.
        found: u32,
        /// The newest schema version this build reads.
        supported: u32,
        /// This build's version.
        version: String,
    },
    /// Too many password checks are waiting (each costs about 19 MiB and tens of
    /// milliseconds); try again after so many seconds.
    Busy {
        /// Seconds to wait.
        retry_after_secs: u32,
    },
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound { entity, id } => write!(f, "{entity:?} {id} does not exist"),
            Self::InvalidIpei(e) => write!(f, "invalid IPEI: {e}"),
            Self::DuplicateIpei(i) => write!(f, "IPEI {i} is already used by another device"),
            Self::DuplicateNumber(n) => write!(f, "number {n} is already used by another user"),
            Self::DuplicateAccountName(n) => write!(f, "account name {n:?} is already used"),
            Self::DuplicateRoomNumber(n) => {
                write!(f, "number {n} is already used by another conference room")
            }
            Self::TooManyPermanentUsers(max) => {
                write!(f, "at most {max} permanent users are allowed")
            }
            Self::PermanentMustBeInternal => {
                f.write_str("a permanent user cannot be provisioned externally")
            }
            Self::DefaultAccountUndeletable => f.write_str("the default account cannot be deleted"),
            Self::RelationChange(why) => write!(f, "relation type cannot change: {why}"),
            Self::SourceChange(why) => write!(f, "source cannot change: {why}"),
            Self::Invalid(why) => f.write_str(why),
            Self::Query(e) => write!(f, "bad query: {e}"),
            Self::WrongPassword => f.write_str("wrong name or password"),
            Self::AccountDisabled => f.write_str("the account is disabled"),
            Self::LicenseMismatch { installed, offered } => write!(
                f,
                "license is for installation {offered}, this MOM is installation {installed}"
            ),
            Self::Import(why) => write!(f, "import refused, database unchanged: {why}"),
            Self::UnknownTransfer(id) => write!(f, "no export or import with id {id}"),
            Self::Storage(e) => write!(f, "database error: {e}"),
            Self::LicenseRefused(why) => write!(f, "license refused: {why}"),
            Self::NewerDatabase { dir, found, supported, version } => write!(
                f,
                "the database in {dir} has schema version {found}, written by a newer sip-dect-mom; \
                 this version ({version}) reads schema {supported} and older. It is left untouched: \
                 install the newer version again, or move the folder away and import a database \
                 export this version can read"
            ),
            Self::Busy { retry_after_secs } => write!(
                f,
                "too many logins are being checked; try again in {retry_after_secs} s"
            ),
            Self::ForeignIdentity { installed, offered } => write!(
                f,
                "the import belongs to another installation ({offered}, this MOM is {installed}) and OMMs are linked; confirm to import it anyway"
            ),
        }
    }
}

impl std::error::Error for StoreError {}
