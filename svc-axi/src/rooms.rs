//! Conference rooms (admin guide "Conference rooms", axi-profile.md §6): a room lives on the
//! OMM its OMM id names. The MOM's rooms for this OMM are created there, rooms only the OMM
//! has are imported, rooms the MOM keeps elsewhere (or at the MOM only, id 0) are removed
//! here. The SIP password travels encrypted for the OMM.

use crate::session::{paging, refused, End, Session};
use axi::message::*;
use axi::record::AxiRecord;
use axi::{Message, Room};
use ipc::api::store::ChangeOp;
use model::ConferenceRoom;

/// The `<room>` for a MOM conference room, its SIP password encrypted for the OMM.
fn room_to_axi(room: &ConferenceRoom, omm_key: Option<&rsa::RsaPublicKey>) -> Result<Room, End> {
    let mut r = Room::default();
    r.set(Room::NAME, room.name.clone())
        .set(Room::CONFERENCE_ID, room.number.clone())
        .set(Room::SIP_AUTH_ID, room.sip_user.clone())
        .set(Room::FIXED_SIP_PORT, room.fixed_port);
    if !room.sip_password.is_empty() {
        let key =
            omm_key.ok_or_else(|| End::Failed("the OMM sent no public key for secrets".into()))?;
        let cipher = axi::secret::encrypt(key, &room.sip_password)
            .map_err(|e| End::Failed(format!("room {}: {e}", room.number)))?;
        r.set(Room::SIP_PW, cipher);
    }
    Ok(r)
}

impl Session<'_> {
    /// Reconciles the conference rooms; returns how many were written on either side.
    pub(crate) async fn reconcile_rooms(&mut self) -> Result<u64, End> {
        let omm_rooms = paging::all::<Room>(self.link).await?;
        let mine = self.store.rooms().await?;
        let mut written = 0;
        for r in &omm_rooms {
            let (Some(omm_id), Some(number)) = (r.get(Room::ID), r.raw("conferenceId")) else {
                continue;
            };
            match mine.iter().find(|m| m.number == number) {
                Some(m) if m.omm_id == self.omm.id => {
                    self.ids.rooms.insert(m.id, omm_id);
                }
                Some(_) => {
                    self.setting(DeleteConferenceRoom { id: omm_id }).await?;
                    written += 1;
                }
                None => {
                    let sip_password = r
                        .raw("sipPw")
                        .and_then(|c| axi::secret::decrypt(&self.shared.mom_key, c).ok())
                        .unwrap_or_default();
                    let room = ConferenceRoom {
                        name: r.raw("name").unwrap_or("").to_owned(),
                        number: number.to_owned(),
                        omm_id: self.omm.id,
                        sip_user: r.raw("sipAuthId").unwrap_or("").to_owned(),
                        sip_password,
                        fixed_port: r.get(Room::FIXED_SIP_PORT).unwrap_or(0),
                        ..ConferenceRoom::default()
                    };
                    match self.store.put_room(room).await {
                        Ok(id) => {
                            self.ids.rooms.insert(id, omm_id);
                            written += 1;
                        }
                        Err(crate::store::Failure::Refused(e)) => {
                            self.note(format!(
                                "conference room {number} of OMM {} not imported: {e}",
                                self.omm.id
                            ))
                            .await;
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
        let missing: Vec<&ConferenceRoom> = mine
            .iter()
            .filter(|m| m.omm_id == self.omm.id && !self.ids.rooms.contains_key(&m.id))
            .collect();
        for m in missing {
            written += u64::from(self.push_room(m).await?);
        }
        Ok(written)
    }

    /// Creates or updates a MOM room on this OMM; true when something was written.
    async fn push_room(&mut self, room: &ConferenceRoom) -> Result<bool, End> {
        let mut rec = room_to_axi(room, self.ids.omm_key.as_ref())?;
        if let Some(&omm_id) = self.ids.rooms.get(&room.id) {
            rec.set(Room::ID, omm_id);
            self.setting(SetConferenceRoom { room: rec }).await?;
            return Ok(true);
        }
        let frame = self
            .link
            .request(CreateConferenceRoom { room: rec })
            .await?;
        match frame.message {
            Message::CreateConferenceRoomResp(CreateConferenceRoomResp {
                room: Some(created),
            }) => {
                if let Some(omm_id) = created.get(Room::ID) {
                    self.ids.rooms.insert(room.id, omm_id);
                }
                Ok(true)
            }
            _ => Err(End::Failed(format!(
                "the OMM refused conference room {}: {}",
                room.number,
                refused(&frame).unwrap_or_default()
            ))),
        }
    }

    /// A conference room changed at the MOM: written here if it lives here, removed here
    /// otherwise.
    pub(crate) async fn room_changed(&mut self, id: u32, op: ChangeOp) -> Result<(), End> {
        let room = match op {
            ChangeOp::Delete => None,
            ChangeOp::Put => self.store.rooms().await?.into_iter().find(|r| r.id == id),
        };
        match room {
            Some(room) if room.omm_id == self.omm.id => {
                self.push_room(&room).await?;
            }
            // Deleted, moved to another OMM, or kept at the MOM only (OMM id 0).
            _ => {
                if let Some(omm_id) = self.ids.rooms.remove(&id) {
                    self.setting(DeleteConferenceRoom { id: omm_id }).await?;
                }
            }
        }
        Ok(())
    }
}
