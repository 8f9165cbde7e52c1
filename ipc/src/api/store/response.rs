//! The store's answers and the change feed's events on `store.sock`.

use super::*;
use model::{
    Account, AuditEntry, ConferenceRoom, ConfigTemplate, Conflict, Counter, Device, EventEntry,
    HealthState, License, Omm, OverviewRow, Page, Settings, Tombstone, User,
};
use serde::{Deserialize, Serialize};

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
    /// The answer to [`StoreRequest::ClusterStatus`]. Protocol 25.
    ClusterStatus(ClusterStatus),
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
