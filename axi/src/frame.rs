//! The NUL frame splitter: bytes from a stream in, whole frames out.
//!
//! Each AXI message is one XML element followed by one NUL byte. A read may hold several
//! frames or part of one; empty and whitespace-only frames are skipped. A frame longer than
//! the limit is an error as soon as it is known to be too long, before it is buffered whole.

use crate::Limits;
use std::fmt;

/// A frame broke the size limit; the link must be closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameTooLarge {
    /// Bytes seen of the frame so far (at least `max + 1`).
    pub len: usize,
    /// The limit.
    pub max: usize,
}

impl fmt::Display for FrameTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "frame larger than {} bytes", self.max)
    }
}

impl std::error::Error for FrameTooLarge {}

/// Buffer capacity a splitter keeps between frames; more is released after a large frame.
const RETAINED_CAPACITY: usize = 4 * 1024;

/// Splits a byte stream into NUL-terminated frames.
#[derive(Debug)]
pub struct Splitter {
    buf: Vec<u8>,
    /// Bytes at the start of `buf` already searched for a NUL.
    scanned: usize,
    max: usize,
}

impl Splitter {
    /// A splitter for frames of at most `limits.frame_size` bytes.
    #[must_use]
    pub fn new(limits: &Limits) -> Self {
        Self {
            buf: Vec::new(),
            scanned: 0,
            max: limits.frame_size,
        }
    }

    /// Appends bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes buffered that belong to no complete frame yet.
    #[must_use]
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// The next complete frame (without its NUL), skipping empty ones.
    ///
    /// # Errors
    /// [`FrameTooLarge`] when a frame exceeds the limit, complete or not.
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, FrameTooLarge> {
        loop {
            let Some(pos) = self.buf[self.scanned..]
                .iter()
                .position(|b| *b == 0)
                .map(|p| p + self.scanned)
            else {
                self.scanned = self.buf.len();
                if self.buf.len() > self.max {
                    return Err(FrameTooLarge {
                        len: self.buf.len(),
                        max: self.max,
                    });
                }
                return Ok(None);
            };
            if pos > self.max {
                return Err(FrameTooLarge {
                    len: pos,
                    max: self.max,
                });
            }
            self.scanned = 0;
            let frame = if pos + 1 == self.buf.len() {
                // The buffer holds just this frame (as after most reads): it becomes the
                // frame, uncopied, and an idle link keeps no buffer at all.
                let mut frame = std::mem::take(&mut self.buf);
                frame.truncate(pos);
                frame
            } else {
                let frame = self.buf[..pos].to_vec();
                self.buf.drain(..=pos);
                // A page of records leaves a large buffer behind; a link is idle most of
                // its life, and with thousands of links that memory adds up: give it back.
                if self.buf.capacity() > RETAINED_CAPACITY && self.buf.len() < RETAINED_CAPACITY {
                    self.buf.shrink_to(RETAINED_CAPACITY);
                }
                frame
            };
            if frame.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Ok(Some(frame));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_frame_does_not_keep_its_buffer() {
        let mut splitter = Splitter::new(&limits(1 << 20));
        let mut big = vec![b'x'; 300_000];
        big.push(0);
        splitter.push(&big);
        assert_eq!(splitter.next_frame().unwrap().unwrap().len(), 300_000);
        assert_eq!(
            splitter.buf.capacity(),
            0,
            "the frame took the whole buffer"
        );
        // With the start of the next frame behind it, the rest is kept in a small buffer.
        splitter.push(&big);
        splitter.push(b"<a");
        assert_eq!(splitter.next_frame().unwrap().unwrap().len(), 300_000);
        assert!(splitter.buf.capacity() <= RETAINED_CAPACITY);
        splitter.push(b"/>\0");
        assert_eq!(splitter.next_frame().unwrap().unwrap(), b"<a/>");
    }

    fn limits(frame_size: usize) -> Limits {
        Limits {
            frame_size,
            ..Limits::default()
        }
    }

    #[test]
    fn several_frames_in_one_read_and_empty_frames_skipped() {
        let mut s = Splitter::new(&limits(100));
        s.push(b"<A/>\0\0 \n\0<B/>\0<C");
        assert_eq!(s.next_frame().unwrap().unwrap(), b"<A/>");
        assert_eq!(s.next_frame().unwrap().unwrap(), b"<B/>");
        assert_eq!(s.next_frame().unwrap(), None);
        s.push(b"/>\0");
        assert_eq!(s.next_frame().unwrap().unwrap(), b"<C/>");
    }

    #[test]
    fn one_frame_over_many_reads() {
        let mut s = Splitter::new(&limits(100));
        for b in b"<Ping seq=\"1\"/>" {
            s.push(&[*b]);
            assert_eq!(s.next_frame().unwrap(), None);
        }
        s.push(&[0]);
        assert_eq!(s.next_frame().unwrap().unwrap(), b"<Ping seq=\"1\"/>");
    }

    #[test]
    fn oversize_frame_is_refused_before_its_end_arrives() {
        let mut s = Splitter::new(&limits(10));
        s.push(b"<Aaaaaaaaaaaaaaaaaa");
        assert!(s.next_frame().is_err());
        let mut s = Splitter::new(&limits(10));
        s.push(b"<Aaaaaaaaaaaaaa/>\0");
        assert!(s.next_frame().is_err());
        let mut s = Splitter::new(&limits(10));
        s.push(b"<Aaaaaaa/>\0");
        assert!(
            s.next_frame().unwrap().is_some(),
            "exactly at the limit is fine"
        );
    }
}
