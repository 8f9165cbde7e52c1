//! The MOM's TLS certificate: self-signed at first start, replaceable by an uploaded PEM
//! chain and key (checked before anything is replaced), and back to a new self-signed one.
//!
//! Kept as `cert.pem` and `key.pem` (mode 0600) in svc-web's state folder; written to a
//! temporary file and renamed, so a crash never leaves half a certificate.

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A certificate chain with its key, checked to match.
#[derive(Clone)]
pub struct Certified {
    /// The chain and signing key as rustls uses them.
    pub key: Arc<CertifiedKey>,
    /// The chain as PEM text (what is stored).
    pub chain_pem: String,
    /// The key as PEM text (what is stored).
    key_pem: String,
    /// What the API shows.
    pub info: CertificateInfo,
}

impl Certified {
    /// The key as PEM text.
    #[must_use]
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }
}

impl std::fmt::Debug for Certified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certified")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

/// The certificate's facts for the administrator.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct CertificateInfo {
    /// Subject distinguished name.
    pub subject: String,
    /// Issuer distinguished name.
    pub issuer: String,
    /// Start of validity (Unix seconds).
    pub not_before: i64,
    /// End of validity (Unix seconds).
    pub not_after: i64,
    /// SHA-256 of the leaf certificate, colon-separated hex as browsers show it.
    pub sha256_fingerprint: String,
    /// Whether the MOM made it itself.
    pub self_signed: bool,
    /// Certificates in the chain, the leaf included.
    pub chain_length: usize,
}

/// Why an uploaded certificate is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertError {
    /// No certificate in the PEM text.
    NoCertificate,
    /// The PEM text does not parse.
    Pem(String),
    /// No private key in the PEM text.
    NoKey,
    /// The key does not belong to the leaf certificate.
    KeyMismatch,
    /// The leaf is not valid yet or any more.
    NotCurrent {
        /// Start of validity.
        not_before: i64,
        /// End of validity.
        not_after: i64,
    },
    /// The leaf cannot be read as X.509, or its key type is not supported.
    Unusable(String),
}

impl std::fmt::Display for CertError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoCertificate => f.write_str("the certificate file holds no PEM certificate"),
            Self::Pem(e) => write!(f, "the PEM text does not parse: {e}"),
            Self::NoKey => f.write_str("the key file holds no PEM private key"),
            Self::KeyMismatch => f.write_str("the private key does not belong to the certificate"),
            Self::NotCurrent {
                not_before,
                not_after,
            } => write!(
                f,
                "the certificate is not valid now (valid from {} to {})",
                rfc3339(*not_before),
                rfc3339(*not_after)
            ),
            Self::Unusable(e) => write!(f, "the certificate cannot be used: {e}"),
        }
    }
}

impl std::error::Error for CertError {}

/// Unix seconds as an RFC 3339 UTC time.
#[must_use]
pub fn rfc3339(secs: i64) -> String {
    u64::try_from(secs).map_or_else(|_| secs.to_string(), model::time_text)
}

/// Colon-separated upper-case hex of the SHA-256 of `der`.
#[must_use]
pub fn fingerprint(der: &[u8]) -> String {
    let digest = Sha256::digest(der);
    let parts: Vec<String> = digest.iter().map(|b| format!("{b:02X}")).collect();
    parts.join(":")
}

/// Checks a PEM chain and key at time `now` (Unix seconds) and makes them usable.
///
/// # Errors
/// A [`CertError`] saying what is wrong.
pub fn check(chain_pem: &str, key_pem: &str, now: i64) -> Result<Certified, CertError> {
    let chain: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut chain_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| CertError::Pem(e.to_string()))?;
    let Some(leaf) = chain.first() else {
        return Err(CertError::NoCertificate);
    };
    let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut key_pem.as_bytes())
        .map_err(|e| CertError::Pem(e.to_string()))?
        .ok_or(CertError::NoKey)?;
    let (_, parsed) = x509_parser::parse_x509_certificate(leaf.as_ref())
        .map_err(|e| CertError::Unusable(e.to_string()))?;
    let validity = parsed.validity();
    let not_before = validity.not_before.timestamp();
    let not_after = validity.not_after.timestamp();
    if now < not_before || now > not_after {
        return Err(CertError::NotCurrent {
            not_before,
            not_after,
        });
    }
    let info = CertificateInfo {
        subject: parsed.subject().to_string(),
        issuer: parsed.issuer().to_string(),
        not_before,
        not_after,
        sha256_fingerprint: fingerprint(leaf.as_ref()),
        self_signed: parsed.subject() == parsed.issuer(),
        chain_length: chain.len(),
    };
    let provider = rustls::crypto::ring::default_provider();
    let key = CertifiedKey::from_der(chain, key, &provider).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => CertError::KeyMismatch,
        other => CertError::Unusable(other.to_string()),
    })?;
    Ok(Certified {
        key: Arc::new(key),
        chain_pem: chain_pem.to_owned(),
        key_pem: key_pem.to_owned(),
        info,
    })
}

