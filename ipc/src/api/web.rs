//! svc-web's API (`web.sock`): the MOM's TLS certificate for svc-maxi, which serves MAXI with
//! the same identity as the web interface (admin guide "Security"). Only svc-maxi's user is
//! allowed on the socket: the key never leaves svc-web's state folder otherwise.

use crate::Api;
use serde::{Deserialize, Serialize};

/// Marker type for svc-web's API.
pub struct WebApi;

impl Api for WebApi {
    const NAME: &'static str = "web";
    const MAX_FRAME: u32 = 1024 * 1024;
    type Request = WebRequest;
    type Response = WebResponse;
}

/// Requests to svc-web. Append-only; bump `PROTO_VERSION` on any change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WebRequest {
    /// The certificate in force now, as the answer, and again as an event each time the
    /// administrator replaces it.
    SubscribeCertificate,
    /// Whether account `id` has a confirmed second factor (an authenticator app): such an
    /// account may not open MAXI with its password alone.
    HasSecondFactor(u32),
}

/// Answers and events of svc-web. Append-only; bump `PROTO_VERSION` on any change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WebResponse {
    /// The MOM's certificate: the chain and its private key, PEM.
    Certificate {
        /// The chain, leaf first, PEM.
        chain_pem: String,
        /// The private key, PEM.
        key_pem: String,
    },
    /// The answer to [`WebRequest::HasSecondFactor`].
    SecondFactor(bool),
}
