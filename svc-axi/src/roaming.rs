//! Roaming between sites (admin guide chapter 1 "Roaming between sites", axi-profile.md §5):
//! a handset registers its location at an OMM that has no record of it; its records move
//! there, the new copies first (device, user, binding), then the store; the old OMM's link
//! deletes its copies when it sees the move, or its next reconciliation does if it was away.
//! [`decide`] is the pure decision; [`moved`] the records as they are after the move.

use crate::session::{End, Refusable, Session};
use axi::convert::{device_to_axi, user_to_axi};
use axi::message::*;
use axi::record::AxiRecord;
use axi::{Message, PpDev, PpUser};
use model::{Device, SubscriptionState, Timestamp, User};

/// What a location registration at OMM `omm` leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Roam {
    /// Unknown to the MOM, or subscribed to its PARI only: `DECTLocateReject`.
    Reject,
    /// Located here already: nothing to do.
    AlreadyHere,
    /// The records are here already (a permanent user's handset, or the OMM named its
    /// record): only the location changes, to this OMM's record `omm_ppn` when known.
    LocationOnly {
        /// The OMM's id of the handset, if known.
        omm_ppn: Option<u32>,
    },
    /// The handset and its user move here from OMM `from` (0: from nowhere).
    Move {
        /// Where it was.
        from: u32,
    },
}

/// Decides a location registration of the handset `device` (as the MOM has it, with its
/// bound user) at OMM `omm`; `event_ppn` is the OMM's record if it named one, `held_here`
/// the copy this link holds.
#[must_use]
pub fn decide(
    omm: u32,
    device: Option<&Device>,
    user: Option<&User>,
    event_ppn: Option<u32>,
    held_here: Option<u32>,
) -> Roam {
    let Some(device) = device else {
        return Roam::Reject;
    };
    if device.subscribe_to_pari_only {
        return Roam::Reject;
    }
    if device.location == omm {
        return Roam::AlreadyHere;
    }
    if event_ppn.is_some() || user.is_some_and(|u| u.permanent) {
        return Roam::LocationOnly {
            omm_ppn: event_ppn.or(held_here),
        };
    }
    Roam::Move {
        from: device.location,
    }
}

/// The records after a move to OMM `omm` at `now`, under the ids that OMM gave them.
#[must_use]
pub fn moved(
    mut device: Device,
    user: Option<User>,
    omm: u32,
    (omm_ppn, omm_uid): (u32, u32),
    now: Timestamp,
) -> (Device, Option<User>) {
    device.location = omm;
    device.omm_ppn = omm_ppn;
    device.timestamp_roaming = now;
    device.timestamp = device.timestamp.max(now);
    let user = user.map(|mut u| {
        u.home_omm = omm;
        u.omm_uid = omm_uid;
        u.timestamp = u.timestamp.max(now);
        u
    });
    (device, user)
}

