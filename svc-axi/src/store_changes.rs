//! Changes in the store (made at the MOM: the CLI, the web UI, MAXI, another OMM's link) that
//! concern this OMM: its records go there when the OMM does not have them as they are,
//! copies of records that moved away go, settings go to every OMM.

use crate::relations::Binding;
use crate::session::{refused, End, Refusable, Session};
use axi::convert::{device_to_axi, user_to_axi};
use axi::message::*;
use axi::record::AxiRecord;
use axi::{Message, PpDev, PpUser};
use ipc::api::store::{Change, ChangeOp};
use model::{Device, Entity, User};

impl Session<'_> {
    /// One change of the store's feed that concerns this link.
    pub(crate) async fn handle_change(&mut self, change: Change) -> Result<(), End> {
        match (change.entity, change.op) {
            (Entity::Settings, _) => {
                let settings = self.store.settings().await?;
                if self.set_sari(&settings).await? {
                    return Err(End::SariRestart);
                }
                self.push_settings(&settings).await
            }
            (Entity::Omm, ChangeOp::Put) => {
                // Its own record: the provisioning flag or certificate check may have changed
                // (credentials and addresses restart the link instead).
                let settings = self.store.settings().await?;
                self.provision(&settings).await
            }
            (Entity::ConferenceRoom, op) => self.room_changed(change.id, op).await,
            (Entity::User, ChangeOp::Delete) => {
                if let Some(omm_uid) = self.ids.users.remove(&change.id) {
                    self.setting(DeletePPUser { uid: omm_uid }).await?;
                }
                Ok(())
            }
            (Entity::User, ChangeOp::Put) => match self.store.user(change.id).await? {
                Some(user) => self.user_changed(user).await,
                None => Ok(()),
            },
            (Entity::Device, ChangeOp::Delete) => {
                if let Some(omm_ppn) = self.ids.devices.remove(&change.id) {
                    self.setting(DeletePPDev { ppn: omm_ppn }).await?;
                }
                Ok(())
            }
            (Entity::Device, ChangeOp::Put) => match self.store.device(change.id).await? {
                Some(device) => self.device_changed(device).await,
                None => Ok(()),
            },
            _ => Ok(()),
        }
    }

    /// A user changed at the MOM.
    async fn user_changed(&mut self, user: User) -> Result<(), End> {
        if user.home_omm != self.omm.id && !self.keep_copy(&user).await? {
            return Ok(());
        }
        if self.ids.user_unchanged(&user) {
            return self.sync_binding(Binding::of_user(&user)).await;
        }
        let mut rec = user_to_axi(&user);
        if let Err(why) = crate::secrets::encrypt_into(&mut rec, &user, self.ids.omm_key.as_ref()) {
            self.note(format!(
                "user {} not sent to OMM {}: {why}",
                user.num, self.omm.id
            ))
            .await;
            return Ok(());
        }
        match self.ids.users.get(&user.uid) {
            Some(&omm_uid) => {
                let mut rec = rec;
                rec.set(PpUser::UID, omm_uid);
                self.setting(SetPPUser { user: rec }).await?;
                self.ids.agree_user(&user, omm_uid);
            }
            None => {
                let frame = self.link.request(CreatePPUser { user: rec }).await?;
                let Message::CreatePPUserResp(CreatePPUserResp {
                    user: Some(created),
                }) = &frame.message
                else {
                    let why = refused(&frame).unwrap_or_default();
                    self.note(format!(
                        "OMM {} refused user {}: {why}",
                        self.omm.id, user.num
                    ))
                    .await;
                    return Ok(());
                };
                let omm_uid = created.get(PpUser::UID).unwrap_or(0);
                self.ids.agree_user(&user, omm_uid);
                if user.home_omm == self.omm.id {
                    let mut updated = user.clone();
                    updated.omm_uid = omm_uid;
                    if let Err(e) = self.store.put_user(updated).await.refusable()? {
                        self.note(format!(
                            "user {} created on OMM {}, but its OMM id was not kept: {e}",
                            user.num, self.omm.id
                        ))
                        .await;
                    }
                }
            }
        }
        self.sync_binding(Binding::of_user(&user)).await
    }

    /// A device changed at the MOM.
    async fn device_changed(&mut self, device: Device) -> Result<(), End> {
        if device.location == self.omm.id {
            self.ids.perm_devices.remove(&device.ppn);
        } else if !self.keep_device_copy(&device).await? {
            return Ok(());
        }
        if self.ids.device_unchanged(&device) {
            return self.sync_binding(Binding::of_device(&device)).await;
        }
        match self.ids.devices.get(&device.ppn) {
            Some(&omm_ppn) => {
                let mut rec = device_to_axi(&device);
                rec.set(PpDev::PPN, omm_ppn);
                rec.remove(PpDev::IPEI);
                self.setting(SetPPDev { pp: rec }).await?;
                self.ids.agree_device(&device, omm_ppn);
            }
            None => {
                let frame = self
                    .link
                    .request(CreatePPDev {
                        pp: device_to_axi(&device),
                    })
                    .await?;
                let Message::CreatePPDevResp(CreatePPDevResp { pp: Some(created) }) =
                    &frame.message
                else {
                    let why = refused(&frame).unwrap_or_default();
                    self.note(format!(
                        "OMM {} refused handset {}: {why}",
                        self.omm.id, device.ipei
                    ))
                    .await;
                    return Ok(());
                };
                let omm_ppn = created.get(PpDev::PPN).unwrap_or(0);
                self.ids.agree_device(&device, omm_ppn);
                if device.location == self.omm.id {
                    // The OMM's id for it, kept where the handset is located.
                    let mut updated = device.clone();
                    updated.omm_ppn = omm_ppn;
                    if let Err(e) = self.store.put_device(updated).await.refusable()? {
                        self.note(format!(
                            "handset {} created on OMM {}, but its OMM id was not kept: {e}",
                            device.ipei, self.omm.id
                        ))
                        .await;
                    }
                }
            }
        }
        self.sync_binding(Binding::of_device(&device)).await
    }
}
