//! IPC between the MOM's processes.
//!
//! - [`frame`]: sans-IO framing: `u32` big-endian length, then a postcard body; the maximum
//!   is checked before allocating and leftover bytes are an error.
//! - [`hello`]: the first frame of every connection, both ways, with the protocol version.
//! - [`channel`]: a typed, framed connection (`Channel<Rx, Tx>`): a peer cannot send the
//!   wrong enum because the types do not allow it.
//! - [`listener`] and [`client`]: the server side with its `SO_PEERCRED` check, and a client
//!   that reconnects with backoff and fails in-flight requests when its peer goes away.
//! - [`serve`]: the accept loop every server runs, which backs off while descriptors or
//!   socket memory run short instead of spinning.
//! - [`api`]: the request and response/event enums of every service API.
//! - [`store_client`] and [`store_feed`]: the store as every service uses it: one typed
//!   method per request, and the change feed followed across reconnects.
#![forbid(unsafe_code)]

pub mod api;
pub mod channel;
pub mod client;
pub mod frame;
pub mod hello;
pub mod listener;
pub mod serve;
pub mod store_client;
pub mod store_feed;

pub use api::{Api, Envelope};
pub use channel::{Channel, ClientChannel, IpcError, ServerChannel};
pub use client::{Client, ClientError, ClientEvent, ClientOptions};
pub use frame::{FrameDecoder, FrameError};
pub use hello::{Hello, PROTO_VERSION};
pub use listener::{Listener, PeerCred};
