//! Failed logins throttled per account and per source address, as a pure state machine
//! with the clock passed in (like the supervisor's restart policy).
//!
//! [`MAX_FAILURES`] failures of one key within [`WINDOW`] lock it for [`LOCKOUT`]; each
//! lockout of the same key in a row doubles, up to [`MAX_LOCKOUT`]. A success clears the
//! account's key. The table is bounded: at [`MAX_KEYS`] the stalest key goes, so a flood of
//! source addresses cannot grow it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Failures within [`WINDOW`] that lock a key.
pub const MAX_FAILURES: u32 = 5;
/// How long failures are remembered.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// The first lockout.
pub const LOCKOUT: Duration = Duration::from_secs(60);
/// The longest lockout.
pub const MAX_LOCKOUT: Duration = Duration::from_secs(15 * 60);
/// Keys kept at most.
pub const MAX_KEYS: usize = 10_000;

/// What is throttled.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    /// A login name.
    Account(String),
    /// A client address.
    Source(std::net::IpAddr),
}

#[derive(Debug, Clone)]
struct Entry {
    failures: u32,
    first_failure: Instant,
    last_seen: Instant,
    locked_until: Option<Instant>,
    lockouts: u32,
}

impl Key {
    /// The two keys of a login by `name` from `source`: the account (case-insensitive) and
    /// the address.
    #[must_use]
    pub fn of_login(name: &str, source: std::net::IpAddr) -> [Self; 2] {
        [Self::Account(name.to_lowercase()), Self::Source(source)]
    }

    /// What the key is, for a log line: "account" or "source address".
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Account(_) => "account",
            Self::Source(_) => "source address",
        }
    }
}

/// A lockout that a failed login caused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lockout {
    /// The longest of the keys' lockouts.
    pub longest: Duration,
    /// What was locked: "account", "source address", or both joined by "and".
    pub what: String,
}

/// The result of a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Counted; not locked.
    Counted,
    /// This failure locked the key for so long.
    LockedNow(Duration),
}

/// The throttle table.
#[derive(Debug, Default)]
pub struct Throttle {
    keys: HashMap<Key, Entry>,
}

impl Throttle {
    /// How long `key` is still locked at `now`, if it is.
    #[must_use]
    pub fn locked(&self, key: &Key, now: Instant) -> Option<Duration> {
        let until = self.keys.get(key)?.locked_until?;
        (until > now).then(|| until - now)
    }

    /// Counts a failed login of `key` at `now`.
    pub fn failure(&mut self, key: Key, now: Instant) -> Verdict {
        if self.keys.len() >= MAX_KEYS && !self.keys.contains_key(&key) {
            self.evict_stalest();
        }
        let entry = self.keys.entry(key).or_insert(Entry {
            failures: 0,
            first_failure: now,
            last_seen: now,
            locked_until: None,
            lockouts: 0,
        });
        if now.duration_since(entry.first_failure) > WINDOW {
            entry.failures = 0;
            entry.first_failure = now;
            if entry.locked_until.is_none_or(|u| u <= now) {
                entry.lockouts = 0;
            }
        }
        entry.last_seen = now;
        entry.failures += 1;
        if entry.failures >= MAX_FAILURES {
            let factor = 1u32 << entry.lockouts.min(8);
            let lockout = (LOCKOUT * factor).min(MAX_LOCKOUT);
            entry.locked_until = Some(now + lockout);
            entry.lockouts += 1;
            entry.failures = 0;
            entry.first_failure = now;
            return Verdict::LockedNow(lockout);
        }
        Verdict::Counted
    }

    /// A failed login by `name` from `source`, counted for both of its keys; the lockout
    /// it caused, if any.
    pub fn login_failed(
        &mut self,
        name: &str,
        source: std::net::IpAddr,
        now: Instant,
    ) -> Option<Lockout> {
        let locked: Vec<(Key, Duration)> = Key::of_login(name, source)
            .into_iter()
            .filter_map(|key| match self.failure(key.clone(), now) {
                Verdict::LockedNow(d) => Some((key, d)),
                Verdict::Counted => None,
            })
            .collect();
        let longest = locked.iter().map(|(_, d)| *d).max()?;
        let what: Vec<&str> = locked.iter().map(|(k, _)| k.kind()).collect();
        Some(Lockout {
            longest,
            what: what.join(" and "),
        })
    }

