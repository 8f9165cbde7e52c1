//! Event-log entries from the supervisor to the store. Entries are queued (bounded) and
//! delivered when the store is reachable, so a store restart loses none of its own story.

use ipc::api::store::{StoreApi, StoreRequest, StoreResponse};
use ipc::{Client, ClientOptions, Hello};
use model::Severity;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::mpsc;

/// Entries waiting for the store at most; more are dropped with a warning.
const QUEUE: usize = 256;

/// Sends event-log entries to the store.
#[derive(Clone)]
pub struct EventLog {
    tx: mpsc::Sender<(Severity, String)>,
}

impl EventLog {
    /// Starts the delivery task for the store at `socket`.
    #[must_use]
    pub fn start(socket: PathBuf) -> Self {
        let (tx, mut rx) = mpsc::channel::<(Severity, String)>(QUEUE);
        let options = ClientOptions {
            request_timeout: Duration::from_secs(2),
            ..ClientOptions::default()
        };
        let (client, _events) =
            Client::<StoreApi>::start(socket, Hello::new("supervisor", 0), options);
        tokio::spawn(async move {
            while let Some((severity, text)) = rx.recv().await {
                let request = StoreRequest::LogEvent {
                    severity,
                    subsystem: "supervisor".into(),
                    text,
                };
                loop {
                    match client.request(request.clone()).await {
                        Ok(StoreResponse::Done) => break,
                        Ok(other) => {
                            tracing::warn!(response = ?other, "store refused an event-log entry");
                            break;
                        }
                        Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                    }
                }
            }
        });
        Self { tx }
    }

    /// Queues an entry.
    pub fn add(&self, severity: Severity, text: String) {
        if self.tx.try_send((severity, text)).is_err() {
            tracing::warn!("event-log queue full; an entry was dropped");
        }
    }
}
