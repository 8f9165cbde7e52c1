//! Who may begin a TLS handshake on the peer port (sans-IO).
//!
//! Anyone who reaches the port can open connections before proving anything, so a
//! connection that has not yet shown a certificate from the cluster's CA must not hold what a
//! real peer needs. Handshakes in progress are limited in total and per source address, and a
//! connection over either limit is closed at once instead of waiting (a queue would let one
//! host that opens silent connections delay every peer's reconnect by the handshake timeout,
//! over and over). Proven peers get the connection slots, which strangers never touch.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Handshakes in progress at once, from all sources.
pub const MAX_HANDSHAKES: usize = 32;

/// Handshakes in progress at once from one source address (a follower opens several at
/// once when it forwards many writes; one over the limit connects again a moment later).
pub const MAX_HANDSHAKES_PER_SOURCE: usize = 8;

/// The shortest time between two log lines about refused connections.
pub const REPORT_EVERY: Duration = Duration::from_secs(60);

/// Counts the handshakes in progress and the connections refused since the last report.
#[derive(Debug, Default)]
pub struct Admission {
    per_source: HashMap<IpAddr, usize>,
    total: usize,
    refused: u64,
    last_report: Option<Instant>,
}

impl Admission {
    /// A handshake from `source` may begin (and is counted until [`Admission::end`]), or is
    /// refused and counted for the next report.
    pub fn begin(&mut self, source: IpAddr) -> bool {
        let from_source = self.per_source.get(&source).copied().unwrap_or(0);
        if self.total >= MAX_HANDSHAKES || from_source >= MAX_HANDSHAKES_PER_SOURCE {
            self.refused += 1;
            return false;
        }
        self.total += 1;
        *self.per_source.entry(source).or_default() += 1;
        true
    }

    /// The handshake from `source` ended (proven, failed or timed out).
    pub fn end(&mut self, source: IpAddr) {
        if let Some(count) = self.per_source.get_mut(&source) {
            self.total -= 1;
            *count -= 1;
            if *count == 0 {
                self.per_source.remove(&source);
            }
        }
    }

    /// The number of connections refused since the last report, when there are some and the
    /// last report is at least [`REPORT_EVERY`] old at `now`; the count starts again.
    pub fn report(&mut self, now: Instant) -> Option<u64> {
        if self.refused == 0 {
            return None;
        }
        if self
            .last_report
            .is_some_and(|last| now.duration_since(last) < REPORT_EVERY)
        {
            return None;
        }
        self.last_report = Some(now);
        Some(std::mem::take(&mut self.refused))
    }

    /// Handshakes in progress.
    #[must_use]
    pub fn in_progress(&self) -> usize {
        self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn one_source_gets_a_few_handshakes_and_the_others_still_get_theirs() {
        let mut a = Admission::default();
        for _ in 0..MAX_HANDSHAKES_PER_SOURCE {
            assert!(a.begin(ip(1)));
        }
        assert!(!a.begin(ip(1)), "the flooding host is refused");
        assert!(a.begin(ip(2)), "a real peer is not");
        a.end(ip(1));
        assert!(a.begin(ip(1)), "a slot that ended is free again");
    }

    #[test]
    fn the_total_is_limited_across_sources() {
        let mut a = Admission::default();
        let mut admitted = 0;
        for last in 0..=255u8 {
            if a.begin(ip(last)) {
                admitted += 1;
            }
        }
        assert_eq!(admitted, MAX_HANDSHAKES);
        assert_eq!(a.in_progress(), MAX_HANDSHAKES);
        for last in 0..MAX_HANDSHAKES {
            a.end(ip(u8::try_from(last).unwrap()));
        }
        assert_eq!(a.in_progress(), 0);
        assert!(a.per_source.is_empty(), "no entry outlives its handshakes");
    }

    #[test]
    fn an_end_without_a_begin_changes_nothing() {
        let mut a = Admission::default();
        a.end(ip(9));
        assert_eq!(a.in_progress(), 0);
        assert!(a.begin(ip(9)));
        a.end(ip(8));
        assert_eq!(a.in_progress(), 1);
    }

    #[test]
    fn refusals_are_reported_at_most_once_a_minute() {
        let mut a = Admission::default();
        let start = Instant::now();
        assert_eq!(a.report(start), None, "nothing refused, nothing to say");
        for _ in 0..=MAX_HANDSHAKES_PER_SOURCE {
            a.begin(ip(1));
        }
        assert_eq!(a.report(start), Some(1));
        a.begin(ip(1));
        a.begin(ip(1));
        assert_eq!(a.report(start + Duration::from_secs(1)), None);
        assert_eq!(a.report(start + REPORT_EVERY), Some(2));
        assert_eq!(a.report(start + REPORT_EVERY * 3), None);
    }
}
