//! What every MAXI client shares: the store and svc-axi behind the requests, the key for
//! secrets, the TLS configuration in force, the client count, the login throttle, the
//! counters and the event stream.

use crate::statistics::Statistics;
use axi::{EventType, Frame};
use ipc::api::axi::AxiApi;
use ipc::store_client::Store;
use ipc::Client;
use login_throttle::Throttle;
use rustls::ServerConfig;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::broadcast;

/// At most this many clients at once (profile §9).
pub const MAX_CLIENTS: usize = 8;

/// Shared by every client.
pub struct Service {
    /// The store.
    pub store: Store,
    /// svc-axi, for messages and the data channel; `None` when it has no socket.
    pub axi: Option<Client<AxiApi>>,
    /// svc-web, which keeps the second factors; `None` when it has no socket.
    pub web: Option<Client<ipc::api::web::WebApi>>,
    /// The key clients encrypt secrets with (`GetPublicKey`).
    pub key: rsa::RsaPrivateKey,
    /// The MOM's AXI protocol version, for `OpenResp`.
    pub protocol_version: u32,
    /// The TLS handshake and the login must be done within this.
    pub handshake_timeout: Duration,
    /// A client silent for this long is closed.
    pub idle_timeout: Duration,
    /// The counters.
    pub stats: Statistics,
    /// Events for subscribed clients, encoded once.
    pub events: broadcast::Sender<Arc<Event>>,
    /// How many clients subscribed to each event type (`EventType::ALL`'s order), so
    /// nothing is looked up for events nobody wants.
    pub interest: [AtomicUsize; 9],
    /// The TLS configuration for new connections; `None` until svc-web handed the
    /// certificate.
    pub tls: RwLock<Option<Arc<ServerConfig>>>,
    /// Clients logged in now.
    pub clients: AtomicUsize,
    /// Connections not logged in yet, by address.
    pre_login: service_kit::tally::Tally<std::net::IpAddr>,
    throttle: Mutex<Throttle>,
    /// When each kind of remote-driven warning was last logged, and how many were held
    /// back since.
    warned: Mutex<std::collections::HashMap<&'static str, (std::time::Instant, u64)>>,
}

/// A remote-driven warning of one kind is logged at most this often.
pub const WARN_EVERY: Duration = Duration::from_secs(10);

impl Service {
    /// A service with these parts and no clients yet.
    #[must_use]
    pub fn new(
        store: Store,
        axi: Option<Client<AxiApi>>,
        web: Option<Client<ipc::api::web::WebApi>>,
        key: rsa::RsaPrivateKey,
        protocol_version: u32,
        handshake_timeout: Duration,
        idle_timeout: Duration,
    ) -> Self {
        Self {
            store,
            axi,
            web,
            key,
            protocol_version,
            handshake_timeout,
            idle_timeout,
            stats: Statistics::default(),
            events: broadcast::channel(4096).0,
            interest: Default::default(),
            tls: RwLock::new(None),
            clients: AtomicUsize::new(0),
            pre_login: service_kit::tally::Tally::default(),
            throttle: Mutex::default(),
            warned: Mutex::default(),
        }
    }

    /// Whether a warning of `kind` that a client caused may be logged now (at most once
    /// per [`WARN_EVERY`]); `Some(n)` with the number held back since the last one.
    pub fn may_warn(&self, kind: &'static str) -> Option<u64> {
        let now = std::time::Instant::now();
        let mut warned = self
            .warned
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match warned.get_mut(kind) {
            Some((at, held)) if now.duration_since(*at) < WARN_EVERY => {
                *held += 1;
                None
            }
            Some((at, held)) => {
                let n = *held;
                (*at, *held) = (now, 0);
                Some(n)
            }
            None => {
                warned.insert(kind, (now, 0));
                Some(0)
            }
        }
    }

    /// The login throttle, for a [`login_throttle::Pass`].
    pub fn throttle_table(&self) -> &Mutex<Throttle> {
        &self.throttle
    }

