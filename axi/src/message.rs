//! Every message of axi-profile.md as a typed value, and the frame around it (`seq` and
//! the error attributes).
//!
//! Each message is a struct of typed attributes and record children, declared once in the
//! [`messages!`] table below, which also generates its reading and writing. Messages this
//! crate does not know decode as [`Message::Unknown`] with their element, so a server can
//! answer `EFailed "not supported"` and keep the link.

use crate::record::{
    AxiRecord, ConfigUrl, PpDev, PpUser, PublicKey, Room, SubscribeEntry, TextMessage,
};
use crate::value::{AttrValue, DectSubscriptionMode, Hex10};
use crate::xml::Element;
use crate::DecodeError;
use model::{Ipei, RelType};

/// An attribute of a message: required (`T`) or optional (`Option<T>`).
pub trait AttrField: Sized {
    /// Reads it from `element`.
    ///
    /// # Errors
    /// [`DecodeError`] when required and missing, or of the wrong type.
    fn read(element: &Element, name: &str) -> Result<Self, DecodeError>;
    /// Writes it (nothing for `None`).
    fn write(&self, element: &mut Element, name: &str);
}

fn parse_attr<T: AttrValue>(element: &Element, name: &str, raw: &str) -> Result<T, DecodeError> {
    T::parse(raw).ok_or_else(|| DecodeError::WrongType {
        element: element.name.clone(),
        name: name.to_owned(),
        value: raw.chars().take(40).collect(),
    })
}

/// One attribute of a message in [`MESSAGE_SCHEMAS`].
#[derive(Debug, Clone, Copy)]
pub struct AttrSchema {
    /// Name on the wire.
    pub name: &'static str,
    /// Whether a value is acceptable.
    pub check: fn(&str) -> bool,
    /// Whether the attribute must be present.
    pub required: fn() -> bool,
}

/// Whether a message attribute of type `F` must be present.
fn required_attr<F: AttrField>() -> bool {
    F::read(&Element::new("probe"), "a").is_err()
}

/// Whether `text` is acceptable for an attribute field of type `F`.
fn check_attr<F: AttrField>(text: &str) -> bool {
    let mut probe = Element::new("probe");
    probe.push_attr("a", text);
    F::read(&probe, "a").is_ok()
}

impl<T: AttrValue> AttrField for T {
    fn read(element: &Element, name: &str) -> Result<Self, DecodeError> {
        let raw = element.attr(name).ok_or_else(|| DecodeError::Missing {
            element: element.name.clone(),
            name: name.to_owned(),
        })?;
        parse_attr(element, name, raw)
    }
    fn write(&self, element: &mut Element, name: &str) {
        element.push_attr(name, self.render());
    }
}

impl<T: AttrValue> AttrField for Option<T> {
    fn read(element: &Element, name: &str) -> Result<Self, DecodeError> {
        element
            .attr(name)
            .map(|raw| parse_attr(element, name, raw))
            .transpose()
    }
    fn write(&self, element: &mut Element, name: &str) {
        if let Some(v) = self {
            element.push_attr(name, v.render());
        }
    }
}

/// Record children of a message: one required, one optional, or a list.
pub trait ChildField: Sized {
    /// Element name of the record.
    const TAG: &'static str;
    /// Takes them from `element`'s children (their attributes move, nothing is copied).
    ///
    /// # Errors
    /// [`DecodeError`] for a missing required child or a mistyped record.
    fn take(element: &mut Element) -> Result<Self, DecodeError>;
    /// Appends them to `element`.
    fn write(&self, element: &mut Element);
}

/// Takes the record of the first child named `R::TAG`, if any.
fn take_first<R: AxiRecord>(element: &mut Element) -> Result<Option<R>, DecodeError> {
    element
        .children
        .iter_mut()
        .find(|c| c.name == R::TAG)
        .map(|c| R::from_attrs(R::TAG, std::mem::take(&mut c.attrs)))
        .transpose()
}

