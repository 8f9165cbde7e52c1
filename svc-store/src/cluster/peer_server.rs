//! The peer port: other nodes' Raft requests and forwarded writes, over mutual TLS. A peer
//! without a certificate from the cluster's CA never gets past the handshake; one that
//! breaks the protocol is cut off (that connection only) with one log line.

use super::node::ClusterNode;
use super::wire::{Framed, PeerRequest, PeerResponse, WireError};
use ipc::serve::AfterAccept;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

/// Peer connections served at once; more wait for a free slot.
const MAX_CONNECTIONS: usize = 64;

/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves `listener` until the task is aborted.
pub async fn serve(listener: TcpListener, node: Arc<ClusterNode>) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
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
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let acceptor = acceptor.clone();
        let node = Arc::clone(&node);
        tokio::spawn(async move {
            if let Err(e) = connection(stream, address, acceptor, &node).await {
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
            drop(slot);
        });
    }
}

async fn connection(
    stream: TcpStream,
    address: SocketAddr,
    acceptor: tokio_rustls::TlsAcceptor,
    node: &ClusterNode,
) -> Result<(), WireError> {
    let _ = stream.set_nodelay(true);
    let tls = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream))
        .await
        .map_err(|_| {
            WireError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "no TLS handshake in time",
            ))
        })??;
    let mut framed = Framed::new(tls);
    let from = framed.hello(node.id()).await?;
    tracing::debug!(peer = %address, node = from, "peer connected");
    loop {
        let request: PeerRequest = framed.recv().await?;
        let answer = match request {
            PeerRequest::AppendEntries(rpc) => {
                PeerResponse::AppendEntries(node.raft().append_entries(rpc).await)
            }
            PeerRequest::Vote(rpc) => PeerResponse::Vote(node.raft().vote(rpc).await),
            PeerRequest::InstallSnapshot(rpc) => {
                PeerResponse::InstallSnapshot(node.raft().install_snapshot(rpc).await)
            }
            PeerRequest::Write(request) => node.propose(request).await,
        };
        framed.send(&answer).await?;
    }
}
