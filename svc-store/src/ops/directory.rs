//! Users and DECT phones: their integrity rules, tombstones and which OMM a change concerns.

use super::*;

/// The OMM a user's changes concern: its home, or 0 (every OMM) for a permanent user.
pub(super) fn owner(user: &User) -> u32 {
    if user.permanent {
        0
    } else {
        user.home_omm
    }
}

/// The OMM a device's changes concern: its location, or 0 (every OMM) when it is bound to
/// a permanent user, whose handset every OMM holds.
fn device_owner(device: &Device, bound_to_permanent: bool) -> u32 {
    if device.uid != 0 && bound_to_permanent {
        0
    } else {
        device.location
    }
}

impl Tx<'_, '_> {
    pub(super) fn put_user(&mut self, mut user: User) -> Result<u32, StoreError> {
        let num = user.num.trim().to_owned();
        user.num.clone_from(&num);
        crate::fields::check_user(&user)?;
        let old: Option<User> = if user.uid == 0 {
            None
        } else {
            self.view.record(user.uid)?
        };
        match &old {
            Some(old) => {
                // Relations change only through Bind/Unbind/ChangeRelationType, and so does
                // their own timestamp (the relation is an aspect of its own).
                user.ppn = old.ppn;
                user.rel_type = old.rel_type;
                user.timestamp_relation = old.timestamp_relation;
                user.created = old.created;
                if user.omm_uid == 0 && user.home_omm == old.home_omm {
                    user.omm_uid = old.omm_uid;
                }
                rules::check_source_change(old.source, user.source, user.rel_type, user.permanent)?;
            }
            None if user.uid != 0 && self.origin != 0 => {
                // An OMM link writes back a record it knows by id (the OMM's uid of a user it
                // just created there, say). Deleted at the MOM meanwhile, it stays deleted:
                // the link's new records come with id 0.
                return Err(not_found(Entity::User, user.uid));
            }
            None => {
                user.ppn = 0;
                user.rel_type = RelType::Unbound;
                user.created = now();
                if user.permanent && user.source == Source::External {
                    return Err(StoreError::PermanentMustBeInternal);
                }
            }
        }
        if let Some(owner) = self.view.get::<u32>(Db::IdxNum, num.as_bytes())? {
            if old.as_ref().is_none_or(|o| o.uid != owner) {
                return Err(StoreError::DuplicateNumber(num));
            }
        }
        let was_permanent = old.as_ref().is_some_and(|o| o.permanent);
        if user.permanent
            && !was_permanent
            && self.view.count(Db::IdxPermanent)? >= MAX_PERMANENT_USERS
        {
            return Err(StoreError::TooManyPermanentUsers(MAX_PERMANENT_USERS));
        }
        if user.timestamp == 0 {
            user.timestamp = now();
        }
        user.uid = self.take_id(Db::Users, user.uid)?;
        let key = id_key(user.uid);
        if let Some(old) = &old {
            self.view.delete(Db::IdxNum, old.num.as_bytes())?;
        }
        self.view.put(Db::IdxNum, num.as_bytes(), &user.uid)?;
        if user.permanent {
            self.view.put(Db::IdxPermanent, &key, &())?;
        } else {
            self.view.delete(Db::IdxPermanent, &key)?;
        }
        self.view.put_record(&user)?;
        self.changed_at(Entity::User, user.uid, ChangeOp::Put, owner(&user));
        Ok(user.uid)
    }

