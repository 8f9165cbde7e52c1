//! `SoftwareUpdate`: fetch `ipdect.cfg` from the configuration URL over HTTPS with the OMM's
//! credentials, and pick the commands this OMM would execute (those without `cloudId` and
//! those with its own, compared without regard to case).

use axi::record::AxiRecord;
use axi::ConfigUrl;
use base64::Engine;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Largest provisioning file accepted.
const MAX_FILE: usize = 4 << 20;

/// Accepts any server certificate: what an OMM does when `validateCerts="false"`.
#[derive(Debug)]
struct AcceptAny(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Fetches provisioning files for the OMMs of a fleet.
#[derive(Clone)]
pub struct Fetcher {
    lenient: Arc<rustls::ClientConfig>,
    strict: Arc<rustls::ClientConfig>,
}

impl Fetcher {
    /// A fetcher that, when asked to validate, trusts the DER certificates in `trusted`.
    #[must_use]
    pub fn new(trusted: &[Vec<u8>]) -> Self {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let lenient = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAny(Arc::clone(&provider))))
            .with_no_client_auth();
        let mut roots = rustls::RootCertStore::empty();
        for der in trusted {
            let _ = roots.add(CertificateDer::from(der.clone()));
        }
        let strict = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        Self {
            lenient: Arc::new(lenient),
            strict: Arc::new(strict),
        }
    }

    /// The configuration that accepts any certificate.
    #[must_use]
    pub fn lenient_client(&self) -> Arc<rustls::ClientConfig> {
        Arc::clone(&self.lenient)
    }

    /// Fetches `ipdect.cfg` from `url` (from the local address `source`, when given) and
    /// returns the commands an OMM with `cloud_id` runs.
    ///
    /// # Errors
    /// A text for connection, TLS, HTTP or format errors.
    pub async fn fetch(
        &self,
        url: &ConfigUrl,
        cloud_id: &str,
        source: Option<std::net::IpAddr>,
    ) -> Result<Vec<String>, String> {
        let body = tokio::time::timeout(Duration::from_secs(30), self.get(url, source))
            .await
            .map_err(|_| "fetch timed out".to_owned())??;
        select_commands(&body, cloud_id)
    }

    async fn get(
        &self,
        url: &ConfigUrl,
        source: Option<std::net::IpAddr>,
    ) -> Result<String, String> {
        let host = url.raw("host").ok_or("url has no host")?.to_owned();
        let port = url.get(ConfigUrl::PORT).unwrap_or(443);
        let folder = url.raw("path").unwrap_or("").trim_matches('/').to_owned();
        let path = if folder.is_empty() {
            "/ipdect.cfg".to_owned()
        } else {
            format!("/{folder}/ipdect.cfg")
        };
        let config = if url.get(ConfigUrl::VALIDATE_CERTS) == Some(true) {
            &self.strict
        } else {
            &self.lenient
        };
        let tcp = connect(&host, port, source)
            .await
            .map_err(|e| format!("connect {host}:{port}: {e}"))?;
        let name = ServerName::try_from(host.clone()).map_err(|e| e.to_string())?;
        let mut tls = tokio_rustls::TlsConnector::from(Arc::clone(config))
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS: {e}"))?;
        let credentials = format!(
            "{}:{}",
            url.raw("username").unwrap_or(""),
            url.raw("password").unwrap_or("")
        );
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Basic {}\r\nUser-Agent: omm-sim\r\nConnection: close\r\n\r\n",
            base64::engine::general_purpose::STANDARD.encode(credentials)
        );
        tls.write_all(request.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut response = Vec::new();
        tls.take(MAX_FILE as u64 + 64 * 1024)
            .read_to_end(&mut response)
            .await
            .map_err(|e| e.to_string())?;
        parse_response(&response)
    }
}

