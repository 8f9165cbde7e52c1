//! Raft's connections to the other nodes: one mutual-TLS connection per target and use,
//! made when first needed and made again after a failure; one request at a time, each
//! bounded by openraft's deadline.

use super::wire::{Framed, PeerRequest, PeerResponse, WireError};
use super::{NodeId, Peer, TypeConfig};
use cluster_tls::{server_name, PeerTls};
use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// How long a connection to a peer may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// When each node last answered this one.
pub type Contacts =
    std::sync::Arc<std::sync::Mutex<std::collections::HashMap<NodeId, std::time::Instant>>>;

/// Makes a [`PeerClient`] for each target Raft replicates to or asks for a vote.
pub struct Network {
    me: NodeId,
    tls: PeerTls,
    contacts: Contacts,
}

impl Network {
    /// The network of node `me`; every answer from a node is noted in `contacts`.
    #[must_use]
    pub fn new(me: NodeId, tls: PeerTls, contacts: Contacts) -> Self {
        Self { me, tls, contacts }
    }
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = PeerClient;

    async fn new_client(&mut self, target: NodeId, node: &Peer) -> Self::Network {
        let mut client = PeerClient::new(self.me, target, node.address.clone(), self.tls.clone());
        client.contacts = Some(std::sync::Arc::clone(&self.contacts));
        client
    }
}

/// Whether an idle connection is still open: nothing to read (an idle peer sends nothing;
/// the end of the stream, or anything else, means it closed or is closing it).
fn idle_and_open(conn: &Framed<TlsStream<TcpStream>>) -> bool {
    let tcp = conn.get_ref().get_ref().0;
    let mut byte = [0u8; 1];
    let mut buf = tokio::io::ReadBuf::new(&mut byte);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    tcp.poll_peek(&mut cx, &mut buf).is_pending()
}

/// A connection to one node.
pub struct PeerClient {
    me: NodeId,
    target: NodeId,
    address: String,
    tls: PeerTls,
    conn: Option<Framed<TlsStream<TcpStream>>>,
    /// Whether the last call sent its request (a failed call that did not was not made).
    sent: bool,
    /// Where an answer is noted, for Raft's clients.
    contacts: Option<Contacts>,
}

impl PeerClient {
    /// A client of node `target` at `address`; it connects on its first request.
    #[must_use]
    pub fn new(me: NodeId, target: NodeId, address: String, tls: PeerTls) -> Self {
        Self {
            me,
            target,
            address,
            tls,
            conn: None,
            sent: false,
            contacts: None,
        }
    }

