//! A simulated OMM's directory: users, DECT phones, their relation and conference rooms,
//! created, changed and deleted by the rules an OMM applies, and the AXI requests on them.

use super::*;
use axi::record::AxiRecord;
use axi::{ErrCode, ErrorInfo, Message, PpDev, PpUser, Room};
use model::{Ipei, RelType, SubscriptionState};
use std::time::Duration;

impl OmmState {
    /// Answers a request on the directory (users, DECT phones, relations, rooms); `reply`
    /// and `fail` frame the answer.
    pub(super) fn directory_request(
        &mut self,
        session: &Session,
        message: Message,
        reply: impl Fn(Message) -> Vec<Action>,
        fail: impl Fn(ErrorInfo) -> Vec<Action>,
    ) -> Vec<Action> {
        match message {
            Message::GetPPUser(g) => {
                let users: Vec<PpUser> = self
                    .users
                    .range(g.uid..)
                    .take(page(g.max_records))
                    .map(|(_, u)| self.outgoing_user(session, u))
                    .collect();
                if users.is_empty() {
                    fail(err(ErrCode::ENoEnt))
                } else {
                    reply(GetPPUserResp { users }.into())
                }
            }
            Message::GetPPDev(g) => {
                let devices: Vec<PpDev> = self
                    .devices
                    .range(g.ppn..)
                    .take(page(g.max_records))
                    .map(|(_, d)| d.clone())
                    .collect();
                if devices.is_empty() {
                    fail(err(ErrCode::ENoEnt))
                } else {
                    reply(GetPPDevResp { devices }.into())
                }
            }
            Message::GetPPUserByNumber(g) => match self
                .users
                .values()
                .find(|u| u.raw("num") == Some(g.num.as_str()))
            {
                Some(u) => reply(
                    GetPPUserByNumberResp {
                        user: Some(self.outgoing_user(session, u)),
                    }
                    .into(),
                ),
                None => fail(err(ErrCode::ENoEnt).bad("num")),
            },
            Message::GetPPDevByIPEI(g) => match self.device_by_ipei(g.ipei) {
                Some(ppn) => reply(
                    GetPPDevByIPEIResp {
                        pp: self.devices.get(&ppn).cloned(),
                    }
                    .into(),
                ),
                None => fail(err(ErrCode::ENoEnt).bad("ipei")),
            },
            Message::CreatePPUser(c) => match self.create_user(c.user) {
                Ok(uid) => {
                    let user = self.outgoing_user(session, &self.users[&uid]);
                    self.with_event(
                        reply(CreatePPUserResp { user: Some(user) }.into()),
                        axi::EventType::PPUserCnf,
                        uid,
                        true,
                    )
                }
                Err(e) => fail(e),
            },
            Message::SetPPUser(s) => match self.set_user(s.user) {
                Ok(uid) => {
                    let user = self.outgoing_user(session, &self.users[&uid]);
                    self.with_event(
                        reply(SetPPUserResp { user: Some(user) }.into()),
                        axi::EventType::PPUserCnf,
                        uid,
                        true,
                    )
                }
                Err(e) => fail(e),
            },
            Message::DeletePPUser(d) => match self.delete_user(d.uid) {
                Ok(events) => {
                    let mut out = reply(DeletePPUserResp { uid: Some(d.uid) }.into());
                    out.extend(events);
                    out
                }
                Err(e) => fail(e),
            },
            Message::CreatePPDev(c) => match self.create_device(c.pp) {
                Ok(ppn) => {
                    let pp = self.devices[&ppn].clone();
                    self.with_event(
                        reply(CreatePPDevResp { pp: Some(pp) }.into()),
                        axi::EventType::PPDevCnf,
                        ppn,
                        false,
                    )
                }
                Err(e) => fail(e),
            },
            Message::SetPPDev(s) => match self.set_device(s.pp) {
                Ok(ppn) => {
                    let pp = self.devices[&ppn].clone();
                    self.with_event(
                        reply(SetPPDevResp { pp: Some(pp) }.into()),
                        axi::EventType::PPDevCnf,
                        ppn,
                        false,
                    )
                }
                Err(e) => fail(e),
            },
            Message::DeletePPDev(d) => match self.delete_device(d.ppn) {
                Ok(events) => {
                    let mut out = reply(DeletePPDevResp { ppn: Some(d.ppn) }.into());
                    out.extend(events);
                    out
                }
                Err(e) => fail(e),
            },
            Message::SetPP(s) => {
                if !session.sync_client {
                    return fail(err(ErrCode::EPerm).info("SetPP needs a user/device sync client"));
                }
                match self.set_pp(s) {
                    Ok((uid, ppn)) => {
                        let user = self.users.get(&uid).map(|u| self.outgoing_user(session, u));
                        let pp = self.devices.get(&ppn).cloned();
                        reply(SetPPResp { user, pp }.into())
                    }
                    Err(e) => fail(e),
                }
            }
            Message::SetPPUserDevRelation(r) => {
                match self.set_relation(r.uid, r.rel_type, r.time_stamp) {
                    Ok(()) => reply(
                        SetPPUserDevRelationResp {
                            uid: Some(r.uid),
                            rel_type: Some(r.rel_type),
                        }
                        .into(),
                    ),
                    Err(e) => fail(e),
                }
            }
            Message::GetConferenceRoom(g) => {
                let rooms: Vec<Room> = self
                    .rooms
                    .range(g.id..)
                    .take(page(g.max_records))
                    .map(|(_, r)| self.outgoing_room(session, r))
                    .collect();
                if rooms.is_empty() {
                    fail(err(ErrCode::ENoEnt))
                } else {
                    reply(GetConferenceRoomResp { rooms }.into())
                }
            }
            Message::CreateConferenceRoom(c) => match self.put_room(c.room, true) {
                Ok(id) => reply(
                    CreateConferenceRoomResp {
                        room: Some(self.outgoing_room(session, &self.rooms[&id])),
                    }
                    .into(),
                ),
                Err(e) => fail(e),
            },
            Message::SetConferenceRoom(c) => match self.put_room(c.room, false) {
                Ok(id) => reply(
                    SetConferenceRoomResp {
                        room: Some(self.outgoing_room(session, &self.rooms[&id])),
                    }
                    .into(),
                ),
                Err(e) => fail(e),
            },
            Message::DeleteConferenceRoom(d) => {
                if self.rooms.remove(&d.id).is_some() {
                    reply(DeleteConferenceRoomResp { id: Some(d.id) }.into())
                } else {
                    fail(err(ErrCode::ENoEnt).bad("id"))
                }
            }
            other => fail(
                err(ErrCode::EFailed).info(format!("{} is no directory request", other.name())),
            ),
        }
    }