impl<R: AxiRecord> ChildField for R {
    const TAG: &'static str = R::TAG;
    fn take(element: &mut Element) -> Result<Self, DecodeError> {
        take_first(element)?.ok_or_else(|| DecodeError::Missing {
            element: element.name.clone(),
            name: format!("<{}>", R::TAG),
        })
    }
    fn write(&self, element: &mut Element) {
        element.children.push(self.to_element());
    }
}

impl<R: AxiRecord> ChildField for Option<R> {
    const TAG: &'static str = R::TAG;
    fn take(element: &mut Element) -> Result<Self, DecodeError> {
        take_first(element)
    }
    fn write(&self, element: &mut Element) {
        if let Some(r) = self {
            element.children.push(r.to_element());
        }
    }
}

impl<R: AxiRecord> ChildField for Vec<R> {
    const TAG: &'static str = R::TAG;
    fn take(element: &mut Element) -> Result<Self, DecodeError> {
        element
            .children
            .iter_mut()
            .filter(|c| c.name == R::TAG)
            .map(|c| R::from_attrs(R::TAG, std::mem::take(&mut c.attrs)))
            .collect()
    }
    fn write(&self, element: &mut Element) {
        element
            .children
            .extend(self.iter().map(AxiRecord::to_element));
    }
}

