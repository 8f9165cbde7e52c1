//! An HTTPS client of svc-web for the end-to-end tests: real TLS (rustls, with the versions
//! and suites a test asks for), HTTP/2 or HTTP/1.1 by ALPN, the session cookie and CSRF token
//! kept like a browser keeps them, and the server certificate's fingerprint recorded.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// Accepts the MOM's self-signed certificate and records its SHA-256 (signatures checked).
#[derive(Debug, Default)]
struct Recording {
    seen: Mutex<Option<String>>,
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        cert: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let hex: Vec<String> = Sha256::digest(cert.as_ref())
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        *self.seen.lock().unwrap() = Some(hex.join(":"));
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            m,
            c,
            d,
            &rustls::crypto::ring::default_provider().signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            m,
            c,
            d,
            &rustls::crypto::ring::default_provider().signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A client configuration that accepts the MOM's self-signed certificate (recording its
/// fingerprint in `verifier` when given), offering `versions` and these ALPN protocols.
#[must_use]
pub fn client_config(
    versions: &[&'static rustls::SupportedProtocolVersion],
    alpn: &[&[u8]],
) -> rustls::ClientConfig {
    client_config_recording(versions, None, alpn, Arc::new(Recording::default()))
}

fn client_config_recording(
    versions: &[&'static rustls::SupportedProtocolVersion],
    suites: Option<Vec<rustls::SupportedCipherSuite>>,
    alpn: &[&[u8]],
    verifier: Arc<Recording>,
) -> rustls::ClientConfig {
    let mut provider = rustls::crypto::ring::default_provider();
    if let Some(suites) = suites {
        provider.cipher_suites = suites;
    }
    let provider = Arc::new(provider);
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .expect("versions")
        .dangerous()
        .with_custom_certificate_verifier(verifier as Arc<dyn ServerCertVerifier>)
        .with_no_client_auth();
    tls.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    tls
}

/// Which TLS the client offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// TLS 1.3 and 1.2, every suite (like a browser).
    Any,
    /// Only TLS 1.2.
    Tls12Only,
    /// Only TLS 1.2 with the ECDHE ChaCha20 suites (refused at level High).
    Tls12ChaCha,
}

/// One answer.
#[derive(Debug)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: reqwest::header::HeaderMap,
    /// Body as JSON (`Null` when it is not JSON).
    pub json: Value,
    /// Body as text.
    pub text: String,
    /// HTTP version.
    pub version: reqwest::Version,
}

impl Answer {
    /// The message of an error answer.
    #[must_use]
    pub fn message(&self) -> String {
        self.json["message"].as_str().unwrap_or("").to_owned()
    }

    /// The error code of an error answer.
    #[must_use]
    pub fn code(&self) -> &str {
        self.json["error"].as_str().unwrap_or("")
    }

    /// A header as text.
    #[must_use]
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    }
}

/// The live-event WebSocket of a [`Web`] client.
pub struct Events<'a> {
    web: &'a Web,
    socket:
        tokio_tungstenite::WebSocketStream<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>,
}

impl Events<'_> {
    /// The next event, or `None` when none comes within `timeout` or the stream ended.
    pub fn next(&mut self, timeout: std::time::Duration) -> Option<Value> {
        use futures_util::StreamExt;
        let socket = &mut self.socket;
        self.web.rt.block_on(async {
            loop {
                match tokio::time::timeout(timeout, socket.next()).await {
                    Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text)))) => {
                        return serde_json::from_str(&text).ok();
                    }
                    Ok(Some(Ok(_))) => {}
                    _ => return None,
                }
            }
        })
    }

    /// Waits for an event that `pick` accepts, skipping others; `None` after `timeout`.
    pub fn wait_for(
        &mut self,
        timeout: std::time::Duration,
        pick: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.checked_duration_since(std::time::Instant::now())?;
            let event = self.next(left)?;
            if pick(&event) {
                return Some(event);
            }
        }
    }
}

