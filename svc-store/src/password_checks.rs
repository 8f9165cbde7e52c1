//! Password checks with bounded memory and time. Each Argon2 check holds about 19 MiB for
//! tens of milliseconds; run on the request's own thread, a flood of logins (512 at once)
//! took the store to gigabytes. Here [`WORKERS`] threads check passwords, fed by a queue of
//! [`QUEUE`] jobs; a check that finds the queue full, or waits longer than [`WAIT`], is
//! refused as [`StoreError::Busy`] (the web answers 503 with `Retry-After`).
//!
//! Each worker owns the Argon2 memory it checks with and reuses it for every check
//! ([`Verifier`]): the argon2 crate's own `verify_password` allocates 19 MiB per call, and
//! glibc kept most of those (40 checks on two threads left 218 MB resident). So the store's
//! resident set stays within about `WORKERS × 19 MiB` above its idle size whatever the flood.
//!
//! An unknown account name is checked against a dummy hash with the same parameters, so it
//! costs the time a known name costs and the answer's timing does not tell which names exist.

use ipc::api::store::StoreError;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// Threads that check passwords (the store runs on two cores).
pub const WORKERS: usize = 2;
/// Checks that may wait for a worker.
pub const QUEUE: usize = 32;
/// The longest a check waits for its answer.
pub const WAIT: Duration = Duration::from_secs(5);

struct Job {
    hash: Option<String>,
    password: String,
    reply: SyncSender<bool>,
}

/// The password-check workers.
pub struct PasswordChecks {
    jobs: SyncSender<Job>,
}

impl std::fmt::Debug for PasswordChecks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordChecks")
    }
}

impl Default for PasswordChecks {
    fn default() -> Self {
        Self::start()
    }
}

/// The PHC string unknown names are checked against (made once, same parameters).
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
        argon2::Argon2::default()
            .hash_password(
                b"no account has this name",
                &SaltString::generate(&mut OsRng),
            )
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// Checks passwords against PHC strings with memory it keeps (written by hand around
/// `hash_password_into_with_memory` because the crate's `PasswordVerifier` allocates its
/// memory anew on every call).
#[derive(Default)]
struct Verifier {
    memory: Vec<argon2::Block>,
}

impl Verifier {
    /// Whether `password` matches the Argon2 PHC string `hash` (false for a string that
    /// does not parse or is not Argon2).
    fn verify(&mut self, hash: &str, password: &str) -> bool {
        use argon2::password_hash::PasswordHash;
        let Ok(parsed) = PasswordHash::new(hash) else {
            return false;
        };
        let (Ok(algorithm), Ok(params), Some(salt), Some(expected)) = (
            argon2::Algorithm::try_from(parsed.algorithm),
            argon2::Params::try_from(&parsed),
            parsed.salt,
            parsed.hash,
        ) else {
            return false;
        };
        let version = match parsed.version.map(argon2::Version::try_from).transpose() {
            Ok(v) => v.unwrap_or_default(),
            Err(_) => return false,
        };
        let mut salt_bytes = [0u8; 64];
        let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
            return false;
        };
        let blocks = params.block_count();
        if self.memory.len() != blocks {
            self.memory = vec![argon2::Block::default(); blocks];
        }
        let mut out = vec![0u8; expected.len()];
        let argon = argon2::Argon2::new(algorithm, version, params);
        if argon
            .hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut self.memory)
            .is_err()
        {
            return false;
        }
        // `Output`'s equality is constant-time.
        argon2::password_hash::Output::new(&out).is_ok_and(|o| o == expected)
    }
}

fn worker(jobs: &Mutex<Receiver<Job>>) {
    let mut verifier = Verifier::default();
    loop {
        let job = {
            let jobs = jobs
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match jobs.recv() {
                Ok(job) => job,
                Err(_) => return,
            }
        };
        let matched = match &job.hash {
            Some(hash) => verifier.verify(hash, &job.password),
            None => {
                let _ = verifier.verify(dummy_hash(), &job.password);
                false
            }
        };
        // The caller may have given up waiting; that is fine.
        let _ = job.reply.try_send(matched);
    }
}