macro_rules! messages {
    ($(
        $(#[$meta:meta])*
        $name:ident { $($field:ident : $ty:ty = $attr:literal),* $(,)? } $([ $($child:ident : $cty:ty),* $(,)? ])?
    )*) => {
        $(
            $(#[$meta])*
            #[derive(Debug, Clone, PartialEq, Eq)]
            #[allow(missing_docs)]
            pub struct $name {
                $(pub $field: $ty,)*
                $($(pub $child: $cty,)*)?
            }

            impl $name {
                /// Element name on the wire.
                pub const NAME: &'static str = stringify!($name);

                #[allow(unused_variables, unused_mut)]
                fn take(mut element: Element) -> Result<Self, DecodeError> {
                    Ok(Self {
                        $($field: <$ty as AttrField>::read(&element, $attr)?,)*
                        $($($child: <$cty as ChildField>::take(&mut element)?,)*)?
                    })
                }

                #[allow(unused_variables)]
                fn write(&self, element: &mut Element) {
                    $(<$ty as AttrField>::write(&self.$field, element, $attr);)*
                    $($(<$cty as ChildField>::write(&self.$child, element);)*)?
                }
            }

            impl From<$name> for Message {
                fn from(m: $name) -> Self {
                    Message::$name(m)
                }
            }
        )*

        /// Every message's name, attributes (with their type checks) and record children, for
        /// tests that build arbitrary valid frames.
        pub const MESSAGE_SCHEMAS: &[(&str, &[AttrSchema], &[&str])] = &[
            $((stringify!($name), &[$(AttrSchema { name: $attr, check: check_attr::<$ty>, required: required_attr::<$ty> }),*], &[$($(<$cty as ChildField>::TAG),*)?])),*
        ];

        /// Every message of the profile, plus [`Message::Unknown`].
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[allow(missing_docs)]
        pub enum Message {
            $($name($name),)*
            /// A message this crate does not know, kept as its element.
            Unknown(Element),
        }

        impl Message {
            /// The element name.
            #[must_use]
            pub fn name(&self) -> &str {
                match self {
                    $(Message::$name(_) => $name::NAME,)*
                    Message::Unknown(e) => &e.name,
                }
            }

            /// Reads a message from its element (frame attributes are ignored here).
            ///
            /// # Errors
            /// [`DecodeError`] for a known message with a missing or mistyped part.
            pub fn from_element(element: &Element) -> Result<Self, DecodeError> {
                Self::from_owned(element.clone())
            }

            /// Like [`Message::from_element`], consuming the element so records move instead
            /// of being copied.
            ///
            /// # Errors
            /// As [`Message::from_element`].
            pub fn from_owned(element: Element) -> Result<Self, DecodeError> {
                Ok(match element.name.as_str() {
                    $(stringify!($name) => Message::$name($name::take(element)?),)*
                    _ => Message::Unknown(element),
                })
            }

            fn write(&self, element: &mut Element) {
                match self {
                    $(Message::$name(m) => m.write(element),)*
                    Message::Unknown(e) => {
                        element.attrs.extend(e.attrs.iter().filter(|(k, _)| !FRAME_ATTRS.contains(&k.as_ref())).cloned());
                        element.children.extend(e.children.iter().cloned());
                        element.text.push_str(&e.text);
                    }
                }
            }
        }
    };
}

messages! {
    /// Log in (`UserDeviceSyncClient="true"` for the MOM).
    Open { username: String = "username", password: String = "password", protocol_version: Option<u32> = "protocolVersion",
           user_device_sync_client: Option<bool> = "UserDeviceSyncClient",
           mom_extensions: Option<bool> = "momExtensions" }
    /// Answer to `Open`, with the server's public key.
    OpenResp { protocol_version: Option<u32> = "protocolVersion", omm_version: Option<String> = "ommVersion",
               omm_stb_state: Option<String> = "ommStbState" } [public_key: Option<PublicKey>]
    /// The MOM's public key for secrets an OMM sends back (profile).
    SetMOMKey { modulus: String = "modulus", exponent: String = "exponent" }
    /// Answer to `SetMOMKey`.
    SetMOMKeyResp {}
    /// Ask for the server's public key.
    GetPublicKey {}
    /// The server's public key.
    GetPublicKeyResp { modulus: Option<String> = "modulus", exponent: Option<String> = "exponent" }
    /// Keep-alive.
    Ping { time_stamp: Option<u64> = "timeStamp" }
    /// Keep-alive answer.
    PingResp { time_stamp: Option<u64> = "timeStamp" }
    /// Ask for the PARK.
    GetPARK {}
    /// The PARK.
    GetPARKResp { park: Option<Hex10> = "park" }
    /// Ask for the SARI.
    GetSARI {}
    /// The SARI (absent when none is set).
    GetSARIResp { sari: Option<Hex10> = "sari" }
    /// Set the SARI (the OMM restarts when it changed).
    SetSARI { sari: Hex10 = "sari" }
    /// Answer to `SetSARI`.
    SetSARIResp { sari: Option<Hex10> = "sari" }
    /// Switch the OMM's own auto-create.
    SetDevAutoCreate { enable: bool = "enable" }
    /// Answer.
    SetDevAutoCreateResp {}
    /// Ask for the subscription mode.
    GetDECTSubscriptionMode {}
    /// The subscription mode.
    GetDECTSubscriptionModeResp { mode: Option<DectSubscriptionMode> = "mode" }
    /// Set the subscription mode.
    SetDECTSubscriptionMode { mode: DectSubscriptionMode = "mode", timeout: Option<u32> = "timeout" }
    /// Answer.
    SetDECTSubscriptionModeResp {}
    /// Ask for the FAC prefix.
    GetFACPrefix {}
    /// The FAC prefix.
    GetFACPrefixResp { prefix: Option<String> = "prefix" }
    /// Set the global FAC prefix (empty removes it).
    SetFACPrefix { prefix: String = "prefix" }
    /// Answer.
    SetFACPrefixResp {}
    /// Ask for the configuration URL.
    GetConfigURL {}
    /// The configuration URL.
    GetConfigURLResp {} [url: Option<ConfigUrl>]
    /// Set the configuration URL.
    SetConfigURL {} [url: ConfigUrl]
    /// Answer.
    SetConfigURLResp {}
    /// Set the daily provisioning update trigger.
    SetSystemProvUpdTrig { enable: bool = "enable", hour: Option<u32> = "hour", minute: Option<u32> = "minute" }
    /// Answer.
    SetSystemProvUpdTrigResp {}
    /// Subscribe to events.
    Subscribe {} [entries: Vec<SubscribeEntry>]
    /// Answer; names the failing event type on error.
    SubscribeResp { event_type: Option<String> = "eventType" }
    /// Page through users from `uid`.
    GetPPUser { uid: u32 = "uid", max_records: Option<u32> = "maxRecords" }
    /// A page of users.
    GetPPUserResp {} [users: Vec<PpUser>]
    /// Page through devices from `ppn`.
    GetPPDev { ppn: u32 = "ppn", max_records: Option<u32> = "maxRecords" }
    /// A page of devices.
    GetPPDevResp {} [devices: Vec<PpDev>]
    /// A user by number.
    GetPPUserByNumber { num: String = "num" }
    /// Answer.
    GetPPUserByNumberResp {} [user: Option<PpUser>]
    /// A device by IPEI.
    GetPPDevByIPEI { ipei: Ipei = "ipei" }
    /// Answer.
    GetPPDevByIPEIResp {} [pp: Option<PpDev>]
    /// Create a user.
    CreatePPUser {} [user: PpUser]
    /// The created user.
    CreatePPUserResp {} [user: Option<PpUser>]
    /// Change a user.
    SetPPUser {} [user: PpUser]
    /// The changed user.
    SetPPUserResp {} [user: Option<PpUser>]
    /// Delete a user.
    DeletePPUser { uid: u32 = "uid" }
    /// Answer.
    DeletePPUserResp { uid: Option<u32> = "uid" }
    /// Create a device.
    CreatePPDev {} [pp: PpDev]
    /// The created device.
    CreatePPDevResp {} [pp: Option<PpDev>]
    /// Change a device.
    SetPPDev {} [pp: PpDev]
    /// The changed device.
    SetPPDevResp {} [pp: Option<PpDev>]
    /// Delete a device.
    DeletePPDev { ppn: u32 = "ppn" }
    /// Answer.
    DeletePPDevResp { ppn: Option<u32> = "ppn" }
    /// Bind or unbind a user and a device.
    SetPP {} [user: Option<PpUser>, pp: Option<PpDev>]
    /// Both records after the change.
    SetPPResp {} [user: Option<PpUser>, pp: Option<PpDev>]
    /// Switch a bound pair between Dynamic and Fixed.
    SetPPUserDevRelation { uid: u32 = "uid", rel_type: RelType = "relType", time_stamp: Option<u64> = "timeStamp" }
    /// Answer.
    SetPPUserDevRelationResp { uid: Option<u32> = "uid", rel_type: Option<RelType> = "relType" }
    /// Page through conference rooms from `id`.
    GetConferenceRoom { id: u32 = "id", max_records: Option<u32> = "maxRecords" }
    /// A page of rooms.
    GetConferenceRoomResp {} [rooms: Vec<Room>]
    /// Create a room.
    CreateConferenceRoom {} [room: Room]
    /// The created room.
    CreateConferenceRoomResp {} [room: Option<Room>]
    /// Change a room.
    SetConferenceRoom {} [room: Room]
    /// The changed room.
    SetConferenceRoomResp {} [room: Option<Room>]
    /// Delete a room.
    DeleteConferenceRoom { id: u32 = "id" }
    /// Answer.
    DeleteConferenceRoomResp { id: Option<u32> = "id" }
    /// Refuse a subscription (profile).
    DECTSubscribeReject { ipei: Ipei = "ipei" }
    /// Answer.
    DECTSubscribeRejectResp {}
    /// Refuse a location registration (profile).
    DECTLocateReject { ipei: Ipei = "ipei" }
    /// Answer.
    DECTLocateRejectResp {}
    /// Send a DECT text message.
    SendMessage { always_indirect: Option<bool> = "alwaysIndirect" } [msg: TextMessage]
    /// Answer.
    SendMessageResp {}
    /// Application data channel (profile).
    ApplicationDataChannel { omm_id: Option<u32> = "ommId", channel: String = "channel", data: String = "data" }
    /// Answer.
    ApplicationDataChannelResp {}
    /// Fetch and apply the provisioning file now.
    SoftwareUpdate {}
    /// Answer.
    SoftwareUpdateResp {}
    /// Ask for the system name.
    GetSystemName {}
    /// The system name.
    GetSystemNameResp { name: Option<String> = "name" }
    /// Set the system name (a configuration command, as in `ipdect.cfg`).
    SetSystemName { name: String = "name" }
    /// Answer.
    SetSystemNameResp {}
    /// A user record changed (or was deleted: `deleted="true"` and only the id).
    EventPPUserCnf {} [user: Option<PpUser>]
    /// A device record changed (or was deleted).
    EventPPDevCnf {} [pp: Option<PpDev>]
    /// The subscription mode changed.
    EventDECTSubscriptionMode { mode: Option<DectSubscriptionMode> = "mode" }
    /// A handset without a record tries to subscribe (profile).
    EventDECTSubscribe { ipei: Ipei = "ipei", ac: Option<String> = "ac" }
    /// A handset registered its location here (profile).
    EventDECTLocate { ipei: Ipei = "ipei", rfp_id: u32 = "rfpId", ppn: Option<u32> = "ppn" }
    /// A handset sent a message to a number that is not local.
    EventMessageSend { always_indirect: Option<bool> = "alwaysIndirect" } [msg: Option<TextMessage>]
    /// Application data from an OMM (profile).
    EventApplicationDataChannel { omm_id: Option<u32> = "ommId", channel: String = "channel", data: String = "data" }
    /// A conference room changed (or was deleted).
    EventConferenceRoomCnf {} [room: Option<Room>]
    /// One of the MOM's OMM links changed state (MAXI only, profile §9): `link` is `Down`,
    /// `Connecting`, `Syncing` or `Up`; `reason` the last error, when there is one.
    EventMOMOMMCnf { omm_id: u32 = "ommId", name: Option<String> = "name", link: String = "link",
                     healthy: Option<bool> = "healthy", reason: Option<String> = "reason" }
}

/// Attributes that belong to the frame rather than the message.
const FRAME_ATTRS: [&str; 5] = ["seq", "errCode", "info", "bad", "maxLen"];

/// Error codes of `…Resp` elements.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum ErrCode {
    EAuth,
    EExist,
    EFailed,
    EForbidden,
    EInProgress,
    EInval,
    EMissing,
    ENoEnt,
    ENoMem,
    EPerm,
    ETooLong,
    /// Any other code, kept as sent.
    Other(String),
}

impl ErrCode {
    /// Reads a code.
    #[must_use]
    pub fn parse(text: &str) -> Self {
        match text {
            "EAuth" => Self::EAuth,
            "EExist" => Self::EExist,
            "EFailed" => Self::EFailed,
            "EForbidden" => Self::EForbidden,
            "EInProgress" => Self::EInProgress,
            "EInval" => Self::EInval,
            "EMissing" => Self::EMissing,
            "ENoEnt" => Self::ENoEnt,
            "ENoMem" => Self::ENoMem,
            "EPerm" => Self::EPerm,
            "ETooLong" => Self::ETooLong,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The code as written.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::EAuth => "EAuth",
            Self::EExist => "EExist",
            Self::EFailed => "EFailed",
            Self::EForbidden => "EForbidden",
            Self::EInProgress => "EInProgress",
            Self::EInval => "EInval",
            Self::EMissing => "EMissing",
            Self::ENoEnt => "ENoEnt",
            Self::ENoMem => "ENoMem",
            Self::EPerm => "EPerm",
            Self::ETooLong => "ETooLong",
            Self::Other(s) => s,
        }
    }
}

/// The error attributes of a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorInfo {
    /// `errCode`.
    pub code: ErrCode,
    /// `info`: free text.
    pub info: Option<String>,
    /// `bad`: the offending attribute or element.
    pub bad: Option<String>,
    /// `maxLen`, with `ETooLong`.
    pub max_len: Option<u32>,
}

