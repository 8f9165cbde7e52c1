//! A framed, typed connection over a Unix stream: `Channel<Rx, Tx>` receives only `Rx` and
//! sends only `Tx`, after both sides exchanged their [`Hello`].

use crate::frame::{self, FrameDecoder, FrameError};
use crate::hello::{decode_hello, Hello, HelloError, MAX_HELLO};
use crate::{Api, Envelope};
use serde::{de::DeserializeOwned, Serialize};
use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::UnixStream;

/// How long a peer may take to send its hello.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a connection failed. The connection is unusable afterwards.
#[derive(Debug)]
pub enum IpcError {
    /// Socket error.
    Io(std::io::Error),
    /// A bad frame from the peer.
    Frame(FrameError),
    /// The peer speaks another protocol version.
    VersionMismatch {
        /// Ours.
        ours: u32,
        /// Theirs.
        theirs: u32,
    },
    /// The peer did not send its hello in time.
    HelloTimeout,
    /// The peer closed the connection before its hello.
    ClosedBeforeHello,
    /// The peer's uid may not use this API.
    PeerNotAllowed {
        /// The peer's uid.
        uid: u32,
    },
}

impl fmt::Display for IpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "socket error: {e}"),
            Self::Frame(e) => write!(f, "{e}"),
            Self::VersionMismatch { ours, theirs } => write!(
                f,
                "peer speaks IPC protocol version {theirs}, this build speaks {ours}; \
                 all MOM binaries must come from the same release"
            ),
            Self::HelloTimeout => f.write_str("peer sent no hello in time"),
            Self::ClosedBeforeHello => f.write_str("peer closed the connection before its hello"),
            Self::PeerNotAllowed { uid } => write!(f, "uid {uid} may not use this socket"),
        }
    }
}

impl std::error::Error for IpcError {}

impl From<std::io::Error> for IpcError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e)
    }
}

impl From<FrameError> for IpcError {
    fn from(e: FrameError) -> Self {
        Self::Frame(e)
    }
}

/// The receiving half of a channel.
pub struct Receiver<Rx> {
    stream: OwnedReadHalf,
    decoder: FrameDecoder,
    buf: Box<[u8]>,
    _rx: PhantomData<fn() -> Rx>,
}

impl<Rx: DeserializeOwned> Receiver<Rx> {
    /// The next message, or `None` when the peer closed the connection cleanly.
    ///
    /// # Errors
    /// [`IpcError`] on a socket error, a bad frame or a connection cut inside a frame.
    pub async fn recv(&mut self) -> Result<Option<Rx>, IpcError> {
        loop {
            if let Some(msg) = self.decoder.next_message()? {
                return Ok(Some(msg));
            }
            let n = self.stream.read(&mut self.buf).await?;
            if n == 0 {
                self.decoder.finish()?;
                return Ok(None);
            }
            self.decoder.push(&self.buf[..n])?;
        }
    }
}

/// Bytes [`Sender::send_all`] gathers before it writes.
pub const WRITE_COALESCE: usize = 64 * 1024;

/// The sending half of a channel.
pub struct Sender<Tx> {
    stream: OwnedWriteHalf,
    max: u32,
    _tx: PhantomData<fn(Tx)>,
}

impl<Tx: Serialize> Sender<Tx> {
    /// Sends one message.
    ///
    /// # Errors
    /// [`IpcError`] when the message is too large or the socket fails.
    pub async fn send(&mut self, msg: &Tx) -> Result<(), IpcError> {
        let bytes = frame::encode(msg, self.max)?;
        self.stream.write_all(&bytes).await?;
        Ok(())
    }

    /// Sends messages with as few writes as it can (each frame carries its length, so
    /// frames may follow each other in one write): a burst of change events costs one system
    /// call on each side instead of one per event. A write carries at most
    /// [`WRITE_COALESCE`] bytes beyond its last frame, so large answers are not all held
    /// encoded at once.
    ///
    /// # Errors
    /// As [`Sender::send`]; the messages before a too large one are sent.
    pub async fn send_all(&mut self, msgs: &[Tx]) -> Result<(), IpcError> {
        let mut bytes = Vec::new();
        for msg in msgs {
            bytes.extend_from_slice(&frame::encode(msg, self.max)?);
            if bytes.len() >= WRITE_COALESCE {
                self.stream.write_all(&bytes).await?;
                bytes.clear();
            }
        }
        if !bytes.is_empty() {
            self.stream.write_all(&bytes).await?;
        }
        Ok(())
    }
}

