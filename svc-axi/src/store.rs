//! Small typed helpers over the store client.

use ipc::api::store::{StoreApi, StoreError, StoreRequest, StoreResponse};
use ipc::Client;
use model::{Device, Filter, FilterOp, Omm, OmmHealth, Query, Settings, Severity, User};

/// The store, as svc-axi uses it: as the service, or as one OMM's link ([`Store::for_omm`]),
/// whose writes are marked so that link can skip their echo in the change feed.
#[derive(Clone)]
pub struct Store {
    client: Client<StoreApi>,
    origin: u32,
}

/// Why a store request did not succeed: the store refused it, or it did not arrive.
///
/// The two are handled apart: a refusal concerns one record (the link holds that record back
/// and goes on, see `conflicts.rs`); an unreachable store ends the session.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// The store refused the request (a rule, a missing record, a full disk).
    Refused(StoreError),
    /// The store did not answer: svc-store is down or restarting, or the answer was of
    /// the wrong shape.
    Unreachable(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Refused(e) => write!(f, "the store refused: {e}"),
            Self::Unreachable(e) => write!(f, "the store is unreachable: {e}"),
        }
    }
}

/// A store answer: the value, or why there is none.
pub type Result<T> = std::result::Result<T, Failure>;

fn unexpected(answer: &StoreResponse) -> Failure {
    Failure::Unreachable(format!("unexpected answer from the store: {answer:?}"))
}

impl Store {
    /// The store as the service uses it.
    #[must_use]
    pub fn new(client: Client<StoreApi>) -> Self {
        Self { client, origin: 0 }
    }

    /// The store as the link of OMM `omm` uses it: its writes carry the OMM as their origin.
    #[must_use]
    pub fn for_omm(&self, omm: u32) -> Self {
        Self {
            client: self.client.clone(),
            origin: omm,
        }
    }

    fn tagged(&self, request: StoreRequest) -> StoreRequest {
        if self.origin == 0 || request.is_read() {
            request
        } else {
            StoreRequest::FromOmm {
                omm: self.origin,
                request: Box::new(request),
            }
        }
    }

    /// One request.
    ///
    /// # Errors
    /// [`Failure::Refused`] with the store's reason, or [`Failure::Unreachable`].
    pub async fn call(&self, request: StoreRequest) -> Result<StoreResponse> {
        match self.client.request(self.tagged(request)).await {
            Ok(StoreResponse::Error(e)) => Err(Failure::Refused(e)),
            Ok(r) => Ok(r),
            Err(e) => Err(Failure::Unreachable(e.to_string())),
        }
    }

    /// One lookup: the record `pick` takes from the answer, `None` when the store has none.
    async fn optional<T>(
        &self,
        request: StoreRequest,
        pick: fn(StoreResponse) -> Option<T>,
    ) -> Result<Option<T>> {
        match self.call(request).await {
            Err(Failure::Refused(StoreError::NotFound { .. })) => Ok(None),
            Err(e) => Err(e),
            Ok(answer) => match pick(answer) {
                Some(found) => Ok(Some(found)),
                None => Err(Failure::Unreachable(
                    "unexpected answer from the store".into(),
                )),
            },
        }
    }

    /// The system settings.
    ///
    /// # Errors
    /// As [`Store::call`].
    pub async fn settings(&self) -> Result<Settings> {
        match self.call(StoreRequest::GetSettings).await? {
            StoreResponse::Settings(s) => Ok(s),
            other => Err(unexpected(&other)),
        }
    }

    /// Every OMM record.
    ///
    /// # Errors
    /// As [`Store::call`].
    pub async fn omms(&self) -> Result<Vec<Omm>> {
        match self.call(StoreRequest::ListOmms).await? {
            StoreResponse::Omms(o) => Ok(o),
            other => Err(unexpected(&other)),
        }
    }

    /// One OMM record, if it exists.
    ///
    /// # Errors
    /// As [`Store::call`], but a missing record is `Ok(None)`.
    pub async fn omm(&self, id: u32) -> Result<Option<Omm>> {
        self.optional(StoreRequest::GetOmm(id), |r| match r {
            StoreResponse::Omm(x) => Some(x),
            _ => None,
        })
        .await
    }

