//! systemd notifications (`sd_notify`): a datagram to `$NOTIFY_SOCKET`.
//!
//! Twenty lines here instead of a crate, as the supervisor keeps its dependencies few.

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};

/// Where to send notifications, taken from the environment once at start.
#[derive(Debug, Clone)]
pub struct Notifier {
    target: Option<SocketAddr>,
}

impl Notifier {
    /// Reads `NOTIFY_SOCKET` (a path, or `@name` for the abstract namespace).
    #[must_use]
    pub fn from_env() -> Self {
        let target = std::env::var("NOTIFY_SOCKET")
            .ok()
            .and_then(|s| match s.strip_prefix('@') {
                Some(name) => SocketAddr::from_abstract_name(name.as_bytes()).ok(),
                None => SocketAddr::from_pathname(s).ok(),
            });
        Self { target }
    }

    /// Whether systemd listens.
    #[must_use]
    pub fn enabled(&self) -> bool {
        self.target.is_some()
    }

    /// Sends `state` (e.g. `READY=1`); failures are logged, never fatal.
    pub fn notify(&self, state: &str) {
        let Some(target) = &self.target else { return };
        let sent = UnixDatagram::unbound().and_then(|s| s.send_to_addr(state.as_bytes(), target));
        if let Err(e) = sent {
            tracing::warn!(error = %e, state, "sd_notify failed");
        }
    }
}

/// The watchdog period systemd asked for (`WATCHDOG_USEC`), if any.
#[must_use]
pub fn watchdog_period() -> Option<std::time::Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    (usec > 0).then(|| std::time::Duration::from_micros(usec))
}
