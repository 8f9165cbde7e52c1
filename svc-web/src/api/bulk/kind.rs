//! Users or DECT phones as the bulk operations and the edits see them: the typed store
//! calls of each kind under one name.

use ipc::api::store::StoreRequest;
use ipc::store_client::{Result as Answer, Store};
use model::{Device, Ipei, Page, User, MAX_PAGE};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::future::Future;

/// Users or devices, as the bulk operations (and the single-record edits) see them: the
/// typed store calls of each kind under one name.
pub trait Kind: Serialize + DeserializeOwned + Default + Clone + Send + Sync + 'static {
    /// `users` or `devices`.
    const NAME: &'static str;
    /// The field that names a record.
    const KEY: &'static str;
    /// The kind of record, as the store's "not found" names it.
    const ENTITY: model::Entity;
    /// Its id.
    fn id(&self) -> u32;
    /// Sets its id.
    fn set_id(&mut self, id: u32);
    /// One record by id, if it exists.
    fn get(store: &Store, id: u32) -> impl Future<Output = Answer<Option<Self>>> + Send;
    /// Creates or replaces one; its id.
    fn put(store: &Store, record: Self) -> impl Future<Output = Answer<u32>> + Send;
    /// The page of every record from `offset` on.
    fn page(store: &Store, offset: u32) -> impl Future<Output = Answer<Page<Self>>> + Send;
    /// The records `keys` name, in order (`None` where none, or the key cannot name one).
    fn lookup(
        store: &Store,
        keys: &[String],
    ) -> impl Future<Output = Answer<Vec<Option<Self>>>> + Send;
    /// The batch write that creates or replaces `records` (sent as it is, or dry-run).
    fn put_many(records: Vec<Self>) -> StoreRequest;
}

/// Every record from `offset`, a page of the store's largest.
pub(super) fn from(offset: u32) -> model::Query {
    model::Query {
        offset,
        limit: MAX_PAGE,
        ..model::Query::default()
    }
}

impl Kind for User {
    const NAME: &'static str = "users";
    const KEY: &'static str = "num";
    const ENTITY: model::Entity = model::Entity::User;
    fn id(&self) -> u32 {
        self.uid
    }
    fn set_id(&mut self, id: u32) {
        self.uid = id;
    }
    fn get(store: &Store, id: u32) -> impl Future<Output = Answer<Option<Self>>> + Send {
        store.user(id)
    }
    fn put(store: &Store, record: Self) -> impl Future<Output = Answer<u32>> + Send {
        store.put_user(record)
    }
    fn page(store: &Store, offset: u32) -> impl Future<Output = Answer<Page<Self>>> + Send {
        store.query_users(from(offset))
    }
    fn lookup(
        store: &Store,
        keys: &[String],
    ) -> impl Future<Output = Answer<Vec<Option<Self>>>> + Send {
        store.users_by_number(keys.to_vec())
    }
    fn put_many(records: Vec<Self>) -> StoreRequest {
        StoreRequest::PutUsers(records)
    }
}

impl Kind for Device {
    const NAME: &'static str = "devices";
    const KEY: &'static str = "ipei";
    const ENTITY: model::Entity = model::Entity::Device;
    fn id(&self) -> u32 {
        self.ppn
    }
    fn set_id(&mut self, id: u32) {
        self.ppn = id;
    }
    fn get(store: &Store, id: u32) -> impl Future<Output = Answer<Option<Self>>> + Send {
        store.device(id)
    }
    fn put(store: &Store, record: Self) -> impl Future<Output = Answer<u32>> + Send {
        store.put_device(record)
    }
    fn page(store: &Store, offset: u32) -> impl Future<Output = Answer<Page<Self>>> + Send {
        store.query_devices(from(offset))
    }
    fn lookup(
        store: &Store,
        keys: &[String],
    ) -> impl Future<Output = Answer<Vec<Option<Self>>>> + Send {
        // A key that is no IPEI finds nothing: the placeholder IPEI is never a record's.
        store.devices_by_ipei(
            keys.iter()
                .map(|k| Ipei::parse(k).unwrap_or_default())
                .collect(),
        )
    }
    fn put_many(records: Vec<Self>) -> StoreRequest {
        StoreRequest::PutDevices(records)
    }
}