    /// The user with number `num`, if any.
    ///
    /// # Errors
    /// As [`Store::call`], but a missing user is `Ok(None)`.
    pub async fn user_by_number(&self, num: &str) -> Result<Option<User>> {
        self.optional(StoreRequest::GetUserByNumber(num.to_owned()), |r| match r {
            StoreResponse::User(x) => Some(x),
            _ => None,
        })
        .await
    }

    /// The device with `ipei`, if any.
    ///
    /// # Errors
    /// As [`Store::user_by_number`].
    pub async fn device_by_ipei(&self, ipei: model::Ipei) -> Result<Option<Device>> {
        self.optional(StoreRequest::GetDeviceByIpei(ipei), |r| match r {
            StoreResponse::Device(x) => Some(x),
            _ => None,
        })
        .await
    }

    /// The users with these numbers, in order (in requests of at most 1,000).
    ///
    /// # Errors
    /// As [`Store::call`].
    pub async fn users_by_number(&self, nums: Vec<String>) -> Result<Vec<Option<User>>> {
        let mut out = Vec::with_capacity(nums.len());
        for chunk in nums.chunks(1000) {
            match self
                .call(StoreRequest::GetUsersByNumber(chunk.to_vec()))
                .await?
            {
                StoreResponse::UsersByKey(found) => out.extend(found),
                other => return Err(unexpected(&other)),
            }
        }
        Ok(out)
    }

    /// The devices with these IPEIs, in order (in requests of at most 1,000).
    ///
    /// # Errors
    /// As [`Store::call`].
    pub async fn devices_by_ipei(&self, ipeis: Vec<model::Ipei>) -> Result<Vec<Option<Device>>> {
        let mut out = Vec::with_capacity(ipeis.len());
        for chunk in ipeis.chunks(1000) {
            match self
                .call(StoreRequest::GetDevicesByIpei(chunk.to_vec()))
                .await?
            {
                StoreResponse::DevicesByKey(found) => out.extend(found),
                other => return Err(unexpected(&other)),
            }
        }
        Ok(out)
    }

    /// A batch write: the outcome of each record, in order (nothing to send for none).
    async fn many(
        &self,
        empty: bool,
        request: StoreRequest,
    ) -> Result<Vec<std::result::Result<u32, StoreError>>> {
        if empty {
            return Ok(Vec::new());
        }
        match self.call(request).await? {
            StoreResponse::CreatedMany(r) => Ok(r),
            other => Err(unexpected(&other)),
        }
    }

    /// Creates or replaces users in one transaction; the outcome of each, in order.
    ///
    /// # Errors
    /// As [`Store::call`] for the request as a whole.
    pub async fn put_users(
        &self,
        users: Vec<User>,
    ) -> Result<Vec<std::result::Result<u32, StoreError>>> {
        self.many(users.is_empty(), StoreRequest::PutUsers(users))
            .await
    }

    /// Creates or replaces devices in one transaction; the outcome of each, in order.
    ///
    /// # Errors
    /// As [`Store::call`] for the request as a whole.
    pub async fn put_devices(
        &self,
        devices: Vec<Device>,
    ) -> Result<Vec<std::result::Result<u32, StoreError>>> {
        self.many(devices.is_empty(), StoreRequest::PutDevices(devices))
            .await
    }

    /// Takes over bindings `(uid, ppn, relation, the OMM's relation stamp)` in one
    /// transaction; the outcome of each, in order.
    ///
    /// # Errors
    /// As [`Store::call`] for the request as a whole.
    pub async fn bind_many(
        &self,
        binds: Vec<(u32, u32, model::RelType, model::Timestamp)>,
    ) -> Result<Vec<std::result::Result<u32, StoreError>>> {
        self.many(binds.is_empty(), StoreRequest::BindMany(binds))
            .await
    }

    /// User `uid`, if it exists.
    ///
    /// # Errors
    /// As [`Store::user_by_number`].
    pub async fn user(&self, uid: u32) -> Result<Option<User>> {
        self.optional(StoreRequest::GetUser(uid), |r| match r {
            StoreResponse::User(x) => Some(x),
            _ => None,
        })
        .await
    }

    /// Device `ppn`, if it exists.
    ///
    /// # Errors
    /// As [`Store::user_by_number`].
    pub async fn device(&self, ppn: u32) -> Result<Option<Device>> {
        self.optional(StoreRequest::GetDevice(ppn), |r| match r {
            StoreResponse::Device(x) => Some(x),
            _ => None,
        })
        .await
    }

