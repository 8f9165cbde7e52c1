//! The listeners: HTTPS (HTTP/1.1 and HTTP/2 over rustls) and plain HTTP that only
//! redirects to HTTPS. hyper does the HTTP; this module adds the limits: a connection cap,
//! a per-address cap with headroom for addresses that hold few connections, a TLS handshake
//! timeout, a header-read (slow client and idle keep-alive) timeout, an idle timeout for
//! HTTP/2 connections (hyper has none: a client that answers pings would hold its
//! connection for ever), a header size limit, and the client's address for the handlers.

use crate::app::App;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderValue, Request, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// Limits of the listeners.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections served at once per listener; more wait in the kernel's backlog.
    pub max_connections: usize,
    /// A TLS handshake must finish within this.
    pub handshake_timeout: Duration,
    /// A request's headers must arrive within this, and an idle keep-alive connection is
    /// closed after it.
    pub header_timeout: Duration,
    /// The largest request head (request line and headers).
    pub max_header_bytes: usize,
    /// Connections one client address may hold at once.
    pub max_per_address: usize,
    /// Once this many connections are held in all, an address that holds
    /// [`Limits::light_use`] or more gets no new one: the rest is headroom for addresses
    /// not seen before, so a few addresses cannot fill the listener.
    pub crowded: usize,
    /// Connections an address may hold and still get one more when the listener is crowded.
    pub light_use: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 512,
            handshake_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(30),
            max_header_bytes: 64 * 1024,
            max_per_address: 64,
            crowded: 384,
            light_use: 4,
        }
    }
}

impl Limits {
    /// The limits with `max_connections` and `header_timeout`; the crowding point follows
    /// the connection cap (three quarters of it).
    #[must_use]
    pub fn new(max_connections: usize, header_timeout: Duration) -> Self {
        let max_connections = max_connections.max(1);
        Self {
            max_connections,
            header_timeout,
            max_per_address: Self::default().max_per_address.min(max_connections),
            crowded: max_connections * 3 / 4,
            ..Self::default()
        }
    }
}

fn builder(limits: Limits) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(limits.max_header_bytes);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
        .max_concurrent_streams(64)
        .keep_alive_interval(Some(limits.header_timeout))
        .keep_alive_timeout(Duration::from_secs(10));
    builder
}

/// Serves `router` over TLS on `listener` until the task is dropped.
pub async fn serve_https(
    listener: TcpListener,
    router: axum::Router,
    app: Arc<App>,
    limits: Limits,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let per_address = Arc::new(PerAddress::default());
    let builder = Arc::new(builder(limits));
    loop {
        let Ok(permit) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, say: wait a little rather than spin.
                tracing::warn!(error = %e, "cannot accept an HTTPS connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        // Small answers go out at once, not after the peer's delayed ACK (40 ms).
        let _ = stream.set_nodelay(true);
        let local = stream.local_addr().ok();
        let Some(held) = PerAddress::hold(&per_address, peer.ip(), &limits) else {
            app.metrics.refused_connections.inc();
            tracing::debug!(peer = %peer, "connection refused: too many from this address");
            continue;
        };
        let acceptor = tokio_rustls::TlsAcceptor::from(app.tls.config());
        let router = router.clone();
        let builder = Arc::clone(&builder);
        tokio::spawn(async move {
            let _permit = permit;
            let _held = held;
            let tls = match tokio::time::timeout(limits.handshake_timeout, acceptor.accept(stream))
                .await
            {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::debug!(peer = %peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(peer = %peer, "TLS handshake timed out");
                    return;
                }
            };
            let activity = Activity::default();
            let tracked = activity.clone();
            let service =
                hyper::service::service_fn(move |mut request: Request<hyper::body::Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(peer));
                    if let Some(local) = local {
                        request
                            .extensions_mut()
                            .insert(crate::provisioning::LocalAddr(local));
                    }
                    // Busy until the answer's body is sent (or dropped): a download that
                    // takes longer than the idle timeout is not idle.
                    let busy = tracked.begin();
                    let answer = router.clone().oneshot(request);
                    async move {
                        answer
                            .await
                            .map(|response| response.map(|body| Tracked { body, _busy: busy }))
                    }
                });
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(tls), service);
            tokio::pin!(connection);
            let mut tick = tokio::time::interval(limits.header_timeout / 4);
            loop {
                tokio::select! {
                    _ = connection.as_mut() => return,
                    _ = tick.tick() => {
                        if activity.idle_for() >= limits.header_timeout {
                            // Idle: no request in flight and no answer being produced for
                            // the whole timeout (HTTP/2 answers pings without a request).
                            // What is still buffered for the client goes out first: a slow
                            // reader of the last bytes of a download gets them, within
                            // GRACEFUL_CLOSE.
                            connection.as_mut().graceful_shutdown();
                            let _ = tokio::time::timeout(GRACEFUL_CLOSE, connection.as_mut()).await;
                            return;
                        }
                    }
                }
            }
        });
    }
}

