//! The restart policy as a pure state machine, so it is tested without processes.
//!
//! Postfix's master is the model: exponential backoff per service, reset once a process has
//! stayed up past a stability period; a process that dies before it reported ready is
//! throttled at once; after `max_failures` crashes within `failure_window` the service is
//! `failed` and retried only at the slowest rate.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Restart policy parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// First delay.
    pub min_backoff: Duration,
    /// Longest delay; also the retry period of a failed service.
    pub max_backoff: Duration,
    /// Delay after a crash before ready.
    pub throttle: Duration,
    /// Uptime after which the backoff resets.
    pub stable_after: Duration,
    /// Window in which crashes count.
    pub failure_window: Duration,
    /// Crashes in the window that make the service failed.
    pub max_failures: usize,
}

/// What to do after an exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Wait this long, then start again.
    pub delay: Duration,
    /// The service has crashed too often: it is `failed`.
    pub failed: bool,
}

/// Crash history of one service.
#[derive(Debug, Clone)]
pub struct Tracker {
    policy: Policy,
    backoff: Duration,
    crashes: VecDeque<Instant>,
}

impl Tracker {
    /// A service that has not crashed yet.
    #[must_use]
    pub fn new(policy: Policy) -> Self {
        Self {
            backoff: policy.min_backoff,
            policy,
            crashes: VecDeque::new(),
        }
    }

    /// Records an unexpected exit at `now` of a process that ran for `uptime` and had (or
    /// had not) reported ready; returns when to restart it.
    pub fn on_crash(&mut self, now: Instant, uptime: Duration, was_ready: bool) -> Decision {
        if was_ready && uptime >= self.policy.stable_after {
            self.backoff = self.policy.min_backoff;
            self.crashes.clear();
        }
        self.crashes.push_back(now);
        while self
            .crashes
            .front()
            .is_some_and(|t| now.duration_since(*t) > self.policy.failure_window)
        {
            self.crashes.pop_front();
        }
        if self.crashes.len() >= self.policy.max_failures {
            return Decision {
                delay: self.policy.max_backoff,
                failed: true,
            };
        }
        let delay = if was_ready {
            self.backoff
        } else {
            self.backoff.max(self.policy.throttle)
        };
        self.backoff = (self.backoff * 2).min(self.policy.max_backoff);
        Decision {
            delay,
            failed: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy {
            min_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
            throttle: Duration::from_secs(2),
            stable_after: Duration::from_secs(30),
            failure_window: Duration::from_secs(60),
            max_failures: 4,
        }
    }

    #[test]
    fn backoff_doubles_then_fails_after_max_failures_in_the_window() {
        let mut t = Tracker::new(policy());
        let start = Instant::now();
        let up = Duration::from_secs(1);
        let delays: Vec<_> = (0..3)
            .map(|i| t.on_crash(start + Duration::from_secs(i), up, true))
            .collect();
        assert_eq!(
            delays
                .iter()
                .map(|d| d.delay.as_millis())
                .collect::<Vec<_>>(),
            [100, 200, 400]
        );
        assert!(delays.iter().all(|d| !d.failed));
        let fourth = t.on_crash(start + Duration::from_secs(3), up, true);
        assert!(fourth.failed);
        assert_eq!(fourth.delay, Duration::from_secs(10));
    }

    #[test]
    fn crashes_outside_the_window_do_not_count() {
        let mut t = Tracker::new(policy());
        let start = Instant::now();
        for i in 0..10 {
            let d = t.on_crash(
                start + Duration::from_secs(i * 61),
                Duration::from_secs(1),
                true,
            );
            assert!(!d.failed, "crash {i} counted old crashes");
        }
    }

    #[test]
    fn a_stable_run_resets_the_backoff() {
        let mut t = Tracker::new(policy());
        let start = Instant::now();
        t.on_crash(start, Duration::from_secs(1), true);
        t.on_crash(start, Duration::from_secs(1), true);
        let d = t.on_crash(
            start + Duration::from_secs(100),
            Duration::from_secs(40),
            true,
        );
        assert_eq!(d.delay, Duration::from_millis(100));
    }

    #[test]
    fn dying_before_ready_is_throttled_at_once() {
        let mut t = Tracker::new(policy());
        let d = t.on_crash(Instant::now(), Duration::from_millis(5), false);
        assert_eq!(d.delay, Duration::from_secs(2));
    }
}
