//! Reads: each from one consistent snapshot (queries pair the column tables with one, see
//! [`super::query`]), and the lookups the reads and writes share.

use super::*;
use crate::ops::meta;
use crate::storage::{Db, View};
use ipc::api::store::{StoreError, StoreRequest, StoreResponse};
use model::{
    Account, ConferenceRoom, ConfigTemplate, Counter, Device, Entity, EventEntry, License, Omm,
    Settings, Tombstone, User,
};
use serde::de::DeserializeOwned;

/// The record `id` of `db`, or `NotFound`.
pub(super) fn record<V: DeserializeOwned, T: crate::storage::Txn>(
    view: &View<'_, T>,
    db: Db,
    id: u32,
    entity: Entity,
) -> Result<V, StoreError> {
    view.get(db, &crate::storage::id_key(id))?
        .ok_or(StoreError::NotFound { entity, id })
}

/// The record `id` of a database with sealed fields, its secrets opened, or `NotFound`.
pub(super) fn sealed_record<V: crate::secrets::Sealed, T: crate::storage::Txn>(
    view: &View<'_, T>,
    id: u32,
) -> Result<V, StoreError> {
    view.record(id)?.ok_or(StoreError::NotFound {
        entity: V::ENTITY,
        id,
    })
}

/// The user with number `num`, through the number index.
pub(super) fn user_by_number<T: crate::storage::Txn>(
    view: &View<'_, T>,
    num: &str,
) -> Result<Option<User>, StoreError> {
    match view.get::<u32>(Db::IdxNum, num.trim().as_bytes())? {
        Some(uid) => view.record(uid),
        None => Ok(None),
    }
}

/// The device with `ipei`, through the IPEI index.
pub(super) fn device_by_ipei<T: crate::storage::Txn>(
    view: &View<'_, T>,
    ipei: model::Ipei,
) -> Result<Option<Device>, StoreError> {
    match view.get::<u32>(Db::IdxIpei, ipei.to_string().as_bytes())? {
        Some(ppn) => view.get(Db::Devices, &crate::storage::id_key(ppn)),
        None => Ok(None),
    }
}

impl Store {
    /// Answers a read request from one consistent snapshot.
    ///
    /// # Errors
    /// [`StoreError`] for unknown records, bad queries or storage failures.
    pub fn read(&self, request: &StoreRequest) -> Result<StoreResponse, StoreError> {
        use StoreRequest as R;
        use StoreResponse as S;
        // Queries pair the column tables with a snapshot, so they take the tables' lock,
        // which a writer holds across its commit (fsync). Every other read is a plain LMDB
        // snapshot, which writers never block: a lookup does not wait for a durable write.
        if let R::QueryUsers(_) | R::QueryDevices(_) | R::QueryOverview(_) = request {
            return self.query(request);
        }
        let storage = self.storage()?;
        let view = storage.get().read()?;
        Ok(match request {
            R::GetSettings => S::Settings(
                view.get::<Settings>(Db::Meta, meta::SETTINGS)?
                    .unwrap_or_default(),
            ),
            R::GetLicense => S::License(view.get::<License>(Db::Meta, meta::LICENSE)?),
            R::GetHealth => {
                drop(view);
                drop(storage);
                return self.health().map(S::Health);
            }
            R::ListAccounts => S::Accounts(view.all::<Account>(Db::Accounts)?),
            R::CheckLogin { name, password } => {
                let id: Option<u32> =
                    view.get(Db::IdxAccount, login_throttle::account_key(name).as_bytes())?;
                let account: Option<Account> = id
                    .map(|id| record(&view, Db::Accounts, id, Entity::Account))
                    .transpose()?;
                drop(view);
                drop(storage);
                // An unknown name costs a check too (a dummy hash): same time, no hint.
                let hash = account.as_ref().map(|a| a.password_hash.as_str());
                let matched = self.passwords.verify(hash, password)?;
                let Some(account) = account.filter(|_| matched) else {
                    return Err(StoreError::WrongPassword);
                };
                if !account.enabled {
                    return Err(StoreError::AccountDisabled);
                }
                S::Account(account)
            }
            R::ListOmms => S::Omms(view.records::<Omm>()?),
            R::GetOmm(id) => S::Omm(sealed_record(&view, *id)?),
            R::GetServedConfig(id) => S::ServedConfig(view.get(Db::Meta, &meta::served(*id))?),
            R::GetTemplate => S::Template(
                view.get::<ConfigTemplate>(Db::Meta, meta::TEMPLATE)?
                    .unwrap_or_default(),
            ),
            R::GetUser(uid) => S::User(sealed_record(&view, *uid)?),
            R::GetDevice(ppn) => S::Device(sealed_record(&view, *ppn)?),
            R::ListConferenceRooms => S::Rooms(view.records::<ConferenceRoom>()?),
            R::TombstonesSince(t) => S::Tombstones(
                view.all::<Tombstone>(Db::Tombstones)?
                    .into_iter()
                    .filter(|s| s.deleted >= *t)
                    .collect(),
            ),
            R::ListEvents => {
                let mut events = view.all::<EventEntry>(Db::Events)?;
                events.reverse();
                S::Events(events)
            }
            R::ListCounters => S::Counters(view.all::<Counter>(Db::Counters)?),
            R::ListConflicts => S::Conflicts(
                view.get(Db::Meta, crate::conflicts::KEY)?
                    .unwrap_or_default(),
            ),
            R::ListAudit => S::Audit(crate::audit::list(&view)?),
            R::CurrentRevision => S::Revision(view.get(Db::Meta, meta::REVISION)?.unwrap_or(0)),
            R::DatabaseId => S::DatabaseId(view.get(Db::Meta, meta::DATABASE_ID)?.unwrap_or(0)),
            R::GetUsersByNumber(nums) => S::UsersByKey(
                nums.iter()
                    .map(|n| user_by_number(&view, n))
                    .collect::<Result<_, _>>()?,
            ),
            R::GetDevicesByIpei(ipeis) => S::DevicesByKey(
                ipeis
                    .iter()
                    .map(|i| device_by_ipei(&view, *i))
                    .collect::<Result<_, _>>()?,
            ),
            R::GetUserByNumber(num) => {
                S::User(user_by_number(&view, num)?.ok_or(StoreError::NotFound {
                    entity: Entity::User,
                    id: 0,
                })?)
            }
            R::GetDeviceByIpei(ipei) => {
                S::Device(device_by_ipei(&view, *ipei)?.ok_or(StoreError::NotFound {
                    entity: Entity::Device,
                    id: 0,
                })?)
            }
            R::ClusterStatus | R::ClusterAddNode { .. } | R::ClusterRemoveNode(_) => {
                return Err(StoreError::Invalid(
                    "this MOM is no cluster node (no [cluster] in its configuration)".into(),
                ))
            }
            other => return Err(StoreError::Invalid(format!("{other:?} is not a read"))),
        })
    }
}
