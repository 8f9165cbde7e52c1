//! Import and reconciliation of one OMM (axi-profile.md §3 steps 8–9, §4): the link reads
//! the OMM's records and the MOM's, [`plan`] decides, and this module executes the plan,
//! then settles the bindings ([`crate::relations`]), the permanent users' copies and the
//! conference rooms ([`crate::rooms`]).

pub mod plan;

use crate::conflicts::HeldRecord;
use crate::relations::{self, Binding, OmmRelation};
use crate::session::{paging, End, Refusable, Session};
use axi::convert::{device_to_axi, user_to_axi};
use axi::message::*;
use axi::record::AxiRecord;
use axi::{Message, PpDev, PpUser};
use ipc::api::store::StoreError;
use model::{ConflictKind, Device, User};
use plan::{Devices, Gone, Input, Kind, OmmWrite, Plan, Tombstones, Users};
use std::collections::HashMap;

/// How one kind's plan is written: the OMM's messages, the id maps, the store's batch.
pub(crate) trait Execute: Kind {
    /// The conflict kind of two OMMs claiming the same record.
    const CLASH: ConflictKind;
    /// What the record is called in log lines.
    const LABEL: &'static str;
    /// Sends the MOM's newer record `mom` as `record`.
    async fn set(s: &Session<'_>, record: Self::Omm, mom: &Self::Mom) -> Result<(), End>;
    /// Deletes the OMM's record.
    async fn delete(s: &Session<'_>, omm_id: u32) -> Result<(), End>;
    /// Creates the MOM's record; the OMM's id, or its refusal.
    async fn create(s: &Session<'_>, mom: &Self::Mom) -> Result<Result<u32, String>, End>;
    /// Writes records taken from the OMM in one transaction.
    async fn put_many(
        s: &Session<'_>,
        records: Vec<Self::Mom>,
    ) -> Result<Vec<Result<u32, StoreError>>, End>;
    /// Writes one record (its OMM id after a create).
    async fn put(s: &Session<'_>, record: Self::Mom) -> Result<Result<u32, StoreError>, End>;
    /// Records that the OMM holds `mom` as `omm_id` (`copy`: a copy of another OMM's).
    fn agree(s: &mut Session<'_>, mom: &Self::Mom, omm_id: u32, copy: bool);
    /// The MOM record with the id the store gave it.
    fn with_id(mom: Self::Mom, id: u32) -> Self::Mom;
    /// The OMM's record, to hold back.
    fn held(r: &Self::Omm) -> HeldRecord;
}

impl Execute for Users {
    const CLASH: ConflictKind = ConflictKind::SameNumber;
    const LABEL: &'static str = "user";
    async fn set(s: &Session<'_>, mut user: PpUser, mom: &User) -> Result<(), End> {
        if let Err(why) = crate::secrets::encrypt_into(&mut user, mom, s.ids.omm_key.as_ref()) {
            s.note(format!(
                "user {} not sent to OMM {}: {why}",
                mom.num, s.omm.id
            ))
            .await;
            return Ok(());
        }
        s.setting(SetPPUser { user }).await
    }
    async fn delete(s: &Session<'_>, uid: u32) -> Result<(), End> {
        s.setting(DeletePPUser { uid }).await
    }
    async fn create(s: &Session<'_>, mom: &User) -> Result<Result<u32, String>, End> {
        let mut user = user_to_axi(mom);
        if let Err(why) = crate::secrets::encrypt_into(&mut user, mom, s.ids.omm_key.as_ref()) {
            return Ok(Err(why));
        }
        let frame = s.link.request(CreatePPUser { user }).await?;
        Ok(match &frame.message {
            Message::CreatePPUserResp(CreatePPUserResp {
                user: Some(created),
            }) => created
                .get(PpUser::UID)
                .ok_or_else(|| "the answer has no uid".to_owned()),
            _ => Err(crate::session::refused(&frame).unwrap_or_else(|| "no answer".into())),
        })
    }
    async fn put_many(
        s: &Session<'_>,
        records: Vec<User>,
    ) -> Result<Vec<Result<u32, StoreError>>, End> {
        Ok(s.store.put_users(records).await?)
    }
    async fn put(s: &Session<'_>, record: User) -> Result<Result<u32, StoreError>, End> {
        s.store.put_user(record).await.refusable()
    }
    fn agree(s: &mut Session<'_>, mom: &User, omm_id: u32, copy: bool) {
        s.ids.agree_user(mom, omm_id);
        if copy {
            s.ids.perm.insert(mom.uid);
        }
    }
    fn with_id(mut mom: User, id: u32) -> User {
        mom.uid = id;
        mom
    }
    fn held(r: &PpUser) -> HeldRecord {
        HeldRecord::User(r.clone())
    }
}

impl Execute for Devices {
    const CLASH: ConflictKind = ConflictKind::SameHandset;
    const LABEL: &'static str = "handset";
    async fn set(s: &Session<'_>, pp: PpDev, _mom: &Device) -> Result<(), End> {
        s.setting(SetPPDev { pp }).await
    }
    async fn delete(s: &Session<'_>, ppn: u32) -> Result<(), End> {
        s.setting(DeletePPDev { ppn }).await
    }
    async fn create(s: &Session<'_>, mom: &Device) -> Result<Result<u32, String>, End> {
        let frame = s
            .link
            .request(CreatePPDev {
                pp: device_to_axi(mom),
            })
            .await?;
        Ok(match &frame.message {
            Message::CreatePPDevResp(CreatePPDevResp { pp: Some(created) }) => created
                .get(PpDev::PPN)
                .ok_or_else(|| "the answer has no ppn".to_owned()),
            _ => Err(crate::session::refused(&frame).unwrap_or_else(|| "no answer".into())),
        })
    }
    async fn put_many(
        s: &Session<'_>,
        records: Vec<Device>,
    ) -> Result<Vec<Result<u32, StoreError>>, End> {
        Ok(s.store.put_devices(records).await?)
    }
    async fn put(s: &Session<'_>, record: Device) -> Result<Result<u32, StoreError>, End> {
        s.store.put_device(record).await.refusable()
    }
    fn agree(s: &mut Session<'_>, mom: &Device, omm_id: u32, copy: bool) {
        s.ids.agree_device(mom, omm_id);
        if copy {
            s.ids.perm_devices.insert(mom.ppn);
        }
    }
    fn with_id(mut mom: Device, id: u32) -> Device {
        mom.ppn = id;
        mom
    }
    fn held(r: &PpDev) -> HeldRecord {
        HeldRecord::Device(r.clone())
    }
}

/// What executing one kind's plan did.
struct Done<M> {
    /// Records written on either side.
    written: u64,
    /// Every record both sides hold now, with the OMM's id.
    held: Vec<(M, u32)>,
    /// Records created on the OMM: their bindings follow once both kinds exist.
    created: Vec<M>,
}

impl Session<'_> {
    /// Imports and reconciles every user and device of this OMM (profile §4); returns how
    /// many records were written on either side. Store lookups and writes go in batches (one
    /// transaction for all the records of this OMM), so 500 OMMs import in seconds.
    pub(crate) async fn reconcile(&mut self) -> Result<u64, End> {
        // An OMM's whole population is in memory while it is reconciled; after a MOM restart
        // with hundreds of OMMs, all of them at once would be a peak of hundreds of MB that
        // the allocator keeps. A bounded number at a time costs no time: the work is
        // CPU-bound.
        let shared = self.shared;
        let _slot = shared
            .reconcile_slots
            .acquire()
            .await
            .map_err(|_| End::Failed("svc-axi is stopping".into()))?;
        self.conflicts.begin_round();
        let (omm_users, omm_devices) = tokio::try_join!(
            paging::all::<PpUser>(self.link),
            paging::all::<PpDev>(self.link)
        )?;
        let tombstones = self.tombstones().await?;
        let permanent = self.store.users_where("permanent", "true").await?;
        let omm = self.omm.id;

        let users: Vec<&PpUser> = omm_users.iter().filter(|u| has_key::<Users>(u)).collect();
        let found = self
            .store
            .users_by_number(users.iter().filter_map(|u| Users::omm_key(u)).collect())
            .await?;
        let at_omm = self.store.users_where("home_omm", &omm.to_string()).await?;
        let user_plan = plan::plan(Input::<Users> {
            omm,
            matched: users.into_iter().zip(found).collect(),
            at_omm,
            everywhere: permanent.clone(),
            tombstones: &tombstones,
            key: Some(&shared.mom_key),
        });
        let users = self.execute(user_plan, &by_id::<Users>(&omm_users)).await?;

        let devices: Vec<&PpDev> = omm_devices
            .iter()
            .filter(|d| has_key::<Devices>(d))
            .collect();
        let found = self
            .store
            .devices_by_ipei(devices.iter().filter_map(|d| d.get(PpDev::IPEI)).collect())
            .await?;
        let at_omm = self
            .store
            .devices_where("location", &omm.to_string())
            .await?;
        let everywhere = self.permanent_handsets(&permanent, &found).await?;
        let device_plan = plan::plan(Input::<Devices> {
            omm,
            matched: devices.into_iter().zip(found).collect(),
            at_omm,
            everywhere,
            tombstones: &tombstones,
            key: None,
        });
        let devices = self
            .execute(device_plan, &by_id::<Devices>(&omm_devices))
            .await?;

        let mut written = users.written + devices.written;
        written += self.reconcile_relations(&omm_users, users.held).await?;
        // Bindings of what was created on the OMM just now (a fixed pair made at the MOM
        // while the OMM was away), and of every permanent user's copy.
        for user in users.created.iter().chain(&permanent) {
            self.sync_binding(Binding::of_user(user)).await?;
        }
        // Handsets created just now are bound through their users, above.
        written += self.reconcile_rooms().await?;
        self.conflicts.end_round();
        Ok(written)
    }

    /// The MOM's deletions, for the plan.
    async fn tombstones(&self) -> Result<Tombstones, End> {
        Ok(self
            .store
            .tombstones_since(0)
            .await?
            .into_iter()
            .map(|t| ((t.entity, t.key), t.deleted))
            .collect())
    }

    /// Executes one kind's plan: the OMM's writes, the store's batch, the conflicts.
    async fn execute<K: Execute>(
        &mut self,
        plan: Plan<K>,
        records: &HashMap<u32, &K::Omm>,
    ) -> Result<Done<K::Mom>, End> {
        let Plan {
            take,
            agreed,
            omm: writes,
            clashes,
        } = plan;
        let mut done = Done {
            written: 0,
            held: Vec::new(),
            created: Vec::new(),
        };
        for a in agreed {
            K::agree(self, &a.mom, a.omm_id, a.copy);
            done.held.push((a.mom, a.omm_id));
        }
        for write in writes {
            match write {
                OmmWrite::Set { record, mom, .. } => K::set(self, record, &mom).await?,
                OmmWrite::Delete { omm_id, why } => {
                    if let Gone::MovedTo(to) = why {
                        tracing::debug!(
                            omm = self.omm.id,
                            omm_id,
                            to,
                            "stale {} copy removed",
                            K::LABEL
                        );
                    }
                    K::delete(self, omm_id).await?;
                }
                OmmWrite::Create { mom, copy } => match K::create(self, &mom).await? {
                    Ok(omm_id) => {
                        K::agree(self, &mom, omm_id, copy);
                        if !copy && K::place(&mom) == self.omm.id {
                            // The OMM's id for it, kept where the record lives.
                            let placed = K::placed(mom.clone(), self.omm.id, omm_id);
                            if let Err(e) = K::put(self, placed).await? {
                                self.note(format!(
                                    "{} {} created on OMM {} but not updated at the MOM: {e}",
                                    K::LABEL,
                                    K::id(&mom),
                                    self.omm.id
                                ))
                                .await;
                            }
                        }
                        done.held.push((mom.clone(), omm_id));
                        done.created.push(mom);
                    }
                    Err(why) => {
                        self.note(format!(
                            "OMM {} refused {} {}: {why}",
                            self.omm.id,
                            K::LABEL,
                            K::id(&mom)
                        ))
                        .await;
                    }
                },
            }
            done.written += 1;
        }
        let (taken, omm_ids): (Vec<K::Mom>, Vec<u32>) = take.into_iter().unzip();
        let results = K::put_many(self, taken.clone()).await?;
        for ((record, omm_id), result) in taken.into_iter().zip(omm_ids).zip(results) {
            match result {
                Ok(id) => {
                    let record = K::with_id(record, id);
                    K::agree(self, &record, omm_id, false);
                    done.held.push((record, omm_id));
                    done.written += 1;
                }
                Err(e) => {
                    // The OMM record stays as it is; the store's reason is the conflict.
                    if let Some(r) = records.get(&omm_id) {
                        let key = K::omm_key(r).unwrap_or_default();
                        self.conflicts.hold(
                            ConflictKind::Refused,
                            K::ENTITY,
                            omm_id,
                            &key,
                            0,
                            format!("{} {key} of OMM {} refused: {e}", K::LABEL, self.omm.id),
                            K::held(r),
                        );
                    }
                }
            }
        }
        for clash in clashes {
            let reason = format!(
                "{} {} is on OMM {} and on OMM {}",
                K::LABEL,
                clash.key,
                clash.other_omm,
                self.omm.id
            );
            if let Some(r) = records.get(&clash.omm_id) {
                self.conflicts.hold(
                    K::CLASH,
                    K::ENTITY,
                    clash.omm_id,
                    &clash.key,
                    clash.other_omm,
                    reason,
                    K::held(r),
                );
            }
        }
        Ok(done)
    }

    /// Settles the bindings of every user both sides hold (one store transaction for the
    /// bindings taken over); returns how many were written.
    async fn reconcile_relations(
        &mut self,
        omm_users: &[PpUser],
        held: Vec<(User, u32)>,
    ) -> Result<u64, End> {
        let statements: HashMap<u32, OmmRelation> = omm_users
            .iter()
            .filter_map(|u| Some((u.get(PpUser::UID)?, OmmRelation::of(u))))
            .collect();
        let pairs: Vec<(User, OmmRelation)> = held
            .into_iter()
            .filter_map(|(user, omm_uid)| Some((user, *statements.get(&omm_uid)?)))
            .collect();
        let omm_uids: Vec<u32> = pairs
            .iter()
            .map(|(u, _)| self.ids.users.get(&u.uid).copied().unwrap_or(0))
            .collect();
        let plan = relations::plan(&pairs, |omm_ppn| self.ids.mom_device(omm_ppn));
        let mut written = 0;
        for (uid, ppn, rel) in plan.agreed {
            self.ids.binding.insert(uid, (ppn, rel));
        }
        for uid in plan.unbind {
            match self.store.unbind(uid).await.refusable()? {
                Ok(_) => {
                    self.ids.binding.remove(&uid);
                    written += 1;
                }
                Err(e) => {
                    tracing::info!(omm = self.omm.id, uid, error = %e, "the OMM's unbind was not taken over")
                }
            }
        }
        let asked = plan.bind.clone();
        let results = self.store.bind_many(plan.bind).await?;
        for ((uid, ppn, rel, _), result) in asked.into_iter().zip(results) {
            match result {
                Ok(_) => {
                    self.ids.binding.insert(uid, (ppn, rel));
                    written += 1;
                }
                Err(e) => {
                    tracing::info!(omm = self.omm.id, uid, ppn, error = %e, "the OMM's binding was not taken over")
                }
            }
        }
        for (i, omm_ppn) in plan.push {
            let mine = &pairs[i].0;
            if self.push_relation(mine, omm_uids[i], omm_ppn).await? {
                written += 1;
            }
        }
        Ok(written)
    }
}

/// The OMM's records by their OMM id.
fn by_id<K: Kind>(records: &[K::Omm]) -> HashMap<u32, &K::Omm> {
    records
        .iter()
        .filter_map(|r| Some((K::omm_id(r)?, r)))
        .collect()
}

/// Whether the OMM's record has the id and key reconciliation needs.
fn has_key<K: Kind>(r: &K::Omm) -> bool {
    K::omm_id(r).is_some() && K::omm_key(r).is_some()
}
