//! The MOM's TLS security levels (admin guide "Security"), mapped onto what rustls offers.
//!
//! Each level has a default cipher list and may have a custom one in OpenSSL notation
//! (names separated by `:`, `,` or spaces). rustls offers only AEAD suites with forward
//! secrecy, so names OpenSSL knows for CBC, static-RSA or DHE suites are refused with a clear
//! reason, and names nobody knows are refused as unknown; either error lists what is
//! supported.
//!
//! | Level  | Protocols    | Default suites                                  | Resumption |
//! |--------|--------------|-------------------------------------------------|------------|
//! | High   | TLS 1.3, 1.2 | TLS 1.3, then the ECDHE AES-GCM suites of 1.2   | none       |
//! | Medium | TLS 1.3, 1.2 | TLS 1.3, then the ECDHE AES-GCM suites of 1.2   | yes        |
//! | Legacy | TLS 1.3, 1.2 | every suite rustls offers, ChaCha20 of 1.2 too  | yes        |
//!
//! Every level links an OMM that offers only TLS 1.2 with ECDHE and AES-GCM, the normal case
//! for an OMM (profile §10); TLS 1.3 is preferred where both sides have it, and AES-256 before
//! AES-128. The levels differ in what they allow beyond that: High never resumes a session
//! (every connection runs a full handshake with fresh ECDHE keys) and a custom list at High
//! may name only TLS 1.3 suites and the ECDHE AES-GCM suites of TLS 1.2; Medium resumes
//! sessions; Legacy adds the ChaCha20 suites of TLS 1.2 to the defaults.
//!
//! Sans-IO: this crate builds [`rustls::crypto::CryptoProvider`]s; the services put them in
//! their server and client configurations, so a change reaches new connections only.
#![forbid(unsafe_code)]

use model::{CipherChoice, Settings, TlsSecurityLevel};
use rustls::crypto::{ring, CryptoProvider};
use rustls::{SupportedCipherSuite, SupportedProtocolVersion};
use std::fmt;

/// The protocol a suite belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// TLS 1.2.
    Tls12,
    /// TLS 1.3.
    Tls13,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Tls12 => "TLS 1.2",
            Self::Tls13 => "TLS 1.3",
        })
    }
}

/// One cipher suite the MOM can use.
#[derive(Debug, Clone, Copy)]
pub struct Suite {
    /// Its OpenSSL name (TLS 1.3 suites carry their IANA name there too).
    pub openssl_name: &'static str,
    /// Its IANA name.
    pub iana_name: &'static str,
    /// The protocol it belongs to.
    pub protocol: Protocol,
    /// Whether the default lists of High and Medium have it (Legacy's has every suite), and
    /// so whether a custom list at High may name it.
    pub in_high: bool,
    suite: SupportedCipherSuite,
}

/// Every suite the MOM offers, strongest first: the order of the default lists.
fn suites() -> [Suite; 9] {
    use ring::cipher_suite as cs;
    let s = |openssl_name, iana_name, protocol, in_high, suite| Suite {
        openssl_name,
        iana_name,
        protocol,
        in_high,
        suite,
    };
    [
        s(
            "TLS_AES_256_GCM_SHA384",
            "TLS_AES_256_GCM_SHA384",
            Protocol::Tls13,
            true,
            cs::TLS13_AES_256_GCM_SHA384,
        ),
        s(
            "TLS_AES_128_GCM_SHA256",
            "TLS_AES_128_GCM_SHA256",
            Protocol::Tls13,
            true,
            cs::TLS13_AES_128_GCM_SHA256,
        ),
        s(
            "TLS_CHACHA20_POLY1305_SHA256",
            "TLS_CHACHA20_POLY1305_SHA256",
            Protocol::Tls13,
            true,
            cs::TLS13_CHACHA20_POLY1305_SHA256,
        ),
        s(
            "ECDHE-ECDSA-AES256-GCM-SHA384",
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            Protocol::Tls12,
            true,
            cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        ),
        s(
            "ECDHE-RSA-AES256-GCM-SHA384",
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            Protocol::Tls12,
            true,
            cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        ),
        s(
            "ECDHE-ECDSA-AES128-GCM-SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            Protocol::Tls12,
            true,
            cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        ),
        s(
            "ECDHE-RSA-AES128-GCM-SHA256",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            Protocol::Tls12,
            true,
            cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        ),
        s(
            "ECDHE-ECDSA-CHACHA20-POLY1305",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            Protocol::Tls12,
            false,
            cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        ),
        s(
            "ECDHE-RSA-CHACHA20-POLY1305",
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
            Protocol::Tls12,
            false,
            cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        ),
    ]
}

