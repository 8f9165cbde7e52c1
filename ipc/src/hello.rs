//! The hello frame that opens every connection, in both directions.

use crate::frame::FrameError;
use serde::{Deserialize, Serialize};

/// Version of every IPC enum in this crate taken together.
///
/// Bump it on **any** change to a message type: postcard encodes enum variants by position,
/// so peers built from different sources must refuse each other instead of misreading.
pub const PROTO_VERSION: u32 = 26;

/// Largest hello frame accepted.
pub const MAX_HELLO: u32 = 1024;

/// First frame on every connection, sent by both sides.
///
/// `proto_version` must stay the first field, so that a peer of another version can still
/// read it and refuse with a clear message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// [`PROTO_VERSION`] of the sender.
    pub proto_version: u32,
    /// Name of the sending service ("supervisor", "store", "cli", ...).
    pub service: String,
    /// Process id of the sender.
    pub pid: u32,
    /// How many times the supervisor has started this service (0 for clients).
    pub generation: u64,
}

impl Hello {
    /// This process's hello for `service` at `generation`.
    #[must_use]
    pub fn new(service: &str, generation: u64) -> Self {
        Self {
            proto_version: PROTO_VERSION,
            service: service.to_owned(),
            pid: std::process::id(),
            generation,
        }
    }
}

/// Outcome of reading a peer's hello body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelloError {
    /// The peer speaks another protocol version.
    VersionMismatch {
        /// Ours.
        ours: u32,
        /// Theirs.
        theirs: u32,
    },
    /// The frame is not a hello.
    Frame(FrameError),
}

/// Decodes a hello body, checking the version before anything else.
///
/// # Errors
/// [`HelloError::VersionMismatch`] or [`HelloError::Frame`].
pub fn decode_hello(body: &[u8]) -> Result<Hello, HelloError> {
    let (theirs, _) = postcard::take_from_bytes::<u32>(body)
        .map_err(|e| HelloError::Frame(FrameError::Malformed(e.to_string())))?;
    if theirs != PROTO_VERSION {
        return Err(HelloError::VersionMismatch {
            ours: PROTO_VERSION,
            theirs,
        });
    }
    crate::frame::decode_body(body).map_err(HelloError::Frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_version_is_refused_even_with_another_shape() {
        #[derive(Serialize)]
        struct FutureHello {
            proto_version: u32,
            something_new: Vec<u64>,
        }
        let body = postcard::to_stdvec(&FutureHello {
            proto_version: PROTO_VERSION + 1,
            something_new: vec![1, 2, 3],
        })
        .unwrap();
        assert_eq!(
            decode_hello(&body),
            Err(HelloError::VersionMismatch {
                ours: PROTO_VERSION,
                theirs: PROTO_VERSION + 1
            })
        );
    }

    #[test]
    fn own_hello_round_trips() {
        let hello = Hello::new("store", 3);
        let body = postcard::to_stdvec(&hello).unwrap();
        assert_eq!(decode_hello(&body), Ok(hello));
    }
}