impl ErrorInfo {
    /// An error with only a code.
    #[must_use]
    pub fn new(code: ErrCode) -> Self {
        Self {
            code,
            info: None,
            bad: None,
            max_len: None,
        }
    }

    /// With `info`.
    #[must_use]
    pub fn info(mut self, info: impl Into<String>) -> Self {
        self.info = Some(info.into());
        self
    }

    /// With `bad`.
    #[must_use]
    pub fn bad(mut self, bad: impl Into<String>) -> Self {
        self.bad = Some(bad.into());
        self
    }
}

/// One frame: a message with its `seq` and, on responses, the error attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// `seq` (an opaque string; absent on events).
    pub seq: Option<String>,
    /// Error attributes.
    pub error: Option<ErrorInfo>,
    /// The message.
    pub message: Message,
}

impl Frame {
    /// A frame with `seq` and no error.
    #[must_use]
    pub fn new(seq: Option<String>, message: impl Into<Message>) -> Self {
        Self {
            seq,
            error: None,
            message: message.into(),
        }
    }

    /// An event (no `seq`).
    #[must_use]
    pub fn event(message: impl Into<Message>) -> Self {
        Self::new(None, message)
    }

    /// An error answer `<{request}Resp seq errCode …/>` to a request named `request`.
    #[must_use]
    pub fn error_response(request: &str, seq: Option<String>, error: ErrorInfo) -> Self {
        Self {
            seq,
            error: Some(error),
            message: Message::Unknown(Element::new(&format!("{request}Resp"))),
        }
    }