/// Every suite the MOM offers, strongest first.
#[must_use]
pub fn supported() -> Vec<Suite> {
    suites().to_vec()
}

/// OpenSSL names of suites rustls deliberately lacks: refused with that reason rather than
/// as unknown. The common ones an old OMM configuration or an OpenSSL default would carry.
const KNOWN_UNSUPPORTED: &[&str] = &[
    "AES128-GCM-SHA256",
    "AES256-GCM-SHA384",
    "AES128-SHA",
    "AES256-SHA",
    "AES128-SHA256",
    "AES256-SHA256",
    "DES-CBC3-SHA",
    "RC4-SHA",
    "RC4-MD5",
    "DHE-RSA-AES128-GCM-SHA256",
    "DHE-RSA-AES256-GCM-SHA384",
    "DHE-RSA-AES128-SHA",
    "DHE-RSA-AES256-SHA",
    "DHE-RSA-AES128-SHA256",
    "DHE-RSA-AES256-SHA256",
    "DHE-RSA-CHACHA20-POLY1305",
    "ECDHE-RSA-AES128-SHA",
    "ECDHE-RSA-AES256-SHA",
    "ECDHE-RSA-AES128-SHA256",
    "ECDHE-RSA-AES256-SHA384",
    "ECDHE-ECDSA-AES128-SHA",
    "ECDHE-ECDSA-AES256-SHA",
    "ECDHE-ECDSA-AES128-SHA256",
    "ECDHE-ECDSA-AES256-SHA384",
    "TLS_AES_128_CCM_SHA256",
    "TLS_AES_128_CCM_8_SHA256",
];

/// Why a cipher list cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CipherError {
    /// Nobody knows this name.
    Unknown(String),
    /// OpenSSL knows it, the MOM does not offer it (no CBC, static RSA or DHE in rustls).
    Unsupported(String),
    /// An OpenSSL keyword or operator (`HIGH`, `!aNULL`, `@STRENGTH`); name each suite.
    Keyword(String),
    /// A suite that level High does not allow (the ChaCha20 suites of TLS 1.2).
    NotAtLevel {
        /// The suite.
        name: String,
        /// The level.
        level: TlsSecurityLevel,
    },
    /// The list names no suite.
    Empty,
}

impl fmt::Display for CipherError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unknown(name) => write!(f, "unknown cipher suite {name:?}"),
            Self::Unsupported(name) => write!(
                f,
                "cipher suite {name:?} is not supported (the MOM offers only AEAD suites with forward secrecy)"
            ),
            Self::Keyword(word) => write!(
                f,
                "{word:?} is an OpenSSL keyword or operator; name each cipher suite instead"
            ),
            Self::NotAtLevel { name, level } => write!(
                f,
                "cipher suite {name:?} is not allowed at level {level:?}, which allows TLS 1.3 \
                 suites and the ECDHE AES-GCM suites of TLS 1.2"
            ),
            Self::Empty => f.write_str("the cipher list names no suite"),
        }?;
        let names: Vec<&str> = suites().iter().map(|s| s.openssl_name).collect();
        write!(f, "; supported: {}", names.join(":"))
    }
}

impl std::error::Error for CipherError {}

/// The protocols a level allows, preferred first. Every level allows TLS 1.2: OMMs that
/// offer nothing newer are the normal case (profile §10).
#[must_use]
pub fn protocols(_level: TlsSecurityLevel) -> &'static [Protocol] {
    &[Protocol::Tls13, Protocol::Tls12]
}

/// What a level offers and how it differs from the others, in a sentence for the UI.
#[must_use]
pub fn description(level: TlsSecurityLevel) -> &'static str {
    match level {
        TlsSecurityLevel::High => {
            "TLS 1.3 preferred; TLS 1.2 with ECDHE and AES-GCM only (AES-256 first), so OMMs \
             that speak TLS 1.2 link; no session resumption: every connection runs a full \
             handshake with fresh keys."
        }
        TlsSecurityLevel::Medium => {
            "The suites of High; sessions are resumed, which saves a full handshake on \
             reconnects."
        }
        TlsSecurityLevel::Legacy => {
            "Every suite the MOM offers, the ChaCha20 suites of TLS 1.2 too; sessions are \
             resumed. The level of a system updated from a version without levels."
        }
    }
}

