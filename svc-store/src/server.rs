//! The store's IPC server: one task per connection, requests answered concurrently (reads
//! on the blocking pool, writes in their own transaction), and change-feed subscriptions.

use crate::engine::{Backlog, Store};
use crate::transfer::Transfers;
use ipc::api::store::{Change, StoreApi, StoreError, StoreRequest, StoreResponse};
use ipc::api::EVENT_ID;
use ipc::listener::Listener;
use ipc::{Envelope, Hello, ServerChannel};
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc, Semaphore};

/// Requests one connection may have in flight; more wait (back-pressure on a hostile client).
const IN_FLIGHT_PER_CONNECTION: usize = 64;
/// Answers and events one write to a client may carry at most.
const WRITE_BATCH: usize = 64;

/// Shared state of the server.
pub struct Server {
    /// The store.
    pub store: Arc<Store>,
    /// Export and import sessions.
    pub transfers: Arc<Transfers>,
    /// Our hello.
    pub hello: Hello,
    /// The cluster this store is a node of, if any: its writes go through Raft.
    pub cluster: Option<Arc<crate::cluster::ClusterNode>>,
}

impl Server {
    /// Accepts connections until the task is dropped.
    pub async fn serve(self: Arc<Self>, listener: Listener<StoreApi>) {
        let hello = self.hello.clone();
        ipc::serve::serve(listener, hello, "store", move |channel, _| {
            Arc::clone(&self).connection(channel)
        })
        .await;
    }

    async fn connection(self: Arc<Self>, channel: ServerChannel<StoreApi>) {
        let peer = channel.peer.clone();
        tracing::debug!(target: "ipc", service = %peer.service, pid = peer.pid, "store client connected");
        let ipc::Channel { mut rx, mut tx, .. } = channel;
        let (out, mut out_rx) = mpsc::channel::<Envelope<StoreResponse>>(256);
        let writer = tokio::spawn(async move {
            // Whatever is queued goes in one write: during an import the change feed queues
            // thousands of events, which one write each made a system call each.
            let mut batch = Vec::with_capacity(WRITE_BATCH);
            while out_rx.recv_many(&mut batch, WRITE_BATCH).await > 0 {
                if let Err(e) = tx.send_all(&batch).await {
                    tracing::debug!(target: "ipc", error = %e, "store client went away");
                    break;
                }
                batch.clear();
            }
        });
        let limit = Arc::new(Semaphore::new(IN_FLIGHT_PER_CONNECTION));
        let mut feed: Option<tokio::task::JoinHandle<()>> = None;
        loop {
            let request = match rx.recv().await {
                Ok(Some(request)) => request,
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(service = %peer.service, pid = peer.pid, error = %e, "bad frame from store client; closing its connection");
                    break;
                }
            };
            let Envelope { id, body } = request;
            if let StoreRequest::Subscribe { from_rev } = body {
                if let Some(old) = feed.take() {
                    old.abort();
                }
                let live = self.store.subscribe();
                let rev = self.store.revision();
                let _ = out
                    .send(Envelope {
                        id,
                        body: respond(rev.map(StoreResponse::Revision)),
                    })
                    .await;
                feed = Some(tokio::spawn(feed_task(
                    Arc::clone(&self.store),
                    live,
                    from_rev,
                    out.clone(),
                )));
                continue;
            }
            let Ok(permit) = Arc::clone(&limit).acquire_owned().await else {
                break;
            };
            let server = Arc::clone(&self);
            let out = out.clone();
            tokio::spawn(async move {
                let response = match &server.cluster {
                    // "svc-axi ended, no OMM link is held" speaks of this node's links: only the
                    // leader holds any, so a follower's is true already and changes nothing.
                    // Checked before the replicated writes, which it is one of: a node without
                    // a leader could not write it, and svc-axi's start waited for it.
                    Some(cluster)
                        if matches!(body, StoreRequest::LinksLost { .. }) && !cluster.leads() =>
                    {
                        Ok(StoreResponse::Done)
                    }
                    Some(cluster) if crate::cluster::replicated(&body) => {
                        if matches!(
                            body,
                            StoreRequest::ImportCommit { .. }
                                | StoreRequest::ImportCommitForeign { .. }
                        ) {
                            Err(StoreError::Invalid("a database import replaces the whole database: import it before the cluster is made (cluster init), not into a running cluster".into()))
                        } else if is_transfer(&body) {
                            run_blocking(server, body).await
                        } else {
                            cluster.write(body).await
                        }
                    }
                    // The health states, and the cluster's as this node sees it.
                    Some(cluster) if matches!(body, StoreRequest::GetHealth) => {
                        let status = cluster.status().await;
                        run_blocking(Arc::clone(&server), body)
                            .await
                            .map(|answer| match answer {
                                StoreResponse::Health(mut states) => {
                                    states.push(crate::cluster::health::state(&status));
                                    StoreResponse::Health(states)
                                }
                                other => other,
                            })
                    }
                    Some(cluster) if matches!(body, StoreRequest::ClusterStatus) => {
                        Ok(StoreResponse::ClusterStatus(cluster.status().await))
                    }
                    Some(cluster)
                        if matches!(
                            body,
                            StoreRequest::ClusterAddNode { .. }
                                | StoreRequest::ClusterRemoveNode(_)
                        ) =>
                    {
                        cluster.change_members(body).await
                    }
                    _ => run_blocking(server, body).await,
                };
                let _ = out
                    .send(Envelope {
                        id,
                        body: respond(response),
                    })
                    .await;
                drop(permit);
            });
        }
        if let Some(feed) = feed {
            feed.abort();
        }
        drop(out);
        let _ = writer.await;
    }

    /// Answers one request (blocking: runs LMDB transactions).
    ///
    /// A cluster's writes do not come here but go through Raft (see [`crate::cluster`]).
    /// Validates and swaps in an import, then checks its license and logs it.
    fn import_commit(&self, import: u64, allow_foreign: bool) -> Result<StoreResponse, StoreError> {
        let rev = self
            .transfers
            .import_commit(import, &self.store, allow_foreign);
        match &rev {
            Ok(rev) => tracing::warn!(rev, allow_foreign, "database replaced by an import"),
            Err(e) => tracing::warn!(error = %e, "database import refused"),
        }
        let rev = rev?;
        // The imported license may come from another installation or issuer.
        if let Err(e) = self.store.enforce_license() {
            tracing::warn!(error = %e, "checking the imported license failed");
        }
        let _ = self.store.write_with(|tx| {
            tx.log_event(
                model::Severity::Warning,
                "store",
                "database replaced by an import",
            )
        });
        Ok(StoreResponse::Revision(rev))
    }

    fn handle(&self, request: StoreRequest) -> Result<StoreResponse, StoreError> {
        use StoreRequest as R;
        match request {
            R::ExportBegin => {
                let (export, size) = self.transfers.export_begin(&self.store)?;
                Ok(StoreResponse::ExportReady { export, size })
            }
            R::ExportChunk { export, offset } => self
                .transfers
                .export_chunk(export, offset)
                .map(StoreResponse::Chunk),
            R::ImportBegin { size } => self
                .transfers
                .import_begin(size)
                .map(|import| StoreResponse::ImportReady { import }),
            R::ImportChunk { import, data } => self
                .transfers
                .import_chunk(import, &data)
                .map(|()| StoreResponse::Done),
            R::ImportCommit { import } => self.import_commit(import, false),
            R::ImportCommitForeign { import } => self.import_commit(import, true),
            R::ImportSecretsKey { import, key } => self
                .transfers
                .import_secrets_key(import, &key)
                .map(|()| StoreResponse::Done),
            R::FromOmm { request, .. } if request.is_read() => self.store.read(&request),
            read if read.is_read() => self.store.read(&read),
            write => self.store.write(write),
        }
    }
}

