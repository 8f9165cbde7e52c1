//! Reproducible users and handsets: valid IPEIs and numbers unique across the fleet.

use crate::state::OmmState;
use axi::record::AxiRecord;
use axi::{PpDev, PpUser};
use model::{Ipei, RelType, SubscriptionState};

/// The IPEI of handset `i` of OMM `omm` (unique in the fleet for up to 65,535 OMMs).
#[must_use]
pub fn ipei(omm: u32, i: u32, seed: u64) -> Ipei {
    let psn = (u64::from(i) + seed.wrapping_mul(7919)) % 1_048_576;
    Ipei::new(omm % 65_536, u32::try_from(psn).unwrap_or(0)).unwrap_or(Ipei { emc: 1, psn: 1 })
}

/// The number of user `i` of OMM `omm` (unique in the fleet for up to 9,999 users per OMM).
#[must_use]
pub fn number(omm: u32, i: u32) -> String {
    format!("{}{:04}", omm, i)
}

/// Fills `state` with `users` users and `devices` handsets; the first pairs are bound.
pub fn populate(state: &mut OmmState, users: u32, devices: u32, seed: u64) {
    let t = model::now().saturating_sub(3600);
    let omm = state.index;
    let mut uids = Vec::new();
    for i in 0..users {
        let mut u = PpUser::default();
        u.set(PpUser::NUM, number(omm, i))
            .set(PpUser::NAME, format!("User {omm}-{i}"))
            .set(PpUser::SIP_AUTH_ID, number(omm, i))
            .set(PpUser::TIME_STAMP, t)
            .set(PpUser::ADD_ID, format!("login{omm}x{i}"));
        if let Ok(uid) = state.create_user(u) {
            uids.push(uid);
        }
    }
    for i in 0..devices {
        let mut d = PpDev::default();
        d.set(PpDev::IPEI, ipei(omm, i, seed))
            .set(PpDev::S, SubscriptionState::Yes)
            .set(
                PpDev::UAK,
                format!(
                    "{:032X}",
                    (u128::from(seed) << 64) | u128::from(omm) << 32 | u128::from(i)
                ),
            )
            .set(PpDev::HW_TYPE, "632d".to_owned())
            .set(PpDev::TIME_STAMP, t);
        let Ok(ppn) = state.create_device(d) else {
            continue;
        };
        if let Some(&uid) = uids.get(i as usize) {
            let rel = if i % 2 == 0 {
                RelType::Fixed
            } else {
                RelType::Dynamic
            };
            if let Some(d) = state.devices.get_mut(&ppn) {
                d.set(PpDev::UID, uid).set(PpDev::REL_TYPE, rel);
            }
            if let Some(u) = state.users.get_mut(&uid) {
                u.set(PpUser::PPN, ppn).set(PpUser::REL_TYPE, rel);
            }
        }
    }
}
