//! The cluster's own certificate authority and each node's certificate: peers speak mutual
//! TLS (rustls), and a node accepts only a peer whose certificate the cluster's CA signed.
//!
//! A node's certificate names it `node-<id>.cluster.sip-dect-mom` (for server and client
//! use), so a peer is checked by its node id, whatever address it is reached at. The files
//! live in the cluster folder (`ca.pem`, `ca.key`, `node.pem`, `node.key`, mode 0600); the
//! CA key travels to a new node in its one-time join token, so any node that becomes
//! leader can add the next one.

#![forbid(unsafe_code)]

use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::path::Path;
use std::sync::Arc;

/// A node's id in the cluster (1, 2, 3, …).
pub type NodeId = u64;

/// The CA certificate.
pub const CA_CERT: &str = "ca.pem";
/// The CA's private key.
pub const CA_KEY: &str = "ca.key";
/// This node's certificate.
pub const NODE_CERT: &str = "node.pem";
/// This node's private key.
pub const NODE_KEY: &str = "node.key";

/// The name in node `id`'s certificate, and the one a peer checks when it connects to it.
#[must_use]
pub fn node_name(id: NodeId) -> String {
    format!("node-{id}.cluster.sip-dect-mom")
}

fn ca_params() -> Result<rcgen::CertificateParams, String> {
    let mut params =
        rcgen::CertificateParams::new(Vec::<String>::new()).map_err(|e| e.to_string())?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "sip-dect-mom cluster CA");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    params.not_before = rcgen::date_time_ymd(2025, 1, 1);
    params.not_after = rcgen::date_time_ymd(2125, 1, 1);
    Ok(params)
}

/// A CA and its key, PEM.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Ca {
    /// The certificate.
    pub cert: String,
    /// The private key.
    pub key: String,
}

/// A node's certificate and key, PEM.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NodeIdentity {
    /// The certificate, signed by the cluster's CA.
    pub cert: String,
    /// The private key.
    pub key: String,
}

impl Ca {
    /// A new CA (ECDSA P-256).
    ///
    /// # Errors
    /// rcgen's, as text.
    pub fn create() -> Result<Self, String> {
        let key = rcgen::KeyPair::generate().map_err(|e| e.to_string())?;
        let cert = ca_params()?.self_signed(&key).map_err(|e| e.to_string())?;
        Ok(Self {
            cert: cert.pem(),
            key: key.serialize_pem(),
        })
    }

    /// A certificate for node `id`, signed by this CA.
    ///
    /// # Errors
    /// rcgen's, as text.
    pub fn issue(&self, id: NodeId) -> Result<NodeIdentity, String> {
        let ca_key = rcgen::KeyPair::from_pem(&self.key).map_err(|e| e.to_string())?;
        let issuer = rcgen::Issuer::new(ca_params()?, ca_key);
        let key = rcgen::KeyPair::generate().map_err(|e| e.to_string())?;
        let mut params =
            rcgen::CertificateParams::new(vec![node_name(id)]).map_err(|e| e.to_string())?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, node_name(id));
        params.extended_key_usages = vec![
            rcgen::ExtendedKeyUsagePurpose::ServerAuth,
            rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        ];
        params.not_before = rcgen::date_time_ymd(2025, 1, 1);
        params.not_after = rcgen::date_time_ymd(2125, 1, 1);
        let cert = params.signed_by(&key, &issuer).map_err(|e| e.to_string())?;
        Ok(NodeIdentity {
            cert: cert.pem(),
            key: key.serialize_pem(),
        })
    }

    /// Writes the CA's files into `dir`.
    ///
    /// # Errors
    /// The file that could not be written.
    pub fn save(&self, dir: &Path) -> Result<(), String> {
        write_private(&dir.join(CA_CERT), &self.cert)?;
        write_private(&dir.join(CA_KEY), &self.key)
    }

    /// The CA in `dir`.
    ///
    /// # Errors
    /// The file that could not be read.
    pub fn load(dir: &Path) -> Result<Self, String> {
        Ok(Self {
            cert: read(&dir.join(CA_CERT))?,
            key: read(&dir.join(CA_KEY))?,
        })
    }
}

impl NodeIdentity {
    /// Writes the node's files into `dir`.
    ///
    /// # Errors
    /// The file that could not be written.
    pub fn save(&self, dir: &Path) -> Result<(), String> {
        write_private(&dir.join(NODE_CERT), &self.cert)?;
        write_private(&dir.join(NODE_KEY), &self.key)
    }
}

