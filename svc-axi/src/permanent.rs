//! Permanent users (admin guide "Permanent users", axi-profile.md §6): a permanent user and
//! its bound handset are held by every OMM, whatever their home; edits reach every OMM; the
//! copies go when the user stops being permanent. The reconciliation plan creates the
//! missing copies on connect; this module finds the handsets and keeps them live.

use crate::session::{End, Session};
use axi::convert::device_to_axi;
use axi::message::{CreatePPDev, CreatePPDevResp, DeletePPDev, DeletePPUser};
use axi::record::AxiRecord;
use axi::{Message, PpDev};
use model::{Device, User};
use std::collections::HashSet;

impl Session<'_> {
    /// The handsets of the permanent users, which every OMM holds: those the OMM returned
    /// (in `found`) and the others, read from the store.
    pub(crate) async fn permanent_handsets(
        &self,
        permanent: &[User],
        found: &[Option<Device>],
    ) -> Result<Vec<Device>, End> {
        let wanted: HashSet<u32> = permanent
            .iter()
            .map(|u| u.ppn)
            .filter(|p| *p != 0)
            .collect();
        let mut out: Vec<Device> = found
            .iter()
            .flatten()
            .filter(|d| wanted.contains(&d.ppn))
            .cloned()
            .collect();
        let have: HashSet<u32> = out.iter().map(|d| d.ppn).collect();
        for ppn in wanted.difference(&have) {
            if let Some(device) = self.store.device(*ppn).await? {
                out.push(device);
            }
        }
        Ok(out)
    }

    /// Creates a copy of `device` (a permanent user's handset located at another OMM) on
    /// this OMM; returns whether the OMM took it.
    pub(crate) async fn create_device_copy(&mut self, device: &Device) -> Result<bool, End> {
        let frame = self
            .link
            .request(CreatePPDev {
                pp: device_to_axi(device),
            })
            .await?;
        if let Message::CreatePPDevResp(CreatePPDevResp { pp: Some(created) }) = &frame.message {
            if let Some(omm_ppn) = created.get(PpDev::PPN) {
                self.ids.agree_device(device, omm_ppn);
                self.ids.perm_devices.insert(device.ppn);
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// A user changed that lives at another OMM: when it is permanent the copy here stays
    /// (true); otherwise it moved away (roaming) or stopped being permanent, and the copies
    /// of the user and its handset go (after the new ones exist).
    pub(crate) async fn keep_copy(&mut self, user: &User) -> Result<bool, End> {
        if user.permanent {
            self.ids.perm.insert(user.uid);
            if user.ppn != 0 && !self.ids.devices.contains_key(&user.ppn) {
                // Newly permanent: its handset comes here too (bound after the user).
                if let Some(device) = self.store.device(user.ppn).await? {
                    if device.location != self.omm.id {
                        self.create_device_copy(&device).await?;
                    }
                }
            }
            return Ok(true);
        }
        self.ids.perm.remove(&user.uid);
        if let Some(omm_uid) = self.ids.users.remove(&user.uid) {
            self.setting(DeletePPUser { uid: omm_uid }).await?;
        }
        if self.ids.perm_devices.remove(&user.ppn) {
            if let Some(omm_ppn) = self.ids.devices.remove(&user.ppn) {
                self.setting(DeletePPDev { ppn: omm_ppn }).await?;
            }
        }
        Ok(false)
    }

    /// Whether every OMM holds `device`: it is bound to a permanent user.
    pub(crate) async fn is_permanent_handset(&self, device: &Device) -> Result<bool, End> {
        Ok(device.uid != 0
            && self
                .store
                .user(device.uid)
                .await?
                .is_some_and(|u| u.permanent))
    }

    /// A device changed that is located at another OMM: the copy here stays when it is a
    /// permanent user's handset (true); otherwise it roamed away and the copy goes.
    pub(crate) async fn keep_device_copy(&mut self, device: &Device) -> Result<bool, End> {
        if self.is_permanent_handset(device).await? {
            self.ids.perm_devices.insert(device.ppn);
            return Ok(true);
        }
        self.ids.perm_devices.remove(&device.ppn);
        if let Some(omm_ppn) = self.ids.devices.remove(&device.ppn) {
            self.setting(DeletePPDev { ppn: omm_ppn }).await?;
        }
        Ok(false)
    }
}
