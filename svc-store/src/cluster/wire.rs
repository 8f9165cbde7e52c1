//! The peer protocol between the nodes of a cluster, over mutual TLS: a hello each way, then
//! one request and its answer at a time. Frames are `ipc::frame`'s (a length, then postcard),
//! so a frame's size is checked against [`MAX_FRAME`] before its body is read; a peer that
//! sends a bad frame or a hello of another version is cut off.

use super::{Applied, NodeId, TypeConfig};
use ipc::api::store::StoreRequest;
use ipc::frame::{self, FrameDecoder, FrameError};
use openraft::error::{InstallSnapshotError, RaftError};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Version of this protocol; both sides must speak the same (3: an entry carries the seed of
/// its randomness).
pub const PEER_VERSION: u32 = 3;

/// Largest frame either side accepts: a batch of log entries or a snapshot chunk.
pub const MAX_FRAME: u32 = 64 * 1024 * 1024;

/// How long a peer may take for its hello.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(5);

/// The first frame each way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerHello {
    /// [`PEER_VERSION`] of the sender.
    pub version: u32,
    /// The sender's node id.
    pub node: NodeId,
}

/// A request from one node to another.
#[derive(Debug, Serialize, Deserialize)]
#[allow(clippy::large_enum_variant)]
pub enum PeerRequest {
    /// Raft: entries (or a heartbeat) from the leader.
    AppendEntries(AppendEntriesRequest<TypeConfig>),
    /// Raft: a candidate asks for a vote.
    Vote(VoteRequest<NodeId>),
    /// Raft: a chunk of a snapshot from the leader.
    InstallSnapshot(InstallSnapshotRequest<TypeConfig>),
    /// A write a follower's client made, for the leader to propose.
    Write(StoreRequest),
}

/// The answer to a [`PeerRequest`], of the same name.
#[derive(Debug, Serialize, Deserialize)]
#[allow(clippy::large_enum_variant)]
pub enum PeerResponse {
    /// Raft's answer to entries.
    AppendEntries(Result<AppendEntriesResponse<NodeId>, RaftError<NodeId>>),
    /// Raft's answer to a vote request.
    Vote(Result<VoteResponse<NodeId>, RaftError<NodeId>>),
    /// Raft's answer to a snapshot chunk.
    InstallSnapshot(
        Result<InstallSnapshotResponse<NodeId>, RaftError<NodeId, InstallSnapshotError>>,
    ),
    /// The forwarded write, applied on the leader; `index` is its log entry's (none when it
    /// was not committed), so the follower answers once it applied the entry too.
    Write {
        /// The committed entry's log index.
        index: Option<u64>,
        /// The leader's answer.
        answer: Applied,
    },
    /// The forwarded write was not made: this node is not the leader (it names the one it
    /// knows, if any).
    NotLeader(Option<NodeId>),
}

/// Why a peer connection failed.
#[derive(Debug)]
pub enum WireError {
    /// The socket or TLS failed.
    Io(std::io::Error),
    /// A bad frame.
    Frame(FrameError),
    /// The peer closed the connection.
    Closed,
    /// The peer speaks another version.
    Version(u32),
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(e) => write!(f, "{e}"),
            Self::Frame(e) => write!(f, "{e}"),
            Self::Closed => f.write_str("the peer closed the connection"),
            Self::Version(v) => write!(
                f,
                "the peer speaks cluster protocol {v}, this node {PEER_VERSION}: every node must run the same release"
            ),
        }
    }
}

impl std::error::Error for WireError {}

impl From<std::io::Error> for WireError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e)
    }
}

impl From<FrameError> for WireError {
    fn from(e: FrameError) -> Self {
        Self::Frame(e)
    }
}

/// A framed connection to a peer over any stream (TLS in service, plain in unit tests).
pub struct Framed<S> {
    stream: S,
    decoder: FrameDecoder,
    buf: Box<[u8]>,
}

