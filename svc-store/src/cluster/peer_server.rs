//! The peer port: other nodes' Raft requests and forwarded writes, over mutual TLS. A peer
//! without a certificate from the cluster's CA never gets past the handshake; one that
//! breaks the protocol is cut off (that connection only) with one log line. Connections that
//! have not yet proven themselves are limited apart from proven ones ([`super::admission`]).

use super::admission::Admission;
use super::node::ClusterNode;
use super::wire::{Framed, PeerRequest, PeerResponse, WireError};
use ipc::serve::AfterAccept;
use openraft::raft::AppendEntriesResponse;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

/// Connections of proven peers served at once (a node keeps a few: Raft's and forwarded
/// writes); one over the limit is closed.
const MAX_CONNECTIONS: usize = 64;

/// How long the TLS handshake and the peer's hello may take together.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// A handshake counted in [`Admission`] until it is dropped.
struct Handshake {
    admission: Arc<Mutex<Admission>>,
    source: IpAddr,
}

impl Drop for Handshake {
    fn drop(&mut self) {
        lock(&self.admission).end(self.source);
    }
}

fn lock(admission: &Mutex<Admission>) -> std::sync::MutexGuard<'_, Admission> {
    // Admission's counters are consistent after every method: a poisoned lock holds no
    // half-made change.
    admission
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Serves `listener` until the task is aborted.
pub async fn serve(listener: TcpListener, node: Arc<ClusterNode>) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let admission = Arc::new(Mutex::new(Admission::default()));
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::clone(&node.tls().server));
    let mut policy = ipc::serve::AcceptPolicy::new();
    loop {
        let accepted = listener.accept().await.map_err(ipc::IpcError::Io);
        let after = match &accepted {
            Ok(_) => policy.accepted(),
            Err(e) => policy.failed(e),
        };
        match after {
            AfterAccept::Continue => {}
            AfterAccept::Recovered { failures } => {
                tracing::warn!(failures, "accepting peer connections again");
            }
            AfterAccept::Wait { delay, log } => {
                if log {
                    if let Err(e) = &accepted {
                        tracing::warn!(error = %e, "cannot accept peer connections (out of file descriptors or memory); trying again, at most every second");
                    }
                }
                tokio::time::sleep(delay).await;
                continue;
            }
        }
        let Ok((stream, address)) = accepted else {
            continue;
        };
        let admitted = {
            let mut admission = lock(&admission);
            let admitted = admission.begin(address.ip());
            if let Some(refused) = admission.report(Instant::now()) {
                tracing::warn!(
                    refused,
                    latest = %address,
                    "peer port: connections closed unheard (too many handshakes at once from one address or in all)"
                );
            }
            admitted
        };
        if !admitted {
            drop(stream);
            continue;
        }
        let handshake = Handshake {
            admission: Arc::clone(&admission),
            source: address.ip(),
        };
        let acceptor = acceptor.clone();
        let node = Arc::clone(&node);
        let slots = Arc::clone(&slots);
        tokio::spawn(async move {
            if let Err(e) = connection(stream, address, acceptor, &node, handshake, slots).await {
                match e {
                    // A peer that drops its connection (a restart, a reconnect) is routine.
                    WireError::Closed => {}
                    WireError::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
                        tracing::debug!(peer = %address, "peer connection ended");
                    }
                    other => {
                        tracing::warn!(peer = %address, error = %other, "peer connection refused or broken");
                    }
                }
            }
        });
    }
}

async fn connection(
    stream: TcpStream,
    address: SocketAddr,
    acceptor: tokio_rustls::TlsAcceptor,
    node: &ClusterNode,
    handshake: Handshake,
    slots: Arc<Semaphore>,
) -> Result<(), WireError> {
    let _ = stream.set_nodelay(true);
    let proven = async {
        let mut framed = Framed::new(acceptor.accept(stream).await?);
        let from = framed.hello(node.id()).await?;
        Ok::<_, WireError>((framed, from))
    };
    let (mut framed, from) = tokio::time::timeout(HANDSHAKE_TIMEOUT, proven)
        .await
        .map_err(|_| {
            WireError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "no TLS handshake and hello in time",
            ))
        })??;
    drop(handshake);
    let Ok(_slot) = slots.try_acquire_owned() else {
        return Err(WireError::Io(std::io::Error::other(format!(
            "node {from} has {MAX_CONNECTIONS} connections open already"
        ))));
    };
    tracing::debug!(peer = %address, node = from, "peer connected");
    loop {
        let request: PeerRequest = framed.recv().await?;
        let answer = match request {
            PeerRequest::AppendEntries(rpc) => {
                let answer = node.raft().append_entries(rpc).await;
                // Taken from a leader of this term or a later one (a stale one is told of
                // the higher vote).
                if matches!(&answer, Ok(a) if !matches!(a, AppendEntriesResponse::HigherVote(_))) {
                    node.heard_leader();
                }
                PeerResponse::AppendEntries(answer)
            }
            PeerRequest::Vote(rpc) => {
                let answer = node.raft().vote(rpc).await;
                if matches!(&answer, Ok(a) if a.vote_granted) {
                    node.heard_leader();
                }
                PeerResponse::Vote(answer)
            }
            PeerRequest::InstallSnapshot(rpc) => {
                let sent = rpc.vote;
                let answer = node.raft().install_snapshot(rpc).await;
                if matches!(&answer, Ok(a) if a.vote == sent) {
                    node.heard_leader();
                }
                PeerResponse::InstallSnapshot(answer)
            }
            PeerRequest::Write(request) => node.propose(request).await,
        };
        framed.send(&answer).await?;
    }
}