/// Whether a level resumes TLS sessions (a client's session id or ticket, the OMM link's
/// cached session). High does not: every connection runs a full handshake.
#[must_use]
pub fn resumes_sessions(level: TlsSecurityLevel) -> bool {
    level != TlsSecurityLevel::High
}

/// A level's default cipher list, in OpenSSL notation.
#[must_use]
pub fn default_list(level: TlsSecurityLevel) -> String {
    let names: Vec<&str> = suites()
        .iter()
        .filter(|s| match level {
            TlsSecurityLevel::High | TlsSecurityLevel::Medium => s.in_high,
            TlsSecurityLevel::Legacy => true,
        })
        .map(|s| s.openssl_name)
        .collect();
    names.join(":")
}

/// The suites and protocols of one level with its cipher choice.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The level.
    pub level: TlsSecurityLevel,
    /// The suites, in preference order.
    pub suites: Vec<Suite>,
}

impl Policy {
    /// The protocol versions to offer: those of the level that have a suite in the list.
    #[must_use]
    pub fn versions(&self) -> Vec<&'static SupportedProtocolVersion> {
        let mut out = Vec::new();
        if self.suites.iter().any(|s| s.protocol == Protocol::Tls13) {
            out.push(&rustls::version::TLS13);
        }
        if self.suites.iter().any(|s| s.protocol == Protocol::Tls12) {
            out.push(&rustls::version::TLS12);
        }
        out
    }

    /// The protocols offered, preferred first, as an administrator reads them
    /// ("TLS 1.3 and TLS 1.2").
    #[must_use]
    pub fn versions_text(&self) -> String {
        let mut names: Vec<String> = Vec::new();
        for protocol in [Protocol::Tls13, Protocol::Tls12] {
            if self.suites.iter().any(|s| s.protocol == protocol) {
                names.push(protocol.to_string());
            }
        }
        names.join(" and ")
    }

    /// A ring crypto provider limited to these suites.
    #[must_use]
    pub fn provider(&self) -> CryptoProvider {
        CryptoProvider {
            cipher_suites: self.suites.iter().map(|s| s.suite).collect(),
            ..ring::default_provider()
        }
    }

    /// A server configuration under this policy that always presents `key` (the MOM has one
    /// certificate, whatever name a client asks for); no client certificates, no ALPN.
    ///
    /// # Errors
    /// A message when rustls refuses the combination.
    pub fn server_config(
        &self,
        key: std::sync::Arc<rustls::sign::CertifiedKey>,
    ) -> Result<rustls::ServerConfig, String> {
        let mut config =
            rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(self.provider()))
                .with_protocol_versions(&self.versions())
                .map_err(|e| format!("TLS configuration: {e}"))?
                .with_no_client_auth()
                .with_cert_resolver(std::sync::Arc::new(OneCertificate(key)));
        if !resumes_sessions(self.level) {
            config.session_storage = std::sync::Arc::new(rustls::server::NoServerSessionStorage {});
            config.send_tls13_tickets = 0;
        }
        Ok(config)
    }

    /// Whether a server with a key of `algorithm` can complete a handshake under this
    /// policy: a TLS 1.3 suite works with any key, a TLS 1.2 suite only with its own kind
    /// (ECDHE-ECDSA with an ECDSA or Ed25519 key, ECDHE-RSA with an RSA key).
    #[must_use]
    pub fn usable_with(&self, algorithm: rustls::SignatureAlgorithm) -> bool {
        self.suites.iter().any(|s| match s.suite {
            SupportedCipherSuite::Tls13(_) => true,
            SupportedCipherSuite::Tls12(_) => s.suite.usable_for_signature_algorithm(algorithm),
        })
    }

    /// Whether connections under this policy resume sessions ([`resumes_sessions`]).
    #[must_use]
    pub fn resumes_sessions(&self) -> bool {
        resumes_sessions(self.level)
    }

    /// The OpenSSL names of the suites, `:`-separated.
    #[must_use]
    pub fn list(&self) -> String {
        let names: Vec<&str> = self.suites.iter().map(|s| s.openssl_name).collect();
        names.join(":")
    }
}

