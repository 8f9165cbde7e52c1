//! What every OMM link of svc-axi shares: the store, the MOM's key, the timing settings, the
//! routed change feed, and the routes by which one link asks another to deliver a message or
//! application data (messaging between sites, the data channel).

use crate::store::Store;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// What every link shares.
pub struct Shared {
    /// The store.
    pub store: Store,
    /// The MOM's key for secrets the OMMs send back.
    pub mom_key: rsa::RsaPrivateKey,
    /// The MOM's AXI protocol version.
    pub protocol_version: u32,
    /// Retry interval after a lost link or a refused login.
    pub retry: Duration,
    /// Keep-alive interval.
    pub ping: Duration,
    /// How long an OMM may take to answer a request before its link is closed.
    pub request_timeout: Duration,
    /// svc-web's HTTPS port, where the OMMs fetch their configuration; `None` without one.
    pub web_port: Option<u16>,
    /// The store's change feed, routed to the links.
    pub feed: crate::feed::Feed,
    /// Application data from every OMM, for the API's subscribers.
    pub data: tokio::sync::broadcast::Sender<DataEvent>,
    /// Messages routed from one OMM to another, for the API's subscribers.
    pub messages: tokio::sync::broadcast::Sender<MessageEvent>,
    /// Reconciliations that may run at once (see `reconcile`).
    pub reconcile_slots: tokio::sync::Semaphore,
    /// Links that are up now; `publish_links_up` in `lib.rs` writes it to the store's
    /// `axi.links_up` gauge, latest value last.
    pub links_up: tokio::sync::watch::Sender<u64>,
    /// The links that are up, by OMM id, for requests routed from another link.
    pub routes: std::sync::Mutex<HashMap<u32, mpsc::Sender<Box<Routed>>>>,
    /// In a cluster, while this node may hold no links: why, naming the leader (see
    /// `leadership`); the API answers requests for an OMM with it.
    pub elsewhere: std::sync::Mutex<Option<String>>,
}

/// A request another link routes through this one (sent boxed: a link's queue allocates its
/// slots 32 at a time, held by every idle link).
#[derive(Debug)]
pub enum Routed {
    /// Deliver a text message; answers whether the OMM accepted it, with its error if not.
    Message(
        axi::TextMessage,
        oneshot::Sender<Result<(), axi::ErrorInfo>>,
    ),
    /// Send application data `(channel, base64 data)`; answers whether the OMM accepted it.
    Data(String, String, oneshot::Sender<Result<(), String>>),
    /// "Update OMM"; answers whether the OMM took it.
    SoftwareUpdate(oneshot::Sender<Result<(), String>>),
}

impl Shared {
    /// Why this node holds no OMM links, naming the leader, while it does not lead.
    pub fn not_leading(&self) -> Option<String> {
        self.elsewhere
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The sender to the link of OMM `omm`, while it is up.
    pub fn route(&self, omm: u32) -> Option<mpsc::Sender<Box<Routed>>> {
        self.routes_lock().get(&omm).cloned()
    }

    fn routes_lock(&self) -> std::sync::MutexGuard<'_, HashMap<u32, mpsc::Sender<Box<Routed>>>> {
        self.routes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A link that is up: counted in the `axi.links_up` gauge and reachable by routed requests,
/// until it is dropped.
pub struct LinkUp {
    shared: Arc<Shared>,
    omm: u32,
}

impl LinkUp {
    /// Counts OMM `omm`'s link as up and routes requests for that OMM to `route`.
    pub fn new(shared: &Arc<Shared>, omm: u32, route: mpsc::Sender<Box<Routed>>) -> Self {
        shared.links_up.send_modify(|up| *up += 1);
        shared.routes_lock().insert(omm, route);
        Self {
            shared: Arc::clone(shared),
            omm,
        }
    }
}

impl Drop for LinkUp {
    fn drop(&mut self) {
        self.shared.routes_lock().remove(&self.omm);
        self.shared
            .links_up
            .send_modify(|up| *up = up.saturating_sub(1));
    }
}

/// Application data from an OMM, for subscribers.
#[derive(Debug, Clone)]
pub struct DataEvent {
    /// OMM id.
    pub omm: u32,
    /// Channel name.
    pub channel: String,
    /// Data, base64.
    pub data: String,
}

/// A handset's message that one OMM routed to another, for subscribers.
#[derive(Debug, Clone)]
pub struct MessageEvent {
    /// The OMM it came from.
    pub omm: u32,
    /// The `msg` attributes, `ppn` dropped.
    pub attrs: Vec<(String, String)>,
}
