//! One AXI connection to an OMM: requests matched to answers by `seq`, events queued, and
//! the limits of the profile on everything read. A link that breaks a limit, sends a bad
//! frame or lets its event queue overflow is closed; nothing it does can stall another.

use axi::{Frame, Limits, Message, Splitter};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

/// Events a link may queue before it counts as hostile. They are queued boxed: the queue
/// allocates its slots 32 at a time, and 32 unboxed frames would be 6 KB per idle link.
const EVENT_QUEUE: usize = 4096;

/// Why a request or connection failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkError {
    /// Could not connect (TCP, name, timeout).
    Connect(String),
    /// The TCP connection stood, the TLS handshake failed.
    Handshake(String),
    /// The link closed (or was closed for a protocol error, in the text).
    Closed(String),
    /// No answer within the timeout.
    Timeout,
}

impl std::fmt::Display for LinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Connect(e) => write!(f, "cannot connect: {e}"),
            Self::Handshake(e) => write!(f, "TLS handshake failed: {e}"),
            Self::Closed(e) => write!(f, "link closed: {e}"),
            Self::Timeout => f.write_str("the OMM did not answer in time"),
        }
    }
}

type Pending = Arc<Mutex<HashMap<String, oneshot::Sender<Frame>>>>;

/// A connected AXI link.
pub struct AxiLink {
    out: mpsc::Sender<Vec<u8>>,
    pending: Pending,
    next_seq: AtomicU64,
    closed: Arc<Mutex<Option<String>>>,
    /// How long a request waits.
    pub timeout: Duration,
    /// The MOM's own address on this connection: where the OMM reaches the MOM.
    pub local_addr: Option<std::net::SocketAddr>,
}

impl AxiLink {
    /// Connects to `host:port` over TLS and starts the reader and writer tasks; returns the
    /// link and its event stream (which ends when the link closes).
    ///
    /// # Errors
    /// [`LinkError::Connect`].
    pub async fn connect(
        host: &str,
        port: u16,
        tls: Arc<rustls::ClientConfig>,
        timeout: Duration,
        limits: Limits,
    ) -> Result<(Self, mpsc::Receiver<Box<Frame>>), LinkError> {
        let connect = async {
            let tcp = tokio::net::TcpStream::connect((host, port))
                .await
                .map_err(|e| LinkError::Connect(e.to_string()))?;
            let _ = tcp.set_nodelay(true);
            let local = tcp.local_addr().ok();
            let name = rustls::pki_types::ServerName::try_from(host.to_owned())
                .map_err(|e| LinkError::Connect(e.to_string()))?;
            tokio_rustls::TlsConnector::from(tls)
                .connect(name, tcp)
                .await
                .map(|stream| (stream, local))
                .map_err(|e| LinkError::Handshake(e.to_string()))
        };
        let (stream, local_addr) = tokio::time::timeout(Duration::from_secs(10), connect)
            .await
            .map_err(|_| LinkError::Connect("timed out".into()))??;
        let (mut read, mut write) = tokio::io::split(stream);
        let (out, mut out_rx) = mpsc::channel::<Vec<u8>>(1024);
        let (events_tx, events) = mpsc::channel(EVENT_QUEUE);
        let pending: Pending = Arc::default();
        let closed: Arc<Mutex<Option<String>>> = Arc::default();
        tokio::spawn(async move {
            while let Some(bytes) = out_rx.recv().await {
                if write.write_all(&bytes).await.is_err() || write.flush().await.is_err() {
                    break;
                }
            }
            let _ = write.shutdown().await;
        });
        let reader_pending = Arc::clone(&pending);
        let reader_closed = Arc::clone(&closed);
        tokio::spawn(async move {
            let reason = read_loop(&mut read, &limits, &reader_pending, &events_tx).await;
            *reader_closed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(reason);
            // Dropping the answer senders fails every request in flight.
            reader_pending
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clear();
        });
        Ok((
            Self {
                out,
                pending,
                next_seq: AtomicU64::new(1),
                closed,
                timeout,
                local_addr,
            },
            events,
        ))
    }

    /// Why the link closed, once it has.
    #[must_use]
    pub fn closed_reason(&self) -> Option<String> {
        self.closed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Sends a request and waits for its answer.
    ///
    /// # Errors
    /// [`LinkError::Closed`] or [`LinkError::Timeout`].
    pub async fn request(&self, message: impl Into<Message>) -> Result<Frame, LinkError> {
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed).to_string();
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(seq.clone(), tx);
        let bytes = axi::encode(&Frame::new(Some(seq.clone()), message));
        if self.out.send(bytes).await.is_err() {
            return Err(LinkError::Closed(self.closed_reason().unwrap_or_default()));
        }
        match tokio::time::timeout(self.timeout, rx).await {
            Ok(Ok(frame)) => Ok(frame),
            Ok(Err(_)) => Err(LinkError::Closed(
                self.closed_reason().unwrap_or_else(|| "closed".into()),
            )),
            Err(_) => {
                self.pending
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .remove(&seq);
                Err(LinkError::Timeout)
            }
        }
    }
}

async fn read_loop(
    read: &mut (impl AsyncReadExt + Unpin),
    limits: &Limits,
    pending: &Pending,
    events: &mpsc::Sender<Box<Frame>>,
) -> String {
    let mut splitter = Splitter::new(limits);
    // Small: every link holds it while idle, and TLS hands over at most a record at a time.
    let mut buf = vec![0u8; 4 * 1024];
    loop {
        let n = match read.read(&mut buf).await {
            Ok(0) => return "the OMM closed the link".into(),
            Ok(n) => n,
            Err(e) => return e.to_string(),
        };
        splitter.push(&buf[..n]);
        loop {
            let bytes = match splitter.next_frame() {
                Ok(Some(b)) => b,
                Ok(None) => break,
                Err(e) => return format!("the OMM broke a limit: {e}"),
            };
            let frame = match axi::decode(&bytes, limits) {
                Ok(f) => f,
                Err(e) => return format!("bad frame from the OMM: {e}"),
            };
            match frame.seq.clone() {
                Some(seq) => {
                    let waiter = pending
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .remove(&seq);
                    if let Some(w) = waiter {
                        let _ = w.send(frame);
                    }
                }
                None => {
                    if events.try_send(Box::new(frame)).is_err() {
                        return "the OMM sends events faster than they are handled".into();
                    }
                }
            }
        }
    }
}

/// How a link's session ended.
#[derive(Debug)]
pub enum End {
    /// The OMM restarts after its SARI was set: reconnect soon.
    SariRestart,
    /// The link failed; the text is for the health state and the event log.
    Failed(String),
}

impl From<LinkError> for End {
    fn from(e: LinkError) -> Self {
        End::Failed(e.to_string())
    }
}
