//! When a follower stands for election without waiting any longer on openraft's timer.
//!
//! openraft 0.9 lets a follower stand once the old leader's lease (the longest election
//! timeout) and its own election timeout have passed since it last heard a leader. A node
//! that once lost an election to a longer log also waits a penalty of twice the longest
//! timeout more, and keeps that mark until it next stands, however long ago it lost: the
//! cluster's very first election leaves it on a node, and so does any later one. When the
//! node that must win a failover (the one with the longest log) carries the mark, a new
//! leader came after 7.2 s instead of 3.6 s with the default timings (`cluster` bench, 5 of
//! 40 rounds); a vote that the other survivor took for itself in the same term cost another
//! election timeout.
//!
//! [`Patience`] decides, on plain values, when a follower that has heard no leader for
//! longer than every node's natural timer (both timeouts at their longest and a heartbeat)
//! stands by itself (`Raft::trigger().elect()`, which skips the penalty and takes the next
//! term). It fires only after every follower's own timer would have, so it shortens
//! elections that happen anyway and starts none a working leader would not: a leader's
//! heartbeats keep resetting it. It acts on a follower only: a node whose own candidacy
//! was refused stays a candidate (openraft's timer takes it from there), so a node with a
//! shorter log does not keep taking terms from the one that should win. A node that stood
//! in the same term as another candidate and lost the tie (openraft breaks it by node id)
//! follows that candidate's vote; it stands again a heartbeat later, in the next term, which
//! the other grants when its log is not longer (in one bench round, when the wait between
//! two tries was an election timeout and a heartbeat, the new leader came after 6.4 s).

use std::time::{Duration, Instant};

/// How long a follower waits for a leader before it stands by itself.
#[derive(Debug, Clone)]
pub struct Patience {
    /// Silence after which a follower stands: longer than any node's natural timer.
    silence: Duration,
    /// Between two candidacies of this node (a heartbeat).
    again: Duration,
    /// When this node last heard a leader (or led, or started).
    heard: Instant,
    /// When this node was last seen standing.
    stood: Option<Instant>,
}

impl Patience {
    /// A node started at `now` with a heartbeat every `heartbeat` and election timeouts
    /// up to `election_max`.
    #[must_use]
    pub fn new(now: Instant, heartbeat: Duration, election_max: Duration) -> Self {
        Self {
            // openraft's lease (the longest timeout), the node's timeout at its longest, and
            // a heartbeat for the timer's tick and a loaded machine.
            silence: election_max * 2 + heartbeat,
            again: heartbeat,
            heard: now,
            stood: None,
        }
    }

    /// A leader's entries or snapshot were taken at `now`, a candidate got this node's vote,
    /// or this node leads.
    pub fn heard_leader(&mut self, now: Instant) {
        self.heard = self.heard.max(now);
    }

    /// This node is a candidate at `now`.
    pub fn standing(&mut self, now: Instant) {
        self.stood = Some(now);
    }

    /// Whether the node should stand now.
    #[must_use]
    pub fn due(&self, now: Instant) -> bool {
        let silent = now.saturating_duration_since(self.heard) >= self.silence;
        let rested = self
            .stood
            .is_none_or(|at| now.saturating_duration_since(at) >= self.again);
        silent && rested
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEARTBEAT: Duration = Duration::from_millis(400);
    const MAX: Duration = Duration::from_millis(1800);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_follower_stands_only_after_every_natural_timer_had_its_turn() {
        let t0 = Instant::now();
        let mut p = Patience::new(t0, HEARTBEAT, MAX);
        // openraft's own timer fires by 3.6 s (lease 1.8 s + timeout up to 1.8 s).
        assert!(!p.due(t0 + ms(3600)));
        assert!(!p.due(t0 + ms(3999)));
        assert!(p.due(t0 + ms(4000)));
        // A leader's heartbeat starts the wait again.
        p.heard_leader(t0 + ms(3900));
        assert!(!p.due(t0 + ms(4000)));
        assert!(!p.due(t0 + ms(7899)));
        assert!(p.due(t0 + ms(7900)));
    }

    #[test]
    fn heartbeats_keep_it_quiet_for_as_long_as_they_come() {
        let t0 = Instant::now();
        let mut p = Patience::new(t0, HEARTBEAT, MAX);
        for beat in 1..1000 {
            let now = t0 + HEARTBEAT * beat;
            p.heard_leader(now);
            assert!(!p.due(now + ms(399)));
        }
    }

    #[test]
    fn a_node_that_stood_lately_waits_a_heartbeat_before_it_stands_again() {
        let t0 = Instant::now();
        let mut p = Patience::new(t0, HEARTBEAT, MAX);
        // It stood at 4.0 s and lost a tie in that term: the next term a heartbeat later.
        p.standing(t0 + ms(4000));
        assert!(!p.due(t0 + ms(4399)));
        assert!(p.due(t0 + ms(4400)));
        // Seen a candidate again (the shell marks every tick it is one), it rests again.
        p.standing(t0 + ms(4900));
        assert!(!p.due(t0 + ms(5000)));
        assert!(p.due(t0 + ms(5300)));
    }

    #[test]
    fn a_late_report_of_an_older_contact_moves_nothing_back() {
        let t0 = Instant::now();
        let mut p = Patience::new(t0, HEARTBEAT, MAX);
        p.heard_leader(t0 + ms(2000));
        p.heard_leader(t0 + ms(1000));
        assert!(!p.due(t0 + ms(5999)));
        assert!(p.due(t0 + ms(6000)));
    }

    #[test]
    fn the_tests_short_timings_scale_with_it() {
        let t0 = Instant::now();
        let p = Patience::new(t0, ms(100), ms(900));
        assert!(!p.due(t0 + ms(1899)));
        assert!(p.due(t0 + ms(1900)));
    }
}
