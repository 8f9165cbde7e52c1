//! The change feed's events: what one committed write changed.

use model::Entity;
use serde::{Deserialize, Serialize};

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangeOp {
    /// Created or replaced.
    Put,
    /// Deleted.
    Delete,
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
    /// The OMM whose link made the change ([`StoreRequest::FromOmm`](super::StoreRequest::FromOmm)), 0 for anyone else; a
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
