//! Relations between users and handsets (bind, unbind, Dynamic ↔ Fixed) as an aspect of
//! their own (axi-profile.md §4, §10): judged by `timeStampRelation`, not by the records'
//! stamps, and written to an OMM only with `SetPP` and `SetPPUserDevRelation`. The decisions
//! are pure ([`settle`], [`plan`], [`binding_step`]); the rest writes them.

use crate::session::ids::Ids;
use crate::session::{End, Refusable, Session};
use axi::message::{SetPP, SetPPUserDevRelation};
use axi::record::AxiRecord;
use axi::{PpDev, PpUser};
use model::{Device, RelType, Timestamp, User};

/// A user's binding as an OMM record states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OmmRelation {
    /// The OMM's id of the handset, 0 when unbound.
    pub ppn: u32,
    /// The relation type.
    pub rel: RelType,
    /// `timeStampRelation`.
    pub stamp: Timestamp,
}

impl OmmRelation {
    /// The binding an OMM user record states.
    #[must_use]
    pub fn of(u: &PpUser) -> Self {
        Self {
            ppn: u.get(PpUser::PPN).unwrap_or(0),
            rel: u.get(PpUser::REL_TYPE).unwrap_or_default(),
            stamp: u.get(PpUser::TIME_STAMP_RELATION).unwrap_or(0),
        }
    }
}

/// How a binding the MOM and an OMM disagree on is settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settle {
    /// They agree (or the OMM's partner is a handset the MOM does not know).
    Agreed,
    /// The OMM's is newer: unbind the MOM's user first if it is bound, then bind it to the
    /// MOM's handset `(ppn, relation, stamp)` if the OMM has one the MOM knows.
    TakeOmm {
        /// The MOM's user is bound and must be unbound first.
        unbind: bool,
        /// The binding to take over.
        bind: Option<(u32, RelType, Timestamp)>,
    },
    /// The MOM's is newer: the OMM gets it.
    PushMom,
}

/// The relation rule: its stamps decide. On a tie the MOM's binding wins, but an unbound MOM
/// record does not undo the OMM's binding (an imported record is unbound until its binding
/// is taken over). `partner` is the MOM's id of the OMM's handset.
#[must_use]
pub fn settle(mine: &User, theirs: OmmRelation, partner: Option<u32>) -> Settle {
    let partner = if theirs.ppn == 0 { None } else { partner };
    let agreed = (mine.ppn == 0 && theirs.ppn == 0)
        || (mine.ppn != 0 && partner == Some(mine.ppn) && theirs.rel == mine.rel_type);
    if agreed {
        return Settle::Agreed;
    }
    let omm_newer = theirs.stamp > mine.timestamp_relation
        || (theirs.stamp == mine.timestamp_relation && mine.ppn == 0);
    if !omm_newer {
        return Settle::PushMom;
    }
    match partner {
        Some(ppn) => Settle::TakeOmm {
            unbind: mine.ppn != 0,
            bind: Some((ppn, theirs.rel, theirs.stamp)),
        },
        None if theirs.ppn == 0 => Settle::TakeOmm {
            unbind: true,
            bind: None,
        },
        // Bound there to a handset the MOM does not know: nothing to take over.
        None => Settle::Agreed,
    }
}

/// What reconciliation does about the bindings of the users both sides hold.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RelationPlan {
    /// Bindings both sides have: `(uid, ppn, relation)`.
    pub agreed: Vec<(u32, u32, RelType)>,
    /// MOM users to unbind (the OMM unbound them later).
    pub unbind: Vec<u32>,
    /// Bindings to take over from the OMM: `(uid, ppn, relation, the OMM's stamp)`.
    pub bind: Vec<(u32, u32, RelType, Timestamp)>,
    /// MOM users whose binding the OMM gets: `(index into the input, OMM ppn it has now)`.
    pub push: Vec<(usize, u32)>,
}

