//! Sans-IO framing: a `u32` big-endian body length followed by a postcard body.
//!
//! The decoder checks the announced length against the channel's maximum as soon as the
//! header is complete, before it buffers the body, and rejects a body that postcard decodes
//! without consuming every byte.

use serde::{de::DeserializeOwned, Serialize};
use std::fmt;

/// Bytes of the length header.
pub const HEADER_LEN: usize = 4;

/// Why a frame could not be encoded or decoded. Any of these closes the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// The announced (or encoded) body is larger than the channel allows.
    TooLarge {
        /// Body length in bytes.
        len: u64,
        /// The channel's maximum.
        max: u32,
    },
    /// The body is not a valid message of the expected type.
    Malformed(String),
    /// The body decoded but left bytes unread.
    Leftover(usize),
    /// The stream ended inside a frame.
    Truncated {
        /// Bytes of the partial frame that were received.
        have: usize,
    },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { len, max } => write!(f, "frame of {len} bytes exceeds maximum {max}"),
            Self::Malformed(e) => write!(f, "malformed frame: {e}"),
            Self::Leftover(n) => write!(f, "frame has {n} bytes after its message"),
            Self::Truncated { have } => write!(f, "stream ended inside a frame ({have} bytes)"),
        }
    }
}

impl std::error::Error for FrameError {}

/// Encodes `msg` as one frame.
///
/// # Errors
/// [`FrameError::TooLarge`] when the body exceeds `max`; [`FrameError::Malformed`] when
/// postcard cannot encode the value.
pub fn encode<T: Serialize>(msg: &T, max: u32) -> Result<Vec<u8>, FrameError> {
    let mut out = vec![0u8; HEADER_LEN];
    out = postcard::to_extend(msg, out).map_err(|e| FrameError::Malformed(e.to_string()))?;
    let len = out.len() - HEADER_LEN;
    if len > max as usize {
        return Err(FrameError::TooLarge {
            len: len as u64,
            max,
        });
    }
    // len <= max, which is a u32.
    out[..HEADER_LEN].copy_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes());
    Ok(out)
}

/// Decodes exactly one message from a whole body, rejecting leftover bytes.
///
/// # Errors
/// [`FrameError::Malformed`] or [`FrameError::Leftover`].
pub fn decode_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, FrameError> {
    let (msg, rest) =
        postcard::take_from_bytes(body).map_err(|e| FrameError::Malformed(e.to_string()))?;
    if rest.is_empty() {
        Ok(msg)
    } else {
        Err(FrameError::Leftover(rest.len()))
    }
}

/// Accumulates bytes from a stream and yields whole frames.
#[derive(Debug)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    max: u32,
}

impl FrameDecoder {
    /// A decoder for a channel whose bodies are at most `max` bytes.
    #[must_use]
    pub fn new(max: u32) -> Self {
        Self {
            buf: Vec::new(),
            max,
        }
    }

    /// Changes the maximum body size (after the hello, which has its own limit).
    pub fn set_max(&mut self, max: u32) {
        self.max = max;
    }