    pub(super) fn number_owner(&self, num: &str) -> Option<u32> {
        self.users
            .iter()
            .find(|(_, u)| u.raw("num") == Some(num))
            .map(|(id, _)| *id)
    }

    /// The ppn of the device with `ipei`.
    #[must_use]
    pub fn device_by_ipei(&self, ipei: Ipei) -> Option<u32> {
        self.devices
            .iter()
            .find(|(_, d)| d.get(PpDev::IPEI) == Some(ipei))
            .map(|(id, _)| *id)
    }

    /// Creates a user record from a client's record.
    ///
    /// # Errors
    /// `EExist bad="num"` for a duplicate number; `EInval` for a secret that does not decrypt.
    pub fn create_user(&mut self, mut user: PpUser) -> Result<u32, ErrorInfo> {
        if let Some(num) = user.raw("num") {
            if self.number_owner(num).is_some() {
                return Err(err(ErrCode::EExist).bad("num"));
            }
        }
        self.decrypt_secrets(&mut user.attrs, &USER_SECRETS)?;
        let uid = self.next_uid;
        self.next_uid += 1;
        user.set(PpUser::UID, uid);
        if user.raw("ppn").is_none() {
            user.set(PpUser::PPN, 0);
        }
        if user.raw("relType").is_none() {
            user.set(PpUser::REL_TYPE, RelType::Unbound);
        }
        if user.raw("timeStamp").is_none() {
            user.set(PpUser::TIME_STAMP, now());
        }
        self.users.insert(uid, user);
        Ok(uid)
    }