/// A typed connection after the hello exchange.
pub struct Channel<Rx, Tx> {
    /// Receiving half.
    pub rx: Receiver<Rx>,
    /// Sending half.
    pub tx: Sender<Tx>,
    /// The peer's hello.
    pub peer: Hello,
}

/// The server end of an API connection.
pub type ServerChannel<A> = Channel<Envelope<<A as Api>::Request>, Envelope<<A as Api>::Response>>;
/// The client end of an API connection.
pub type ClientChannel<A> = Channel<Envelope<<A as Api>::Response>, Envelope<<A as Api>::Request>>;

impl<Rx: DeserializeOwned, Tx: Serialize> Channel<Rx, Tx> {
    /// Exchanges hellos on `stream` and returns the typed channel.
    ///
    /// # Errors
    /// [`IpcError`] when the peer's hello is missing, late, malformed or of another version.
    pub async fn handshake(stream: UnixStream, me: &Hello, max: u32) -> Result<Self, IpcError> {
        let (read, mut write) = stream.into_split();
        write.write_all(&frame::encode(me, MAX_HELLO)?).await?;
        // The hello is read with its own limit: a peer cannot make the handshake buffer a
        // frame of the channel's (much larger) size before it has even said who it is.
        let mut decoder = FrameDecoder::new(MAX_HELLO);
        let mut buf = vec![0u8; 64 * 1024].into_boxed_slice();
        let mut read = read;
        let read_hello = async {
            loop {
                if let Some(body) = decoder.next_body()? {
                    return match decode_hello(&body) {
                        Ok(hello) => Ok(hello),
                        Err(HelloError::VersionMismatch { ours, theirs }) => {
                            Err(IpcError::VersionMismatch { ours, theirs })
                        }
                        Err(HelloError::Frame(e)) => Err(IpcError::Frame(e)),
                    };
                }
                let n = read.read(&mut buf).await?;
                if n == 0 {
                    return Err(IpcError::ClosedBeforeHello);
                }
                decoder.push(&buf[..n])?;
            }
        };
        let peer = tokio::time::timeout(HELLO_TIMEOUT, read_hello)
            .await
            .map_err(|_| IpcError::HelloTimeout)??;
        // Frames that arrived right behind the hello stay buffered in the decoder.
        decoder.set_max(max);
        Ok(Self {
            rx: Receiver {
                stream: read,
                decoder,
                buf,
                _rx: PhantomData,
            },
            tx: Sender {
                stream: write,
                max,
                _tx: PhantomData,
            },
            peer,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::store::{StoreApi, StoreRequest, StoreResponse};

    /// A store channel over a socket pair: the server's end ("store") and the client's ("cli").
    async fn connected() -> (ServerChannel<StoreApi>, ClientChannel<StoreApi>) {
        let (a, b) = UnixStream::pair().unwrap();
        let (store, cli) = (Hello::new("store", 1), Hello::new("cli", 0));
        let (server, client) = tokio::join!(
            Channel::handshake(a, &store, StoreApi::MAX_FRAME),
            Channel::handshake(b, &cli, StoreApi::MAX_FRAME),
        );
        (server.unwrap(), client.unwrap())
    }

    #[tokio::test]
    async fn typed_request_and_response_cross_a_socketpair() {
        let (mut server, mut ch) = connected().await;
        let server = tokio::spawn(async move {
            let req = server.rx.recv().await.unwrap().unwrap();
            assert_eq!(req.body, StoreRequest::CurrentRevision);
            server
                .tx
                .send(&Envelope {
                    id: req.id,
                    body: StoreResponse::Revision(42),
                })
                .await
                .unwrap();
            server.peer
        });
        assert_eq!(ch.peer.service, "store");
        ch.tx
            .send(&Envelope {
                id: 9,
                body: StoreRequest::CurrentRevision,
            })
            .await
            .unwrap();
        let resp = ch.rx.recv().await.unwrap().unwrap();
        assert_eq!(resp.id, 9);
        assert_eq!(resp.body, StoreResponse::Revision(42));
        assert_eq!(server.await.unwrap().service, "cli");
    }

    #[tokio::test]
    async fn messages_sent_in_one_write_arrive_one_by_one_in_order() {
        let (mut server, mut ch) = connected().await;
        let burst: Vec<_> = (1..=40_000)
            .map(|rev| Envelope {
                id: crate::api::EVENT_ID,
                body: StoreResponse::Revision(rev),
            })
            .collect();
        let encoded: usize = burst
            .iter()
            .map(|e| frame::encode(e, StoreApi::MAX_FRAME).unwrap().len())
            .sum();
        assert!(encoded > 2 * WRITE_COALESCE, "more than one write's worth");
        let server = tokio::spawn(async move {
            server.tx.send_all(&burst).await.unwrap();
            server
        });
        for rev in 1..=40_000 {
            let event = ch.rx.recv().await.unwrap().unwrap();
            assert_eq!(event.body, StoreResponse::Revision(rev));
        }
        drop(server.await.unwrap());
        assert!(ch.rx.recv().await.unwrap().is_none(), "nothing more");
    }

    #[tokio::test]
    async fn version_mismatch_is_refused() {
        let (a, b) = UnixStream::pair().unwrap();
        tokio::spawn(async move {
            let mut hello = Hello::new("old", 0);
            hello.proto_version += 1;
            let mut a = a;
            a.write_all(&frame::encode(&hello, MAX_HELLO).unwrap())
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_secs(1)).await;
        });
        let err = ClientChannel::<StoreApi>::handshake(b, &Hello::new("cli", 0), 1024)
            .await
            .err()
            .unwrap();
        assert!(matches!(err, IpcError::VersionMismatch { .. }), "{err}");
    }

    #[tokio::test]
    async fn a_hello_over_its_own_limit_is_refused_though_the_channel_allows_more() {
        let (mut a, b) = UnixStream::pair().unwrap();
        let big = Hello::new(&"x".repeat(2 * MAX_HELLO as usize), 0);
        let body = postcard::to_allocvec(&big).unwrap();
        a.write_all(&u32::try_from(body.len()).unwrap().to_be_bytes())
            .await
            .unwrap();
        a.write_all(&body).await.unwrap();
        let err =
            ClientChannel::<StoreApi>::handshake(b, &Hello::new("cli", 0), StoreApi::MAX_FRAME)
                .await
                .err()
                .unwrap();
        assert!(
            matches!(
                err,
                IpcError::Frame(FrameError::TooLarge { max: MAX_HELLO, .. })
            ),
            "{err}"
        );
    }

    #[tokio::test]
    async fn garbage_instead_of_hello_is_refused() {
        let (mut a, b) = UnixStream::pair().unwrap();
        a.write_all(b"\x00\x00\x00\x03\xff\xff\xff").await.unwrap();
        let err = ClientChannel::<StoreApi>::handshake(b, &Hello::new("cli", 0), 1024)
            .await
            .err()
            .unwrap();
        assert!(matches!(err, IpcError::Frame(_)), "{err}");
    }

    #[tokio::test]
    async fn oversize_frame_after_hello_closes_the_connection() {
        let (a, b) = UnixStream::pair().unwrap();
        let peer = tokio::spawn(async move {
            let mut ch: ClientChannel<StoreApi> =
                Channel::handshake(a, &Hello::new("cli", 0), 1024)
                    .await
                    .unwrap();
            ch.tx
                .stream
                .write_all(&u32::MAX.to_be_bytes())
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(200)).await;
        });
        let mut ch: ServerChannel<StoreApi> = Channel::handshake(b, &Hello::new("store", 0), 1024)
            .await
            .unwrap();
        let err = ch.rx.recv().await.err().unwrap();
        assert!(
            matches!(err, IpcError::Frame(FrameError::TooLarge { .. })),
            "{err}"
        );
        peer.await.unwrap();
    }

    #[tokio::test]
    async fn connection_cut_inside_a_frame_is_truncated() {
        let (a, b) = UnixStream::pair().unwrap();
        tokio::spawn(async move {
            let ch: ClientChannel<StoreApi> = Channel::handshake(a, &Hello::new("cli", 0), 1024)
                .await
                .unwrap();
            let mut w = ch.tx.stream;
            w.write_all(&[0, 0, 0, 10, 1, 2]).await.unwrap();
        });
        let mut ch: ServerChannel<StoreApi> = Channel::handshake(b, &Hello::new("store", 0), 1024)
            .await
            .unwrap();
        let err = ch.rx.recv().await.err().unwrap();
        assert!(
            matches!(err, IpcError::Frame(FrameError::Truncated { have: 6 })),
            "{err}"
        );
    }
}