    /// Appends bytes read from the stream.
    ///
    /// # Errors
    /// [`FrameError::TooLarge`] as soon as a complete header announces an oversize body, so
    /// the caller never buffers it.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), FrameError> {
        self.buf.extend_from_slice(bytes);
        self.check_header()
    }

    fn check_header(&self) -> Result<(), FrameError> {
        if let Some(len) = self.announced() {
            if len > self.max {
                return Err(FrameError::TooLarge {
                    len: u64::from(len),
                    max: self.max,
                });
            }
        }
        Ok(())
    }

    fn announced(&self) -> Option<u32> {
        let header: [u8; HEADER_LEN] = self.buf.get(..HEADER_LEN)?.try_into().ok()?;
        Some(u32::from_be_bytes(header))
    }

    /// Returns the next whole frame's body, if one is buffered.
    ///
    /// # Errors
    /// [`FrameError::TooLarge`] for an oversize header.
    pub fn next_body(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        self.check_header()?;
        let Some(len) = self.announced() else {
            return Ok(None);
        };
        let total = HEADER_LEN + len as usize;
        if self.buf.len() < total {
            return Ok(None);
        }
        let body = self.buf[HEADER_LEN..total].to_vec();
        self.buf.drain(..total);
        Ok(Some(body))
    }

    /// Returns the next whole message, if one is buffered.
    ///
    /// # Errors
    /// Any [`FrameError`]; the connection must then be closed.
    pub fn next_message<T: DeserializeOwned>(&mut self) -> Result<Option<T>, FrameError> {
        match self.next_body()? {
            Some(body) => decode_body(&body).map(Some),
            None => Ok(None),
        }
    }

    /// Checks the stream ended on a frame boundary.
    ///
    /// # Errors
    /// [`FrameError::Truncated`] when a partial frame is buffered.
    pub fn finish(&self) -> Result<(), FrameError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(FrameError::Truncated {
                have: self.buf.len(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Msg {
        Ping(u32),
        Text(String),
    }

    #[test]
    fn round_trips_several_frames_in_one_push_and_one_frame_over_many() {
        let mut wire = encode(&Msg::Ping(7), 64).unwrap();
        wire.extend(encode(&Msg::Text("hello".into()), 64).unwrap());
        let mut dec = FrameDecoder::new(64);
        dec.push(&wire).unwrap();
        assert_eq!(dec.next_message::<Msg>().unwrap(), Some(Msg::Ping(7)));
        assert_eq!(
            dec.next_message::<Msg>().unwrap(),
            Some(Msg::Text("hello".into()))
        );
        assert_eq!(dec.next_message::<Msg>().unwrap(), None);
        dec.finish().unwrap();

        let mut dec = FrameDecoder::new(64);
        for b in encode(&Msg::Text("split".into()), 64).unwrap() {
            dec.finish().ok();
            dec.push(&[b]).unwrap();
        }
        assert_eq!(
            dec.next_message::<Msg>().unwrap(),
            Some(Msg::Text("split".into()))
        );
    }

    #[test]
    fn oversize_header_is_refused_before_the_body_arrives() {
        let mut dec = FrameDecoder::new(16);
        let err = dec.push(&1_000_000u32.to_be_bytes()).unwrap_err();
        assert_eq!(
            err,
            FrameError::TooLarge {
                len: 1_000_000,
                max: 16
            }
        );
        assert!(encode(&Msg::Text("x".repeat(100)), 16).is_err());
    }

    #[test]
    fn truncated_stream_is_reported() {
        let wire = encode(&Msg::Text("hello".into()), 64).unwrap();
        let mut dec = FrameDecoder::new(64);
        dec.push(&wire[..wire.len() - 1]).unwrap();
        assert_eq!(dec.next_message::<Msg>().unwrap(), None);
        assert_eq!(
            dec.finish(),
            Err(FrameError::Truncated {
                have: wire.len() - 1
            })
        );
    }

    #[test]
    fn garbage_body_is_malformed() {
        let mut dec = FrameDecoder::new(64);
        let mut wire = 3u32.to_be_bytes().to_vec();
        wire.extend([0xff, 0xff, 0xff]);
        dec.push(&wire).unwrap();
        assert!(matches!(
            dec.next_message::<Msg>(),
            Err(FrameError::Malformed(_))
        ));
    }

    #[test]
    fn leftover_bytes_are_refused() {
        let mut body = postcard::to_stdvec(&Msg::Ping(1)).unwrap();
        body.push(0);
        let mut wire = u32::try_from(body.len()).unwrap().to_be_bytes().to_vec();
        wire.extend(&body);
        let mut dec = FrameDecoder::new(64);
        dec.push(&wire).unwrap();
        assert_eq!(dec.next_message::<Msg>(), Err(FrameError::Leftover(1)));
    }
}