/// Always the one certificate of the MOM.
#[derive(Debug)]
struct OneCertificate(std::sync::Arc<rustls::sign::CertifiedKey>);

impl rustls::server::ResolvesServerCert for OneCertificate {
    fn resolve(
        &self,
        _: rustls::server::ClientHello<'_>,
    ) -> Option<std::sync::Arc<rustls::sign::CertifiedKey>> {
        Some(std::sync::Arc::clone(&self.0))
    }
}

/// Parses a cipher list in OpenSSL notation for a level.
///
/// # Errors
/// The first name that cannot be used, or [`CipherError::Empty`].
pub fn parse(level: TlsSecurityLevel, list: &str) -> Result<Policy, CipherError> {
    let all = suites();
    let mut chosen: Vec<Suite> = Vec::new();
    for name in list
        .split([':', ',', ' ', '\t', '\n', '\r'])
        .filter(|n| !n.is_empty())
    {
        let found = all.iter().find(|s| {
            s.openssl_name.eq_ignore_ascii_case(name) || s.iana_name.eq_ignore_ascii_case(name)
        });
        let suite = match found {
            Some(suite) => *suite,
            None if KNOWN_UNSUPPORTED
                .iter()
                .any(|k| k.eq_ignore_ascii_case(name)) =>
            {
                return Err(CipherError::Unsupported(name.to_owned()))
            }
            None if name.starts_with(['!', '-', '+', '@'])
                || name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
                    && !name.contains('-')
                    && !name.starts_with("TLS") =>
            {
                return Err(CipherError::Keyword(name.to_owned()))
            }
            None => return Err(CipherError::Unknown(name.to_owned())),
        };
        if level == TlsSecurityLevel::High && !suite.in_high {
            return Err(CipherError::NotAtLevel {
                name: name.to_owned(),
                level,
            });
        }
        if !chosen.iter().any(|c| c.openssl_name == suite.openssl_name) {
            chosen.push(suite);
        }
    }
    if chosen.is_empty() {
        return Err(CipherError::Empty);
    }
    Ok(Policy {
        level,
        suites: chosen,
    })
}

/// The cipher choice of `level` in the settings.
#[must_use]
pub fn choice(settings: &Settings, level: TlsSecurityLevel) -> &CipherChoice {
    match level {
        TlsSecurityLevel::High => &settings.ciphers_high,
        TlsSecurityLevel::Medium => &settings.ciphers_medium,
        TlsSecurityLevel::Legacy => &settings.ciphers_legacy,
    }
}

/// The policy of one level with its choice: the default list, or the custom one.
///
/// # Errors
/// A [`CipherError`] of the custom list.
pub fn resolve(level: TlsSecurityLevel, choice: &CipherChoice) -> Result<Policy, CipherError> {
    if choice.use_defaults || choice.custom.trim().is_empty() {
        parse(level, &default_list(level))
    } else {
        parse(level, &choice.custom)
    }
}

/// The policy the settings select. A stored custom list that no longer parses (written by
/// an older version, say) falls back to the level's defaults; the error is returned beside
/// it so the caller can log it.
#[must_use]
pub fn from_settings(settings: &Settings) -> (Policy, Option<CipherError>) {
    let level = settings.tls_level;
    match resolve(level, choice(settings, level)) {
        Ok(policy) => (policy, None),
        Err(e) => (
            parse(level, &default_list(level)).unwrap_or_else(|_| unreachable_defaults(level)),
            Some(e),
        ),
    }
}

// The default lists are built from the suite table and always parse (tested); this keeps
// the fallback total without a panic path.
fn unreachable_defaults(level: TlsSecurityLevel) -> Policy {
    Policy {
        level,
        suites: suites()
            .into_iter()
            .filter(|s| s.protocol == Protocol::Tls13)
            .collect(),
    }
}

/// Checks every custom list of the settings (what the API does before saving).
///
/// # Errors
/// The level and the first error.
pub fn check_settings(settings: &Settings) -> Result<(), (TlsSecurityLevel, CipherError)> {
    for level in [
        TlsSecurityLevel::High,
        TlsSecurityLevel::Medium,
        TlsSecurityLevel::Legacy,
    ] {
        let choice = choice(settings, level);
        if !choice.use_defaults {
            resolve(level, choice).map_err(|e| (level, e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
