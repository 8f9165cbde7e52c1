//! The store's API (`store.sock`): every read and write of the MOM's records.
//!
//! Requests and [`Audit`] here; answers and events in [`response`], the change feed's
//! [`Change`] in [`change`], refusals in [`error`].

use crate::Api;
use model::{
    AuditEntry, ConferenceRoom, Conflict, Device, Omm, OmmHealth, Query, RelType, Settings,
    Severity, Source, Timestamp, User,
};
use serde::{Deserialize, Serialize};

pub mod change;
pub use change::*;
mod cluster;
pub use cluster::*;
pub mod error;
pub use error::*;
pub mod response;
pub use response::*;

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
    /// This node's view of its cluster (role, term, leader, log and members); refused by a
    /// store that runs alone. Protocol 25.
    ClusterStatus,
    /// Adds node `id`, reached at `address`, to the cluster: it catches up as a learner,
    /// then votes (a membership change through Raft). Only the leader makes it; another
    /// node answers which node leads. Protocol 25.
    ClusterAddNode {
        /// The new node's id.
        id: u64,
        /// Its peer address (`HOST:PORT`).
        address: String,
    },
    /// Removes node `id` from the cluster (a membership change through Raft). Protocol 25.
    ClusterRemoveNode(u64),
    /// Appends every counter's current value to its history (the statistics sampler's
    /// tick; in a cluster the leader proposes it, so every node holds the same samples).
    /// Protocol 26.
    SampleCounters,
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
                    | Self::ClusterAddNode { .. }
                    | Self::ClusterRemoveNode(_)
                    | Self::SampleCounters
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
                | Self::ClusterStatus
        )
    }
}