impl PasswordChecks {
    /// Starts the workers.
    ///
    /// # Panics
    /// When a thread cannot be started (the store cannot run without them).
    #[must_use]
    pub fn start() -> Self {
        let (jobs, queue) = mpsc::sync_channel::<Job>(QUEUE);
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..WORKERS {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("password-{i}"))
                .spawn(move || worker(&queue))
                .expect("a password-check thread");
        }
        Self { jobs }
    }

    /// Whether `password` matches `hash`; `None` for an unknown account (checked against a
    /// dummy hash, always false).
    ///
    /// # Errors
    /// [`StoreError::Busy`] when the queue is full or the answer takes longer than [`WAIT`].
    pub fn verify(&self, hash: Option<&str>, password: &str) -> Result<bool, StoreError> {
        let busy = StoreError::Busy {
            retry_after_secs: 1,
        };
        let (reply, answer) = mpsc::sync_channel(1);
        let job = Job {
            hash: hash.map(str::to_owned),
            password: password.to_owned(),
            reply,
        };
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(busy),
            Err(TrySendError::Disconnected(_)) => {
                return Err(StoreError::Storage("the password checks stopped".into()))
            }
        }
        answer.recv_timeout(WAIT).map_err(|_| busy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_answer_and_unknown_names_cost_a_check_too() {
        let checks = PasswordChecks::start();
        let hash = crate::ops::hash_for_tests("Blue.Whale-2024");
        assert_eq!(checks.verify(Some(&hash), "Blue.Whale-2024"), Ok(true));
        assert_eq!(checks.verify(Some(&hash), "wrong"), Ok(false));
        let _ = checks.verify(None, "warm up the dummy hash");
        let t = std::time::Instant::now();
        assert_eq!(checks.verify(None, "anything"), Ok(false));
        let unknown = t.elapsed();
        let t = std::time::Instant::now();
        assert_eq!(checks.verify(Some(&hash), "anything"), Ok(false));
        let known = t.elapsed();
        assert!(
            unknown * 3 > known && known * 3 > unknown,
            "unknown {unknown:?} vs known {known:?}"
        );
    }

    #[test]
    fn the_verifier_agrees_with_the_crate_and_reuses_its_memory() {
        let hash = crate::ops::hash_for_tests("Blue.Whale-2024");
        let mut v = Verifier::default();
        for (password, expected) in [
            ("Blue.Whale-2024", true),
            ("blue.whale-2024", false),
            ("", false),
        ] {
            assert_eq!(v.verify(&hash, password), expected, "{password}");
            assert_eq!(crate::ops::verify_password(&hash, password), expected);
        }
        assert!(!v.verify("not a PHC string", "x"));
        assert!(!v.verify("$pbkdf2-sha256$i=1000$c2FsdA$aGFzaA", "x"));
        // The memory is allocated once and kept (the process's resident set is measured
        // by the end-to-end flood test, tests/tests/web.rs).
        let kept = v.memory.as_ptr();
        v.verify(&hash, "wrong");
        assert_eq!(v.memory.as_ptr(), kept);
    }

    #[test]
    fn a_flood_beyond_the_queue_is_refused_busy_not_queued_without_bound() {
        let checks = Arc::new(PasswordChecks::start());
        let hash = crate::ops::hash_for_tests("x");
        let threads: Vec<_> = (0..(QUEUE + WORKERS + 40))
            .map(|_| {
                let checks = Arc::clone(&checks);
                let hash = hash.clone();
                std::thread::spawn(move || checks.verify(Some(&hash), "y"))
            })
            .collect();
        let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let busy = results
            .iter()
            .filter(|r| matches!(r, Err(StoreError::Busy { .. })))
            .count();
        assert!(busy > 0, "some were refused");
        assert!(
            results
                .iter()
                .all(|r| matches!(r, Ok(false) | Err(StoreError::Busy { .. }))),
            "{results:?}"
        );
    }
}
