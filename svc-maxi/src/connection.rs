//! One client's connection, over TLS or the plain debug listener alike: frames in through
//! the splitter and the session, answers and events out through a bounded send queue.
//!
//! - The login must be done within the handshake timeout; after it, a client that sends
//!   nothing (not even `Ping`) for the idle timeout is closed.
//! - A frame that is not XML or breaks a limit closes the connection (profile §1); a known
//!   request with a missing or mistyped attribute is answered `EMissing`/`EInval bad` and
//!   the connection goes on.
//! - Answers and events wait in a queue bounded in frames and in bytes; one write per
//!   frame. A client whose queue overflows or whose socket takes a write for longer than
//!   [`WRITE_TIMEOUT`] has stopped reading: it is cut off with a log line, so it never slows
//!   the MOM, the OMM links or the other clients.

use crate::events::{note_interest, Event, Subscriptions};
use crate::login::{self, Outcome};
use crate::requests::{self, Caller};
use crate::service::{PreLogin, Service, Slot};
use crate::session::{Session, Step};
use crate::statistics::bump;
use axi::{DecodeError, ErrCode, ErrorInfo, Frame, Limits};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{broadcast, mpsc, Notify};

/// Frames waiting for one client at most.
pub const QUEUE_FRAMES: usize = 16 * 1024;
/// Bytes waiting for one client at most.
pub const QUEUE_BYTES: usize = 8 << 20;
/// A single write may take this long.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// MAXI's limits (profile §1 defaults).
fn limits() -> Limits {
    Limits::default()
}

/// Why a connection ended, for the log.
#[derive(Debug)]
enum End {
    Closed,
    Idle,
    LoginTimeout,
    Io(String),
    Protocol(String),
    CutOff(&'static str),
    /// Logged in while every client place was taken.
    Full,
}

/// What the send side and the writer task share: the bytes queued, and why the client was
/// cut off (with a notification for the reader).
#[derive(Default)]
struct QueueState {
    queued: AtomicUsize,
    cut: Notify,
    reason: Mutex<Option<&'static str>>,
}

impl QueueState {
    fn cut_off(&self, why: &'static str) {
        self.reason
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get_or_insert(why);
        self.cut.notify_one();
    }

    fn reason(&self) -> Option<&'static str> {
        *self
            .reason
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The send side: a bounded queue to the writer task. The writer holds only the
/// [`QueueState`], so the queue closes (and the writer ends) when the last `Outbox` goes.
#[derive(Clone)]
struct Outbox {
    tx: mpsc::Sender<Arc<[u8]>>,
    state: Arc<QueueState>,
}

impl Outbox {
    /// Queues `bytes`; on overflow the client is cut off and `false` returned.
    fn push(&self, bytes: Arc<[u8]>) -> bool {
        let len = bytes.len();
        let queued = self.state.queued.fetch_add(len, Ordering::AcqRel) + len;
        if queued > QUEUE_BYTES || self.tx.try_send(bytes).is_err() {
            self.state.queued.fetch_sub(len, Ordering::AcqRel);
            self.cut_off("its send queue is full");
            return false;
        }
        true
    }

    fn cut_off(&self, why: &'static str) {
        self.state.cut_off(why);
    }