    /// Every record of a table whose `column` equals `omm`, page by page.
    async fn all_at<T>(
        &self,
        column: &str,
        omm: u32,
        request: fn(Query) -> StoreRequest,
        page: fn(StoreResponse) -> Option<model::Page<T>>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        loop {
            let query = Query {
                filters: vec![Filter {
                    column: column.into(),
                    op: FilterOp::Equals,
                    value: omm.to_string(),
                }],
                offset: u32::try_from(out.len()).unwrap_or(u32::MAX),
                limit: model::MAX_PAGE,
                ..Query::default()
            };
            let response = self.call(request(query)).await?;
            let Some(page) = page(response) else {
                return Err(Failure::Unreachable("unexpected answer to a query".into()));
            };
            let done = page.items.is_empty()
                || out.len() + page.items.len()
                    >= usize::try_from(page.total).unwrap_or(usize::MAX);
            out.extend(page.items);
            if done {
                return Ok(out);
            }
        }
    }

    /// Every user whose home is OMM `omm`.
    ///
    /// # Errors
    /// As [`Store::call`].
    pub async fn users_at(&self, omm: u32) -> Result<Vec<User>> {
        self.all_at(
            "home_omm",
            omm,
            StoreRequest::QueryUsers,
            StoreResponse::into_users,
        )
        .await
    }

    /// Every conference room.
    ///
    /// # Errors
    /// As [`Store::call`].
    pub async fn rooms(&self) -> Result<Vec<model::ConferenceRoom>> {
        match self.call(StoreRequest::ListConferenceRooms).await? {
            StoreResponse::Rooms(r) => Ok(r),
            other => Err(unexpected(&other)),
        }
    }

    /// Every permanent user.
    ///
    /// # Errors
    /// As [`Store::call`].
    pub async fn permanent_users(&self) -> Result<Vec<User>> {
        let query = Query {
            filters: vec![Filter {
                column: "permanent".into(),
                op: FilterOp::Equals,
                value: "true".into(),
            }],
            limit: model::MAX_PAGE,
            ..Query::default()
        };
        match self.call(StoreRequest::QueryUsers(query)).await? {
            StoreResponse::Users(page) => Ok(page.items),
            other => Err(unexpected(&other)),
        }
    }

    /// Every device located at OMM `omm`.
    ///
    /// # Errors
    /// As [`Store::call`].
    pub async fn devices_at(&self, omm: u32) -> Result<Vec<Device>> {
        self.all_at(
            "location",
            omm,
            StoreRequest::QueryDevices,
            StoreResponse::into_devices,
        )
        .await
    }

    /// Creates or replaces a user; returns its id.
    ///
    /// # Errors
    /// As [`Store::call`].
    pub async fn put_user(&self, user: User) -> Result<u32> {
        match self.call(StoreRequest::PutUser(user)).await? {
            StoreResponse::Created(id) => Ok(id),
            other => Err(unexpected(&other)),
        }
    }

    /// Creates or replaces a device; returns its id.
    ///
    /// # Errors
    /// As [`Store::call`].
    pub async fn put_device(&self, device: Device) -> Result<u32> {
        match self.call(StoreRequest::PutDevice(device)).await? {
            StoreResponse::Created(id) => Ok(id),
            other => Err(unexpected(&other)),
        }
    }

    /// Records an OMM's link state.
    pub async fn health(&self, id: u32, health: OmmHealth, cloud_id: Option<String>) {
        if let Err(e) = self
            .call(StoreRequest::SetOmmHealth {
                id,
                health,
                cloud_id,
            })
            .await
        {
            tracing::debug!(omm = id, error = %e, "could not record the link state");
        }
    }

    /// Adds an event-log entry (best effort).
    pub async fn log(&self, severity: Severity, text: String) {
        let _ = self
            .call(StoreRequest::LogEvent {
                severity,
                subsystem: "axi".into(),
                text,
            })
            .await;
    }

    /// Adds to a counter (best effort).
    pub async fn count(&self, name: &str, delta: u64) {
        let _ = self
            .call(StoreRequest::AddToCounter {
                name: name.into(),
                delta,
            })
            .await;
    }
}
