//! A MAXI client for tests: blocking, over TLS (accepting the MOM's self-signed
//! certificate) or the plain debug listener; requests by `seq`, events kept aside.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A byte stream to the MOM.
pub trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

/// One MAXI connection.
pub struct Maxi {
    stream: Box<dyn Stream>,
    tcp: TcpStream,
    buffer: Vec<u8>,
    events: VecDeque<String>,
    seq: u64,
}

impl Maxi {
    /// Connects over TLS to `addr`.
    ///
    /// # Panics
    /// When the connection or the handshake fails.
    #[must_use]
    pub fn tls(addr: SocketAddr) -> Self {
        Self::try_tls(addr).expect("MAXI TLS connection")
    }

    /// Connects over TLS to `addr`, or says why not.
    ///
    /// # Errors
    /// The I/O or TLS error.
    pub fn try_tls(addr: SocketAddr) -> std::io::Result<Self> {
        Self::try_tls_from(addr, None)
    }

    /// Connects over TLS to `addr` from the loopback address `source` (as another host
    /// would), or says why not.
    ///
    /// # Errors
    /// The I/O or TLS error.
    pub fn try_tls_from(
        addr: SocketAddr,
        source: Option<std::net::IpAddr>,
    ) -> std::io::Result<Self> {
        let config =
            crate::web::client_config(&[&rustls::version::TLS13, &rustls::version::TLS12], &[]);
        let tcp = match source {
            Some(source) => tcp_from(addr, source)?,
            None => TcpStream::connect(addr)?,
        };
        tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
        tcp.set_nodelay(true)?;
        let conn =
            rustls::ClientConnection::new(Arc::new(config), "localhost".try_into().expect("name"))
                .map_err(std::io::Error::other)?;
        let mut tls = rustls::StreamOwned::new(conn, tcp.try_clone()?);
        while tls.conn.is_handshaking() {
            tls.conn.complete_io(&mut tls.sock)?;
        }
        Ok(Self::over(Box::new(tls), tcp))
    }

    /// Logs in over TLS from `source`; the client and the `OpenResp`.
    ///
    /// # Panics
    /// When the connection fails.
    pub fn open_from(
        addr: SocketAddr,
        source: std::net::IpAddr,
        user: &str,
        password: &str,
    ) -> (Self, String) {
        let mut m = Self::try_tls_from(addr, Some(source)).expect("MAXI TLS connection");
        let open = m.open(user, password);
        (m, open)
    }

    /// Connects to the plain debug listener at `addr`.
    ///
    /// # Panics
    /// When the connection fails.
    #[must_use]
    pub fn plain(addr: SocketAddr) -> Self {
        let tcp = TcpStream::connect(addr).expect("MAXI plain connection");
        tcp.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        tcp.set_nodelay(true).expect("nodelay");
        Self::over(Box::new(tcp.try_clone().expect("clone")), tcp)
    }

    fn over(stream: Box<dyn Stream>, tcp: TcpStream) -> Self {
        Self {
            stream,
            tcp,
            buffer: Vec::new(),
            events: VecDeque::new(),
            seq: 0,
        }
    }

    /// Sends raw bytes.
    ///
    /// # Errors
    /// The write error.
    pub fn send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes)?;
        self.stream.flush()
    }

    /// The next frame from the MOM within `timeout`; `None` when the connection closed or
    /// nothing came.
    pub fn next_frame(&mut self, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(end) = self.buffer.iter().position(|b| *b == 0) {
                let frame: Vec<u8> = self.buffer.drain(..=end).collect();
                return Some(String::from_utf8_lossy(&frame[..end]).into_owned());
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            self.tcp
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .ok()?;
            let mut chunk = [0u8; 16384];
            match self.stream.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self.buffer.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return None
                }
                Err(_) => return None,
            }
        }
    }

    /// Sends `element` (an XML element without `seq` and without its NUL) with the next
    /// `seq` and returns the answer with that `seq`; events meanwhile are kept for
    /// [`Maxi::event`].
    ///
    /// # Panics
    /// When no answer comes within 10 s.
    pub fn request(&mut self, element: &str) -> String {
        self.try_request(element, Duration::from_secs(10))
            .unwrap_or_else(|| panic!("no answer to {element}"))
    }

    /// Like [`Maxi::request`]; `None` when no answer came within `timeout`.
    pub fn try_request(&mut self, element: &str, timeout: Duration) -> Option<String> {
        self.seq += 1;
        let seq = self.seq.to_string();
        let (head, tail) = element
            .find(['/', '>', ' '])
            .map_or((element, ""), |i| element.split_at(i));
        let frame = format!("{head} seq=\"{seq}\"{tail}\0");
        self.send_raw(frame.as_bytes()).ok()?;
        let marker = format!("seq=\"{seq}\"");
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            let frame = self.next_frame(left)?;
            if frame.contains(&marker) {
                return Some(frame);
            }
            self.events.push_back(frame);
        }
    }

    /// Logs in; the `OpenResp`.
    pub fn open(&mut self, user: &str, password: &str) -> String {
        self.request(&format!(
            "<Open username=\"{user}\" password=\"{password}\" protocolVersion=\"45\"/>"
        ))
    }

    /// The next event within `timeout`.
    pub fn event(&mut self, timeout: Duration) -> Option<String> {
        if let Some(e) = self.events.pop_front() {
            return Some(e);
        }
        self.next_frame(timeout)
    }

    /// The next event whose text contains `needle`, within `timeout`.
    pub fn event_with(&mut self, needle: &str, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            let e = self.event(left)?;
            if e.contains(needle) {
                return Some(e);
            }
        }
    }

    /// Whether the MOM closed the connection (read returns end of stream within `timeout`).
    pub fn closed_within(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            self.tcp
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .ok();
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => return true,
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return false
                }
                Err(_) => return true,
            }
        }
        false
    }
}

/// The value of attribute `name` in `frame`'s text, if present (first occurrence).
#[must_use]
pub fn attr<'f>(frame: &'f str, name: &str) -> Option<&'f str> {
    let key = format!(" {name}=\"");
    let start = frame.find(&key)? + key.len();
    let len = frame[start..].find('"')?;
    Some(&frame[start..start + len])
}

/// A TCP connection to `addr` from the loopback address `source`.
///
/// # Errors
/// The bind or connect error.
pub fn tcp_from(addr: SocketAddr, source: std::net::IpAddr) -> std::io::Result<TcpStream> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        None,
    )?;
    socket.bind(&SocketAddr::new(source, 0).into())?;
    socket.connect(&addr.into())?;
    Ok(socket.into())
}
