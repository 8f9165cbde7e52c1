//! The accept loop every IPC server runs: accept, check the peer, exchange hellos in a task
//! of the connection's own, hand the channel on, and go on accepting.
//!
//! When the process runs out of file descriptors (or the kernel out of memory for sockets)
//! `accept` fails at once and would fail again at once: a loop that simply goes on spins a
//! core and writes a log line per turn. [`AcceptPolicy`] (sans IO) makes the loop wait,
//! doubling from [`FIRST_WAIT`] to [`LONGEST_WAIT`], logs the shortage once, and logs once
//! more when a connection is accepted again.

use crate::channel::{IpcError, ServerChannel};
use crate::listener::{Listener, PeerCred};
use crate::{Api, Hello};
use std::future::Future;
use std::time::Duration;

/// The first wait after an accept failed for want of resources.
pub const FIRST_WAIT: Duration = Duration::from_millis(10);
/// The longest wait between two accepts while resources are short.
pub const LONGEST_WAIT: Duration = Duration::from_secs(1);

/// What the loop does after an `accept` result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterAccept {
    /// Go on accepting at once.
    Continue,
    /// Go on at once, and log that resources are back after `failures` failed accepts.
    Recovered {
        /// Accepts that failed while resources were short.
        failures: u64,
    },
    /// Wait `delay` before the next accept; `log` says whether this is the first such
    /// failure (log it) or one more of a run (do not).
    Wait {
        /// How long.
        delay: Duration,
        /// Log it.
        log: bool,
    },
}

/// The accept loop's policy: back off while resources are short, log a shortage once.
#[derive(Debug, Default)]
pub struct AcceptPolicy {
    /// Failed accepts of the current shortage; 0 when there is none.
    failures: u64,
    delay: Duration,
}

impl AcceptPolicy {
    /// A policy with no shortage.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A connection was accepted.
    pub fn accepted(&mut self) -> AfterAccept {
        match std::mem::take(&mut self.failures) {
            0 => AfterAccept::Continue,
            failures => {
                self.delay = Duration::ZERO;
                AfterAccept::Recovered { failures }
            }
        }
    }

    /// `accept` failed with `error`.
    pub fn failed(&mut self, error: &IpcError) -> AfterAccept {
        if !is_shortage(error) {
            return AfterAccept::Continue;
        }
        self.failures += 1;
        self.delay = if self.delay.is_zero() {
            FIRST_WAIT
        } else {
            (self.delay * 2).min(LONGEST_WAIT)
        };
        AfterAccept::Wait {
            delay: self.delay,
            log: self.failures == 1,
        }
    }
}

/// Whether an accept failed for want of a resource the process cannot conjure up by trying
/// again at once (descriptors, socket memory).
fn is_shortage(error: &IpcError) -> bool {
    use nix::errno::Errno;
    let IpcError::Io(e) = error else {
        return false;
    };
    e.raw_os_error().is_some_and(|code| {
        [Errno::EMFILE, Errno::ENFILE, Errno::ENOMEM, Errno::ENOBUFS]
            .iter()
            .any(|errno| *errno as i32 == code)
    })
}

/// Accepts connections on `listener` until the task is dropped; each peer that passes the
/// uid check and the hello exchange is handed to `handle` in a task of its own. `api` names
/// the API in log lines.
pub async fn serve<A, F, Fut>(listener: Listener<A>, me: Hello, api: &'static str, handle: F)
where
    A: Api,
    F: Fn(ServerChannel<A>, PeerCred) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut policy = AcceptPolicy::new();
    loop {
        let accepted = listener.accept().await;
        let after = match &accepted {
            Ok(_) => policy.accepted(),
            Err(e) => policy.failed(e),
        };
        match after {
            AfterAccept::Continue => {}
            AfterAccept::Recovered { failures } => {
                tracing::warn!(api, failures, "accepting connections again");
            }
            AfterAccept::Wait { delay, log } => {
                if log {
                    if let Err(e) = &accepted {
                        tracing::warn!(api, error = %e, "cannot accept connections (out of file descriptors or memory); trying again, at most every second, until there are");
                    }
                }
                tokio::time::sleep(delay).await;
                continue;
            }
        }
        let pending = match accepted {
            Ok(pending) => pending,
            Err(e) => {
                tracing::warn!(api, error = %e, "connection refused");
                continue;
            }
        };
        let (handle, me) = (handle.clone(), me.clone());
        tokio::spawn(async move {
            let cred = pending.cred;
            match pending.handshake(&me).await {
                Ok(channel) => handle(channel, cred).await,
                Err(e) => {
                    tracing::warn!(api, uid = cred.uid, pid = cred.pid, error = %e, "client refused at the hello");
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errno(code: nix::errno::Errno) -> IpcError {
        IpcError::Io(std::io::Error::from_raw_os_error(code as i32))
    }

    #[test]
    fn a_descriptor_shortage_backs_off_doubling_logs_once_and_its_end_is_told() {
        let mut p = AcceptPolicy::new();
        assert_eq!(p.accepted(), AfterAccept::Continue);
        let mut delays = Vec::new();
        let mut logged = 0;
        for _ in 0..10 {
            let AfterAccept::Wait { delay, log } = p.failed(&errno(nix::errno::Errno::EMFILE))
            else {
                panic!("EMFILE waits")
            };
            delays.push(delay.as_millis());
            logged += u32::from(log);
        }
        assert_eq!(delays, [10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000]);
        assert_eq!(logged, 1, "one log line per shortage");
        assert_eq!(p.accepted(), AfterAccept::Recovered { failures: 10 });
        assert_eq!(p.accepted(), AfterAccept::Continue);
        // A new shortage starts short again and is logged again.
        assert_eq!(
            p.failed(&errno(nix::errno::Errno::ENFILE)),
            AfterAccept::Wait {
                delay: FIRST_WAIT,
                log: true
            }
        );
    }

    #[test]
    fn other_failures_go_on_at_once() {
        let mut p = AcceptPolicy::new();
        for e in [
            IpcError::PeerNotAllowed { uid: 7 },
            errno(nix::errno::Errno::ECONNABORTED),
            IpcError::HelloTimeout,
        ] {
            assert_eq!(p.failed(&e), AfterAccept::Continue, "{e}");
        }
        assert_eq!(p.accepted(), AfterAccept::Continue);
    }
}