/// What a new node needs to join: the CA (so that, once a member, it can add the next node
/// when it leads), its own certificate and key, where the cluster is, and the installation's
/// secrets keys (the store's and svc-web's: the database replicated to it holds values
/// sealed with them). Shown once, as text, by `cluster add-node`; whoever holds it can join
/// as that node and read the secrets, so it travels like a password.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct JoinToken {
    /// The new node's id.
    pub node_id: NodeId,
    /// A member's peer address to contact (`HOST:PORT`).
    pub contact: String,
    /// The cluster's CA.
    pub ca: Ca,
    /// The new node's certificate and key.
    pub identity: NodeIdentity,
    /// The secrets keys every node shares, each as its file's text.
    pub secrets: Vec<SecretsKey>,
}

/// One secrets key file of the installation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SecretsKey {
    /// Whose key: `store` or `web`.
    pub service: String,
    /// The file's text.
    pub text: String,
}

/// The prefix of a join token's text (2: with the secrets keys).
const TOKEN_PREFIX: &str = "momjoin2.";

impl JoinToken {
    /// The token as one line of text (`momjoin2.` and base64url of its postcard bytes).
    ///
    /// # Errors
    /// postcard's, as text.
    pub fn encode(&self) -> Result<String, String> {
        let bytes = postcard::to_stdvec(self).map_err(|e| e.to_string())?;
        Ok(format!("{TOKEN_PREFIX}{}", base64url(&bytes)))
    }

    /// Reads a token; a damaged or foreign one is refused with the reason.
    ///
    /// # Errors
    /// Why the text is no join token.
    pub fn decode(text: &str) -> Result<Self, String> {
        let body = text
            .trim()
            .strip_prefix(TOKEN_PREFIX)
            .ok_or("not a join token of this release (it starts with momjoin2.)")?;
        let bytes = from_base64url(body).ok_or("the join token is damaged (not base64url)")?;
        let token: Self =
            postcard::from_bytes(&bytes).map_err(|_| "the join token is damaged".to_owned())?;
        // The identity must be the CA's, for the node the token names.
        PeerTls::new(&token.ca.cert, &token.identity)
            .map_err(|e| format!("the join token's certificate is unusable: {e}"))?;
        Ok(token)
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Written by hand: eight lines, where a crate would add a dependency for one token format.
fn base64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(B64[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

fn from_base64url(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = B64.iter().position(|&b| b == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn write_private(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("partial");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| format!("{}: {e}", tmp.display()))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn certs(pem: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    rustls_pemfile::certs(&mut pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())
}

fn private_key(pem: &str) -> Result<PrivateKeyDer<'static>, String> {
    rustls_pemfile::private_key(&mut pem.as_bytes())
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "no private key in the node's key file".to_owned())
}

/// The TLS configurations of one node: as a server on its peer port and as a client of the
/// other nodes, both requiring the other side's certificate from the cluster's CA.
#[derive(Clone)]
pub struct PeerTls {
    /// For the peer listener.
    pub server: Arc<rustls::ServerConfig>,
    /// For connections to the other nodes.
    pub client: Arc<rustls::ClientConfig>,
}

impl PeerTls {
    /// The configurations from the files in `dir`.
    ///
    /// # Errors
    /// Which file is missing or unusable.
    pub fn load(dir: &Path) -> Result<Self, String> {
        let ca = read(&dir.join(CA_CERT))?;
        let node = NodeIdentity {
            cert: read(&dir.join(NODE_CERT))?,
            key: read(&dir.join(NODE_KEY))?,
        };
        Self::new(&ca, &node)
    }

    /// The configurations for `node`, trusting only `ca_pem`.
    ///
    /// # Errors
    /// Why a certificate or key is unusable.
    pub fn new(ca_pem: &str, node: &NodeIdentity) -> Result<Self, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        for cert in certs(ca_pem)? {
            roots
                .add(cert)
                .map_err(|e| format!("the cluster CA: {e}"))?;
        }
        let roots = Arc::new(roots);
        let chain = certs(&node.cert)?;
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::clone(&roots),
            Arc::clone(&provider),
        )
        .build()
        .map_err(|e| e.to_string())?;
        // The node's own certificate must be the CA's: a node of another cluster, or a
        // forged join token, is refused here rather than at every peer's handshake.
        let own = chain.first().ok_or("no certificate in the node's file")?;
        verifier
            .verify_client_cert(own, &chain[1..], rustls::pki_types::UnixTime::now())
            .map_err(|e| format!("the node's certificate is not the cluster CA's: {e}"))?;
        let mut server = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| e.to_string())?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain.clone(), private_key(&node.key)?)
            .map_err(|e| format!("the node's certificate: {e}"))?;
        // Peers keep their connections; no session is ever resumed.
        server.send_tls13_tickets = 0;
        let client = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, private_key(&node.key)?)
            .map_err(|e| format!("the node's certificate: {e}"))?;
        Ok(Self {
            server: Arc::new(server),
            client: Arc::new(client),
        })
    }
}

