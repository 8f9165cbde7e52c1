//! TLS client settings for one OMM record: accept its self-signed certificate (the OMM's
//! default), require a CA, or pin the SHA-256 fingerprint of its certificate.

use model::CertValidation;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Accepts any certificate, or only one with a pinned fingerprint; signatures are checked.
#[derive(Debug)]
struct Lenient {
    provider: Arc<CryptoProvider>,
    pinned: Option<Vec<u8>>,
}

impl ServerCertVerifier for Lenient {
    fn verify_server_cert(
        &self,
        cert: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match &self.pinned {
            Some(pin) if Sha256::digest(cert.as_ref()).as_slice() != pin.as_slice() => {
                Err(rustls::Error::General(
                    "certificate fingerprint does not match the pinned one".into(),
                ))
            }
            _ => Ok(ServerCertVerified::assertion()),
        }
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
            &self.provider.signature_verification_algorithms,
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
            &self.provider.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

fn hex_bytes(hex: &str) -> Result<Vec<u8>, String> {
    let hex: String = hex.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    if hex.len() != 64 {
        return Err("a pinned SHA-256 fingerprint has 64 hexadecimal digits".into());
    }
    (0..32)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|e| e.to_string()))
        .collect()
}

/// The client configuration for an OMM with these certificate settings, offering the
/// protocols and suites of the MOM's security level (`tls_policy`); High resumes no session.
///
/// # Errors
/// A text for an unreadable CA or a malformed fingerprint.
pub fn client_config(
    validation: &CertValidation,
    policy: &tls_policy::Policy,
) -> Result<Arc<rustls::ClientConfig>, String> {
    let provider = Arc::new(policy.provider());
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&policy.versions())
        .map_err(|e| e.to_string())?;
    let config = match validation {
        CertValidation::AcceptSelfSigned => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Lenient {
                provider,
                pinned: None,
            }))
            .with_no_client_auth(),
        CertValidation::PinnedSha256(hex) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Lenient {
                provider,
                pinned: Some(hex_bytes(hex)?),
            }))
            .with_no_client_auth(),
        CertValidation::Ca(pem) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in rustls_pemfile::certs(&mut pem.as_bytes()) {
                roots
                    .add(cert.map_err(|e| format!("CA: {e}"))?)
                    .map_err(|e| format!("CA: {e}"))?;
            }
            if roots.is_empty() {
                return Err("the CA field holds no certificate".into());
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
    };
    let mut config = config;
    config.resumption = if policy.resumes_sessions() {
        // Room for the link's two addresses, not rustls' default of 256 servers: a link makes
        // a configuration, and so a store, at every connect. A stored session did not resume
        // under the next connect's new configuration (tried: two connects through one store,
        // each with its own configuration, made two full handshakes), so a reconnect makes a
        // full handshake, as it always did.
        rustls::client::Resumption::store(Arc::new(rustls::client::ClientSessionMemoryCache::new(
            2,
        )))
    } else {
        rustls::client::Resumption::disabled()
    };
    Ok(Arc::new(config))
}

/// After a failed handshake: what the OMM chooses when offered every version and suite the
/// MOM knows, for the link's error text ("the OMM chose TLS 1.2 with …"). The probe
/// completes a handshake without checking the certificate and sends nothing over it; `None`
/// when even that fails or times out.
pub async fn probe(host: &str, port: u16) -> Option<String> {
    let all = tls_policy::parse(
        model::TlsSecurityLevel::Legacy,
        &tls_policy::default_list(model::TlsSecurityLevel::Legacy),
    )
    .ok()?;
    let config = client_config(&CertValidation::AcceptSelfSigned, &all).ok()?;
    let name = ServerName::try_from(host.to_owned()).ok()?;
    let handshake = async {
        let tcp = tokio::net::TcpStream::connect((host, port)).await.ok()?;
        let tls = tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .ok()?;
        let (_, session) = tls.get_ref();
        let version = match session.protocol_version()? {
            rustls::ProtocolVersion::TLSv1_3 => "TLS 1.3",
            rustls::ProtocolVersion::TLSv1_2 => "TLS 1.2",
            _ => "an older TLS",
        };
        let suite = session.negotiated_cipher_suite()?.suite();
        let name = tls_policy::supported()
            .into_iter()
            .find(|s| s.iana_name == suite.as_str().unwrap_or_default())
            .map_or_else(|| format!("{suite:?}"), |s| s.openssl_name.to_owned());
        Some(format!("{version} with {name}"))
    };
    tokio::time::timeout(std::time::Duration::from_secs(5), handshake)
        .await
        .ok()
        .flatten()
}