    pub(super) fn set_user(&mut self, change: PpUser) -> Result<u32, ErrorInfo> {
        let uid = change
            .get(PpUser::UID)
            .ok_or_else(|| err(ErrCode::EMissing).bad("uid"))?;
        let existing = self
            .users
            .get(&uid)
            .ok_or_else(|| err(ErrCode::ENoEnt).bad("uid"))?;
        for (binding, current) in [
            ("ppn", existing.raw("ppn")),
            ("relType", existing.raw("relType")),
        ] {
            if change.raw(binding).is_some() && change.raw(binding) != current {
                return Err(err(ErrCode::EInval)
                    .bad(binding)
                    .info("bindings change only with SetPP"));
            }
        }
        if let Some(num) = change.raw("num") {
            if self.number_owner(num).is_some_and(|owner| owner != uid) {
                return Err(err(ErrCode::EExist).bad("num"));
            }
        }
        let mut change = change;
        self.decrypt_secrets(&mut change.attrs, &USER_SECRETS)?;
        let stamped = change.raw("timeStamp").is_some();
        let user = self
            .users
            .get_mut(&uid)
            .ok_or_else(|| err(ErrCode::ENoEnt))?;
        let before = user.clone();
        for (k, v) in change.attrs {
            user.set_raw(&k, v);
        }
        // Without a supplied stamp the OMM bumps it, and only when something changed.
        if !stamped && *user != before {
            user.set(PpUser::TIME_STAMP, now());
        }
        Ok(uid)
    }

    pub(super) fn delete_user(&mut self, uid: u32) -> Result<Vec<Action>, ErrorInfo> {
        let user = self
            .users
            .remove(&uid)
            .ok_or_else(|| err(ErrCode::ENoEnt).bad("uid"))?;
        let mut events = vec![Self::deleted_event(true, uid)];
        if let Some(ppn) = user.get(PpUser::PPN).filter(|p| *p != 0) {
            if let Some(d) = self.devices.get_mut(&ppn) {
                d.set(PpDev::UID, 0)
                    .set(PpDev::REL_TYPE, RelType::Unbound)
                    .set(PpDev::TIME_STAMP, now());
                events.push(self.record_event(axi::EventType::PPDevCnf, ppn, false));
            }
        }
        Ok(events)
    }

    /// Creates a device record; completes a waiting subscription when it has one.
    ///
    /// # Errors
    /// `EMissing bad="ipei"`, `EExist bad="ipei"`.
    pub fn create_device(&mut self, mut pp: PpDev) -> Result<u32, ErrorInfo> {
        let ipei = pp
            .get(PpDev::IPEI)
            .ok_or_else(|| err(ErrCode::EMissing).bad("ipei"))?;
        if self.device_by_ipei(ipei).is_some() {
            return Err(err(ErrCode::EExist).bad("ipei"));
        }
        let ppn = self.next_ppn;
        self.next_ppn += 1;
        pp.set(PpDev::PPN, ppn).set(PpDev::IPEI, ipei);
        for (attr, value) in [("uid", "0"), ("relType", "Unbound"), ("s", "No")] {
            if pp.raw(attr).is_none() {
                pp.set_raw(attr, value.to_owned());
            }
        }
        if pp.raw("timeStamp").is_none() {
            pp.set(PpDev::TIME_STAMP, now());
        }
        // An auto-created record completes the subscription that waited for it.
        if let Some(p) = self.pending.remove(&ipei) {
            if p.since.elapsed() < Duration::from_secs(60) {
                pp.set(PpDev::S, SubscriptionState::Yes)
                    .set(PpDev::TIME_STAMP_SUBSCRIPTION, now());
                if let Some(ac) = p.ac {
                    pp.set(PpDev::AC, ac);
                }
            }
        }
        self.devices.insert(ppn, pp);
        Ok(ppn)
    }

