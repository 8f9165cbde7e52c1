//! A handset subscribing over the air to a simulated OMM (auto-create, wildcard and
//! configured IPEIs).

use super::*;
use axi::record::AxiRecord;
use axi::value::DectSubscriptionMode;
use axi::{Frame, PpDev, PpUser};
use model::{Ipei, RelType, SubscriptionState};
use std::time::Instant;

impl OmmState {
    /// A handset tries to subscribe over the air; returns the events for the MOM, or the
    /// reason it was refused.
    ///
    /// # Errors
    /// A text when the OMM refuses the subscription.
    pub fn air_subscribe(
        &mut self,
        ipei: Ipei,
        ac: Option<String>,
        add_id: Option<&str>,
    ) -> Result<Vec<Action>, String> {
        match self.subscription_mode {
            DectSubscriptionMode::Off => return Err("subscription is off".into()),
            DectSubscriptionMode::Wildcard if self.device_by_ipei(ipei).is_none() => {
                let add_id = add_id.ok_or("a wildcard subscription needs an additional ID")?;
                let uid = self
                    .users
                    .iter()
                    .find(|(_, u)| u.raw("addId") == Some(add_id))
                    .map(|(id, _)| *id)
                    .ok_or("no local user has that additional ID")?;
                let mut pp = PpDev::default();
                pp.set(PpDev::IPEI, ipei)
                    .set(PpDev::S, SubscriptionState::Yes)
                    .set(PpDev::TIME_STAMP_SUBSCRIPTION, now());
                let ppn = self.create_device(pp).map_err(|e| format!("{e:?}"))?;
                let rel = RelType::Dynamic;
                if let Some(d) = self.devices.get_mut(&ppn) {
                    d.set(PpDev::UID, uid).set(PpDev::REL_TYPE, rel);
                }
                if let Some(u) = self.users.get_mut(&uid) {
                    u.set(PpUser::PPN, ppn).set(PpUser::REL_TYPE, rel);
                }
                return Ok(vec![
                    self.record_event(axi::EventType::PPDevCnf, ppn, false),
                    self.record_event(axi::EventType::PPUserCnf, uid, true),
                ]);
            }
            _ => {}
        }
        if let Some(ppn) = self.device_by_ipei(ipei) {
            if let Some(d) = self.devices.get_mut(&ppn) {
                d.set(PpDev::S, SubscriptionState::Yes)
                    .set(PpDev::TIME_STAMP_SUBSCRIPTION, now());
                if let Some(ac) = ac {
                    d.set(PpDev::AC, ac);
                }
            }
            return Ok(vec![self.record_event(
                axi::EventType::PPDevCnf,
                ppn,
                false,
            )]);
        }
        if self.auto_create {
            // The OMM's own auto-create (off whenever a MOM manages the OMM).
            let mut pp = PpDev::default();
            pp.set(PpDev::IPEI, ipei)
                .set(PpDev::S, SubscriptionState::Yes)
                .set(PpDev::AUTO_CREATE, true);
            pp.set(PpDev::TIME_STAMP_SUBSCRIPTION, now());
            let ppn = self.create_device(pp).map_err(|e| format!("{e:?}"))?;
            return Ok(vec![self.record_event(
                axi::EventType::PPDevCnf,
                ppn,
                false,
            )]);
        }
        self.pending.insert(
            ipei,
            Pending {
                since: Instant::now(),
                ac: ac.clone(),
            },
        );
        Ok(vec![Action::Event {
            event_type: axi::EventType::DECTSubscribe,
            frame: Frame::event(EventDECTSubscribe { ipei, ac }),
        }])
    }
}