    async fn connect(&self) -> Result<Framed<TlsStream<TcpStream>>, WireError> {
        let timed_out = || {
            WireError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!(
                    "no connection to node {} at {} in time",
                    self.target, self.address
                ),
            ))
        };
        let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&self.address))
            .await
            .map_err(|_| timed_out())??;
        let _ = tcp.set_nodelay(true);
        let name = server_name(self.target).map_err(|e| WireError::Io(std::io::Error::other(e)))?;
        let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::clone(&self.tls.client));
        let tls = tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(name, tcp))
            .await
            .map_err(|_| timed_out())??;
        let mut framed = Framed::new(tls);
        let theirs = framed.hello(self.me).await?;
        if theirs != self.target {
            return Err(WireError::Io(std::io::Error::other(format!(
                "{} is node {theirs}, not node {}",
                self.address, self.target
            ))));
        }
        Ok(framed)
    }

    /// Whether the last [`PeerClient::call`] got as far as sending its request: one that
    /// failed before (no connection) was certainly not carried out.
    #[must_use]
    pub fn sent(&self) -> bool {
        self.sent
    }

    /// Connects, and again after a short pause while the node closes the connection before
    /// the handshake ends: it does so when too many handshakes are in progress at once
    /// (see `admission`), and nothing was sent yet. The caller bounds the whole.
    async fn connect_patiently(&self) -> Result<Framed<TlsStream<TcpStream>>, WireError> {
        let mut pause = Duration::from_millis(20);
        loop {
            match self.connect().await {
                Err(WireError::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::ConnectionReset
                            | std::io::ErrorKind::UnexpectedEof
                            | std::io::ErrorKind::BrokenPipe
                    ) =>
                {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(320));
                }
                other => return other,
            }
        }
    }

    /// Sends `request` and waits for its answer, for at most `ttl`; a failed connection is
    /// dropped, so the next call connects again.
    ///
    /// # Errors
    /// Why no answer came.
    pub async fn call(
        &mut self,
        request: PeerRequest,
        ttl: Duration,
    ) -> Result<PeerResponse, WireError> {
        self.sent = false;
        if self.conn.as_ref().is_some_and(|conn| !idle_and_open(conn)) {
            // The peer closed it while it was idle (it restarted, or was killed): a request
            // sent on it would be lost without telling whether it was carried out.
            self.conn = None;
        }
        let result = tokio::time::timeout(ttl, async {
            if self.conn.is_none() {
                self.conn = Some(self.connect_patiently().await?);
            }
            let conn = self.conn.as_mut().ok_or(WireError::Closed)?;
            self.sent = true;
            conn.send(&request).await?;
            conn.recv::<PeerResponse>().await
        })
        .await
        .unwrap_or_else(|_| {
            Err(WireError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("node {} did not answer in {ttl:?}", self.target),
            )))
        });
        match (&result, &self.contacts) {
            (Err(_), _) => self.conn = None,
            (Ok(_), Some(contacts)) => {
                contacts
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .insert(self.target, std::time::Instant::now());
            }
            (Ok(_), None) => {}
        }
        result
    }

    fn failed<E: std::error::Error>(
        &self,
        e: &WireError,
    ) -> RPCError<NodeId, Peer, RaftError<NodeId, E>> {
        match e {
            WireError::Io(_) | WireError::Closed => RPCError::Unreachable(Unreachable::new(e)),
            WireError::Frame(_) | WireError::Version(_) => RPCError::Network(NetworkError::new(e)),
        }
    }

    fn unexpected<E: std::error::Error>(
        &self,
        answer: &PeerResponse,
    ) -> RPCError<NodeId, Peer, RaftError<NodeId, E>> {
        let e = std::io::Error::other(format!("node {} answered with {answer:?}", self.target));
        RPCError::Network(NetworkError::new(&e))
    }
}

impl RaftNetwork<TypeConfig> for PeerClient {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, Peer, RaftError<NodeId>>> {
        match self
            .call(PeerRequest::AppendEntries(rpc), option.hard_ttl())
            .await
        {
            Ok(PeerResponse::AppendEntries(Ok(answer))) => Ok(answer),
            Ok(PeerResponse::AppendEntries(Err(e))) => {
                Err(RPCError::RemoteError(RemoteError::new(self.target, e)))
            }
            Ok(other) => Err(self.unexpected(&other)),
            Err(e) => Err(self.failed(&e)),
        }
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, Peer, RaftError<NodeId, InstallSnapshotError>>,
    > {
        match self
            .call(PeerRequest::InstallSnapshot(rpc), option.hard_ttl())
            .await
        {
            Ok(PeerResponse::InstallSnapshot(Ok(answer))) => Ok(answer),
            Ok(PeerResponse::InstallSnapshot(Err(e))) => {
                Err(RPCError::RemoteError(RemoteError::new(self.target, e)))
            }
            Ok(other) => Err(self.unexpected(&other)),
            Err(e) => Err(self.failed(&e)),
        }
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, Peer, RaftError<NodeId>>> {
        match self.call(PeerRequest::Vote(rpc), option.hard_ttl()).await {
            Ok(PeerResponse::Vote(Ok(answer))) => Ok(answer),
            Ok(PeerResponse::Vote(Err(e))) => {
                Err(RPCError::RemoteError(RemoteError::new(self.target, e)))
            }
            Ok(other) => Err(self.unexpected(&other)),
            Err(e) => Err(self.failed(&e)),
        }
    }
}
