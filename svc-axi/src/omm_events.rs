//! Events from the OMM (axi-profile.md §4, §5, §7): the OMM's own record changes go to the
//! store when they are newer; a record the store refuses, or that another OMM has, is held
//! back on its own (`crate::conflicts`) and the link goes on. Also subscriptions over the
//! air (the MOM's auto-create), location registrations (`crate::roaming`), messages
//! (`crate::messaging`) and application data.

use crate::conflicts::HeldRecord;
use crate::relations::OmmRelation;
use crate::session::ids::merged;
use crate::session::{End, Refusable, Session};
use axi::convert::{device_from_axi, user_from_axi, user_to_axi};
use axi::message::*;
use axi::record::AxiRecord;
use axi::{Frame, Message, PpDev, PpUser};
use ipc::api::store::{StoreError, StoreRequest};
use model::{ConflictKind, Device, Entity, User};

impl Session<'_> {
    /// One event from the OMM.
    pub(crate) async fn handle_event(&mut self, frame: Frame) -> Result<(), End> {
        match frame.message {
            Message::EventPPUserCnf(EventPPUserCnf { user: Some(u) }) => self.user_event(u).await,
            Message::EventPPDevCnf(EventPPDevCnf { pp: Some(d) }) => self.device_event(d).await,
            Message::EventDECTLocate(e) => self.roam(e).await,
            Message::EventApplicationDataChannel(e) => {
                // No subscriber is not an error: the data has nowhere to go.
                let _ = self.shared.data.send(crate::shared::DataEvent {
                    omm: self.omm.id,
                    channel: e.channel,
                    data: e.data,
                });
                Ok(())
            }
            Message::EventMessageSend(EventMessageSend { msg: Some(msg), .. }) => {
                self.route_message(msg).await;
                Ok(())
            }
            Message::EventDECTSubscribe(e) => self.subscription(e.ipei).await,
            _ => Ok(()),
        }
    }

    /// Tries the held-back records again, as if the OMM had sent them once more.
    pub(crate) async fn retry_held(&mut self) -> Result<(), End> {
        for record in self.conflicts.retry() {
            let tried = match record {
                HeldRecord::User(u) => self.user_event(u).await,
                HeldRecord::Device(d) => self.device_event(d).await,
            };
            if let Err(end) = tried {
                self.conflicts.retried();
                return Err(end);
            }
        }
        self.conflicts.retried();
        Ok(())
    }

    /// The store deleted (or had already lost) a record the OMM deleted.
    async fn deleted(&self, request: StoreRequest, what: &str) -> Result<(), End> {
        match self.store.call(request).await.refusable()? {
            Ok(_) | Err(StoreError::NotFound { .. }) => {
                self.store.count("axi.records_synced", 1).await;
            }
            Err(e) => {
                self.note(format!(
                    "{what} deleted on OMM {} stays at the MOM: {e}",
                    self.omm.id
                ))
                .await;
            }
        }
        Ok(())
    }

    /// An OMM user record changed (or was deleted).
    async fn user_event(&mut self, u: PpUser) -> Result<(), End> {
        let Some(omm_uid) = u.get(PpUser::UID) else {
            return Ok(());
        };
        let mom_uid = self.ids.mom_user(omm_uid);
        if u.get(PpUser::DELETED) == Some(true) {
            self.conflicts.release(Entity::User, omm_uid);
            if let Some(uid) = mom_uid {
                self.ids.users.remove(&uid);
                self.deleted(StoreRequest::DeleteUser(uid), &format!("user {uid}"))
                    .await?;
            }
            return Ok(());
        }
        let stamp = u.get(PpUser::TIME_STAMP).unwrap_or(0);
        // The binding is judged on its own (and only when the event states it).
        let relation = u.raw("relType").map(|_| OmmRelation::of(&u));
        let existing = match mom_uid {
            Some(uid) => self.store.user(uid).await?,
            None => match u.raw("num") {
                Some(num) => self.store.user_by_number(num).await?,
                None => None,
            },
        };
        if let Some(other) = existing.as_ref().filter(|e| {
            mom_uid.is_none() && e.home_omm != self.omm.id && e.home_omm != 0 && !e.permanent
        }) {
            // Another OMM's user has this number: both claim it.
            let reason = format!(
                "user {} is on OMM {} and on OMM {}",
                other.num, other.home_omm, self.omm.id
            );
            let (num, home) = (other.num.clone(), other.home_omm);
            self.conflicts.hold(
                ConflictKind::SameNumber,
                Entity::User,
                omm_uid,
                &num,
                home,
                reason,
                HeldRecord::User(u),
            );
            return Ok(());
        }
        let mut user = existing.unwrap_or_else(|| User {
            home_omm: self.omm.id,
            omm_uid,
            ..User::default()
        });
        if user.permanent && user.home_omm != self.omm.id {
            self.ids.perm.insert(user.uid);
        }
        if user.uid != 0 && user.timestamp > stamp {
            self.conflicts.release(Entity::User, omm_uid);
            if let Some(theirs) = relation {
                self.take_relation(&user, omm_uid, theirs).await?;
            }
            return Ok(());
        }
        // The store keeps a record's relation and its stamp when it writes the record; a
        // new one starts unbound. That is the MOM's side of the relation below.
        let known = user.uid != 0;
        let kept = (user.ppn, user.rel_type, user.timestamp_relation);
        let u = if known {
            merged(user_to_axi(&user), &u)
        } else {
            u
        };
        if !known && u.raw("num").is_none() {
            // A partial event of a record the MOM does not know: nothing to build it from.
            return Ok(());
        }
        user_from_axi(&mut user, &u);
        let bad = crate::secrets::decrypt_from(&mut user, &u, &self.shared.mom_key);
        if !bad.is_empty() {
            tracing::debug!(
                omm = self.omm.id,
                omm_uid,
                ?bad,
                "secrets that do not decrypt are left as they were"
            );
        }
        if !self.ids.perm.contains(&user.uid) {
            // A permanent user's copy edited here keeps its home.
            user.home_omm = self.omm.id;
            user.omm_uid = omm_uid;
        }
        let mut mine = user.clone();
        let uid = match self.store.put_user(user).await.refusable()? {
            Ok(uid) => uid,
            Err(e) => {
                let num = mine.num.clone();
                self.conflicts.hold(
                    ConflictKind::Refused,
                    Entity::User,
                    omm_uid,
                    &num,
                    0,
                    format!("user {num} of OMM {} refused: {e}", self.omm.id),
                    HeldRecord::User(u),
                );
                return Ok(());
            }
        };
        self.conflicts.release(Entity::User, omm_uid);
        mine.uid = uid;
        self.ids.agree_user(&mine, omm_uid);
        self.store.count("axi.records_synced", 1).await;
        if let Some(theirs) = relation {
            if known {
                (mine.ppn, mine.rel_type, mine.timestamp_relation) = kept;
            } else {
                (mine.ppn, mine.rel_type) = (0, model::RelType::Unbound);
            }
            self.take_relation(&mine, omm_uid, theirs).await?;
        }
        Ok(())
    }

    /// An OMM device record changed (or was deleted).
    async fn device_event(&mut self, d: PpDev) -> Result<(), End> {
        let Some(omm_ppn) = d.get(PpDev::PPN) else {
            return Ok(());
        };
        let mom_ppn = self.ids.mom_device(omm_ppn);
        if d.get(PpDev::DELETED) == Some(true) {
            self.conflicts.release(Entity::Device, omm_ppn);
            if let Some(ppn) = mom_ppn {
                self.ids.devices.remove(&ppn);
                self.deleted(StoreRequest::DeleteDevice(ppn), &format!("handset {ppn}"))
                    .await?;
            }
            return Ok(());
        }
        let stamp = d.get(PpDev::TIME_STAMP).unwrap_or(0);
        let existing = match (mom_ppn, d.get(PpDev::IPEI)) {
            (Some(ppn), _) => self.store.device(ppn).await?,
            (None, Some(ipei)) => self.store.device_by_ipei(ipei).await?,
            (None, None) => None,
        };
        if let Some(other) = existing
            .as_ref()
            .filter(|e| mom_ppn.is_none() && e.location != self.omm.id && e.location != 0)
        {
            if !self.is_permanent_handset(other).await? {
                let reason = format!(
                    "handset {} is on OMM {} and on OMM {}",
                    other.ipei, other.location, self.omm.id
                );
                let (ipei, location) = (other.ipei.to_string(), other.location);
                self.conflicts.hold(
                    ConflictKind::SameHandset,
                    Entity::Device,
                    omm_ppn,
                    &ipei,
                    location,
                    reason,
                    HeldRecord::Device(d),
                );
                return Ok(());
            }
            self.ids.perm_devices.insert(other.ppn);
        }
        let Some(ipei) = existing
            .as_ref()
            .map(|e| e.ipei)
            .or_else(|| d.get(PpDev::IPEI))
        else {
            return Ok(());
        };
        let mut device = existing.unwrap_or_else(|| Device {
            location: self.omm.id,
            omm_ppn,
            ..Device::new(ipei)
        });
        if device.ppn != 0 && device.timestamp > stamp {
            self.conflicts.release(Entity::Device, omm_ppn);
            return Ok(());
        }
        let d = if device.ppn == 0 {
            d
        } else {
            merged(axi::convert::device_to_axi(&device), &d)
        };
        device_from_axi(&mut device, &d);
        if !self.ids.perm_devices.contains(&device.ppn) {
            // A permanent user's handset edited here keeps its location.
            device.location = self.omm.id;
            device.omm_ppn = omm_ppn;
        }
        let mut mine = device.clone();
        match self.store.put_device(device).await.refusable()? {
            Ok(ppn) => {
                self.conflicts.release(Entity::Device, omm_ppn);
                mine.ppn = ppn;
                self.ids.agree_device(&mine, omm_ppn);
                self.store.count("axi.records_synced", 1).await;
            }
            Err(e) => {
                let key = mine.ipei.to_string();
                self.conflicts.hold(
                    ConflictKind::Refused,
                    Entity::Device,
                    omm_ppn,
                    &key,
                    0,
                    format!("handset {key} of OMM {} refused: {e}", self.omm.id),
                    HeldRecord::Device(d),
                );
            }
        }
        Ok(())
    }

    /// A handset with no record subscribes over the air (profile §5): the MOM's auto-create
    /// decides.
    async fn subscription(&mut self, ipei: model::Ipei) -> Result<(), End> {
        let settings = self.store.settings().await?;
        if !settings.auto_create {
            return self.setting(DECTSubscribeReject { ipei }).await;
        }
        let now = model::now();
        let device = Device {
            location: self.omm.id,
            auto_create: true,
            timestamp: now,
            ..Device::new(ipei)
        };
        let ppn = match self.store.put_device(device).await.refusable()? {
            Ok(ppn) => ppn,
            Err(why) => {
                self.note(format!("auto-create of {ipei} failed: {why}"))
                    .await;
                return self.setting(DECTSubscribeReject { ipei }).await;
            }
        };
        let mut pp = PpDev::default();
        pp.set(PpDev::IPEI, ipei)
            .set(PpDev::REL_TYPE, model::RelType::Unbound)
            .set(PpDev::AUTO_CREATE, true)
            .set(PpDev::TIME_STAMP, now);
        let frame = self.link.request(CreatePPDev { pp }).await?;
        if let Message::CreatePPDevResp(CreatePPDevResp { pp: Some(created) }) = &frame.message {
            if let Some(omm_ppn) = created.get(PpDev::PPN) {
                // The OMM completed the subscription: its record (s="Yes") is the truth,
                // written back before the store's echo comes by.
                if let Some(mut device) = self.store.device(ppn).await? {
                    device_from_axi(&mut device, created);
                    device.omm_ppn = omm_ppn;
                    self.ids.agree_device(&device, omm_ppn);
                    if let Err(e) = self.store.put_device(device).await.refusable()? {
                        self.note(format!("auto-created handset {ipei}: {e}")).await;
                    }
                }
            }
        }
        Ok(())
    }
}
