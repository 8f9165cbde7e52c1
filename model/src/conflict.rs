//! Conflicts between sites (admin guide chapter 1, "Roaming between sites" and "Adding OMM
//! records": before a MOM is commissioned the same handset may be registered on two OMMs, or
//! the same number given out twice). svc-axi holds such records back and lists them; the
//! store keeps the list until the cause is gone.

use crate::{Entity, Timestamp};
use serde::{Deserialize, Serialize};

/// What kind of conflict a held-back record stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ConflictKind {
    /// The same handset (IPEI) is on two OMMs.
    SameHandset,
    /// The same number is given to users on two OMMs.
    SameNumber,
    /// The store refused the OMM's record; the reason says why.
    Refused,
}

impl ConflictKind {
    /// How the admin CLI and UI name it.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::SameHandset => "same handset on two OMMs",
            Self::SameNumber => "same number on two OMMs",
            Self::Refused => "refused by the MOM",
        }
    }
}

/// One open conflict: an OMM's record the MOM holds back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Conflict {
    /// What kind.
    pub kind: ConflictKind,
    /// The OMM whose record is held back.
    pub omm: u32,
    /// User or device.
    pub entity: Entity,
    /// The record's id on that OMM (its `uid` or `ppn`).
    pub omm_record: u32,
    /// The natural key: the number of a user, the IPEI of a handset.
    pub key: String,
    /// The other OMM that has the record, 0 when none is involved.
    pub other_omm: u32,
    /// Why, for the administrator.
    pub reason: String,
    /// When it was first seen.
    pub first_seen: Timestamp,
    /// When it was last seen.
    pub last_seen: Timestamp,
    /// How often it was seen.
    pub count: u32,
}