/// Runs [`Server::handle`] on the blocking pool.
async fn run_blocking(
    server: Arc<Server>,
    body: StoreRequest,
) -> Result<StoreResponse, StoreError> {
    tokio::task::spawn_blocking(move || server.handle(body))
        .await
        .unwrap_or_else(|e| Err(StoreError::Storage(format!("request failed: {e}"))))
}

/// Whether `request` is a step of an export or an import (files of this node, not writes).
fn is_transfer(request: &StoreRequest) -> bool {
    matches!(
        request,
        StoreRequest::ExportBegin
            | StoreRequest::ExportChunk { .. }
            | StoreRequest::ImportBegin { .. }
            | StoreRequest::ImportChunk { .. }
            | StoreRequest::ImportSecretsKey { .. }
    )
}

fn respond(result: Result<StoreResponse, StoreError>) -> StoreResponse {
    result.unwrap_or_else(StoreResponse::Error)
}

/// Sends the backlog after `from_rev`, then live changes, as events. A subscriber that falls
/// too far behind is caught up from the change log again, or told to resync.
async fn feed_task(
    store: Arc<Store>,
    mut live: broadcast::Receiver<Change>,
    from_rev: u64,
    out: mpsc::Sender<Envelope<StoreResponse>>,
) {
    let mut last = from_rev;
    let mut catch_up = true;
    loop {
        if catch_up {
            catch_up = false;
            let backlog = {
                let store = Arc::clone(&store);
                tokio::task::spawn_blocking(move || store.backlog(last)).await
            };
            match backlog {
                Ok(Ok(Backlog::Changes(changes))) => {
                    for change in changes {
                        last = change.rev;
                        if send_event(&out, StoreResponse::Changed(change))
                            .await
                            .is_err()
                        {
                            return;
                        }
                    }
                }
                Ok(Ok(Backlog::ResyncNeeded(rev))) => {
                    last = rev;
                    if send_event(&out, StoreResponse::ResyncNeeded { rev })
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                Ok(Err(e)) => tracing::warn!(error = %e, "change feed backlog failed"),
                Err(e) => tracing::warn!(error = %e, "change feed backlog task failed"),
            }
        }
        match live.recv().await {
            Ok(change) if change.rev <= last => {}
            Ok(change) if change.rev == last + 1 || change.entity == model::Entity::Database => {
                last = change.rev;
                let event = if change.entity == model::Entity::Database {
                    StoreResponse::ResyncNeeded { rev: change.rev }
                } else {
                    StoreResponse::Changed(change)
                };
                if send_event(&out, event).await.is_err() {
                    return;
                }
            }
            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => catch_up = true,
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

async fn send_event(
    out: &mpsc::Sender<Envelope<StoreResponse>>,
    body: StoreResponse,
) -> Result<(), ()> {
    out.send(Envelope { id: EVENT_ID, body })
        .await
        .map_err(|_| ())
}