    fn reason(&self) -> Option<&'static str> {
        self.state.reason()
    }
}

/// Serves one client on `stream` until it leaves, idles, breaks the protocol or stops
/// reading. `login_deadline` is when its login must be done; `pre_login` is its place until
/// then, traded for a client [`Slot`] at a successful `Open`.
pub async fn serve<S>(
    service: Arc<Service>,
    stream: S,
    peer: SocketAddr,
    transport: &'static str,
    (login_deadline, pre_login): (Instant, PreLogin),
) where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut reader, mut writer) = tokio::io::split(stream);
    let (tx, mut rx) = mpsc::channel::<Arc<[u8]>>(QUEUE_FRAMES);
    let outbox = Outbox {
        tx,
        state: Arc::default(),
    };
    let writer_task = {
        let outbox = Arc::clone(&outbox.state);
        let service = Arc::clone(&service);
        tokio::spawn(async move {
            while let Some(bytes) = rx.recv().await {
                if outbox.reason().is_some() {
                    // Cut off: nothing more goes to it.
                    return;
                }
                let written = tokio::time::timeout(WRITE_TIMEOUT, async {
                    writer.write_all(&bytes).await?;
                    writer.flush().await
                })
                .await;
                outbox.queued.fetch_sub(bytes.len(), Ordering::AcqRel);
                match written {
                    Ok(Ok(())) => {
                        service
                            .stats
                            .bytes_sent
                            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                    }
                    Ok(Err(_)) => {
                        outbox.cut_off("its connection failed");
                        return;
                    }
                    Err(_) => {
                        outbox.cut_off("it stopped reading");
                        return;
                    }
                }
            }
            let _ = writer.shutdown().await;
        })
    };
    let subscriptions = Arc::new(Mutex::new(Subscriptions::default()));
    let mut client = Client {
        service: Arc::clone(&service),
        session: Session::new(service.protocol_version, env!("CARGO_PKG_VERSION")),
        caller: None,
        peer,
        outbox: outbox.clone(),
        subscriptions: Arc::clone(&subscriptions),
        forwarder: None,
        pre_login: Some(pre_login),
        slot: None,
    };
    let end = client.run(&mut reader, login_deadline).await;
    if let Some(f) = client.forwarder.take() {
        f.abort();
    }
    let types = subscriptions
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .types();
    note_interest(&service, &[], &types);
    let account = client.caller.as_ref().map(|c| c.account.clone());
    drop(client);
    drop(outbox);
    // Let the answers already queued go out (a last error), unless it was cut off; then
    // the connection closes.
    let mut writer_task = writer_task;
    if !matches!(end, End::CutOff(_)) {
        let _ = tokio::time::timeout(Duration::from_secs(2), &mut writer_task).await;
    }
    writer_task.abort();
    let account = account.as_deref().map(model::printable).unwrap_or_default();
    match end {
        End::Closed => tracing::info!(%peer, transport, %account, "MAXI client left"),
        End::CutOff(why) => {
            if let Some(held) = service.may_warn("cut off") {
                tracing::warn!(%peer, transport, %account, why, more_cut_off = held, "MAXI client cut off");
                service
                    .log(
                        model::Severity::Warning,
                        format!("MAXI client {} ({account}) cut off: {why}", peer.ip()),
                    )
                    .await;
            }
        }
        End::LoginTimeout => {
            bump(&service.stats.failed_connections);
            tracing::info!(%peer, transport, "MAXI client did not log in in time; closed");
        }
        End::Protocol(why) => {
            bump(&service.stats.failed_requests);
            if let Some(held) = service.may_warn("protocol") {
                tracing::warn!(%peer, transport, %account, %why, more_closed = held, "MAXI client broke the protocol; closed");
            }
        }
        End::Io(why) => tracing::info!(%peer, transport, %account, %why, "MAXI connection failed"),
        End::Idle => {
            tracing::info!(%peer, transport, %account, "MAXI client idle too long; closed")
        }
        End::Full => {
            if let Some(held) = service.may_warn("refused") {
                tracing::warn!(%peer, transport, %account, more_refused = held, "MAXI client refused after its login: too many clients");
                service
                    .log(
                        model::Severity::Warning,
                        format!(
                            "MAXI client {} ({account}) refused: {} clients are connected already",
                            peer.ip(),
                            crate::service::MAX_CLIENTS
                        ),
                    )
                    .await;
            }
        }
    }
}

struct Client {
    service: Arc<Service>,
    session: Session,
    caller: Option<Caller>,
    peer: SocketAddr,
    outbox: Outbox,
    subscriptions: Arc<Mutex<Subscriptions>>,
    forwarder: Option<tokio::task::JoinHandle<()>>,
    /// Its place while not logged in.
    pre_login: Option<PreLogin>,
    /// Its place among the logged-in clients.
    slot: Option<Slot>,
}

