//! Cookie sessions: a random token in a `Secure; HttpOnly; SameSite=Strict` cookie, its
//! SHA-256 kept in `sessions.json` (so the file never holds a usable token), with idle and
//! absolute timeouts and a CSRF token per session. Sessions survive a restart of svc-web:
//! creation and logout are written at once, the idle clock at most every
//! [`FLUSH_EVERY`].

use crate::persist::StateFile;
use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::time::Duration;

/// Name of the session cookie.
pub const COOKIE: &str = "mom_session";
/// How often a changed idle clock is written.
pub const FLUSH_EVERY: Duration = Duration::from_secs(10);
/// Sessions kept at most.
pub const MAX_SESSIONS: usize = 1000;
/// Sessions one account keeps at most; its own least recently used goes first, so logins
/// of one account never end another account's session.
pub const MAX_PER_ACCOUNT: usize = 64;

/// One logged-in browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The account.
    pub account_id: u32,
    /// The token that state-changing requests must echo in `X-CSRF-Token`.
    pub csrf: String,
    /// When it was created (Unix seconds).
    pub created: u64,
    /// Last request (Unix seconds).
    pub last_seen: u64,
    /// The client's address at login.
    pub source: String,
}

/// Timeouts of sessions.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// Without a request for this long, a session ends.
    pub idle: Duration,
    /// A session ends this long after login, whatever happens.
    pub absolute: Duration,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Saved {
    /// By the hex SHA-256 of the token.
    sessions: HashMap<String, Session>,
}

/// The session table.
#[derive(Debug)]
pub struct Sessions {
    file: StateFile,
    saved: Saved,
    timeouts: Timeouts,
    dirty: bool,
}