/// How long an idle connection's graceful close may take to hand out what is buffered.
const GRACEFUL_CLOSE: Duration = Duration::from_secs(600);

/// An answer's body that keeps its connection busy ([`Busy`]) until it is sent or dropped.
struct Tracked {
    body: axum::body::Body,
    _busy: Busy,
}

impl hyper::body::Body for Tracked {
    type Data = <axum::body::Body as hyper::body::Body>::Data;
    type Error = <axum::body::Body as hyper::body::Body>::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

/// A connection's requests in flight and when the last one began or ended, for the idle
/// timeout.
#[derive(Debug, Clone, Default)]
struct Activity(Arc<std::sync::Mutex<(usize, Option<std::time::Instant>)>>);

/// One request in flight until dropped.
struct Busy(Activity);

impl Activity {
    fn lock(&self) -> std::sync::MutexGuard<'_, (usize, Option<std::time::Instant>)> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn begin(&self) -> Busy {
        let mut state = self.lock();
        state.0 += 1;
        state.1 = Some(std::time::Instant::now());
        Busy(self.clone())
    }

    /// How long nothing has been in flight (zero while a request is).
    fn idle_for(&self) -> Duration {
        let mut state = self.lock();
        if state.0 > 0 {
            return Duration::ZERO;
        }
        state
            .1
            .get_or_insert_with(std::time::Instant::now)
            .elapsed()
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.0 = state.0.saturating_sub(1);
        state.1 = Some(std::time::Instant::now());
    }
}

/// Connections held per client address.
#[derive(Debug, Default)]
struct PerAddress(service_kit::tally::Tally<std::net::IpAddr>);

/// One connection counted for its address until dropped.
type Held = service_kit::tally::Held<std::net::IpAddr>;

impl PerAddress {
    /// Counts a connection of `address`, or `None` when it already holds
    /// [`Limits::max_per_address`], or [`Limits::light_use`] while the listener is crowded.
    fn hold(table: &Arc<Self>, address: std::net::IpAddr, limits: &Limits) -> Option<Held> {
        let (max, crowded, light) = (
            limits.max_per_address as u64,
            limits.crowded as u64,
            limits.light_use as u64,
        );
        table
            .0
            .take(&address, |total, here| {
                if here >= max || (total >= crowded && here >= light) {
                    Err(())
                } else {
                    Ok(1)
                }
            })
            .ok()
    }
}

