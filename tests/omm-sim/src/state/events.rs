//! The events a simulated OMM sends its `Subscribe`rs, and records as a session sees them
//! (secrets encrypted for the session's key, or left out).

use super::*;
use axi::record::AxiRecord;
use axi::secret;
use axi::{ErrCode, ErrorInfo, Frame, PpDev, PpUser, Room};

impl OmmState {
    pub(super) fn subscribe(
        &mut self,
        session: &mut Session,
        s: &Subscribe,
        seq: &Option<String>,
    ) -> Vec<Action> {
        for e in &s.entries {
            let event_type = e.raw("eventType").unwrap_or("");
            if axi::EventType::parse(event_type).is_none() {
                let mut f = Frame::error_response(
                    "Subscribe",
                    seq.clone(),
                    err(ErrCode::EInval).bad("eventType"),
                );
                f.message = SubscribeResp {
                    event_type: Some(event_type.to_owned()),
                }
                .into();
                return vec![Action::Reply(f)];
            }
        }
        for e in &s.entries {
            let Some(event_type) = axi::EventType::parse(e.raw("eventType").unwrap_or("")) else {
                continue;
            };
            if e.get(axi::SubscribeEntry::CMD) == Some(axi::value::SubscribeCmd::Off) {
                session.subscriptions.retain(|t| *t != event_type);
            } else if !session.subscriptions.contains(&event_type) {
                session.subscriptions.push(event_type);
            }
        }
        vec![Action::Reply(Frame::new(
            seq.clone(),
            SubscribeResp { event_type: None },
        ))]
    }

    /// A user as sent on `session`: secrets encrypted with the MOM's key, or left out.
    pub(super) fn outgoing_user(&self, session: &Session, user: &PpUser) -> PpUser {
        let mut out = user.clone();
        for name in USER_SECRETS {
            if let Some(plain) = user.raw(name).map(str::to_owned) {
                match (&session.mom_key, plain.is_empty()) {
                    (_, true) => {}
                    (Some(key), false) => {
                        out.set_raw(name, secret::encrypt(key, &plain).unwrap_or_default())
                    }
                    (None, false) => out.attrs.retain(|(k, _)| k != name),
                }
            }
        }
        out
    }

    pub(super) fn outgoing_room(&self, session: &Session, room: &Room) -> Room {
        let mut out = room.clone();
        if let Some(plain) = room
            .raw("sipPw")
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
        {
            match &session.mom_key {
                Some(key) => out.set_raw("sipPw", secret::encrypt(key, &plain).unwrap_or_default()),
                None => out.attrs.retain(|(k, _)| k != "sipPw"),
            }
        }
        out
    }

    /// Decrypts the secrets of an incoming record in place.
    pub(super) fn decrypt_secrets(
        &self,
        attrs: &mut [(axi::xml::Name, axi::xml::Text)],
        names: &[&str],
    ) -> Result<(), ErrorInfo> {
        for (k, v) in attrs.iter_mut() {
            if names.contains(&k.as_ref()) && !v.is_empty() {
                let plain = secret::decrypt(&self.key, v).map_err(|_| {
                    err(ErrCode::EInval)
                        .bad(k.to_string())
                        .info("secret does not decrypt")
                })?;
                *v = plain.into();
            }
        }
        Ok(())
    }

    pub(super) fn with_event(
        &self,
        mut out: Vec<Action>,
        event_type: axi::EventType,
        id: u32,
        user: bool,
    ) -> Vec<Action> {
        out.push(self.record_event(event_type, id, user));
        out
    }

    /// The change event of a record (for links other than the one that made the change).
    pub(super) fn record_event(&self, event_type: axi::EventType, id: u32, user: bool) -> Action {
        let frame = if user {
            Frame::event(EventPPUserCnf {
                user: self.users.get(&id).map(|u| strip_secrets(u.clone())),
            })
        } else {
            Frame::event(EventPPDevCnf {
                pp: self.devices.get(&id).cloned(),
            })
        };
        Action::Event { event_type, frame }
    }

    pub(super) fn deleted_event(user: bool, id: u32) -> Action {
        if user {
            let mut u = PpUser::default();
            u.set(PpUser::UID, id).set(PpUser::DELETED, true);
            Action::Event {
                event_type: axi::EventType::PPUserCnf,
                frame: Frame::event(EventPPUserCnf { user: Some(u) }),
            }
        } else {
            let mut d = PpDev::default();
            d.set(PpDev::PPN, id).set(PpDev::DELETED, true);
            Action::Event {
                event_type: axi::EventType::PPDevCnf,
                frame: Frame::event(EventPPDevCnf { pp: Some(d) }),
            }
        }
    }
}
