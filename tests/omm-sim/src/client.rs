//! A small AXI client for tests and benchmarks: one link, requests with `seq`, events queued.

use axi::{Frame, Limits, Message, Splitter};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// Why a request got no answer.
#[derive(Debug)]
pub enum ClientError {
    /// Socket or TLS error.
    Io(std::io::Error),
    /// The peer closed the link.
    Closed,
    /// No answer in time.
    Timeout,
    /// The peer broke a limit or sent a malformed frame.
    Protocol(String),
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(e) => write!(f, "{e}"),
            Self::Closed => f.write_str("link closed"),
            Self::Timeout => f.write_str("timed out"),
            Self::Protocol(e) => write!(f, "protocol error: {e}"),
        }
    }
}

impl std::error::Error for ClientError {}

/// One AXI link.
pub struct AxiClient {
    stream: Box<dyn Stream>,
    splitter: Splitter,
    limits: Limits,
    next_seq: u64,
    events: VecDeque<Frame>,
    /// How long a request waits for its answer.
    pub timeout: Duration,
}

impl AxiClient {
    /// Connects over TLS, accepting any certificate (the OMMs' are self-signed).
    ///
    /// # Errors
    /// [`ClientError::Io`].
    pub async fn connect_tls(addr: SocketAddr) -> Result<Self, ClientError> {
        let tcp = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(ClientError::Io)?;
        let _ = tcp.set_nodelay(true);
        let config = crate::provision::Fetcher::lenient_config();
        let name = rustls::pki_types::ServerName::try_from("localhost")
            .map_err(|e| ClientError::Protocol(e.to_string()))?;
        let tls = tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(ClientError::Io)?;
        Ok(Self::over(Box::new(tls)))
    }

    /// Connects without TLS.
    ///
    /// # Errors
    /// [`ClientError::Io`].
    pub async fn connect_plain(addr: SocketAddr) -> Result<Self, ClientError> {
        let tcp = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(ClientError::Io)?;
        let _ = tcp.set_nodelay(true);
        Ok(Self::over(Box::new(tcp)))
    }

    fn over(stream: Box<dyn Stream>) -> Self {
        let limits = Limits::default();
        Self {
            stream,
            splitter: Splitter::new(&limits),
            limits,
            next_seq: 1,
            events: VecDeque::new(),
            timeout: Duration::from_secs(10),
        }
    }

    /// Sends raw bytes (for fault tests).
    ///
    /// # Errors
    /// [`ClientError::Io`].
    pub async fn send_raw(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        self.stream
            .write_all(bytes)
            .await
            .map_err(ClientError::Io)?;
        self.stream.flush().await.map_err(ClientError::Io)
    }

    /// Sends a frame.
    ///
    /// # Errors
    /// [`ClientError::Io`].
    pub async fn send(&mut self, frame: &Frame) -> Result<(), ClientError> {
        let bytes = axi::encode(frame);
        self.send_raw(&bytes).await
    }

    /// The next frame from the link.
    ///
    /// # Errors
    /// [`ClientError`] on close, timeout or a bad frame.
    pub async fn recv(&mut self) -> Result<Frame, ClientError> {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            if let Some(bytes) = self
                .splitter
                .next_frame()
                .map_err(|e| ClientError::Protocol(e.to_string()))?
            {
                return axi::decode(&bytes, &self.limits)
                    .map_err(|e| ClientError::Protocol(e.to_string()));
            }
            let n = tokio::time::timeout(self.timeout, self.stream.read(&mut buf))
                .await
                .map_err(|_| ClientError::Timeout)?
                .map_err(ClientError::Io)?;
            if n == 0 {
                return Err(ClientError::Closed);
            }
            self.splitter.push(&buf[..n]);
        }
    }

    /// Sends a request with the next `seq` and waits for its answer; events that arrive
    /// meanwhile are queued for [`AxiClient::next_event`].
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn request(&mut self, message: impl Into<Message>) -> Result<Frame, ClientError> {
        let seq = self.next_seq.to_string();
        self.next_seq += 1;
        self.send(&Frame::new(Some(seq.clone()), message)).await?;
        loop {
            let frame = self.recv().await?;
            if frame.seq.as_deref() == Some(seq.as_str()) {
                return Ok(frame);
            }
            if frame.seq.is_none() {
                self.events.push_back(frame);
            }
        }
    }

    /// The next event, waiting up to `wait`.
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn next_event(&mut self, wait: Duration) -> Result<Frame, ClientError> {
        if let Some(e) = self.events.pop_front() {
            return Ok(e);
        }
        let saved = self.timeout;
        self.timeout = wait;
        let result = loop {
            match self.recv().await {
                Ok(f) if f.seq.is_none() => break Ok(f),
                Ok(_) => {}
                Err(e) => break Err(e),
            }
        };
        self.timeout = saved;
        result
    }

    /// Logs in; returns the `OpenResp` frame.
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn open(
        &mut self,
        username: &str,
        password: &str,
        sync: bool,
    ) -> Result<Frame, ClientError> {
        self.request(axi::message::Open {
            username: username.to_owned(),
            password: password.to_owned(),
            protocol_version: Some(45),
            user_device_sync_client: sync.then_some(true),
            mom_extensions: None,
        })
        .await
    }
}

impl crate::provision::Fetcher {
    /// A client configuration that accepts any server certificate.
    #[must_use]
    pub fn lenient_config() -> Arc<rustls::ClientConfig> {
        Self::new(&[]).lenient_client()
    }
}
