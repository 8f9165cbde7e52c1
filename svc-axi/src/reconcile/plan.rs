//! The reconciliation plan (axi-profile.md §4 and §10), sans-IO: from what the OMM has, what
//! the MOM has and the tombstones, which records each side gets. The user and device halves
//! are one function over a [`Kind`]; `reconcile/mod.rs` only fetches and executes.
//!
//! The rules, per record of the OMM, matched to the MOM's by its natural key (a user's
//! number, a device's IPEI):
//! - only the OMM has it: imported, unless a tombstone at least as new says the MOM deleted
//!   it meanwhile (then it is deleted on the OMM). A record the MOM keeps at this OMM under
//!   the OMM's id is the same record even when its key changed there (a user renumbered on
//!   the OMM while it was away), unless another OMM record has that key;
//! - the MOM has it at this OMM (or at none): the newer `timeStamp` wins each way; on a tie
//!   the MOM's copy stands, and only its ids and home are brought up to date;
//! - the MOM has it as a copy every OMM holds (permanent users and their handsets): kept,
//!   and the MOM's newer copy is written;
//! - the MOM has it at another OMM and its copy is newer: a stale copy (the record moved
//!   away while this OMM was away), deleted here;
//! - the MOM has it at another OMM and this OMM's copy is as new or newer: both OMMs claim
//!   it (a handset on two OMMs, a number given out twice). Neither is overwritten: it is a
//!   [`Clash`], held back and listed as a conflict.
//!
//! Then every record the MOM keeps at this OMM that the OMM lacks is created there, and so
//! is every copy the OMM should hold and lacks.

use axi::convert::{device_from_axi, device_to_axi, user_from_axi, user_to_axi};
use axi::record::AxiRecord;
use axi::{PpDev, PpUser};
use model::{Device, Entity, Timestamp, User};
use std::collections::{HashMap, HashSet};

/// Deletions the MOM made: (kind, natural key) → when.
pub type Tombstones = HashMap<(Entity, String), Timestamp>;

/// One record kind as reconciliation sees it: how it is keyed, stamped, placed and copied.
pub trait Kind: std::fmt::Debug + Clone + PartialEq {
    /// The OMM's record.
    type Omm: AxiRecord + std::fmt::Debug + Clone + PartialEq;
    /// The MOM's record.
    type Mom: std::fmt::Debug + Clone + PartialEq;
    /// The kind in tombstones.
    const ENTITY: Entity;
    /// The OMM's id of its record.
    fn omm_id(r: &Self::Omm) -> Option<u32>;
    /// The natural key of the OMM's record, as tombstones and conflicts name it.
    fn omm_key(r: &Self::Omm) -> Option<String>;
    /// The OMM record's `timeStamp` (0 when it has none).
    fn omm_stamp(r: &Self::Omm) -> Timestamp {
        r.raw("timeStamp").and_then(|t| t.parse().ok()).unwrap_or(0)
    }
    /// The MOM's id.
    fn id(m: &Self::Mom) -> u32;
    /// The MOM record's `timeStamp`.
    fn stamp(m: &Self::Mom) -> Timestamp;
    /// The OMM the MOM has it at (a user's home, a device's location), 0 for none.
    fn place(m: &Self::Mom) -> u32;
    /// The OMM id kept in the MOM's record.
    fn kept_omm_id(m: &Self::Mom) -> u32;
    /// `m` (or a new record) with the OMM's content, placed at `omm` under `omm_id`; its
    /// secrets decrypted with the MOM's `key` when given.
    fn taken(
        m: Option<Self::Mom>,
        r: &Self::Omm,
        place: (u32, u32),
        key: Option<&rsa::RsaPrivateKey>,
    ) -> Self::Mom;
    /// `m` placed at `omm` under `omm_id`, its content unchanged.
    fn placed(m: Self::Mom, omm: u32, omm_id: u32) -> Self::Mom;
    /// The record that writes `m` to the OMM record `omm_id`.
    fn for_set(m: &Self::Mom, omm_id: u32) -> Self::Omm;
}

/// Users, matched by number.
#[derive(Debug, Clone, PartialEq)]
pub struct Users;
/// Devices, matched by IPEI.
#[derive(Debug, Clone, PartialEq)]
pub struct Devices;