    pub(super) fn set_device(&mut self, change: PpDev) -> Result<u32, ErrorInfo> {
        let ppn = change
            .get(PpDev::PPN)
            .ok_or_else(|| err(ErrCode::EMissing).bad("ppn"))?;
        let existing = self
            .devices
            .get(&ppn)
            .ok_or_else(|| err(ErrCode::ENoEnt).bad("ppn"))?;
        for (binding, current) in [
            ("uid", existing.raw("uid")),
            ("relType", existing.raw("relType")),
        ] {
            if change.raw(binding).is_some() && change.raw(binding) != current {
                return Err(err(ErrCode::EInval)
                    .bad(binding)
                    .info("bindings change only with SetPP"));
            }
        }
        if let Some(ipei) = change.get(PpDev::IPEI) {
            if self.device_by_ipei(ipei).is_some_and(|owner| owner != ppn) {
                return Err(err(ErrCode::EExist).bad("ipei"));
            }
        }
        let device = self
            .devices
            .get_mut(&ppn)
            .ok_or_else(|| err(ErrCode::ENoEnt))?;
        for (k, v) in change.attrs {
            device.set_raw(&k, v);
        }
        Ok(ppn)
    }

    pub(super) fn delete_device(&mut self, ppn: u32) -> Result<Vec<Action>, ErrorInfo> {
        let device = self
            .devices
            .remove(&ppn)
            .ok_or_else(|| err(ErrCode::ENoEnt).bad("ppn"))?;
        let mut events = vec![Self::deleted_event(false, ppn)];
        if let Some(uid) = device.get(PpDev::UID).filter(|u| *u != 0) {
            if let Some(u) = self.users.get_mut(&uid) {
                u.set(PpUser::PPN, 0)
                    .set(PpUser::REL_TYPE, RelType::Unbound)
                    .set(PpUser::TIME_STAMP, now());
                events.push(self.record_event(axi::EventType::PPUserCnf, uid, true));
            }
        }
        Ok(events)
    }

