//! svc-axi's API (`axi.sock`): the application data channel to and from the OMMs and
//! system-wide messaging, for svc-maxi (profile §7); "Update OMM" for svc-web and the CLI; user attributes typed by
//! their AXI names for the CLI.

use crate::Api;
use serde::{Deserialize, Serialize};

/// Marker type for svc-axi's API.
pub struct AxiApi;

impl Api for AxiApi {
    const NAME: &'static str = "axi";
    const MAX_FRAME: u32 = 1024 * 1024;
    type Request = AxiRequest;
    type Response = AxiResponse;
}

/// Requests to svc-axi. Append-only; bump `PROTO_VERSION` on any change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AxiRequest {
    /// Receive every OMM's application data as [`AxiResponse::Data`] events.
    SubscribeData,
    /// Send application data to one OMM.
    SendData {
        /// OMM id (the MOM's).
        omm: u32,
        /// Channel name.
        channel: String,
        /// Data, base64.
        data: String,
    },
    /// "Update OMM": `SoftwareUpdate` to each of these OMMs, which then fetch their
    /// configuration. Protocol 13.
    SoftwareUpdate(Vec<u32>),
    /// An application's `SendMessage`: the `msg` attributes, delivered to the OMM where the
    /// recipient is located; answered [`AxiResponse::Done`] once that OMM took it, else
    /// [`AxiResponse::Refused`]. Protocol 14.
    SendMessage(Vec<(String, String)>),
    /// Receive every message one OMM routed to another as [`AxiResponse::Message`] events.
    /// Protocol 14.
    SubscribeMessages,
    /// Set attributes of `user` by the names an OMM gives them (`pin`, `sipAuthId`, …), each
    /// value checked as an OMM checks it; answered [`AxiResponse::User`] with the record
    /// changed (not stored), else [`AxiResponse::Error`] naming the attribute. The admin
    /// CLI's `user edit --set`, so the privileged process parses no AXI. Protocol 24.
    SetUserAttributes {
        /// The record as the store has it.
        user: Box<model::User>,
        /// `(attribute, value)` pairs, in the order given.
        attributes: Vec<(String, String)>,
    },
}

/// Answers and events of svc-axi. Append-only; bump `PROTO_VERSION` on any change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AxiResponse {
    /// Done.
    Done,
    /// Refused; the text says why.
    Error(String),
    /// Event: application data from an OMM.
    Data {
        /// OMM id (the MOM's).
        omm: u32,
        /// Channel name.
        channel: String,
        /// Data, base64.
        data: String,
    },
    /// The outcome of "Update OMM" per OMM, in the order asked: `None` when the OMM took
    /// it, else why not.
    Updated(Vec<(u32, Option<String>)>),
    /// Refused with an AXI error: the code (`ENoEnt`, ...), the attribute at fault if any,
    /// and why. Protocol 14.
    Refused {
        /// AXI `errCode`.
        code: String,
        /// AXI `bad`: the attribute at fault.
        bad: Option<String>,
        /// Why, for the client.
        info: String,
    },
    /// Event: a handset's message that one OMM routed to another (the `msg` attributes).
    /// Protocol 14.
    Message {
        /// The OMM it came from (the MOM's id).
        omm: u32,
        /// The `msg` attributes, `ppn` dropped.
        attrs: Vec<(String, String)>,
    },
    /// The answer to [`AxiRequest::SetUserAttributes`]: the record with the attributes set.
    /// Protocol 24.
    User(Box<model::User>),
}