/// A new self-signed certificate for `names` (host names and addresses), valid ten years.
///
/// # Errors
/// A message when key generation fails.
pub fn self_signed(names: &[String], now: i64) -> Result<Certified, String> {
    let mut params = rcgen::CertificateParams::new(names.to_vec()).map_err(|e| e.to_string())?;
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        names.first().cloned().unwrap_or_default(),
    );
    params.distinguished_name.push(
        rcgen::DnType::OrganizationName,
        "SIP-DECT MOM (self-signed)",
    );
    let start = time::OffsetDateTime::from_unix_timestamp(now - 3600).map_err(|e| e.to_string())?;
    params.not_before = start;
    params.not_after = start + time::Duration::days(3650);
    let key = rcgen::KeyPair::generate().map_err(|e| e.to_string())?;
    let cert = params.self_signed(&key).map_err(|e| e.to_string())?;
    check(&cert.pem(), &key.serialize_pem(), now).map_err(|e| e.to_string())
}

/// Where the certificate lives.
#[derive(Debug, Clone)]
pub struct CertificateFiles {
    dir: PathBuf,
}

impl CertificateFiles {
    /// Files in `dir`.
    #[must_use]
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_owned(),
        }
    }

    fn cert_path(&self) -> PathBuf {
        self.dir.join("cert.pem")
    }

    fn key_path(&self) -> PathBuf {
        self.dir.join("key.pem")
    }

    /// The stored certificate; a new self-signed one (stored) when there is none. A stored
    /// one that no longer checks (expired, damaged) is kept aside as `*.pem.bad` and
    /// replaced by a self-signed one, with the reason returned for the log.
    ///
    /// # Errors
    /// A message when the folder cannot be written.
    pub fn load_or_create(
        &self,
        names: &[String],
        now: i64,
    ) -> Result<(Certified, Option<String>), String> {
        let read = |p: PathBuf| std::fs::read_to_string(p);
        match (read(self.cert_path()), read(self.key_path())) {
            (Ok(chain), Ok(key)) => match check(&chain, &key, now) {
                Ok(certified) => return Ok((certified, None)),
                Err(e) => {
                    for path in [self.cert_path(), self.key_path()] {
                        let _ = std::fs::rename(&path, path.with_extension("pem.bad"));
                    }
                    let certified = self_signed(names, now)?;
                    self.store(&certified)?;
                    return Ok((
                        certified,
                        Some(format!(
                            "the stored certificate was replaced by a self-signed one: {e}"
                        )),
                    ));
                }
            },
            (Err(e), _) | (_, Err(e)) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(format!(
                    "cannot read the certificate in {}: {e}",
                    self.dir.display()
                ))
            }
            _ => {}
        }
        let certified = self_signed(names, now)?;
        self.store(&certified)?;
        Ok((certified, None))
    }

    /// Stores a checked certificate and key, each replaced atomically (key first).
    ///
    /// # Errors
    /// A message naming the file.
    pub fn store(&self, certified: &Certified) -> Result<(), String> {
        write_private(&self.key_path(), certified.key_pem.as_bytes())?;
        write_private(&self.cert_path(), certified.chain_pem.as_bytes())
    }
}

/// Writes `bytes` to `path` via a temporary file (mode 0600), synced, then renamed.
///
/// # Errors
/// A message naming the file.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let fail = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(fail)?;
    file.write_all(bytes).map_err(fail)?;
    file.sync_all().map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_790_000_000;

    #[test]
    fn a_self_signed_certificate_checks_and_round_trips_through_its_files() {
        let dir = std::env::temp_dir().join(format!("svc-web-cert-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let files = CertificateFiles::new(&dir);
        let (first, note) = files.load_or_create(&["mom.example".into()], NOW).unwrap();
        assert!(note.is_none());
        assert!(first.info.self_signed);
        assert_eq!(first.info.sha256_fingerprint.len(), 32 * 3 - 1);
        let (again, _) = files.load_or_create(&["other".into()], NOW).unwrap();
        assert_eq!(again.info, first.info, "a stored certificate is reused");
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(dir.join("key.pem"))
                .unwrap()
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
        // Ten years and a day later it is no longer current: replaced, and said why.
        let (later, note) = files
            .load_or_create(&["mom.example".into()], NOW + 3651 * 86_400)
            .unwrap();
        assert!(note.unwrap().contains("not valid now"));
        assert_ne!(later.info.sha256_fingerprint, first.info.sha256_fingerprint);
        assert!(dir.join("cert.pem.bad").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_key_of_another_certificate_or_garbage_is_refused() {
        let a = self_signed(&["a".into()], NOW).unwrap();
        let b = self_signed(&["b".into()], NOW).unwrap();
        assert_eq!(
            check(&a.chain_pem, &b.key_pem, NOW).unwrap_err(),
            CertError::KeyMismatch
        );
        assert_eq!(
            check("", &a.key_pem, NOW).unwrap_err(),
            CertError::NoCertificate
        );
        assert_eq!(check(&a.chain_pem, "", NOW).unwrap_err(), CertError::NoKey);
        assert!(matches!(
            check(&a.chain_pem, &a.key_pem, NOW - 86_400).unwrap_err(),
            CertError::NotCurrent { .. }
        ));
        let garbage = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(matches!(
            check(garbage, &a.key_pem, NOW).unwrap_err(),
            CertError::Unusable(_) | CertError::Pem(_)
        ));
        assert!(check(&a.chain_pem, &a.key_pem, NOW).is_ok());
    }
}
