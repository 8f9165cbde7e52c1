//! Failed logins throttled per account and per source address, as a pure state machine
//! with the clock passed in (like the supervisor's restart policy).
//!
//! [`MAX_FAILURES`] failures of one key within [`WINDOW`] lock it for [`LOCKOUT`]; each
//! lockout of the same key in a row doubles, up to [`MAX_LOCKOUT`]. A success clears the
//! account's key. The table is bounded: at [`MAX_KEYS`] the stalest key goes, so a flood of
//! source addresses cannot grow it.
//!
//! A login is an [`Attempt`]: [`Throttle::begin`] reserves a failure slot on both keys
//! before the (slow) password check and [`Throttle::finish`] settles it after, so logins in
//! flight count: failures plus attempts in flight never exceed [`MAX_FAILURES`] per key, and
//! the attempt after that is refused at once ([`Refused::Busy`]) instead of being checked.
//! Counting after the check alone would let every request in flight through.
//!
//! Account names are keyed as the store finds them ([`account_key`]: trimmed) and
//! case-folded, so `" Admin"` and `"admin"` share one key.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

mod pass;
pub use pass::Pass;

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
    /// Attempts admitted and not finished yet.
    pending: u32,
}

impl Entry {
    fn new(now: Instant) -> Self {
        Self {
            failures: 0,
            first_failure: now,
            last_seen: now,
            locked_until: None,
            lockouts: 0,
            pending: 0,
        }
    }

    /// Failures that still count at `now`.
    fn failures_at(&self, now: Instant) -> u32 {
        if now.duration_since(self.first_failure) > WINDOW {
            0
        } else {
            self.failures
        }
    }
}

/// A login admitted by [`Throttle::begin`]: it holds a failure slot on its keys until
/// [`Throttle::finish`] settles it. A caller that drops it unfinished leaks the slot until
/// the window passes, so services finish it on every path (a guard that finishes it as
/// [`Finish::Abandoned`] on drop).
#[derive(Debug, PartialEq, Eq)]
#[must_use = "an attempt holds a slot until it is finished"]
pub struct Attempt {
    keys: [Key; 2],
}

/// Why [`Throttle::begin`] refused a login without checking it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// A key is locked for so long.
    Locked(Duration),
    /// Failures and attempts in flight fill a key's slots: try again in a moment.
    Busy,
}

/// How an admitted login ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// The credentials were right: the account's failures are cleared.
    Success,
    /// Wrong (password, disabled account, second factor): counted for both keys.
    Failure,
    /// Ended before an outcome (the client went away): counted like a failure, since the
    /// password may have been checked.
    Abandoned,
    /// No outcome to count: the password was right but the login needs more (the code of
    /// a second factor), or it could not be checked (the store busy or away). The slot is
    /// freed, nothing counted and nothing cleared, so asking again without a code cannot
    /// reset the count of wrong codes, and a busy store locks nobody out.
    Incomplete,
}

/// The account name a login names, as the store looks it up: without surrounding
/// whitespace. The store and the throttle both use this, so padding cannot make a name the
/// store finds look new to the throttle.
#[must_use]
pub fn account_key(name: &str) -> &str {
    name.trim()
}

impl Key {
    /// The account key of `name`: [`account_key`], case-folded.
    #[must_use]
    pub fn account(name: &str) -> Self {
        Self::Account(account_key(name).to_lowercase())
    }