/// Serves the plain-HTTP listener: every request is redirected to HTTPS (308, method and
/// body kept), to the name it asked for when that is one of the MOM's `names`, else to
/// the address it connected to. The same per-address limits as HTTPS.
pub async fn serve_redirect(
    listener: TcpListener,
    https_port: u16,
    limits: Limits,
    names: Arc<Vec<String>>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let per_address = Arc::new(PerAddress::default());
    let builder = Arc::new(builder(limits));
    loop {
        let Ok(permit) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let Ok((stream, peer)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let Some(held) = PerAddress::hold(&per_address, peer.ip(), &limits) else {
            tracing::debug!(peer = %peer, "HTTP connection refused: too many from this address");
            continue;
        };
        let local = stream.local_addr().ok();
        let builder = Arc::clone(&builder);
        let names = Arc::clone(&names);
        tokio::spawn(async move {
            let _permit = permit;
            let _held = held;
            let service =
                hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
                    let answer = redirect(&request, local, https_port, &names);
                    async move { Ok::<_, std::convert::Infallible>(answer) }
                });
            let _ = builder
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// The host of a `Host` header without its port, if it is a plain name or address (never
/// anything that could smuggle a path or a header into the redirect).
fn host_name(host: &str) -> Option<&str> {
    let name = if let Some(v6) = host.strip_prefix('[') {
        let end = v6.find(']')?;
        &host[..end + 2]
    } else {
        host.split(':').next()?
    };
    let ok = !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'));
    ok.then_some(name)
}

/// The redirect answer for one plain-HTTP request: to the `Host` it named when that is one
/// of the MOM's `names` (never a name a client made up), else to the local address.
fn redirect<B>(
    request: &Request<B>,
    local: Option<SocketAddr>,
    https_port: u16,
    names: &[String],
) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(host_name)
        .filter(|h| {
            let bare = h.trim_start_matches('[').trim_end_matches(']');
            names.iter().any(|n| n.eq_ignore_ascii_case(bare))
        })
        .map(str::to_owned)
        .or_else(|| {
            local.map(|a| match a {
                SocketAddr::V4(v4) => v4.ip().to_string(),
                SocketAddr::V6(v6) => format!("[{}]", v6.ip()),
            })
        })
        .unwrap_or_else(|| "localhost".into());
    let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
    let port = if https_port == 443 {
        String::new()
    } else {
        format!(":{https_port}")
    };
    let target = format!("https://{host}{port}{path}");
    match target
        .parse::<Uri>()
        .ok()
        .and_then(|u| HeaderValue::from_str(&u.to_string()).ok())
    {
        Some(location) => (
            StatusCode::PERMANENT_REDIRECT,
            [(header::LOCATION, location)],
        )
            .into_response(),
        None => (StatusCode::BAD_REQUEST, "bad request").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_holds_at_most_its_share_and_gets_it_back() {
        let table = Arc::new(PerAddress::default());
        let a: std::net::IpAddr = "192.0.2.1".parse().unwrap();
        let b: std::net::IpAddr = "192.0.2.2".parse().unwrap();
        let limits = Limits {
            max_per_address: 2,
            ..Limits::default()
        };
        let first = PerAddress::hold(&table, a, &limits).unwrap();
        let _second = PerAddress::hold(&table, a, &limits).unwrap();
        assert!(PerAddress::hold(&table, a, &limits).is_none());
        assert!(
            PerAddress::hold(&table, b, &limits).is_some(),
            "another address is not affected"
        );
        drop(first);
        assert!(PerAddress::hold(&table, a, &limits).is_some());
    }

    #[test]
    fn a_crowded_listener_keeps_headroom_for_addresses_that_hold_few() {
        let table = Arc::new(PerAddress::default());
        let limits = Limits::new(16, Duration::from_secs(30));
        assert_eq!((limits.crowded, limits.max_per_address), (12, 16));
        let heavy: std::net::IpAddr = "192.0.2.1".parse().unwrap();
        let held: Vec<Held> = std::iter::from_fn(|| PerAddress::hold(&table, heavy, &limits))
            .take(16)
            .collect();
        assert_eq!(held.len(), 12, "one address stops where crowding starts");
        for i in 0..4u8 {
            let light = std::net::IpAddr::from([198, 51, 100, i]);
            assert!(
                PerAddress::hold(&table, light, &limits).is_some(),
                "new address {i}"
            );
        }
    }

    #[tokio::test]
    async fn activity_counts_requests_in_flight_and_idle_time() {
        let activity = Activity::default();
        let busy = activity.begin();
        assert_eq!(activity.idle_for(), Duration::ZERO);
        drop(busy);
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(activity.idle_for() >= Duration::from_millis(30));
    }

    fn location(host: Option<&str>, path: &str, port: u16) -> String {
        let mut builder = Request::builder().uri(path);
        if let Some(h) = host {
            builder = builder.header(header::HOST, h);
        }
        let request = builder.body(()).unwrap();
        let names = ["mom.example".to_owned(), "::1".to_owned()];
        let response = redirect(
            &request,
            Some("192.0.2.1:80".parse().unwrap()),
            port,
            &names,
        );
        assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
        response.headers()[header::LOCATION]
            .to_str()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn redirects_keep_host_and_path_and_drop_a_bad_host() {
        assert_eq!(
            location(Some("mom.example:80"), "/a?b=1", 443),
            "https://mom.example/a?b=1"
        );
        assert_eq!(
            location(Some("mom.example"), "/", 8443),
            "https://mom.example:8443/"
        );
        assert_eq!(
            location(Some("[::1]:8080"), "/x", 8443),
            "https://[::1]:8443/x"
        );
        assert_eq!(location(None, "/x", 443), "https://192.0.2.1/x");
        assert_eq!(
            location(Some("evil.example/@x"), "/x", 443),
            "https://192.0.2.1/x"
        );
        assert_eq!(
            location(Some("evil.example"), "/x", 443),
            "https://192.0.2.1/x",
            "a name the MOM does not have is not copied"
        );
    }
}
