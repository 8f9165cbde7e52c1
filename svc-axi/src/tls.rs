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
/// protocols and suites of the MOM's security level (`tls_policy`; High is TLS 1.3 only).
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
    Ok(Arc::new(config))
}
