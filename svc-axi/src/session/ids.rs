//! The ids of one OMM's records both ways (the OMM assigns its own `uid`/`ppn`), and the
//! fingerprints of what the link last agreed with the OMM, which recognise the store's echo
//! of the link's own writes (timestamps have one-second resolution, so they cannot).

use axi::convert::{device_to_axi, user_to_axi};
use axi::record::AxiRecord;
use model::{Device, RelType, User};
use std::collections::{HashMap, HashSet};

/// Ids of this OMM's records, both ways, and what the link knows the OMM holds.
#[derive(Default)]
pub struct Ids {
    /// MOM uid → OMM uid.
    pub users: HashMap<u32, u32>,
    /// MOM ppn → OMM ppn.
    pub devices: HashMap<u32, u32>,
    /// Fingerprint of each user as last agreed with the OMM (by MOM uid).
    pub user_agreed: HashMap<u32, u64>,
    /// Fingerprint of each device as last agreed with the OMM (by MOM ppn).
    pub device_agreed: HashMap<u32, u64>,
    /// MOM room id → OMM room id.
    pub rooms: HashMap<u32, u32>,
    /// The OMM's key for the secrets the MOM writes to it.
    pub omm_key: Option<rsa::RsaPublicKey>,
    /// Permanent users whose home is another OMM, held here as copies.
    pub perm: HashSet<u32>,
    /// Handsets of permanent users located at another OMM, held here as copies.
    pub perm_devices: HashSet<u32>,
    /// Bindings (MOM uid → MOM ppn, relation) the OMM is known to have.
    pub binding: HashMap<u32, (u32, RelType)>,
}

impl Ids {
    /// The MOM uid of OMM user `omm_uid`.
    ///
    /// A linear search: a link holds at most a few thousand records, and a second map would
    /// be state to keep in step.
    #[must_use]
    pub fn mom_user(&self, omm_uid: u32) -> Option<u32> {
        self.users
            .iter()
            .find(|(_, o)| **o == omm_uid)
            .map(|(m, _)| *m)
    }

    /// The MOM ppn of OMM handset `omm_ppn`.
    #[must_use]
    pub fn mom_device(&self, omm_ppn: u32) -> Option<u32> {
        self.devices
            .iter()
            .find(|(_, o)| **o == omm_ppn)
            .map(|(m, _)| *m)
    }

    /// Records that user `user` is OMM user `omm_uid`, as the OMM has it now.
    pub fn agree_user(&mut self, user: &User, omm_uid: u32) {
        self.users.insert(user.uid, omm_uid);
        self.user_agreed.insert(user.uid, user_print(user));
    }

    /// Records that device `device` is OMM handset `omm_ppn`, as the OMM has it now.
    pub fn agree_device(&mut self, device: &Device, omm_ppn: u32) {
        self.devices.insert(device.ppn, omm_ppn);
        self.device_agreed.insert(device.ppn, device_print(device));
    }

    /// Whether the OMM has `user` as it is (the store's echo of the link's own write).
    #[must_use]
    pub fn user_unchanged(&self, user: &User) -> bool {
        self.users.contains_key(&user.uid)
            && self.user_agreed.get(&user.uid) == Some(&user_print(user))
    }

    /// Whether the OMM has `device` as it is.
    #[must_use]
    pub fn device_unchanged(&self, device: &Device) -> bool {
        self.devices.contains_key(&device.ppn)
            && self.device_agreed.get(&device.ppn) == Some(&device_print(device))
    }
}

/// An OMM event may carry only the id, `timeStamp` and the changed attributes (profile
/// §10): they are laid over the record as the MOM knows it, so absent attributes keep their
/// values instead of being reset.
pub fn merged<R: AxiRecord>(mut known: R, event: &R) -> R {
    for (name, value) in event.attrs() {
        known.set_raw(name, value.clone());
    }
    known
}

/// A fingerprint of a record's attributes, timestamps left out.
fn fingerprint<R: AxiRecord>(record: &R) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for (k, v) in record.attrs() {
        if !k.starts_with("timeStamp") {
            k.hash(&mut h);
            v.hash(&mut h);
        }
    }
    h.finish()
}

/// The fingerprint of a user as the OMM would hold it.
#[must_use]
pub fn user_print(user: &User) -> u64 {
    let mut rec = user_to_axi(user);
    // The secrets count too (in plain: this stays in memory), so a PIN change is a change.
    for (name, plain) in crate::secrets::plain(user) {
        if !plain.is_empty() {
            rec.set_raw(name, plain.to_owned());
        }
    }
    fingerprint(&rec)
}

/// The fingerprint of a device as the OMM would hold it.
#[must_use]
pub fn device_print(device: &Device) -> u64 {
    fingerprint(&device_to_axi(device))
}
