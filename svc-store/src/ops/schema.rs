//! The database's schema: its version, the meta keys, the default template and the change
//! log's length.

use super::*;

/// Schema version of the database (kept in `model`, whose records it versions, so the CLI
/// can name it without linking the store); an import of another version is refused.
pub use model::SCHEMA_VERSION;

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
    /// In a cluster: the log id of the last Raft entry applied (openraft's `LogId`), written
    /// in the transaction of the entry's change.
    pub const RAFT_APPLIED: &[u8] = b"raft-applied";
    /// In a cluster: the membership the applied entries stand for (openraft's
    /// `StoredMembership`).
    pub const RAFT_MEMBERSHIP: &[u8] = b"raft-membership";

    /// The key of what OMM `id` was last served.
    #[must_use]
    pub fn served(id: u32) -> Vec<u8> {
        [SERVED, &id.to_be_bytes()].concat()
    }
}

/// The configuration template of a new database (`packaging/ipdect-template.xml`): the
/// admin guide's provisioning checklist as commented-out commands.
pub const DEFAULT_TEMPLATE: &str = include_str!("../../../packaging/ipdect-template.xml");

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

/// A fresh random database id ([`meta::DATABASE_ID`]).
#[must_use]
pub fn new_database_id() -> u64 {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    OsRng.next_u64()
}
