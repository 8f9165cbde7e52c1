//! The listeners: TLS on the MAXI port (12624) and, when configured, the plain debug
//! listener on loopback (profile §10 "MAXI"; logged as such). At most
//! [`MAX_CLIENTS`](crate::service::MAX_CLIENTS) clients logged in at once, counted at a
//! successful `Open`; connections that have not logged in yet hold one of
//! [`MAX_PRE_LOGIN`](crate::service::MAX_PRE_LOGIN) places, at most
//! [`MAX_PRE_LOGIN_PER_ADDRESS`](crate::service::MAX_PRE_LOGIN_PER_ADDRESS) per address,
//! for the handshake timeout. A connection beyond either gets
//! `OpenResp errCode="ENoMem"` to its first request and is closed, and is counted as a
//! failed connection.

use crate::connection;
use crate::service::{PreLogin, PreLoginFull, Service};
use crate::statistics::bump;
use axi::{ErrCode, ErrorInfo, Frame};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Refusals of busy-ness being answered at once at most; more are closed at accept.
const REFUSING_AT_ONCE: usize = 8;

/// How a listener speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// TLS with the MOM's certificate.
    Tls,
    /// Plain TCP, for debugging (loopback only).
    Plain,
}

impl Transport {
    fn name(self) -> &'static str {
        match self {
            Self::Tls => "tls",
            Self::Plain => "plain-debug",
        }
    }
}

/// Accepts clients on `listener` for ever.
pub async fn serve(service: Arc<Service>, listener: TcpListener, transport: Transport) {
    let refusing = Arc::new(AtomicUsize::new(0));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "MAXI accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let service = Arc::clone(&service);
        let pre_login = match PreLogin::take(&service, peer.ip()) {
            Ok(p) => p,
            Err(full) => {
                bump(&service.stats.failed_connections);
                if refusing.fetch_add(1, Ordering::AcqRel) >= REFUSING_AT_ONCE {
                    refusing.fetch_sub(1, Ordering::AcqRel);
                    tracing::debug!(%peer, ?full, "MAXI client closed at accept: too many connections logging in");
                    continue;
                }
                let refusing = Arc::clone(&refusing);
                tokio::spawn(async move {
                    let why = match full {
                        PreLoginFull::All => "too many MAXI connections are logging in",
                        PreLoginFull::Address => {
                            "too many MAXI connections from this address are logging in"
                        }
                    };
                    if let Some(held) = service.may_warn("refused") {
                        tracing::warn!(%peer, transport = transport.name(), more_refused = held, "MAXI client refused: {why}");
                        service
                            .log(
                                model::Severity::Warning,
                                format!("MAXI client {} refused: {why}", peer.ip()),
                            )
                            .await;
                    }
                    let deadline = Instant::now() + service.handshake_timeout;
                    let _ = tokio::time::timeout_at(
                        deadline.into(),
                        refuse(&service, stream, transport, why),
                    )
                    .await;
                    refusing.fetch_sub(1, Ordering::AcqRel);
                });
                continue;
            }
        };
        tokio::spawn(async move {
            let deadline = Instant::now() + service.handshake_timeout;
            match transport {
                Transport::Plain => {
                    connection::serve(
                        Arc::clone(&service),
                        stream,
                        peer,
                        transport.name(),
                        (deadline, pre_login),
                    )
                    .await;
                }
                Transport::Tls => {
                    let Some(stream) = handshake(&service, stream, peer, deadline).await else {
                        bump(&service.stats.failed_connections);
                        return;
                    };
                    connection::serve(
                        Arc::clone(&service),
                        stream,
                        peer,
                        transport.name(),
                        (deadline, pre_login),
                    )
                    .await;
                }
            }
        });
    }
}

async fn handshake(
    service: &Service,
    stream: TcpStream,
    peer: SocketAddr,
    deadline: Instant,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    let Some(config) = service.tls_config() else {
        if let Some(held) = service.may_warn("no certificate") {
            tracing::warn!(%peer, more_refused = held, "MAXI client refused: svc-web has not handed the MOM's certificate yet");
        }
        return None;
    };
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    match tokio::time::timeout_at(deadline.into(), acceptor.accept(stream)).await {
        Ok(Ok(s)) => Some(s),
        Ok(Err(e)) => {
            tracing::info!(%peer, error = %e, "MAXI TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::info!(%peer, "MAXI TLS handshake not finished in time; closed");
            None
        }
    }
}

/// Answers a client beyond a limit: its first request gets `ENoMem` with `why` (as
/// `OpenResp` for an `Open`), then the connection closes.
async fn refuse(service: &Service, stream: TcpStream, transport: Transport, why: &str) {
    match transport {
        Transport::Plain => refuse_on(stream, why).await,
        Transport::Tls => {
            let Some(config) = service.tls_config() else {
                return;
            };
            if let Ok(s) = tokio_rustls::TlsAcceptor::from(config).accept(stream).await {
                refuse_on(s, why).await;
            }
        }
    }
}

async fn refuse_on<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, why: &str) {
    let limits = axi::Limits::default();
    let mut splitter = axi::frame::Splitter::new(&limits);
    let mut buf = [0u8; 4096];
    loop {
        let Ok(n) = stream.read(&mut buf).await else {
            return;
        };
        if n == 0 {
            return;
        }
        splitter.push(&buf[..n]);
        match splitter.next_frame() {
            Ok(None) => continue,
            Ok(Some(frame)) => {
                let (name, seq) = match axi::xml::parse(&frame, &limits) {
                    Ok(e) => (e.name.clone(), e.attr("seq").map(str::to_owned)),
                    Err(_) => return,
                };
                let answer =
                    Frame::error_response(&name, seq, ErrorInfo::new(ErrCode::ENoMem).info(why));
                let _ = stream.write_all(&axi::encode(&answer)).await;
                let _ = stream.flush().await;
                let _ = stream.shutdown().await;
                return;
            }
            Err(_) => return,
        }
    }
}