/// The name to check on node `id`'s certificate.
///
/// # Errors
/// Never for a node id; the type asks for it.
pub fn server_name(id: NodeId) -> Result<ServerName<'static>, String> {
    ServerName::try_from(node_name(id)).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn handshake(server: &PeerTls, client: &PeerTls, name: NodeId) -> Result<(), String> {
        let (a, b) = tokio::io::duplex(64 * 1024);
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::clone(&server.server));
        let connector = tokio_rustls::TlsConnector::from(Arc::clone(&client.client));
        let serve = async move {
            let mut s = acceptor.accept(a).await.map_err(|e| e.to_string())?;
            let mut byte = [0u8; 1];
            s.read_exact(&mut byte).await.map_err(|e| e.to_string())?;
            s.write_all(b"y").await.map_err(|e| e.to_string())?;
            s.flush().await.map_err(|e| e.to_string())?;
            Ok::<_, String>(())
        };
        let dial = async move {
            let mut c = connector
                .connect(server_name(name)?, b)
                .await
                .map_err(|e| e.to_string())?;
            c.write_all(b"x").await.map_err(|e| e.to_string())?;
            c.flush().await.map_err(|e| e.to_string())?;
            let mut byte = [0u8; 1];
            c.read_exact(&mut byte).await.map_err(|e| e.to_string())?;
            Ok::<_, String>(())
        };
        let (s, c) = tokio::join!(serve, dial);
        match (s, c) {
            (Ok(()), Ok(())) => Ok(()),
            (s, c) => Err(format!("server: {s:?}, client: {c:?}")),
        }
    }

    #[tokio::test]
    async fn nodes_of_one_ca_speak_and_a_stranger_or_a_wrong_name_is_refused() {
        let ca = Ca::create().unwrap();
        let one = PeerTls::new(&ca.cert, &ca.issue(1).unwrap()).unwrap();
        let two = PeerTls::new(&ca.cert, &ca.issue(2).unwrap()).unwrap();
        handshake(&one, &two, 1).await.unwrap();
        handshake(&two, &one, 2).await.unwrap();
        // Node 1's certificate is not node 3's.
        assert!(handshake(&one, &two, 3).await.is_err());
        // A node of another cluster is refused both ways.
        let other = Ca::create().unwrap();
        let stranger = PeerTls::new(&other.cert, &other.issue(2).unwrap()).unwrap();
        assert!(handshake(&one, &stranger, 1).await.is_err());
        assert!(handshake(&stranger, &one, 2).await.is_err());
        // A certificate of another CA is refused beside our CA before any handshake.
        let forged = PeerTls::new(&ca.cert, &other.issue(2).unwrap());
        assert!(forged.is_err_and(|e| e.contains("not the cluster CA's")));
    }

    #[test]
    fn a_join_token_round_trips_and_a_damaged_or_foreign_one_is_refused() {
        let ca = Ca::create().unwrap();
        let token = JoinToken {
            node_id: 2,
            contact: "192.0.2.1:7946".into(),
            identity: ca.issue(2).unwrap(),
            ca: ca.clone(),
            secrets: vec![SecretsKey {
                service: "store".into(),
                text: "key text".into(),
            }],
        };
        let text = token.encode().unwrap();
        assert!(text.starts_with("momjoin2."));
        assert_eq!(JoinToken::decode(&text).unwrap(), token);
        assert!(JoinToken::decode("momjoin2.!!!")
            .unwrap_err()
            .contains("damaged"));
        assert!(JoinToken::decode("hello")
            .unwrap_err()
            .contains("not a join token"));
        let mut cut = text.clone();
        cut.truncate(text.len() / 2);
        assert!(JoinToken::decode(&cut).is_err());
        // A node certificate of another CA does not go with this CA.
        let other = Ca::create().unwrap();
        let forged = JoinToken {
            identity: other.issue(2).unwrap(),
            ..token
        };
        assert!(JoinToken::decode(&forged.encode().unwrap()).is_err());
    }

    #[test]
    fn base64url_round_trips_every_length() {
        for len in 0..64 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            assert_eq!(from_base64url(&base64url(&bytes)).unwrap(), bytes);
        }
    }

    #[test]
    fn files_round_trip_with_private_modes() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::create().unwrap();
        ca.save(dir.path()).unwrap();
        ca.issue(1).unwrap().save(dir.path()).unwrap();
        assert_eq!(Ca::load(dir.path()).unwrap(), ca);
        PeerTls::load(dir.path()).unwrap();
        for name in [CA_KEY, NODE_KEY] {
            let mode = std::fs::metadata(dir.path().join(name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
    }
}