/// Settles every pair of a reconciliation: `pairs` holds each MOM user (its relation as the
/// store keeps it) with the OMM's statement of it; `partner` maps an OMM ppn to the MOM's.
#[must_use]
pub fn plan(pairs: &[(User, OmmRelation)], partner: impl Fn(u32) -> Option<u32>) -> RelationPlan {
    let mut out = RelationPlan::default();
    for (i, (mine, theirs)) in pairs.iter().enumerate() {
        match settle(mine, *theirs, partner(theirs.ppn)) {
            Settle::Agreed => {
                if mine.ppn != 0 {
                    out.agreed.push((mine.uid, mine.ppn, mine.rel_type));
                }
            }
            Settle::TakeOmm { unbind, bind } => {
                if unbind {
                    out.unbind.push(mine.uid);
                }
                if let Some((ppn, rel, stamp)) = bind {
                    out.bind.push((mine.uid, ppn, rel, stamp));
                }
            }
            Settle::PushMom => out.push.push((i, theirs.ppn)),
        }
    }
    out
}

/// The MOM's binding of a user and a device, as both records carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding {
    /// User id.
    pub uid: u32,
    /// Device id, 0 when unbound.
    pub ppn: u32,
    /// Relation type.
    pub rel: RelType,
    /// `timeStampRelation`.
    pub stamp: Timestamp,
}

impl Binding {
    /// The binding a user record carries.
    #[must_use]
    pub fn of_user(user: &User) -> Self {
        Self {
            uid: user.uid,
            ppn: user.ppn,
            rel: user.rel_type,
            stamp: user.timestamp_relation,
        }
    }

    /// The binding a device record carries.
    #[must_use]
    pub fn of_device(device: &Device) -> Self {
        Self {
            uid: device.uid,
            ppn: device.ppn,
            rel: device.rel_type,
            stamp: device.timestamp_relation,
        }
    }
}

/// What makes an OMM's binding of a user agree with the MOM's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindingStep {
    /// Nothing to do (agreed, or a record the OMM does not hold).
    Nothing,
    /// The OMM forgets a binding whose handset it does not hold.
    Forget,
    /// `SetPP` with `0`/`Unbound` for OMM user `omm_uid` and handset `omm_ppn`.
    Unbind {
        /// OMM user.
        omm_uid: u32,
        /// OMM handset it is bound to.
        omm_ppn: u32,
    },
    /// `SetPPUserDevRelation`: only the relation type changed.
    Relation {
        /// OMM user.
        omm_uid: u32,
    },
    /// `SetPP` binding OMM user `omm_uid` and handset `omm_ppn`.
    Bind {
        /// OMM user.
        omm_uid: u32,
        /// OMM handset.
        omm_ppn: u32,
    },
}

/// The step for `binding`, given what the link knows the OMM has.
#[must_use]
pub fn binding_step(ids: &Ids, binding: Binding) -> BindingStep {
    if binding.uid == 0 {
        return BindingStep::Nothing;
    }
    let known = ids.binding.get(&binding.uid).copied();
    let Some(&omm_uid) = ids.users.get(&binding.uid) else {
        return BindingStep::Nothing;
    };
    if binding.ppn == 0 {
        return match known {
            None => BindingStep::Nothing,
            Some((old, _)) => match ids.devices.get(&old) {
                Some(&omm_ppn) => BindingStep::Unbind { omm_uid, omm_ppn },
                None => BindingStep::Forget,
            },
        };
    }
    if known == Some((binding.ppn, binding.rel)) {
        return BindingStep::Nothing;
    }
    let Some(&omm_ppn) = ids.devices.get(&binding.ppn) else {
        return BindingStep::Nothing;
    };
    if known.is_some_and(|(old, _)| old == binding.ppn) {
        BindingStep::Relation { omm_uid }
    } else {
        BindingStep::Bind { omm_uid, omm_ppn }
    }
}

