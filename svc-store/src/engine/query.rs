//! Queries of users and DECT phones and the Overview: filtered, sorted and paged on the
//! in-memory column tables ([`crate::columns`]), which are kept in step with every commit.

use super::*;
use crate::columns::ColumnTable;
use crate::storage::{id_key, Db, Storage, View};
use ipc::api::store::{Change, StoreError, StoreRequest, StoreResponse};
use model::{Device, Entity, Query, Record, User};

/// The user columns that services select users by, one value at a time: svc-axi reads an
/// OMM's users (`home_omm`) and the permanent users (`permanent`) at every link's import.
const USERS_SELECTED_BY: &[&str] = &["home_omm", "permanent"];
/// The device columns that services select devices by: svc-axi reads the handsets located
/// at an OMM at every link's import.
const DEVICES_SELECTED_BY: &[&str] = &["location"];

/// In-memory column copies of the user and device tables (see [`crate::columns`]).
pub(crate) struct Tables {
    users: ColumnTable,
    devices: ColumnTable,
}

impl Tables {
    /// Builds both tables from the stored records.
    pub(crate) fn load(storage: &Storage) -> Result<Self, StoreError> {
        let view = storage.read()?;
        let mut tables = Self {
            users: ColumnTable::new::<User>().with_postings(USERS_SELECTED_BY),
            devices: ColumnTable::new::<Device>().with_postings(DEVICES_SELECTED_BY),
        };
        // Only the rows: a column is built when a query first needs it (see `columns`).
        view.scan(Db::Users, None, |key, _| {
            tables.users.add_id(crate::storage::key_id(key)?);
            Ok(true)
        })?;
        view.scan(Db::Devices, None, |key, _| {
            tables.devices.add_id(crate::storage::key_id(key)?);
            Ok(true)
        })?;
        Ok(tables)
    }

    /// Brings the rows of the changed users and devices up to date with `storage`.
    pub(super) fn refresh(
        &mut self,
        storage: &Storage,
        changes: &[Change],
    ) -> Result<(), StoreError> {
        let view = storage.read()?;
        for change in changes {
            let key = crate::storage::id_key(change.id);
            match change.entity {
                Entity::User => match view.get_borrowed::<model::UserView<'_>>(Db::Users, &key)? {
                    Some(user) => self.users.upsert(change.id, &user),
                    None => self.users.remove(change.id),
                },
                Entity::Device => {
                    match view.get_borrowed::<model::DeviceView<'_>>(Db::Devices, &key)? {
                        Some(device) => self.devices.upsert(change.id, &device),
                        None => self.devices.remove(change.id),
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// The user column by which the Overview joins a user to its DECT phone: its Device ID.
pub(super) const OVERVIEW_VIA: &str = "ppn";

/// An Overview page: filters and sorts on the user columns joined to the phone columns, then
/// reads each user of the page and its bound phone from the snapshot.
pub(super) fn run_overview<T: crate::storage::Txn>(
    view: &View<'_, T>,
    tables: &Tables,
    query: &Query,
) -> Result<model::Page<model::OverviewRow>, StoreError> {
    let filters = query
        .compile::<model::OverviewRow>()
        .map_err(StoreError::Query)?;
    let join = crate::columns::Join {
        table: &tables.devices,
        via: OVERVIEW_VIA,
        prefix: model::overview::DEVICE_PREFIX,
    };
    let (total, ids) = tables
        .users
        .query(query, &filters, Some(join))
        .map_err(StoreError::Query)?;
    let mut items = Vec::with_capacity(ids.len());
    for id in ids {
        let user: User = view.record(id)?.ok_or_else(|| {
            StoreError::Storage(format!(
                "record {id} is in the column table but not in the database"
            ))
        })?;
        let device = match user.ppn {
            0 => None,
            ppn => view.record(ppn)?,
        };
        items.push(model::OverviewRow { user, device });
    }
    Ok(model::Page { total, items })
}

/// Filters and sorts on the in-memory columns, then reads the page's records from the
/// snapshot.
pub(super) fn run_query<V, T>(
    view: &View<'_, T>,
    table: &ColumnTable,
    query: &Query,
) -> Result<model::Page<V>, StoreError>
where
    V: Record + crate::secrets::Sealed,
    T: crate::storage::Txn,
{
    let filters = query.compile::<V>().map_err(StoreError::Query)?;
    let (total, ids) = table
        .query(query, &filters, None)
        .map_err(StoreError::Query)?;
    let mut items = Vec::with_capacity(ids.len());
    for id in ids {
        let record = view.record(id)?.ok_or_else(|| {
            StoreError::Storage(format!(
                "record {id} is in the column table but not in the database"
            ))
        })?;
        items.push(record);
    }
    Ok(model::Page { total, items })
}

impl Store {
    /// A user or device query: the column tables' lock first, then the snapshot (the
    /// writers' lock order). Columns the query needs that are not built yet are built first,
    /// under the write lock, so the snapshot they are built from matches the table.
    pub(super) fn query(&self, request: &StoreRequest) -> Result<StoreResponse, StoreError> {
        let (users, devices) = {
            let tables = self.tables.read().map_err(|_| poisoned())?;
            match request {
                StoreRequest::QueryUsers(q) => (tables.users.missing(q, ""), Vec::new()),
                StoreRequest::QueryDevices(q) => (Vec::new(), tables.devices.missing(q, "")),
                StoreRequest::QueryOverview(q) => {
                    let devices = tables.devices.missing(q, model::overview::DEVICE_PREFIX);
                    let mut users = tables.users.missing(q, "");
                    // The join reads each user's Device ID.
                    let joined = q
                        .filters
                        .iter()
                        .map(|f| f.column.as_str())
                        .chain(
                            (q.sort != model::SortDirection::None)
                                .then_some(q.sort_column.as_str()),
                        )
                        .any(|c| c.starts_with(model::overview::DEVICE_PREFIX));
                    if joined && !tables.users.is_built(OVERVIEW_VIA) {
                        users.push(OVERVIEW_VIA);
                    }
                    (users, devices)
                }
                _ => (Vec::new(), Vec::new()),
            }
        };
        if !users.is_empty() || !devices.is_empty() {
            let mut tables = self.tables.write().map_err(|_| poisoned())?;
            let storage = self.storage()?;
            let view = storage.get().read()?;
            let out_of_step =
                |id| StoreError::Storage(format!("column table out of step: record {id} missing"));
            tables.users.build(&users, |id| {
                view.get_borrowed::<model::UserView<'_>>(Db::Users, &id_key(id))?
                    .ok_or_else(|| out_of_step(id))
            })?;
            tables.devices.build(&devices, |id| {
                view.get_borrowed::<model::DeviceView<'_>>(Db::Devices, &id_key(id))?
                    .ok_or_else(|| out_of_step(id))
            })?;
            tracing::debug!(?users, ?devices, "query columns built");
        }
        let tables = self.tables.read().map_err(|_| poisoned())?;
        let storage = self.storage()?;
        let view = storage.get().read()?;
        Ok(match request {
            StoreRequest::QueryUsers(query) => {
                StoreResponse::Users(run_query::<User, _>(&view, &tables.users, query)?)
            }
            StoreRequest::QueryDevices(query) => {
                StoreResponse::Devices(run_query::<Device, _>(&view, &tables.devices, query)?)
            }
            StoreRequest::QueryOverview(query) => {
                StoreResponse::Overview(run_overview(&view, &tables, query)?)
            }
            other => return Err(StoreError::Invalid(format!("{other:?} is not a query"))),
        })
    }
}