impl Kind for Users {
    type Omm = PpUser;
    type Mom = User;
    const ENTITY: Entity = Entity::User;
    fn omm_id(r: &PpUser) -> Option<u32> {
        r.get(PpUser::UID)
    }
    fn omm_key(r: &PpUser) -> Option<String> {
        r.raw("num").map(str::to_owned)
    }
    fn id(m: &User) -> u32 {
        m.uid
    }
    fn stamp(m: &User) -> Timestamp {
        m.timestamp
    }
    fn place(m: &User) -> u32 {
        m.home_omm
    }
    fn kept_omm_id(m: &User) -> u32 {
        m.omm_uid
    }
    fn taken(
        m: Option<User>,
        r: &PpUser,
        (omm, omm_id): (u32, u32),
        key: Option<&rsa::RsaPrivateKey>,
    ) -> User {
        let mut user = m.unwrap_or_default();
        user_from_axi(&mut user, r);
        if let Some(key) = key {
            // A secret that does not decrypt keeps the MOM's value.
            let _ = crate::secrets::decrypt_from(&mut user, r, key);
        }
        Self::placed(user, omm, omm_id)
    }
    fn placed(mut m: User, omm: u32, omm_id: u32) -> User {
        m.home_omm = omm;
        m.omm_uid = omm_id;
        m
    }
    fn for_set(m: &User, omm_id: u32) -> PpUser {
        let mut rec = user_to_axi(m);
        rec.set(PpUser::UID, omm_id);
        rec
    }
}

impl Kind for Devices {
    type Omm = PpDev;
    type Mom = Device;
    const ENTITY: Entity = Entity::Device;
    fn omm_id(r: &PpDev) -> Option<u32> {
        r.get(PpDev::PPN)
    }
    fn omm_key(r: &PpDev) -> Option<String> {
        r.get(PpDev::IPEI).map(|i| i.to_string())
    }
    fn id(m: &Device) -> u32 {
        m.ppn
    }
    fn stamp(m: &Device) -> Timestamp {
        m.timestamp
    }
    fn place(m: &Device) -> u32 {
        m.location
    }
    fn kept_omm_id(m: &Device) -> u32 {
        m.omm_ppn
    }
    fn taken(
        m: Option<Device>,
        r: &PpDev,
        (omm, omm_id): (u32, u32),
        _key: Option<&rsa::RsaPrivateKey>,
    ) -> Device {
        // The plan only takes records that have an IPEI (their key).
        let ipei = r.get(PpDev::IPEI).unwrap_or(model::Ipei { emc: 0, psn: 0 });
        let mut device = m.unwrap_or_else(|| Device::new(ipei));
        device_from_axi(&mut device, r);
        Self::placed(device, omm, omm_id)
    }
    fn placed(mut m: Device, omm: u32, omm_id: u32) -> Device {
        m.location = omm;
        m.omm_ppn = omm_id;
        m
    }
    fn for_set(m: &Device, omm_id: u32) -> PpDev {
        let mut rec = device_to_axi(m);
        rec.set(PpDev::PPN, omm_id);
        // The IPEI is the record's identity: it is never changed by a set.
        rec.remove(PpDev::IPEI);
        rec
    }
}

/// What the plan is made from.
pub struct Input<'a, K: Kind> {
    /// The OMM reconciled.
    pub omm: u32,
    /// The OMM's records, each with the MOM's record of the same key, if any.
    pub matched: Vec<(&'a K::Omm, Option<K::Mom>)>,
    /// The MOM's records at this OMM.
    pub at_omm: Vec<K::Mom>,
    /// The MOM's records every OMM holds a copy of (permanent users, their handsets): at
    /// least those the OMM did not return.
    pub everywhere: Vec<K::Mom>,
    /// The MOM's deletions.
    pub tombstones: &'a Tombstones,
    /// The MOM's key, for the secrets of the records it takes.
    pub key: Option<&'a rsa::RsaPrivateKey>,
}

/// A record both sides hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Agreed<M> {
    /// The MOM's record as the OMM has it after the plan.
    pub mom: M,
    /// The OMM's id for it.
    pub omm_id: u32,
    /// A copy of a record whose home is another OMM (permanent users and their handsets).
    pub copy: bool,
}

/// Why a record is deleted on the OMM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gone {
    /// The MOM deleted it while the OMM was away.
    Tombstone,
    /// It moved to this other OMM while the OMM was away.
    MovedTo(u32),
}

/// A write on the OMM.
#[derive(Debug, Clone, PartialEq)]
pub enum OmmWrite<K: Kind> {
    /// The MOM's copy is newer: the OMM gets it.
    Set {
        /// The OMM's id.
        omm_id: u32,
        /// The record to write (its secrets are added for the OMM's key when it is sent).
        record: K::Omm,
        /// The MOM's record it is made from.
        mom: K::Mom,
    },
    /// The OMM's record goes.
    Delete {
        /// The OMM's id.
        omm_id: u32,
        /// Why.
        why: Gone,
    },
    /// The MOM has it and the OMM does not: it is created there.
    Create {
        /// The MOM's record.
        mom: K::Mom,
        /// A copy of a record whose home is another OMM.
        copy: bool,
    },
}

/// Two OMMs claim the same record: the OMM reconciled and the one the MOM has it at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clash {
    /// The natural key (number or IPEI).
    pub key: String,
    /// The id of the record on the OMM reconciled.
    pub omm_id: u32,
    /// The OMM the MOM has the record at.
    pub other_omm: u32,
}