    /// Reads a frame from its root element.
    ///
    /// # Errors
    /// [`DecodeError`] for a known message with a missing or mistyped part.
    pub fn from_element(element: &Element) -> Result<Self, DecodeError> {
        Self::from_owned(element.clone())
    }

    /// Reads a frame, consuming its root element (the fast path of [`crate::decode`]).
    ///
    /// # Errors
    /// As [`Frame::from_element`].
    pub fn from_owned(element: Element) -> Result<Self, DecodeError> {
        let error = element.attr("errCode").map(|code| ErrorInfo {
            code: ErrCode::parse(code),
            info: element.attr("info").map(str::to_owned),
            bad: element.attr("bad").map(str::to_owned),
            max_len: element.attr("maxLen").and_then(|m| m.parse().ok()),
        });
        let seq = element.attr("seq").map(str::to_owned);
        let name = element.name.clone();
        let message = match Message::from_owned(element) {
            Ok(m) => m,
            Err(_) if error.is_some() => Message::Unknown(Element::new(&name)),
            Err(e) => return Err(e),
        };
        Ok(Self {
            seq,
            error,
            message,
        })
    }

    /// Writes the frame's root element.
    #[must_use]
    pub fn to_element(&self) -> Element {
        let mut element = Element::new(self.message.name());
        if let Some(seq) = &self.seq {
            element.push_attr("seq", seq.clone());
        }
        if let Some(e) = &self.error {
            element.push_attr("errCode", e.code.as_str());
            if let Some(info) = &e.info {
                element.push_attr("info", info.clone());
            }
            if let Some(bad) = &e.bad {
                element.push_attr("bad", bad.clone());
            }
            if let Some(max) = e.max_len {
                element.push_attr("maxLen", max.to_string());
            }
        }
        self.message.write(&mut element);
        element
    }
}

/// Every attribute name of every message, and the frame attributes.
pub(crate) fn known_names() -> impl Iterator<Item = &'static str> {
    MESSAGE_SCHEMAS
        .iter()
        .flat_map(|(_, attrs, _)| attrs.iter().map(|a| a.name))
        .chain(FRAME_ATTRS)
}