    pub(super) fn put_device(&mut self, mut device: Device) -> Result<u32, StoreError> {
        let ipei = Ipei::new(device.ipei.emc, device.ipei.psn)
            .map_err(|e| StoreError::InvalidIpei(e.to_string()))?;
        let ipei_key = ipei.to_string();
        crate::fields::check_device(&device)?;
        let old: Option<Device> = if device.ppn == 0 {
            None
        } else {
            self.view.get(Db::Devices, &id_key(device.ppn))?
        };
        match &old {
            Some(old) => {
                device.uid = old.uid;
                device.rel_type = old.rel_type;
                device.timestamp_relation = old.timestamp_relation;
                device.created = old.created;
                if device.omm_ppn == 0 && device.location == old.location {
                    device.omm_ppn = old.omm_ppn;
                }
            }
            None if device.ppn != 0 && self.origin != 0 => {
                // As for users: a link's write-back does not bring back a deleted handset.
                return Err(not_found(Entity::Device, device.ppn));
            }
            None => {
                device.uid = 0;
                device.rel_type = RelType::Unbound;
                device.created = now();
            }
        }
        if let Some(owner) = self.view.get::<u32>(Db::IdxIpei, ipei_key.as_bytes())? {
            if old.as_ref().is_none_or(|o| o.ppn != owner) {
                return Err(StoreError::DuplicateIpei(ipei_key));
            }
        }
        if device.timestamp == 0 {
            device.timestamp = now();
        }
        device.ppn = self.take_id(Db::Devices, device.ppn)?;
        if let Some(old) = &old {
            self.view
                .delete(Db::IdxIpei, old.ipei.to_string().as_bytes())?;
        }
        self.view
            .put(Db::IdxIpei, ipei_key.as_bytes(), &device.ppn)?;
        self.view.put(Db::Devices, &id_key(device.ppn), &device)?;
        let owner = device_owner(&device, self.is_permanent(device.uid)?);
        self.changed_at(Entity::Device, device.ppn, ChangeOp::Put, owner);
        Ok(device.ppn)
    }

    pub(super) fn tombstone(
        &mut self,
        entity: Entity,
        id: u32,
        key: String,
    ) -> Result<(), StoreError> {
        let stone = Tombstone {
            entity,
            id,
            key,
            deleted: now(),
        };
        let mut k = vec![entity as u8];
        k.extend(id_key(id));
        self.view.put(Db::Tombstones, &k, &stone)
    }

    pub(super) fn delete_user(&mut self, uid: u32) -> Result<StoreResponse, StoreError> {
        let user: User = self.record(uid)?;
        if user.ppn != 0 {
            self.unbind(uid)?;
        }
        self.view.delete(Db::IdxNum, user.num.as_bytes())?;
        self.view.delete(Db::IdxPermanent, &id_key(uid))?;
        self.view.delete(Db::Users, &id_key(uid))?;
        let home = user.home_omm;
        self.tombstone(Entity::User, uid, user.num)?;
        self.changed_at(Entity::User, uid, ChangeOp::Delete, home);
        Ok(StoreResponse::Done)
    }

    pub(super) fn delete_device(&mut self, ppn: u32) -> Result<StoreResponse, StoreError> {
        let device: Device = self.get(Db::Devices, ppn, Entity::Device)?;
        if device.uid != 0 {
            self.unbind(device.uid)?;
        }
        self.view
            .delete(Db::IdxIpei, device.ipei.to_string().as_bytes())?;
        self.view.delete(Db::Devices, &id_key(ppn))?;
        self.tombstone(Entity::Device, ppn, device.ipei.to_string())?;
        self.changed_at(Entity::Device, ppn, ChangeOp::Delete, device.location);
        Ok(StoreResponse::Done)
    }

    pub(super) fn save_pair(&mut self, user: &User, device: &Device) -> Result<(), StoreError> {
        self.view.put_record(user)?;
        self.view.put(Db::Devices, &id_key(device.ppn), device)?;
        self.changed_at(Entity::User, user.uid, ChangeOp::Put, owner(user));
        let owner = device_owner(device, user.permanent && device.uid == user.uid);
        self.changed_at(Entity::Device, device.ppn, ChangeOp::Put, owner);
        Ok(())
    }

    /// Whether `uid` is a permanent user (false for 0).
    pub(super) fn is_permanent(&self, uid: u32) -> Result<bool, StoreError> {
        Ok(uid != 0 && self.view.get_raw(Db::IdxPermanent, &id_key(uid))?.is_some())
    }
}