    /// The two keys of a login by `name` from `source`: the account (trimmed and
    /// case-insensitive) and the address.
    #[must_use]
    pub fn of_login(name: &str, source: std::net::IpAddr) -> [Self; 2] {
        [Self::account(name), Self::Source(source)]
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
        let entry = self.keys.entry(key).or_insert_with(|| Entry::new(now));
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

    /// Admits a login by `name` from `source`, reserving a failure slot on both keys.
    ///
    /// # Errors
    /// [`Refused::Locked`] while a key is locked; [`Refused::Busy`] when a key's failures
    /// and attempts in flight already reach [`MAX_FAILURES`].
    pub fn begin(
        &mut self,
        name: &str,
        source: std::net::IpAddr,
        now: Instant,
    ) -> Result<Attempt, Refused> {
        let keys = Key::of_login(name, source);
        if let Some(wait) = keys.iter().filter_map(|k| self.locked(k, now)).max() {
            return Err(Refused::Locked(wait));
        }
        let full = keys.iter().any(|k| {
            self.keys
                .get(k)
                .is_some_and(|e| e.failures_at(now) + e.pending >= MAX_FAILURES)
        });
        if full {
            return Err(Refused::Busy);
        }
        for key in &keys {
            if self.keys.len() >= MAX_KEYS && !self.keys.contains_key(key) {
                self.evict_stalest();
            }
            let entry = self
                .keys
                .entry(key.clone())
                .or_insert_with(|| Entry::new(now));
            entry.pending += 1;
            entry.last_seen = now;
        }
        Ok(Attempt { keys })
    }

    /// Settles an admitted login; the lockout a failure caused, if any.
    pub fn finish(&mut self, attempt: Attempt, how: Finish, now: Instant) -> Option<Lockout> {
        for key in &attempt.keys {
            if let Some(entry) = self.keys.get_mut(key) {
                entry.pending = entry.pending.saturating_sub(1);
            }
        }
        let [account, source] = attempt.keys;
        match how {
            Finish::Success => {
                // The account's failures and lock go; attempts still in flight keep their
                // slots. The address keeps what it counted.
                if let Some(entry) = self.keys.get_mut(&account) {
                    if entry.pending == 0 {
                        self.keys.remove(&account);
                    } else {
                        *entry = Entry {
                            pending: entry.pending,
                            ..Entry::new(now)
                        };
                    }
                }
                let idle = self
                    .keys
                    .get(&source)
                    .is_some_and(|e| e.pending == 0 && e.failures == 0 && e.locked_until.is_none());
                if idle {
                    self.keys.remove(&source);
                }
                None
            }
            Finish::Failure | Finish::Abandoned => self.count_login_failure([account, source], now),
            Finish::Incomplete => None,
        }
    }

    fn count_login_failure(&mut self, keys: [Key; 2], now: Instant) -> Option<Lockout> {
        let locked: Vec<(Key, Duration)> = keys
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

    /// Drops the key seen longest ago, preferring keys with no attempt in flight.
    fn evict_stalest(&mut self) {
        if let Some(stalest) = self
            .keys
            .iter()
            .min_by_key(|(_, e)| (e.pending > 0, e.last_seen))
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

    /// One failed login by `name` from `source`; the lockout it caused.
    fn fail(
        t: &mut Throttle,
        name: &str,
        source: std::net::IpAddr,
        now: Instant,
    ) -> Option<Lockout> {
        let login = t.begin(name, source, now).expect("admitted");
        t.finish(login, Finish::Failure, now)
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
        let login = t.begin("mom", [192, 0, 2, 1].into(), now).unwrap();
        t.finish(login, Finish::Success, now);
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
    fn logins_in_flight_hold_slots_so_at_most_max_failures_are_checked_per_key() {
        let mut t = Throttle::default();
        let now = Instant::now();
        let ip: std::net::IpAddr = [192, 0, 2, 9].into();
        // 60 logins arrive at once: five are admitted, the rest refused unchecked.
        let outcomes: Vec<_> = (0..60).map(|_| t.begin("mom", ip, now)).collect();
        let admitted: Vec<Attempt> = outcomes.into_iter().filter_map(Result::ok).collect();
        assert_eq!(admitted.len(), MAX_FAILURES as usize);
        assert_eq!(t.begin("mom", ip, now), Err(Refused::Busy));
        // They all fail: the fifth failure locks both keys.
        let lockouts: Vec<_> = admitted
            .into_iter()
            .filter_map(|a| t.finish(a, Finish::Failure, now))
            .collect();
        assert_eq!(lockouts.len(), 1);
        assert_eq!(lockouts[0].what, "account and source address");
        assert_eq!(t.begin("mom", ip, now), Err(Refused::Locked(LOCKOUT)));
    }

    #[test]
    fn a_success_in_flight_frees_its_slot_and_clears_the_account_only() {
        let mut t = Throttle::default();
        let now = Instant::now();
        let ip: std::net::IpAddr = [192, 0, 2, 10].into();
        let first = t.begin("mom", ip, now).unwrap();
        let second = t.begin("mom", ip, now).unwrap();
        assert_eq!(t.finish(second, Finish::Failure, now), None);
        assert_eq!(t.finish(first, Finish::Success, now), None);
        // The account is clear; the address still counts its one failure.
        assert!(!t.keys.contains_key(&Key::account("mom")));
        assert_eq!(t.keys[&Key::Source(ip)].failures, 1);
        assert_eq!(t.keys[&Key::Source(ip)].pending, 0);
        // An abandoned attempt counts like a failure.
        let gone = t.begin("mom", ip, now).unwrap();
        assert_eq!(t.finish(gone, Finish::Abandoned, now), None);
        assert_eq!(t.keys[&Key::Source(ip)].failures, 2);
        // One that needs a second factor counts nothing and clears nothing.
        let half = t.begin("mom", ip, now).unwrap();
        assert_eq!(t.finish(half, Finish::Incomplete, now), None);
        assert_eq!(t.keys[&Key::Source(ip)].failures, 2);
        assert_eq!(t.keys[&Key::account("mom")].failures, 1);
        assert_eq!(t.keys[&Key::account("mom")].pending, 0);
    }

    #[test]
    fn padded_and_case_changed_names_share_the_account_key() {
        let mut t = Throttle::default();
        let now = Instant::now();
        for (i, name) in ["admin", " admin", "ADMIN\t", "\u{a0}Admin ", "admin\n"]
            .iter()
            .enumerate()
        {
            let ip = std::net::IpAddr::from([198, 51, 100, u8::try_from(i).unwrap()]);
            let attempt = t.begin(name, ip, now).unwrap();
            t.finish(attempt, Finish::Failure, now);
        }
        assert_eq!(
            t.login_locked("admin", [203, 0, 113, 1].into(), now),
            Some(LOCKOUT),
            "five padded names from five addresses lock the one account"
        );
        assert_eq!(account_key("  mom\t"), "mom");
    }

    #[test]
    fn a_login_failure_counts_for_the_account_and_the_address_and_says_what_it_locked() {
        let mut t = Throttle::default();
        let now = Instant::now();
        let ip: std::net::IpAddr = [192, 0, 2, 7].into();
        for _ in 1..MAX_FAILURES {
            assert_eq!(fail(&mut t, "Admin", ip, now), None);
        }
        let lockout = fail(&mut t, "admin", ip, now).expect("locked");
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