/// A browser-like client of one MOM.
pub struct Web {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
    base: String,
    addr: SocketAddr,
    tls: Arc<rustls::ClientConfig>,
    verifier: Arc<Recording>,
    /// The session cookie, once logged in.
    pub cookie: Option<String>,
    /// The CSRF token, once logged in.
    pub csrf: Option<String>,
}

impl Web {
    /// A client of `https` offering `offer`.
    #[must_use]
    pub fn new(https: SocketAddr, offer: Offer) -> Self {
        Self::build(https, offer, None)
    }

    /// A client of `https` whose connections come from the loopback address `source`, as
    /// another host's would (the MOM throttles by client address).
    #[must_use]
    pub fn from_source(https: SocketAddr, source: std::net::IpAddr) -> Self {
        Self::build(https, Offer::Any, Some(source))
    }

    fn build(https: SocketAddr, offer: Offer, source: Option<std::net::IpAddr>) -> Self {
        let verifier = Arc::new(Recording::default());
        use rustls::crypto::ring::cipher_suite as cs;
        let (versions, suites): (&[&rustls::SupportedProtocolVersion], _) = match offer {
            Offer::Any => (&[&rustls::version::TLS13, &rustls::version::TLS12], None),
            Offer::Tls12Only => (&[&rustls::version::TLS12], None),
            Offer::Tls12ChaCha => (
                &[&rustls::version::TLS12],
                Some(vec![
                    cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
                    cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
                ]),
            ),
        };
        let ws_tls = client_config_recording(
            versions,
            suites.clone(),
            &[b"http/1.1"],
            Arc::clone(&verifier),
        );
        let tls = client_config_recording(
            versions,
            suites,
            &[b"h2", b"http/1.1"],
            Arc::clone(&verifier),
        );
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let client = {
            let _guard = rt.enter();
            reqwest::Client::builder()
                .use_preconfigured_tls(tls)
                .redirect(reqwest::redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(30))
                .local_address(source)
                .build()
                .expect("client")
        };
        Self {
            rt,
            client,
            base: format!("https://{https}"),
            addr: https,
            tls: Arc::new(ws_tls),
            verifier,
            cookie: None,
            csrf: None,
        }
    }