    /// How long a login by `name` from `source` must still wait, if either key is locked.
    #[must_use]
    pub fn login_locked(
        &self,
        name: &str,
        source: std::net::IpAddr,
        now: Instant,
    ) -> Option<Duration> {
        Key::of_login(name, source)
            .iter()
            .filter_map(|k| self.locked(k, now))
            .max()
    }

    /// A successful login of `key`: its failures are forgotten.
    pub fn success(&mut self, key: &Key) {
        self.keys.remove(key);
    }

    /// Keys tracked now.
    #[must_use]
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is tracked.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn evict_stalest(&mut self) {
        if let Some(stalest) = self
            .keys
            .iter()
            .min_by_key(|(_, e)| e.last_seen)
            .map(|(k, _)| k.clone())
        {
            self.keys.remove(&stalest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> Key {
        Key::Account("mom".into())
    }

    #[test]
    fn five_failures_lock_and_the_lock_ends() {
        let mut t = Throttle::default();
        let start = Instant::now();
        for i in 0..4 {
            assert_eq!(
                t.failure(account(), start + Duration::from_secs(i)),
                Verdict::Counted
            );
            assert!(t
                .locked(&account(), start + Duration::from_secs(i))
                .is_none());
        }
        assert_eq!(
            t.failure(account(), start + Duration::from_secs(4)),
            Verdict::LockedNow(LOCKOUT)
        );
        assert!(t
            .locked(&account(), start + Duration::from_secs(5))
            .is_some());
        assert!(t
            .locked(&account(), start + Duration::from_secs(4) + LOCKOUT)
            .is_none());
    }

    #[test]
    fn repeated_lockouts_double_up_to_the_cap_and_success_clears() {
        let mut t = Throttle::default();
        let mut now = Instant::now();
        let mut lockouts = Vec::new();
        for _ in 0..6 {
            let verdict = (0..MAX_FAILURES)
                .map(|_| t.failure(account(), now))
                .last()
                .unwrap();
            let Verdict::LockedNow(d) = verdict else {
                panic!("{verdict:?}")
            };
            lockouts.push(d.as_secs());
            now += d;
        }
        assert_eq!(lockouts, vec![60, 120, 240, 480, 900, 900]);
        t.success(&account());
        assert!(t.is_empty());
    }

    #[test]
    fn failures_outside_the_window_do_not_add_up() {
        let mut t = Throttle::default();
        let start = Instant::now();
        for i in 0..20u64 {
            // One failure every four minutes: never five within fifteen.
            let v = t.failure(account(), start + Duration::from_secs(i * 240));
            assert_eq!(v, Verdict::Counted, "failure {i}");
        }
    }

    #[test]
    fn the_table_stays_bounded() {
        let mut t = Throttle::default();
        let start = Instant::now();
        for i in 0..(MAX_KEYS as u32 + 50) {
            let ip = std::net::IpAddr::from(i.to_be_bytes());
            t.failure(Key::Source(ip), start + Duration::from_millis(u64::from(i)));
        }
        assert_eq!(t.len(), MAX_KEYS);
    }

    #[test]
    fn a_login_failure_counts_for_the_account_and_the_address_and_says_what_it_locked() {
        let mut t = Throttle::default();
        let now = Instant::now();
        let ip: std::net::IpAddr = [192, 0, 2, 7].into();
        for _ in 1..MAX_FAILURES {
            assert_eq!(t.login_failed("Admin", ip, now), None);
        }
        let lockout = t.login_failed("admin", ip, now).expect("locked");
        assert_eq!(lockout.what, "account and source address");
        assert_eq!(lockout.longest, LOCKOUT);
        assert_eq!(
            t.login_locked("ADMIN", [192, 0, 2, 8].into(), now),
            Some(LOCKOUT)
        );
        assert_eq!(t.login_locked("other", ip, now), Some(LOCKOUT));
        assert_eq!(t.login_locked("other", [192, 0, 2, 8].into(), now), None);
    }
}