/// A TCP connection to `host:port`, from `source` when the host is a loopback address too
/// (elsewhere the system picks the source).
async fn connect(
    host: &str,
    port: u16,
    source: Option<std::net::IpAddr>,
) -> std::io::Result<tokio::net::TcpStream> {
    let target: Option<std::net::IpAddr> = host.parse().ok();
    match (target, source) {
        (Some(to @ std::net::IpAddr::V4(v4)), Some(from)) if v4.is_loopback() => {
            let socket = tokio::net::TcpSocket::new_v4()?;
            socket.bind(std::net::SocketAddr::new(from, 0))?;
            socket.connect(std::net::SocketAddr::new(to, port)).await
        }
        _ => tokio::net::TcpStream::connect((host, port)).await,
    }
}

/// The body of an HTTP/1.1 response with status 200 (plain or chunked).
///
/// # Errors
/// A text for another status or a malformed response.
pub fn parse_response(response: &[u8]) -> Result<String, String> {
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no end of headers")?;
    let head = String::from_utf8_lossy(&response[..split]);
    let body = &response[split + 4..];
    let status = head.lines().next().unwrap_or("");
    if status.split_whitespace().nth(1) != Some("200") {
        return Err(format!("server answered {status:?}"));
    }
    let chunked = head.lines().any(|l| {
        l.to_ascii_lowercase().starts_with("transfer-encoding:")
            && l.to_ascii_lowercase().contains("chunked")
    });
    let bytes = if chunked {
        let mut out = Vec::new();
        let mut rest = body;
        loop {
            let line_end = rest
                .windows(2)
                .position(|w| w == b"\r\n")
                .ok_or("bad chunk")?;
            let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..line_end]).trim(), 16)
                .map_err(|_| "bad chunk size")?;
            rest = &rest[line_end + 2..];
            if size == 0 {
                break;
            }
            out.extend_from_slice(rest.get(..size).ok_or("short chunk")?);
            rest = rest.get(size + 2..).ok_or("short chunk")?;
        }
        out
    } else {
        body.to_vec()
    };
    String::from_utf8(bytes).map_err(|_| "the file is not UTF-8".to_owned())
}

/// The top-level elements of a provisioning file that an OMM with `cloud_id` executes, each
/// written compactly.
///
/// # Errors
/// A text when the file is not a sequence of XML elements.
pub fn select_commands(file: &str, cloud_id: &str) -> Result<Vec<String>, String> {
    let body = file.trim_start_matches('\u{feff}');
    let body = match body.trim_start().strip_prefix("<?xml") {
        Some(rest) => rest.split_once("?>").map_or("", |(_, after)| after),
        None => body,
    };
    let wrapped = format!("<ipdect>{body}</ipdect>");
    let limits = axi::Limits {
        frame_size: MAX_FILE,
        records: 100_000,
        attributes: 4096,
        depth: 32,
    };
    let root =
        axi::xml::parse(wrapped.as_bytes(), &limits).map_err(|e| format!("ipdect.cfg: {e}"))?;
    Ok(root
        .children
        .into_iter()
        .filter(|c| {
            c.attr("cloudId")
                .is_none_or(|id| id.eq_ignore_ascii_case(cloud_id))
        })
        .map(|mut c| {
            c.attrs.retain(|(k, _)| k != "cloudId");
            let mut text = String::new();
            axi::xml::write(&c, &mut text);
            text
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_without_or_with_our_cloud_id_are_selected() {
        let file = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- template -->\n<SetSystemName name=\"A\"/>\n<SetSystemName cloudId=\"001f10000001\" name=\"Mine\"/>\n<SetSystemName cloudId=\"001F10000002\" name=\"Other\"/>";
        let cmds = select_commands(file, "001F10000001").unwrap();
        assert_eq!(
            cmds,
            [
                "<SetSystemName name=\"A\"/>",
                "<SetSystemName name=\"Mine\"/>"
            ]
        );
        assert!(select_commands("<a>", "x").is_err());
    }

    #[test]
    fn http_responses_plain_chunked_and_errors() {
        assert_eq!(
            parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc").unwrap(),
            "abc"
        );
        assert_eq!(parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n1\r\nc\r\n0\r\n\r\n").unwrap(), "abc");
        assert!(parse_response(b"HTTP/1.1 401 Unauthorized\r\n\r\n")
            .unwrap_err()
            .contains("401"));
    }
}