/// A random URL-safe token of 32 bytes.
#[must_use]
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Hex SHA-256 of a token: what is kept instead of the token.
#[must_use]
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Sessions {
    /// Loads the table from `file`, dropping sessions that expired meanwhile.
    #[must_use]
    pub fn load(file: StateFile, timeouts: Timeouts, now: u64) -> Self {
        let mut sessions = Self {
            saved: file.load(),
            file,
            timeouts,
            dirty: false,
        };
        sessions.expire(now);
        sessions
    }

    fn alive(&self, session: &Session, now: u64) -> bool {
        now.saturating_sub(session.last_seen) < self.timeouts.idle.as_secs()
            && now.saturating_sub(session.created) < self.timeouts.absolute.as_secs()
    }

    fn expire(&mut self, now: u64) {
        let before = self.saved.sessions.len();
        let timeouts = self.timeouts;
        self.saved.sessions.retain(|_, s| {
            now.saturating_sub(s.last_seen) < timeouts.idle.as_secs()
                && now.saturating_sub(s.created) < timeouts.absolute.as_secs()
        });
        if self.saved.sessions.len() != before {
            self.dirty = true;
        }
    }

    /// A new session for `account_id`; returns its token (for the cookie) and the session.
    ///
    /// # Errors
    /// A message when the table cannot be written (the session is not created then).
    pub fn create(
        &mut self,
        account_id: u32,
        source: String,
        now: u64,
    ) -> Result<(String, Session), String> {
        self.expire(now);
        // The account's own least recently used session makes room; when the table is
        // full, the account with the most sessions gives one up.
        loop {
            let mut per_account: HashMap<u32, usize> = HashMap::new();
            for s in self.saved.sessions.values() {
                *per_account.entry(s.account_id).or_default() += 1;
            }
            let own = per_account.get(&account_id).copied().unwrap_or(0);
            let victim_account = if own >= MAX_PER_ACCOUNT {
                account_id
            } else if self.saved.sessions.len() >= MAX_SESSIONS {
                match per_account.iter().max_by_key(|(_, n)| **n) {
                    Some((id, _)) => *id,
                    None => break,
                }
            } else {
                break;
            };
            let oldest = self
                .saved
                .sessions
                .iter()
                .filter(|(_, s)| s.account_id == victim_account)
                .min_by_key(|(_, s)| s.last_seen)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => self.saved.sessions.remove(&k),
                None => break,
            };
        }
        let token = random_token();
        let session = Session {
            account_id,
            csrf: random_token(),
            created: now,
            last_seen: now,
            source,
        };
        self.saved
            .sessions
            .insert(token_hash(&token), session.clone());
        self.flush()?;
        Ok((token, session))
    }

    /// The live session of `token`, its idle clock restarted; `None` when there is none or
    /// it expired (then it is removed).
    pub fn touch(&mut self, token: &str, now: u64) -> Option<Session> {
        let key = token_hash(token);
        let session = self.saved.sessions.get(&key)?.clone();
        if !self.alive(&session, now) {
            self.saved.sessions.remove(&key);
            self.dirty = true;
            return None;
        }
        if let Some(s) = self.saved.sessions.get_mut(&key) {
            if s.last_seen != now {
                s.last_seen = now;
                self.dirty = true;
            }
        }
        Some(Session {
            last_seen: now,
            ..session
        })
    }

    /// Ends the session of `token` (logout).
    ///
    /// # Errors
    /// A message when the table cannot be written.
    pub fn remove(&mut self, token: &str) -> Result<(), String> {
        if self.saved.sessions.remove(&token_hash(token)).is_some() {
            self.flush()?;
        }
        Ok(())
    }

    /// Ends every session of an account except the one of `keep` (after a password change,
    /// a disable or a delete).
    ///
    /// # Errors
    /// A message when the table cannot be written.
    pub fn remove_account(&mut self, account_id: u32, keep: Option<&str>) -> Result<(), String> {
        let keep = keep.map(token_hash);
        let before = self.saved.sessions.len();
        self.saved
            .sessions
            .retain(|k, s| s.account_id != account_id || Some(k) == keep.as_ref());
        if self.saved.sessions.len() != before {
            self.flush()?;
        }
        Ok(())
    }

    /// Ends every session (the database was replaced); how many there were.
    ///
    /// # Errors
    /// A message when the table cannot be written.
    pub fn clear(&mut self) -> Result<usize, String> {
        let n = self.saved.sessions.len();
        self.saved.sessions.clear();
        self.flush()?;
        Ok(n)
    }

    /// Sessions now.
    #[must_use]
    pub fn len(&self) -> usize {
        self.saved.sessions.len()
    }

    /// Whether there is none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.saved.sessions.is_empty()
    }

    /// Writes the table if something changed since the last write.
    ///
    /// # Errors
    /// A message when the table cannot be written.
    pub fn flush_if_dirty(&mut self, now: u64) -> Result<(), String> {
        self.expire(now);
        if self.dirty {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), String> {
        self.file.save(&self.saved)?;
        self.dirty = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUTS: Timeouts = Timeouts {
        idle: Duration::from_secs(600),
        absolute: Duration::from_secs(3600),
    };

    fn dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("svc-web-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn logins_of_one_account_never_end_another_accounts_session() {
        let dir = tempfile::tempdir().unwrap();
        let timeouts = Timeouts {
            idle: Duration::from_secs(3600),
            absolute: Duration::from_secs(36_000),
        };
        let mut table = Sessions::load(StateFile::new(dir.path(), "s.json"), timeouts, 100);
        let (admin, _) = table.create(0, "192.0.2.1".into(), 100).unwrap();
        for i in 0..1000 {
            table.create(7, "192.0.2.2".into(), 101 + i).unwrap();
        }
        assert!(
            table.touch(&admin, 2000).is_some(),
            "the administrator's session stays"
        );
        assert_eq!(table.len(), 1 + MAX_PER_ACCOUNT);
    }

    #[test]
    fn a_session_survives_a_reload_and_ends_by_idle_or_absolute_timeout() {
        let dir = dir("sessions");
        let file = StateFile::new(&dir, "sessions.json");
        let mut table = Sessions::load(file.clone(), TIMEOUTS, 1000);
        let (token, session) = table.create(7, "127.0.0.1".into(), 1000).unwrap();
        assert!(!std::fs::read_to_string(dir.join("sessions.json"))
            .unwrap()
            .contains(&token));
        let mut reloaded = Sessions::load(file.clone(), TIMEOUTS, 1100);
        assert_eq!(reloaded.touch(&token, 1100).unwrap().csrf, session.csrf);
        // Kept alive by requests, but not beyond the absolute timeout.
        for t in (1100..4600).step_by(500) {
            assert!(reloaded.touch(&token, t).is_some(), "at {t}");
        }
        assert!(reloaded.touch(&token, 4600).is_none());
        let (idle, _) = reloaded.create(7, "x".into(), 5000).unwrap();
        assert!(
            reloaded.touch(&idle, 5600).is_none(),
            "idle for the whole idle timeout"
        );
        assert!(reloaded.touch("no-such-token", 5600).is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn logout_and_account_removal_end_sessions_and_a_damaged_file_starts_afresh() {
        let dir = dir("logout");
        let file = StateFile::new(&dir, "sessions.json");
        let mut table = Sessions::load(file.clone(), TIMEOUTS, 0);
        let (a, _) = table.create(1, "a".into(), 0).unwrap();
        let (b, _) = table.create(1, "b".into(), 0).unwrap();
        let (c, _) = table.create(2, "c".into(), 0).unwrap();
        table.remove(&c).unwrap();
        table.remove_account(1, Some(&a)).unwrap();
        let mut reloaded = Sessions::load(file.clone(), TIMEOUTS, 1);
        assert!(reloaded.touch(&a, 1).is_some());
        assert!(reloaded.touch(&b, 1).is_none());
        assert!(reloaded.touch(&c, 1).is_none());
        std::fs::write(dir.join("sessions.json"), b"{\"sessions\": [").unwrap();
        let fresh = Sessions::load(file, TIMEOUTS, 1);
        assert!(fresh.is_empty());
        assert!(dir.join("sessions.bad").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
