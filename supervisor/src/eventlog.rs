//! Event-log entries from the supervisor to the store, and what the store must learn when a
//! service is gone (svc-axi's OMM links). Jobs are queued (bounded) and delivered when the
//! store is reachable, so a store restart loses none of the supervisor's story.

use ipc::api::store::{StoreApi, StoreError};
use ipc::store_client::{Failure, Store};
use ipc::{Client, ClientOptions, Hello};
use model::Severity;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Entries waiting for the store at most; more are dropped with a warning.
const QUEUE: usize = 256;

/// Tries of an entry the store refuses for a storage reason (in a cluster: no leader yet).
const STORAGE_TRIES: u32 = 100;

/// What the link to svc-axi's OMMs reads while svc-axi is not running.
pub const NO_LINK_HELD: &str = "svc-axi is not running: no link is held";

/// One job for the store.
enum Job {
    /// An event-log entry.
    Log(Severity, String),
    /// svc-axi ended: every OMM link it held is gone; the flag is raised once the store
    /// knows.
    LinksLost(model::Timestamp, Arc<AtomicBool>),
}

/// Sends event-log entries to the store.
#[derive(Clone)]
pub struct EventLog {
    tx: mpsc::Sender<Job>,
}

/// Marks every OMM link down that svc-axi reported before `since` (a new svc-axi's own
/// reports are newer and stand; the store decides in one transaction).
async fn links_lost(store: &Store, since: model::Timestamp) -> Result<(), Failure> {
    store.links_lost(since, NO_LINK_HELD.into()).await
}

impl EventLog {
    /// Starts the delivery task for the store at `socket`.
    #[must_use]
    pub fn start(socket: PathBuf) -> Self {
        let (tx, mut rx) = mpsc::channel::<Job>(QUEUE);
        let options = ClientOptions {
            request_timeout: Duration::from_secs(2),
            ..ClientOptions::default()
        };
        let (client, _events) =
            Client::<StoreApi>::start(socket, Hello::new("supervisor", 0), options);
        let client = Store::new(client);
        tokio::spawn(async move {
            while let Some(job) = rx.recv().await {
                let (severity, text) = match job {
                    Job::Log(severity, text) => (severity, text),
                    Job::LinksLost(since, done) => {
                        while let Err(e) = links_lost(&client, since).await {
                            tracing::debug!(error = %e, "store not reachable yet for the OMM links");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                        done.store(true, Ordering::Release);
                        continue;
                    }
                };
                let mut tries = 0u32;
                loop {
                    tries += 1;
                    match client
                        .log_event(severity, "supervisor".into(), text.clone())
                        .await
                    {
                        Ok(()) => break,
                        // A cluster node without a leader yet (its start, an election) cannot
                        // write: the entry waits for one, for up to 10 s.
                        Err(Failure::Refused(StoreError::Storage(_))) if tries < STORAGE_TRIES => {
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                        Err(Failure::Refused(e)) => {
                            tracing::warn!(error = %e, "store refused an event-log entry");
                            break;
                        }
                        Err(Failure::Unreachable(_)) => {
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    }
                }
            }
        });
        Self { tx }
    }

    /// Queues an entry.
    pub fn add(&self, severity: Severity, text: String) {
        if self.tx.try_send(Job::Log(severity, text)).is_err() {
            tracing::warn!("event-log queue full; an entry was dropped");
        }
    }

    /// svc-axi ended: the store is told that no OMM link is held. The flag is raised once
    /// it knows; a new svc-axi should not start before (or its first reports could be
    /// taken for the old one's).
    pub fn links_lost(&self) -> Arc<AtomicBool> {
        let done = Arc::new(AtomicBool::new(false));
        let job = Job::LinksLost(model::now(), Arc::clone(&done));
        if self.tx.try_send(job).is_err() {
            tracing::warn!("event-log queue full; the OMM links were not marked down");
            done.store(true, Ordering::Release);
        }
        done
    }
}