impl Session<'_> {
    /// Binds OMM user `omm_uid` and handset `omm_ppn` on the OMM with `rel` (`SetPP` with
    /// crossed ids), or unbinds them when `rel` is `Unbound` (`0` and `Unbound` on both
    /// sides). The stamp goes on each child, as `timeStamp` and `timeStampRelation`.
    pub(crate) async fn set_binding_on_omm(
        &self,
        omm_uid: u32,
        omm_ppn: u32,
        rel: RelType,
        stamp: Timestamp,
    ) -> Result<(), End> {
        let bound = rel != RelType::Unbound;
        let mut u = PpUser::default();
        u.set(PpUser::UID, omm_uid)
            .set(PpUser::PPN, if bound { omm_ppn } else { 0 })
            .set(PpUser::REL_TYPE, rel)
            .set(PpUser::TIME_STAMP, stamp)
            .set(PpUser::TIME_STAMP_RELATION, stamp);
        let mut d = PpDev::default();
        d.set(PpDev::PPN, omm_ppn)
            .set(PpDev::UID, if bound { omm_uid } else { 0 })
            .set(PpDev::REL_TYPE, rel)
            .set(PpDev::TIME_STAMP, stamp)
            .set(PpDev::TIME_STAMP_RELATION, stamp);
        self.setting(SetPP {
            user: Some(u),
            pp: Some(d),
        })
        .await
    }

    /// Makes the OMM's binding of the user agree with the MOM's ([`binding_step`]).
    pub(crate) async fn sync_binding(&mut self, binding: Binding) -> Result<(), End> {
        match binding_step(&self.ids, binding) {
            BindingStep::Nothing => return Ok(()),
            BindingStep::Forget => {}
            BindingStep::Unbind { omm_uid, omm_ppn } => {
                self.set_binding_on_omm(omm_uid, omm_ppn, RelType::Unbound, binding.stamp)
                    .await?;
            }
            BindingStep::Relation { omm_uid } => {
                self.setting(SetPPUserDevRelation {
                    uid: omm_uid,
                    rel_type: binding.rel,
                    time_stamp: Some(binding.stamp),
                })
                .await?;
            }
            BindingStep::Bind { omm_uid, omm_ppn } => {
                self.set_binding_on_omm(omm_uid, omm_ppn, binding.rel, binding.stamp)
                    .await?;
            }
        }
        if binding.ppn == 0 {
            self.ids.binding.remove(&binding.uid);
        } else {
            self.ids
                .binding
                .insert(binding.uid, (binding.ppn, binding.rel));
        }
        Ok(())
    }

    /// Gives the OMM the MOM's binding of `mine` (or unbinds its user `omm_uid` from its
    /// handset `omm_ppn`); returns whether anything was written.
    pub(crate) async fn push_relation(
        &mut self,
        mine: &User,
        omm_uid: u32,
        omm_ppn: u32,
    ) -> Result<bool, End> {
        if mine.ppn == 0 {
            if omm_ppn == 0 {
                return Ok(false);
            }
            self.set_binding_on_omm(omm_uid, omm_ppn, RelType::Unbound, mine.timestamp_relation)
                .await?;
            self.ids.binding.remove(&mine.uid);
            return Ok(true);
        }
        let Some(&target) = self.ids.devices.get(&mine.ppn) else {
            return Ok(false);
        };
        self.set_binding_on_omm(omm_uid, target, mine.rel_type, mine.timestamp_relation)
            .await?;
        self.ids.binding.insert(mine.uid, (mine.ppn, mine.rel_type));
        Ok(true)
    }

    /// A binding an OMM reported in an event: taken over when newer, answered with the
    /// MOM's when older (in one store transaction each, made as this OMM's link). A binding
    /// the store refuses is held back like a refused record.
    pub(crate) async fn take_relation(
        &mut self,
        mine: &User,
        omm_uid: u32,
        theirs: OmmRelation,
    ) -> Result<(), End> {
        let partner = self.ids.mom_device(theirs.ppn);
        match settle(mine, theirs, partner) {
            Settle::Agreed => {}
            Settle::PushMom => {
                self.push_relation(mine, omm_uid, theirs.ppn).await?;
            }
            Settle::TakeOmm { unbind, bind } => {
                if unbind {
                    if let Err(e) = self.store.unbind(mine.uid).await.refusable()? {
                        tracing::info!(omm = self.omm.id, uid = mine.uid, error = %e, "the OMM's unbind was not taken over");
                        return Ok(());
                    }
                    self.ids.binding.remove(&mine.uid);
                }
                if let Some((ppn, rel, stamp)) = bind {
                    let results = self
                        .store
                        .bind_many(vec![(mine.uid, ppn, rel, stamp)])
                        .await?;
                    match results.into_iter().next() {
                        Some(Ok(_)) => {
                            self.ids.binding.insert(mine.uid, (ppn, rel));
                        }
                        Some(Err(e)) => tracing::info!(
                            omm = self.omm.id,
                            uid = mine.uid,
                            error = %e,
                            "the OMM's binding was not taken over"
                        ),
                        None => {}
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "relations_tests.rs"]
mod tests;