impl Session<'_> {
    /// A handset registered its location at this OMM.
    pub(crate) async fn roam(&mut self, e: EventDECTLocate) -> Result<(), End> {
        let started = std::time::Instant::now();
        let device = self.store.device_by_ipei(e.ipei).await?;
        let user = match device.as_ref().map(|d| d.uid) {
            Some(uid) if uid != 0 => self.store.user(uid).await?,
            _ => None,
        };
        let held_here = device
            .as_ref()
            .and_then(|d| self.ids.devices.get(&d.ppn).copied());
        let decision = decide(
            self.omm.id,
            device.as_ref(),
            user.as_ref(),
            e.ppn,
            held_here,
        );
        let Some(mut device) = device else {
            return self.setting(DECTLocateReject { ipei: e.ipei }).await;
        };
        match decision {
            Roam::Reject => self.setting(DECTLocateReject { ipei: e.ipei }).await,
            Roam::AlreadyHere => Ok(()),
            Roam::LocationOnly { omm_ppn } => {
                let ipei = device.ipei;
                device.location = self.omm.id;
                device.omm_ppn = omm_ppn.unwrap_or(device.omm_ppn);
                device.timestamp_roaming = model::now();
                self.ids.perm_devices.remove(&device.ppn);
                if let Some(omm_ppn) = omm_ppn {
                    self.ids.agree_device(&device, omm_ppn);
                }
                if let Err(e) = self.store.put_device(device).await.refusable()? {
                    self.note(format!("handset {ipei} located at OMM {}, but the MOM refused the new location: {e}", self.omm.id)).await;
                }
                Ok(())
            }
            Roam::Move { from } => self.move_here(device, user, from, started).await,
        }
    }

    /// The handover: device, user and binding on this OMM first, then the store.
    async fn move_here(
        &mut self,
        device: Device,
        user: Option<User>,
        from: u32,
        started: std::time::Instant,
    ) -> Result<(), End> {
        let now = model::now();
        let mut pp = device_to_axi(&device);
        pp.set(PpDev::S, SubscriptionState::Yes)
            .set(PpDev::TIME_STAMP_ROAMING, now)
            .set(PpDev::TIME_STAMP, device.timestamp.max(now));
        let frame = self.link.request(CreatePPDev { pp }).await?;
        let Message::CreatePPDevResp(CreatePPDevResp { pp: Some(created) }) = frame.message else {
            return Err(End::Failed(format!(
                "roaming: the OMM refused the handset {}",
                device.ipei
            )));
        };
        let omm_ppn = created.get(PpDev::PPN).unwrap_or(0);
        let mut omm_uid = 0;
        if let Some(user) = &user {
            let mut rec = user_to_axi(user);
            rec.set(PpUser::TIME_STAMP, user.timestamp.max(now));
            if let Err(why) =
                crate::secrets::encrypt_into(&mut rec, user, self.ids.omm_key.as_ref())
            {
                // The handset must work where it is: it goes without the secret, and the
                // administrator learns which.
                self.note(format!(
                    "user {} roamed to OMM {} without its secrets: {why}",
                    user.num, self.omm.id
                ))
                .await;
                rec = user_to_axi(user);
                rec.set(PpUser::TIME_STAMP, user.timestamp.max(now));
            }
            let frame = self.link.request(CreatePPUser { user: rec }).await?;
            if let Message::CreatePPUserResp(CreatePPUserResp {
                user: Some(created),
            }) = frame.message
            {
                omm_uid = created.get(PpUser::UID).unwrap_or(0);
                self.set_binding_on_omm(omm_uid, omm_ppn, user.rel_type, now)
                    .await?;
            }
        }
        let latency = started.elapsed();
        let (device, user) = moved(device, user, self.omm.id, (omm_ppn, omm_uid), now);
        let ipei = device.ipei;
        self.ids.agree_device(&device, omm_ppn);
        // The handset works at this OMM already; a refusal leaves the MOM's records where
        // they were, for the administrator to see.
        if let Err(e) = self.store.put_device(device).await.refusable()? {
            self.note(format!(
                "handset {ipei} roamed to OMM {}, but the MOM refused its move: {e}",
                self.omm.id
            ))
            .await;
            return Ok(());
        }
        if let Some(user) = user {
            self.ids.agree_user(&user, omm_uid);
            if let Err(e) = self.store.put_user(user).await.refusable()? {
                self.note(format!(
                    "user of handset {ipei} roamed to OMM {}, but the MOM refused its move: {e}",
                    self.omm.id
                ))
                .await;
            }
        }
        self.store.count("axi.roaming_handovers", 1).await;
        tracing::debug!(%ipei, from, to = self.omm.id, latency_us = latency.as_micros() as u64, "handset roamed");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(location: u32) -> Device {
        Device {
            ppn: 2,
            uid: 3,
            location,
            timestamp: 100,
            ..Device::new(model::Ipei::new(2, 1).unwrap())
        }
    }

    #[test]
    fn an_unknown_or_pari_only_handset_is_rejected() {
        assert_eq!(decide(1, None, None, None, None), Roam::Reject);
        let pari = Device {
            subscribe_to_pari_only: true,
            ..device(2)
        };
        assert_eq!(decide(1, Some(&pari), None, None, None), Roam::Reject);
    }

    #[test]
    fn a_handset_located_here_already_stays() {
        assert_eq!(
            decide(1, Some(&device(1)), None, None, None),
            Roam::AlreadyHere
        );
    }

    #[test]
    fn a_permanent_users_handset_only_changes_its_location() {
        let user = User {
            permanent: true,
            ..User::default()
        };
        assert_eq!(
            decide(1, Some(&device(2)), Some(&user), None, Some(9)),
            Roam::LocationOnly { omm_ppn: Some(9) }
        );
        // The OMM named its record: that one counts.
        assert_eq!(
            decide(1, Some(&device(2)), None, Some(7), Some(9)),
            Roam::LocationOnly { omm_ppn: Some(7) }
        );
    }

    #[test]
    fn any_other_handset_moves_with_its_user() {
        assert_eq!(
            decide(1, Some(&device(2)), Some(&User::default()), None, None),
            Roam::Move { from: 2 }
        );
    }

    #[test]
    fn moved_records_are_placed_and_stamped_newer_than_the_old_copies() {
        let user = User {
            uid: 3,
            home_omm: 2,
            timestamp: 50,
            ..User::default()
        };
        let (d, u) = moved(device(2), Some(user), 1, (70, 30), 200);
        let u = u.unwrap();
        assert_eq!(
            (d.location, d.omm_ppn, d.timestamp, d.timestamp_roaming),
            (1, 70, 200, 200)
        );
        assert_eq!((u.home_omm, u.omm_uid, u.timestamp), (1, 30, 200));
        // A record edited later than the move keeps its stamp.
        let (d, _) = moved(
            Device {
                timestamp: 300,
                ..device(2)
            },
            None,
            1,
            (70, 0),
            200,
        );
        assert_eq!(d.timestamp, 300);
    }
}
