//! The MOM's data model: every record the store keeps and every service reads.
//!
//! These types cross process boundaries (postcard over IPC) and are stored in LMDB (postcard
//! again), so the same rule holds as for IPC enums: **fields and variants are append-only**.
//! A change that reorders or removes anything must bump [`SCHEMA_VERSION`] and
//! `ipc::PROTO_VERSION`.
#![forbid(unsafe_code)]

pub mod address;
pub mod conflict;
pub mod directory;
pub mod ipei;
pub mod overview;
pub mod park;
pub mod query;
#[cfg(feature = "json")]
pub mod redact;
pub mod statistics;
pub mod system;

/// Schema version of the database the store keeps these records in; an import of another
/// version is refused. 3: changes carry their origin (version 2's change log is dropped on
/// open); 4: OMM provisioning; 5: secrets sealed at rest (svc-store's `migrate`).
pub const SCHEMA_VERSION: u32 = 5;

pub use address::OmmAddress;
pub use conflict::{Conflict, ConflictKind};
pub use directory::*;
pub use ipei::{Ipei, IpeiError};
pub use overview::OverviewRow;
pub use query::*;
pub use system::*;

/// `text` safe to print on a terminal or in a log line: control characters shown as
/// `\u{..}` escapes, and at most 200 characters (longer text ends in `…`).
#[must_use]
pub fn printable(text: &str) -> String {
    const MAX: usize = 200;
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == MAX {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// Seconds since the Unix epoch; the unit of every AXI `timeStamp`.
pub type Timestamp = u64;

thread_local! {
    /// The time [`now`] answers on this thread while [`at_time`] runs.
    static FIXED_NOW: std::cell::Cell<Option<Timestamp>> = const { std::cell::Cell::new(None) };
}

/// The current time as a [`Timestamp`]; inside [`at_time`], that call's time.
#[must_use]
pub fn now() -> Timestamp {
    if let Some(fixed) = FIXED_NOW.with(std::cell::Cell::get) {
        return fixed;
    }
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Runs `f` with [`now`] answering `time` on this thread: a replicated write is applied on
/// every node of a cluster with the time its leader proposed it at, so every node stores the
/// same stamps.
pub fn at_time<R>(time: Timestamp, f: impl FnOnce() -> R) -> R {
    let before = FIXED_NOW.with(|c| c.replace(Some(time)));
    // Put back on every path, a panic included.
    struct Restore(Option<Timestamp>);
    impl Drop for Restore {
        fn drop(&mut self) {
            FIXED_NOW.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(before);
    f()
}

/// Unix seconds as an RFC 3339 UTC time ("2026-12-07T01:20:19Z"), for texts an
/// administrator reads (health states, event texts); the number itself when out of range.
#[must_use]
pub fn time_text(secs: u64) -> String {
    i64::try_from(secs)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| secs.to_string())
}

#[cfg(test)]
mod time_tests {
    #[test]
    fn times_are_shown_as_times() {
        assert_eq!(super::time_text(1_796_602_873), "2026-12-07T00:21:13Z");
        assert_eq!(super::time_text(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::time_text(u64::MAX), u64::MAX.to_string());
    }
}
