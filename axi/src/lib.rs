//! The AXI protocol spoken by OMMs, the MOM and MAXI applications, sans-IO: bytes in,
//! typed messages out, and back. No sockets and no runtime, so every part is unit- and
//! fuzz-testable.
//!
//! - [`frame`]: the NUL frame splitter with the frame-size limit;
//! - [`xml`]: a frame's XML as an element tree, read tolerantly, written compactly;
//! - [`value`] and [`record`]: typed attribute values and lossless records (`<user>`,
//!   `<pp>`, `<room>`, `<msg>`, ...) that keep attributes this crate does not know;
//! - [`message`]: every message of `axi-profile.md` as a typed value;
//! - [`secret`]: RSA PKCS#1 v1.5 secret encryption with keys from `publicKey`;
//! - [`ipui`]: IPEI to IPUI-N conversion.
#![forbid(unsafe_code)]

pub mod convert;
pub mod event;
pub mod frame;
pub mod ipui;
pub mod message;
pub mod record;
pub mod secret;
pub mod value;
pub mod xml;

pub use event::EventType;
pub use frame::{FrameTooLarge, Splitter};
pub use message::{ErrCode, ErrorInfo, Frame, Message};
pub use record::{Attr, ConfigUrl, PpDev, PpUser, PublicKey, Room, SubscribeEntry, TextMessage};
pub use xml::Element;

use std::fmt;

/// Limits of one link (axi-profile.md §1 and §10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of one frame before its NUL.
    pub frame_size: usize,
    /// Element nesting; the root is depth 1.
    pub depth: usize,
    /// Attributes of one element.
    pub attributes: usize,
    /// Direct children of the root.
    pub records: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            frame_size: 1 << 20,
            depth: 16,
            attributes: 256,
            records: 100,
        }
    }
}

/// Why a frame is not a valid message. Every one closes the link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The XML is not well-formed.
    Malformed(String),
    /// Elements nest deeper than allowed.
    TooDeep(usize),
    /// An element has too many attributes.
    TooManyAttributes(usize),
    /// The root has too many children.
    TooManyRecords(usize),
    /// A required attribute or child is missing.
    Missing {
        /// Element.
        element: String,
        /// Attribute or child.
        name: String,
    },
    /// An attribute's value does not fit its type.
    WrongType {
        /// Element.
        element: String,
        /// Attribute.
        name: String,
        /// The value (shortened).
        value: String,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(e) => write!(f, "malformed XML: {e}"),
            Self::TooDeep(n) => write!(f, "elements nest deeper than {n}"),
            Self::TooManyAttributes(n) => write!(f, "an element has more than {n} attributes"),
            Self::TooManyRecords(n) => write!(f, "a frame has more than {n} records"),
            Self::Missing { element, name } => write!(f, "<{element}> lacks {name}"),
            Self::WrongType {
                element,
                name,
                value,
            } => write!(f, "<{element}> {name}={value:?} has the wrong type"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Parses one frame (without its NUL) into a typed frame.
///
/// # Errors
/// [`DecodeError`] for malformed XML, a broken limit, or a known message or record with a
/// missing or mistyped attribute. Unknown messages decode as [`Message::Unknown`].
pub fn decode(frame: &[u8], limits: &Limits) -> Result<Frame, DecodeError> {
    Frame::from_owned(xml::parse(frame, limits)?)
}

/// Writes a typed frame as bytes, NUL included.
#[must_use]
pub fn encode(frame: &Frame) -> Vec<u8> {
    xml::to_frame(&frame.to_element())
}