impl Client {
    async fn run<R: AsyncRead + Unpin>(&mut self, reader: &mut R, login_deadline: Instant) -> End {
        let mut splitter = axi::frame::Splitter::new(&limits());
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let deadline = if self.caller.is_some() {
                tokio::time::Instant::now() + self.service.idle_timeout
            } else {
                tokio::time::Instant::from_std(login_deadline)
            };
            let state = Arc::clone(&self.outbox.state);
            let n = tokio::select! {
                read = tokio::time::timeout_at(deadline, reader.read(&mut buf)) => match read {
                    Ok(Ok(0)) => return End::Closed,
                    Ok(Ok(n)) => n,
                    Ok(Err(e)) => return End::Io(e.to_string()),
                    Err(_) if self.caller.is_some() => return End::Idle,
                    Err(_) => return End::LoginTimeout,
                },
                () = state.cut.notified() => return End::CutOff(self.outbox.reason().unwrap_or("it stopped reading")),
            };
            self.service
                .stats
                .bytes_received
                .fetch_add(n as u64, Ordering::Relaxed);
            splitter.push(&buf[..n]);
            loop {
                let frame = match splitter.next_frame() {
                    Ok(Some(f)) => f,
                    Ok(None) => break,
                    Err(e) => return End::Protocol(e.to_string()),
                };
                if let Err(end) = self.on_frame(&frame).await {
                    return end;
                }
                if let Some(why) = self.outbox.reason() {
                    return End::CutOff(why);
                }
            }
        }
    }

    fn send(&self, frame: &Frame) -> Result<(), End> {
        if frame.error.is_some() {
            bump(&self.service.stats.failed_requests);
        }
        if self.outbox.push(axi::encode(frame).into()) {
            Ok(())
        } else {
            Err(End::CutOff("its send queue is full"))
        }
    }

    async fn on_frame(&mut self, bytes: &[u8]) -> Result<(), End> {
        bump(&self.service.stats.requests);
        let element =
            axi::xml::parse(bytes, &limits()).map_err(|e| End::Protocol(e.to_string()))?;
        let name = element.name.clone();
        let seq = element.attr("seq").map(str::to_owned);
        let frame = match Frame::from_owned(element) {
            Ok(f) => f,
            Err(DecodeError::Missing { name: bad, .. }) => {
                return self.send(&Frame::error_response(
                    &name,
                    seq,
                    ErrorInfo::new(ErrCode::EMissing)
                        .bad(&bad)
                        .info("a required part is missing"),
                ));
            }
            Err(DecodeError::WrongType { name: bad, .. }) => {
                return self.send(&Frame::error_response(
                    &name,
                    seq,
                    ErrorInfo::new(ErrCode::EInval)
                        .bad(&bad)
                        .info("the value does not fit the attribute"),
                ));
            }
            Err(e) => return Err(End::Protocol(e.to_string())),
        };
        match self.session.on_frame(frame) {
            Step::Answer(answer) => self.send(&answer),
            Step::Login {
                seq,
                username,
                password,
                extensions,
            } => {
                let answer = match login::check(&self.service, &username, &password, self.peer.ip())
                    .await
                {
                    Outcome::Accepted { account, access } => {
                        // Counted now, not at accept: silent connections take no client's place.
                        let Some(slot) = Slot::take(&self.service) else {
                            bump(&self.service.stats.failed_connections);
                            let _ = self.send(&Frame::error_response(
                                "Open",
                                seq,
                                ErrorInfo::new(ErrCode::ENoMem).info("too many MAXI clients"),
                            ));
                            return Err(End::Full);
                        };
                        self.slot = Some(slot);
                        self.pre_login = None;
                        tracing::info!(peer = %self.peer, account = %model::printable(&account), ?access, "MAXI client logged in");
                        self.caller = Some(Caller {
                            account,
                            source: self.peer.ip(),
                            client_key: None,
                            extensions,
                        });
                        let mut open = self.session.logged_in(seq, access);
                        if let axi::Message::OpenResp(r) = &mut open.message {
                            let (modulus, exponent) =
                                axi::secret::key_hex(&self.service.key.to_public_key());
                            let mut key = axi::PublicKey::default();
                            axi::record::AxiRecord::set_raw(&mut key, "modulus", modulus);
                            axi::record::AxiRecord::set_raw(&mut key, "exponent", exponent);
                            r.public_key = Some(key);
                        }
                        open
                    }
                    Outcome::Refused(info) => self.session.refused(seq, &info),
                };
                self.send(&answer)
            }
            Step::Serve { seq, request, .. } => {
                let Some(caller) = self.caller.as_mut() else {
                    return Err(End::Protocol("served before login".into()));
                };
                let subscribe = matches!(request, axi::Message::Subscribe(_));
                let answer =
                    requests::answer(&self.service, caller, &self.subscriptions, seq, request)
                        .await;
                let extensions = caller.extensions;
                if subscribe && self.forwarder.is_none() {
                    self.start_events(extensions);
                }
                self.send(&answer)
            }
        }
    }

    /// Starts offering this client the service's events (after its first `Subscribe`), in
    /// the form it asked for (with the MOM's extensions or without).
    fn start_events(&mut self, extensions: bool) {
        let mut events = self.service.events.subscribe();
        let subscriptions = Arc::clone(&self.subscriptions);
        let outbox = self.outbox.clone();
        let service = Arc::clone(&self.service);
        self.forwarder = Some(tokio::spawn(async move {
            loop {
                let event: Arc<Event> = match events.recv().await {
                    Ok(e) => e,
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        outbox.cut_off("it did not keep up with its events");
                        return;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                let wanted = subscriptions
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .matches(&event);
                if wanted {
                    if !outbox.push(Arc::clone(event.bytes(extensions))) {
                        return;
                    }
                    bump(&service.stats.events_sent);
                }
            }
        }));
    }
}