    /// Binds (crossed ids, same Dynamic/Fixed) or unbinds (0 and Unbound) a pair.
    pub(super) fn set_pp(&mut self, s: SetPP) -> Result<(u32, u32), ErrorInfo> {
        let (Some(user), Some(pp)) = (s.user, s.pp) else {
            return Err(err(ErrCode::EMissing).bad("user"));
        };
        let uid = user
            .get(PpUser::UID)
            .ok_or_else(|| err(ErrCode::EMissing).bad("uid"))?;
        let ppn = pp
            .get(PpDev::PPN)
            .ok_or_else(|| err(ErrCode::EMissing).bad("ppn"))?;
        let (u_ppn, u_rel) = (
            user.get(PpUser::PPN).unwrap_or(0),
            user.get(PpUser::REL_TYPE).unwrap_or(RelType::Unbound),
        );
        let (d_uid, d_rel) = (
            pp.get(PpDev::UID).unwrap_or(0),
            pp.get(PpDev::REL_TYPE).unwrap_or(RelType::Unbound),
        );
        if !self.users.contains_key(&uid) {
            return Err(err(ErrCode::ENoEnt).bad("uid"));
        }
        if !self.devices.contains_key(&ppn) {
            return Err(err(ErrCode::ENoEnt).bad("ppn"));
        }
        let bind = u_ppn == ppn && d_uid == uid && u_rel == d_rel && u_rel != RelType::Unbound;
        let unbind =
            u_ppn == 0 && d_uid == 0 && u_rel == RelType::Unbound && d_rel == RelType::Unbound;
        if !bind && !unbind {
            return Err(err(ErrCode::EInval)
                .bad("relType")
                .info("a bind needs crossed ids and one relation type"));
        }
        let t_user = user.get(PpUser::TIME_STAMP).unwrap_or_else(now);
        let t_dev = pp.get(PpDev::TIME_STAMP).unwrap_or_else(now);
        if bind {
            // The old partners of either side are unbound.
            let old_dev = self.users[&uid]
                .get(PpUser::PPN)
                .filter(|p| *p != 0 && *p != ppn);
            let old_user = self.devices[&ppn]
                .get(PpDev::UID)
                .filter(|u| *u != 0 && *u != uid);
            if let Some(p) = old_dev.and_then(|p| self.devices.get_mut(&p)) {
                p.set(PpDev::UID, 0).set(PpDev::REL_TYPE, RelType::Unbound);
            }
            if let Some(u) = old_user.and_then(|u| self.users.get_mut(&u)) {
                u.set(PpUser::PPN, 0)
                    .set(PpUser::REL_TYPE, RelType::Unbound);
            }
        } else {
            let partner = self.users[&uid].get(PpUser::PPN).unwrap_or(0);
            if partner != 0 && partner != ppn {
                return Err(err(ErrCode::EInval)
                    .bad("ppn")
                    .info("the user is bound to another device"));
            }
        }
        let user_rec = self
            .users
            .get_mut(&uid)
            .ok_or_else(|| err(ErrCode::ENoEnt))?;
        user_rec
            .set(PpUser::PPN, u_ppn)
            .set(PpUser::REL_TYPE, u_rel)
            .set(PpUser::TIME_STAMP, t_user);
        for stamp in ["timeStampAdmin", "timeStampRelation"] {
            if let Some(v) = user.raw(stamp) {
                user_rec.set_raw(stamp, v.to_owned());
            }
        }
        let dev_rec = self
            .devices
            .get_mut(&ppn)
            .ok_or_else(|| err(ErrCode::ENoEnt))?;
        dev_rec
            .set(PpDev::UID, d_uid)
            .set(PpDev::REL_TYPE, d_rel)
            .set(PpDev::TIME_STAMP, t_dev);
        for stamp in ["timeStampAdmin", "timeStampRelation"] {
            if let Some(v) = pp.raw(stamp) {
                dev_rec.set_raw(stamp, v.to_owned());
            }
        }
        Ok((uid, ppn))
    }

    pub(super) fn set_relation(
        &mut self,
        uid: u32,
        rel: RelType,
        stamp: Option<u64>,
    ) -> Result<(), ErrorInfo> {
        if rel == RelType::Unbound {
            return Err(err(ErrCode::EInval).bad("relType"));
        }
        let user = self
            .users
            .get(&uid)
            .ok_or_else(|| err(ErrCode::ENoEnt).bad("uid"))?;
        let ppn = user.get(PpUser::PPN).filter(|p| *p != 0).ok_or_else(|| {
            err(ErrCode::EInval)
                .bad("uid")
                .info("the user is not bound")
        })?;
        let t = stamp.unwrap_or_else(now);
        if let Some(u) = self.users.get_mut(&uid) {
            u.set(PpUser::REL_TYPE, rel).set(PpUser::TIME_STAMP, t);
        }
        if let Some(d) = self.devices.get_mut(&ppn) {
            d.set(PpDev::REL_TYPE, rel).set(PpDev::TIME_STAMP, t);
        }
        Ok(())
    }

    pub(super) fn put_room(&mut self, mut room: Room, create: bool) -> Result<u32, ErrorInfo> {
        self.decrypt_secrets(&mut room.attrs, &["sipPw"])?;
        let id = if create {
            let id = self.next_room;
            self.next_room += 1;
            room.set(Room::ID, id);
            self.rooms.insert(id, room);
            id
        } else {
            let id = room
                .get(Room::ID)
                .ok_or_else(|| err(ErrCode::EMissing).bad("id"))?;
            let existing = self
                .rooms
                .get_mut(&id)
                .ok_or_else(|| err(ErrCode::ENoEnt).bad("id"))?;
            for (k, v) in room.attrs {
                existing.set_raw(&k, v);
            }
            id
        };
        Ok(id)
    }
}