impl<S> Framed<S> {
    /// The stream inside.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Framed<S> {
    /// Wraps `stream`.
    pub fn new(stream: S) -> Self {
        Self {
            stream,
            decoder: FrameDecoder::new(MAX_FRAME),
            buf: vec![0u8; 64 * 1024].into_boxed_slice(),
        }
    }

    /// Sends one message.
    ///
    /// # Errors
    /// [`WireError`].
    pub async fn send<T: Serialize>(&mut self, msg: &T) -> Result<(), WireError> {
        let bytes = frame::encode(msg, MAX_FRAME)?;
        self.stream.write_all(&bytes).await?;
        self.stream.flush().await?;
        Ok(())
    }

    /// The next message.
    ///
    /// # Errors
    /// [`WireError::Closed`] when the peer closed cleanly, else the failure.
    pub async fn recv<T: DeserializeOwned>(&mut self) -> Result<T, WireError> {
        loop {
            if let Some(msg) = self.decoder.next_message()? {
                return Ok(msg);
            }
            let n = self.stream.read(&mut self.buf).await?;
            if n == 0 {
                self.decoder.finish()?;
                return Err(WireError::Closed);
            }
            self.decoder.push(&self.buf[..n])?;
        }
    }

    /// Exchanges hellos: ours out, theirs in (within [`HELLO_TIMEOUT`]); returns the peer's
    /// node id.
    ///
    /// # Errors
    /// [`WireError::Version`] for another version; a timeout as [`WireError::Io`].
    pub async fn hello(&mut self, me: NodeId) -> Result<NodeId, WireError> {
        self.send(&PeerHello {
            version: PEER_VERSION,
            node: me,
        })
        .await?;
        let theirs: PeerHello = tokio::time::timeout(HELLO_TIMEOUT, self.recv())
            .await
            .map_err(|_| {
                WireError::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the peer sent no hello in time",
                ))
            })??;
        if theirs.version != PEER_VERSION {
            return Err(WireError::Version(theirs.version));
        }
        Ok(theirs.node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hellos_of_the_same_version_pass_and_another_version_is_refused() {
        let (a, b) = tokio::io::duplex(1024);
        let (mut a, mut b) = (Framed::new(a), Framed::new(b));
        let (x, y) = tokio::join!(a.hello(1), b.hello(2));
        assert_eq!((x.unwrap(), y.unwrap()), (2, 1));

        let (a, b) = tokio::io::duplex(1024);
        let (mut a, mut b) = (Framed::new(a), Framed::new(b));
        let other = async {
            b.send(&PeerHello {
                version: PEER_VERSION + 1,
                node: 2,
            })
            .await
            .unwrap();
        };
        let (mine, ()) = tokio::join!(a.hello(1), other);
        assert!(matches!(mine, Err(WireError::Version(v)) if v == PEER_VERSION + 1));
    }

    #[tokio::test]
    async fn an_oversize_frame_is_refused_before_its_body_is_read() {
        let (mut a, b) = tokio::io::duplex(1024);
        let mut b = Framed::new(b);
        // A header announcing one byte more than the limit, and no body at all.
        a.write_all(&(MAX_FRAME + 1).to_be_bytes()).await.unwrap();
        let got: Result<PeerHello, _> = b.recv().await;
        assert!(
            matches!(got, Err(WireError::Frame(FrameError::TooLarge { .. }))),
            "{got:?}"
        );
    }

    #[tokio::test]
    async fn garbage_is_a_bad_frame() {
        let (mut a, b) = tokio::io::duplex(1024);
        let mut b = Framed::new(b);
        a.write_all(&[0, 0, 0, 3, 0xff, 0xff, 0xff]).await.unwrap();
        let got: Result<PeerRequest, _> = b.recv().await;
        assert!(matches!(got, Err(WireError::Frame(_))), "{got:?}");
    }
}
