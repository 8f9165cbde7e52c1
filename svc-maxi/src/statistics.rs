//! The MAXI counters of the Statistics pane (admin guide "Viewing system statistics"),
//! counted in memory and added to the store's counters once a second, so a busy client
//! costs no database write per request. The store keeps each counter's history.
//!
//! | store counter                 | admin guide                                        |
//! |-------------------------------|----------------------------------------------------|
//! | `maxi.failed_connections`     | MAXI: Total number of failed client connections    |
//! | `maxi.requests`               | MAXI: Total number of client requests              |
//! | `maxi.failed_requests`        | MAXI: Total number of failed requests              |
//! | `maxi.events_sent`            | MAXI: Total number of events sent to clients       |
//! | `maxi.kbytes_received`        | MAXI: Total number of data in Kbytes received      |
//! | `maxi.mbytes_sent`            | MAXI: Total number of data in Mbytes sent          |
//! | `maxi.max_parallel_clients`   | MAXI: Maximal parallel client connections          |
//! | `maxi.send_message_requests`  | Number of 'SendMessage' requests from MAXI clients |
//!
//! ('SendMessage' requests from OMMs are svc-axi's `axi.send_message_requests`.)

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The counters since the last flush.
#[derive(Debug, Default)]
pub struct Statistics {
    /// Connections refused or failed before a session (9th client, TLS failure, timeout).
    pub failed_connections: AtomicU64,
    /// Requests received.
    pub requests: AtomicU64,
    /// Requests answered with an error.
    pub failed_requests: AtomicU64,
    /// Events sent.
    pub events_sent: AtomicU64,
    /// Bytes received.
    pub bytes_received: AtomicU64,
    /// Bytes sent.
    pub bytes_sent: AtomicU64,
    /// `SendMessage` requests.
    pub send_message_requests: AtomicU64,
    /// The most clients at once since start (a gauge).
    pub max_parallel: AtomicU64,
}

/// One more.
pub fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Statistics {
    /// Notes `clients` connected at once.
    pub fn parallel(&self, clients: u64) {
        self.max_parallel.fetch_max(clients, Ordering::Relaxed);
    }

    /// Adds the counts to the store every second, for ever. Bytes go as whole KB and MB; the
    /// rest waits for the next round.
    pub async fn flush(&self, store: ipc::store_client::Store) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let (mut kb_rest, mut mb_rest) = (0u64, 0u64);
        let mut max_written = 0;
        loop {
            tick.tick().await;
            kb_rest += self.bytes_received.swap(0, Ordering::Relaxed);
            mb_rest += self.bytes_sent.swap(0, Ordering::Relaxed);
            let mut deltas = vec![
                (
                    "maxi.failed_connections",
                    self.failed_connections.swap(0, Ordering::Relaxed),
                ),
                ("maxi.requests", self.requests.swap(0, Ordering::Relaxed)),
                (
                    "maxi.failed_requests",
                    self.failed_requests.swap(0, Ordering::Relaxed),
                ),
                (
                    "maxi.events_sent",
                    self.events_sent.swap(0, Ordering::Relaxed),
                ),
                (
                    "maxi.send_message_requests",
                    self.send_message_requests.swap(0, Ordering::Relaxed),
                ),
                ("maxi.kbytes_received", kb_rest / 1024),
                ("maxi.mbytes_sent", mb_rest / (1024 * 1024)),
            ];
            kb_rest %= 1024;
            mb_rest %= 1024 * 1024;
            deltas.retain(|(_, d)| *d > 0);
            for (name, delta) in deltas {
                let _ = store.add_to_counter(name.into(), delta).await;
            }
            let max = self.max_parallel.load(Ordering::Relaxed);
            if max != max_written {
                let ok = store
                    .set_counter("maxi.max_parallel_clients".into(), max)
                    .await
                    .is_ok();
                if ok {
                    max_written = max;
                }
            }
        }
    }
}