    /// The TLS configuration for a new connection, if there is one yet.
    #[must_use]
    pub fn tls_config(&self) -> Option<Arc<ServerConfig>> {
        self.tls
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Whether any client subscribed to `event_type`.
    #[must_use]
    pub fn wanted(&self, event_type: axi::EventType) -> bool {
        self.interest[interest_index(event_type)].load(Ordering::Relaxed) > 0
    }

    /// Writes an entry to the event log (subsystem "MAXI"); a failure is logged only.
    pub async fn log(&self, severity: model::Severity, text: String) {
        let answer = self.store.log_event(severity, "MAXI".into(), text).await;
        if let Err(e) = answer {
            tracing::warn!(error = %e, "cannot write the event log");
        }
    }
}

/// The index of `event_type` in [`Service::interest`].
#[must_use]
pub fn interest_index(event_type: axi::EventType) -> usize {
    axi::EventType::ALL
        .iter()
        .position(|t| *t == event_type)
        .unwrap_or(0)
}

/// A logged-in client's place among the [`MAX_CLIENTS`]: taken at a successful `Open`,
/// given back when dropped. Connections not logged in yet hold a [`PreLogin`] instead, so
/// silent connections cannot keep a client with an account out.
pub struct Slot(Arc<Service>);

impl Slot {
    /// A slot, if one is free; the peak is noted for the statistics.
    #[must_use]
    pub fn take(service: &Arc<Service>) -> Option<Self> {
        let taken = service
            .clients
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_CLIENTS).then_some(n + 1)
            })
            .ok()?;
        service.stats.parallel(taken as u64 + 1);
        Some(Self(Arc::clone(service)))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.clients.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Connections that have not logged in yet, at most (TLS handshake and `Open` within the
/// handshake timeout).
pub const MAX_PRE_LOGIN: usize = 16;
/// Of those, from one address at most.
pub const MAX_PRE_LOGIN_PER_ADDRESS: usize = 4;

/// A connection's place among those not logged in yet: taken at accept, given back at a
/// successful `Open` or when the connection ends.
pub struct PreLogin {
    _place: service_kit::tally::Held<std::net::IpAddr>,
}

/// Why no [`PreLogin`] place was free.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreLoginFull {
    /// [`MAX_PRE_LOGIN`] connections are logging in.
    All,
    /// [`MAX_PRE_LOGIN_PER_ADDRESS`] of them come from this address.
    Address,
}

impl PreLogin {
    /// A place for a connection from `address`, if one is free.
    ///
    /// # Errors
    /// Which limit is reached.
    pub fn take(service: &Arc<Service>, address: std::net::IpAddr) -> Result<Self, PreLoginFull> {
        service
            .pre_login
            .take(&address, |total, here| {
                if total >= MAX_PRE_LOGIN as u64 {
                    Err(PreLoginFull::All)
                } else if here >= MAX_PRE_LOGIN_PER_ADDRESS as u64 {
                    Err(PreLoginFull::Address)
                } else {
                    Ok(1)
                }
            })
            .map(|place| Self { _place: place })
    }
}

/// One event, encoded for the wire.
#[derive(Debug)]
pub struct Event {
    /// Its type.
    pub event_type: EventType,
    /// The record or OMM it is about (uid, ppn or OMM id).
    pub id: u32,
    /// The frame, NUL included, with the reference's names only.
    pub plain: Arc<[u8]>,
    /// The frame with the MOM's extensions, where it differs from `plain`.
    pub extended: Option<Arc<[u8]>>,
}

impl Event {
    pub(crate) fn new(event_type: EventType, id: u32, frame: &Frame) -> Self {
        Self {
            event_type,
            id,
            plain: axi::encode(frame).into(),
            extended: None,
        }
    }

    /// An event in both forms: `frame(false)` for strict readers, `frame(true)` with the
    /// MOM's extensions (kept only where it differs).
    pub(crate) fn both(event_type: EventType, id: u32, frame: impl Fn(bool) -> Frame) -> Self {
        let mut event = Self::new(event_type, id, &frame(false));
        let extended: Arc<[u8]> = axi::encode(&frame(true)).into();
        if extended != event.plain {
            event.extended = Some(extended);
        }
        event
    }

    /// The bytes for a client that did (`true`) or did not ask for the extensions.
    #[must_use]
    pub fn bytes(&self, extensions: bool) -> &Arc<[u8]> {
        match (&self.extended, extensions) {
            (Some(extended), true) => extended,
            _ => &self.plain,
        }
    }
}