    /// Opens the live-event WebSocket (over HTTP/1.1, with the session cookie).
    ///
    /// # Panics
    /// When the connection or the upgrade fails.
    #[must_use]
    pub fn events(&self, query: &str) -> Events<'_> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let url = format!("wss://{}/api/v1/events{query}", self.addr);
        let mut request = url.into_client_request().expect("request");
        if let Some(cookie) = &self.cookie {
            request.headers_mut().insert(
                "cookie",
                format!("mom_session={cookie}").parse().expect("cookie"),
            );
        }
        let connector = tokio_rustls::TlsConnector::from(Arc::clone(&self.tls));
        let addr = self.addr;
        let socket = self.rt.block_on(async move {
            let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
            let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
            let tls = connector.connect(name, tcp).await.expect("TLS");
            tokio_tungstenite::client_async(request, tls)
                .await
                .expect("WebSocket upgrade")
                .0
        });
        Events { web: self, socket }
    }

    /// The SHA-256 of the certificate the server presented last.
    #[must_use]
    pub fn server_fingerprint(&self) -> Option<String> {
        self.verifier.seen.lock().unwrap().clone()
    }

    /// A request; `body` is sent as JSON when given. The cookie and CSRF token go along.
    ///
    /// # Errors
    /// The transport error (TLS refused, connection closed).
    pub fn try_send(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Answer, reqwest::Error> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", format!("mom_session={cookie}"));
        }
        if let Some(csrf) = &self.csrf {
            request = request.header("x-csrf-token", csrf);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        self.rt.block_on(async {
            let response = request.send().await?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let version = response.version();
            let text = response.text().await?;
            let json = serde_json::from_str(&text).unwrap_or(Value::Null);
            Ok(Answer {
                status,
                headers,
                json,
                text,
                version,
            })
        })
    }

    /// A request authenticated by an API token instead of the session.
    #[must_use]
    pub fn send_with_token(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(body);
        }
        self.finish(request)
    }

    fn finish(&self, request: reqwest::RequestBuilder) -> Answer {
        self.rt.block_on(async {
            let response = request.send().await.expect("request");
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let version = response.version();
            let text = response.text().await.expect("body");
            let json = serde_json::from_str(&text).unwrap_or(Value::Null);
            Answer {
                status,
                headers,
                json,
                text,
                version,
            }
        })
    }

    /// A raw request with the given body bytes and content type (for malformed input).
    #[must_use]
    pub fn send_raw(&self, method: &str, path: &str, content_type: &str, body: Vec<u8>) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body);
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", format!("mom_session={cookie}"));
        }
        if let Some(csrf) = &self.csrf {
            request = request.header("x-csrf-token", csrf);
        }
        self.finish(request)
    }

    /// A request with extra headers and a raw body (empty: none), as an OMM or a download
    /// manager sends it; the session cookie and CSRF token go along when set.
    #[must_use]
    pub fn send_with(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        if !body.is_empty() {
            request = request.body(body);
        }
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", format!("mom_session={cookie}"));
        }
        if let Some(csrf) = &self.csrf {
            request = request.header("x-csrf-token", csrf);
        }
        self.finish(request)
    }

    /// Login requests sent all at once as streams of this client's one HTTP/2 connection;
    /// the status of each, in order.
    ///
    /// # Panics
    /// When a request gets no answer.
    #[must_use]
    pub fn logins_at_once(&self, logins: &[(&str, &str)]) -> Vec<u16> {
        // One request first, so that the client knows the connection speaks HTTP/2 and
        // sends the rest as streams of it rather than opening a connection each.
        assert_eq!(self.get("/healthz").status, 200);
        let _runtime = self.rt.enter();
        let requests = logins.iter().map(|(name, password)| {
            self.client
                .post(format!("{}/api/v1/session", self.base))
                .json(&serde_json::json!({"name": name, "password": password}))
                .send()
        });
        self.rt
            .block_on(futures_util::future::join_all(requests))
            .into_iter()
            .map(|r| r.expect("an answer").status().as_u16())
            .collect()
    }

    /// A request that must get an answer.
    #[must_use]
    pub fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Answer {
        self.try_send(method, path, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e:?}"))
    }

    /// GET of a binary answer: its status and bytes.
    #[must_use]
    pub fn get_bytes(&self, path: &str) -> (u16, Vec<u8>) {
        let mut request = self.client.get(format!("{}{path}", self.base));
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", format!("mom_session={cookie}"));
        }
        self.rt.block_on(async {
            let response = request.send().await.expect("request");
            let status = response.status().as_u16();
            (status, response.bytes().await.expect("body").to_vec())
        })
    }

    /// GET.
    #[must_use]
    pub fn get(&self, path: &str) -> Answer {
        self.send("GET", path, None)
    }

    /// A client once svc-web at `https` answers `/healthz`.
    ///
    /// # Panics
    /// When it does not within 20 s.
    #[must_use]
    pub fn when_ready(https: SocketAddr) -> Self {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let web = Self::new(https, Offer::Any);
            if web
                .try_send("GET", "/healthz", None)
                .is_ok_and(|a| a.status == 200)
            {
                return web;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "svc-web did not answer on {https}"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    /// Uploads `bytes` as the provisioning resource file `path` (firmware images and the
    /// like, which OMMs fetch without credentials).
    ///
    /// # Panics
    /// When the MOM does not store it.
    pub fn put_resource(&self, path: &str, bytes: Vec<u8>) {
        let put = self.send_raw(
            "PUT",
            &format!("/api/v1/provisioning/resources/file?path={path}"),
            "application/octet-stream",
            bytes,
        );
        assert_eq!(put.status, 201, "{}", put.text);
    }

    /// A new API token of this session's account, named `name`: its secret.
    ///
    /// # Panics
    /// When the MOM does not make it.
    #[must_use]
    pub fn new_token(&self, name: &str) -> String {
        let made = self.send(
            "POST",
            "/api/v1/session/tokens",
            Some(&serde_json::json!({ "name": name })),
        );
        assert_eq!(made.status, 201, "{}", made.text);
        made.json["secret"].as_str().expect("secret").to_owned()
    }

    /// Logs in; keeps the cookie and CSRF token on success.
    pub fn login(&mut self, name: &str, password: &str) -> Answer {
        self.cookie = None;
        self.csrf = None;
        let answer = self.send(
            "POST",
            "/api/v1/session",
            Some(&serde_json::json!({"name": name, "password": password})),
        );
        if answer.status == 200 {
            self.take_session(&answer);
        }
        answer
    }

    /// The first login of an account an administrator made: logs in with `temporary` and
    /// replaces it with `next`, as the MOM requires; the session is kept.
    ///
    /// # Panics
    /// When either step is refused.
    pub fn login_replacing(&mut self, name: &str, temporary: &str, next: &str) {
        let login = self.login(name, temporary);
        assert_eq!(login.status, 200, "{}", login.text);
        assert_eq!(
            login.json["password_change_required"], true,
            "{}",
            login.text
        );
        let changed = self.send(
            "POST",
            "/api/v1/session/password",
            Some(&serde_json::json!({"old_password": temporary, "new_password": next})),
        );
        assert_eq!(changed.status, 204, "{}", changed.text);
    }

    /// Keeps the session of a successful login answer.
    pub fn take_session(&mut self, answer: &Answer) {
        let set = answer.header("set-cookie");
        let token = set
            .split(';')
            .next()
            .and_then(|kv| kv.strip_prefix("mom_session="))
            .expect("session cookie");
        self.cookie = Some(token.to_owned());
        self.csrf = answer.json["csrf_token"].as_str().map(str::to_owned);
    }

    /// The first login of a new MOM: accepts the EULA and replaces the default password.
    pub fn first_login(&mut self, new_password: &str) {
        assert_eq!(self.login("mom", "mom").status, 200);
        assert_eq!(self.send("POST", "/api/v1/eula/accept", None).status, 200);
        let changed = self.send(
            "POST",
            "/api/v1/session/password",
            Some(&serde_json::json!({"old_password": "mom", "new_password": new_password})),
        );
        assert_eq!(changed.status, 204, "{}", changed.text);
    }
}

/// A TLS connection to `https` for hand-written HTTP/1.1 (paths the `url` crate would
/// normalise, bodies broken off on purpose).
///
/// # Panics
/// When the connection or the handshake fails.
#[must_use]
pub fn raw_tls(
    https: SocketAddr,
) -> rustls::StreamOwned<rustls::ClientConnection, std::net::TcpStream> {
    let config = client_config(
        &[&rustls::version::TLS13, &rustls::version::TLS12],
        &[b"http/1.1"],
    );
    let tcp = std::net::TcpStream::connect(https).expect("connect");
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("timeout");
    let conn =
        rustls::ClientConnection::new(Arc::new(config), "localhost".try_into().expect("name"))
            .expect("TLS client");
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock).expect("handshake");
    }
    tls
}

/// Sends `head` (the request line and headers, without the blank line) on a new connection
/// with `Connection: close`, and returns the status and body of the answer.
///
/// # Panics
/// When the connection fails or the answer is not HTTP.
#[must_use]
pub fn raw_request(https: SocketAddr, head: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut tls = raw_tls(https);
    tls.write_all(format!("{head}\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes())
        .expect("write");
    let mut answer = Vec::new();
    let _ = tls.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}