/// What reconciliation does for one kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan<K: Kind> {
    /// Records the MOM takes from the OMM (new ones, newer ones, and ones whose ids or home
    /// changed), each with the OMM's id; agreed once the store has them.
    pub take: Vec<(K::Mom, u32)>,
    /// Records both sides hold already, as they will be after the plan.
    pub agreed: Vec<Agreed<K::Mom>>,
    /// Writes on the OMM, creates last.
    pub omm: Vec<OmmWrite<K>>,
    /// Records held back.
    pub clashes: Vec<Clash>,
}

/// The plan for one kind (the rules are in the module's documentation).
#[must_use]
pub fn plan<K: Kind>(input: Input<'_, K>) -> Plan<K> {
    let Input {
        omm,
        matched,
        at_omm,
        everywhere,
        tombstones,
        key: mom_key,
    } = input;
    let everywhere_ids: HashSet<u32> = everywhere.iter().map(K::id).collect();
    let mut plan = Plan {
        take: Vec::new(),
        agreed: Vec::new(),
        omm: Vec::new(),
        clashes: Vec::new(),
    };
    let mut held: HashSet<u32> = HashSet::new();
    // A record whose key changed on the OMM while it was away (a user given another
    // number there) is still the record the MOM keeps at this OMM under the OMM's id: it is
    // matched by that id, unless another OMM record has its key.
    let by_key: HashSet<u32> = matched
        .iter()
        .filter_map(|(_, m)| m.as_ref().map(K::id))
        .collect();
    let mut by_omm_id: HashMap<u32, K::Mom> = at_omm
        .iter()
        .filter(|m| K::kept_omm_id(m) != 0 && !by_key.contains(&K::id(m)))
        .map(|m| (K::kept_omm_id(m), m.clone()))
        .collect();
    for (theirs, mine) in matched {
        let (Some(omm_id), Some(key)) = (K::omm_id(theirs), K::omm_key(theirs)) else {
            continue;
        };
        let stamp = K::omm_stamp(theirs);
        let mine = mine.or_else(|| by_omm_id.remove(&omm_id));
        match mine {
            None => {
                let deleted = tombstones.get(&(K::ENTITY, key));
                if deleted.is_some_and(|deleted| *deleted >= stamp) {
                    plan.omm.push(OmmWrite::Delete {
                        omm_id,
                        why: Gone::Tombstone,
                    });
                } else {
                    plan.take
                        .push((K::taken(None, theirs, (omm, omm_id), mom_key), omm_id));
                }
            }
            Some(mine) if K::place(&mine) == omm || K::place(&mine) == 0 => {
                held.insert(K::id(&mine));
                let ours = K::stamp(&mine);
                if stamp > ours {
                    plan.take
                        .push((K::taken(Some(mine), theirs, (omm, omm_id), mom_key), omm_id));
                } else if ours > stamp {
                    plan.omm.push(OmmWrite::Set {
                        omm_id,
                        record: K::for_set(&mine, omm_id),
                        mom: mine.clone(),
                    });
                    plan.agreed.push(Agreed {
                        mom: mine,
                        omm_id,
                        copy: false,
                    });
                } else if K::kept_omm_id(&mine) != omm_id || K::place(&mine) != omm {
                    plan.take.push((K::placed(mine, omm, omm_id), omm_id));
                } else {
                    plan.agreed.push(Agreed {
                        mom: mine,
                        omm_id,
                        copy: false,
                    });
                }
            }
            Some(mine) if everywhere_ids.contains(&K::id(&mine)) => {
                held.insert(K::id(&mine));
                if K::stamp(&mine) > stamp {
                    plan.omm.push(OmmWrite::Set {
                        omm_id,
                        record: K::for_set(&mine, omm_id),
                        mom: mine.clone(),
                    });
                }
                plan.agreed.push(Agreed {
                    mom: mine,
                    omm_id,
                    copy: true,
                });
            }
            Some(mine) if K::stamp(&mine) > stamp => {
                plan.omm.push(OmmWrite::Delete {
                    omm_id,
                    why: Gone::MovedTo(K::place(&mine)),
                });
            }
            Some(mine) => plan.clashes.push(Clash {
                key,
                omm_id,
                other_omm: K::place(&mine),
            }),
        }
    }
    for mine in at_omm {
        if !held.contains(&K::id(&mine)) && !everywhere_ids.contains(&K::id(&mine)) {
            held.insert(K::id(&mine));
            plan.omm.push(OmmWrite::Create {
                mom: mine,
                copy: false,
            });
        }
    }
    for mine in everywhere {
        if held.insert(K::id(&mine)) {
            let copy = K::place(&mine) != omm;
            plan.omm.push(OmmWrite::Create { mom: mine, copy });
        }
    }
    plan
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
