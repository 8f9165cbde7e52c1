//! The APIs between the MOM's processes: one request enum and one response/event enum each.
//!
//! Every enum here is **append-only**: add variants and fields only at the end, and bump
//! [`crate::PROTO_VERSION`] on any change.

pub mod axi;
pub mod control;
pub mod store;
pub mod supervision;
pub mod web;

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::fmt::Debug;

/// A request/response API offered by a service on a Unix socket.
pub trait Api: Send + Sync + 'static {
    /// Name used in logs and in the socket file name (`<name>.sock`).
    const NAME: &'static str;
    /// Largest frame body on this API's connections.
    const MAX_FRAME: u32;
    /// What clients send.
    type Request: Serialize + DeserializeOwned + Send + Sync + Debug + 'static;
    /// What the service sends back: responses (with the request's id) and events (id 0).
    type Response: Serialize + DeserializeOwned + Send + Sync + Debug + 'static;
}

/// A message with its request id. Responses echo the id; events carry id 0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope<T> {
    /// Request id, 0 for events.
    pub id: u64,
    /// The message.
    pub body: T,
}

/// The id that marks an event rather than a response.
pub const EVENT_ID: u64 = 0;
