//! The TLS configuration of new connections: the MOM's certificate and the security level's
//! suites and protocols. Replacing either builds a new configuration that only connections
//! accepted afterwards use; open connections keep theirs.

use crate::certificate::Certified;
use rustls::ServerConfig;
use std::sync::{Arc, RwLock};
use tls_policy::Policy;

/// A server configuration for this certificate and policy, offering HTTP/2 and HTTP/1.1.
///
/// # Errors
/// A message when rustls refuses the combination.
pub fn server_config(certified: &Certified, policy: &Policy) -> Result<ServerConfig, String> {
    let mut config = policy.server_config(Arc::clone(&certified.key))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

struct Current {
    certified: Certified,
    policy: Policy,
    config: Arc<ServerConfig>,
}

/// The certificate and policy in force, and the configuration built from them.
pub struct TlsState {
    current: RwLock<Current>,
    /// The certificate as PEM `(chain, key)`, for svc-maxi ([`crate::web_api`]).
    pem: tokio::sync::watch::Sender<(String, String)>,
}

impl TlsState {
    /// The state for a certificate and a policy.
    ///
    /// # Errors
    /// As [`server_config`].
    pub fn new(certified: Certified, policy: Policy) -> Result<Self, String> {
        let config = Arc::new(server_config(&certified, &policy)?);
        let pem = (certified.chain_pem.clone(), certified.key_pem().to_owned());
        Ok(Self {
            pem: tokio::sync::watch::channel(pem).0,
            current: RwLock::new(Current {
                certified,
                policy,
                config,
            }),
        })
    }

    /// The configuration for the next connection.
    #[must_use]
    pub fn config(&self) -> Arc<ServerConfig> {
        Arc::clone(&self.read().config)
    }

    /// The certificate in force.
    #[must_use]
    pub fn certified(&self) -> Certified {
        self.read().certified.clone()
    }

    /// The policy in force.
    #[must_use]
    pub fn policy(&self) -> Policy {
        self.read().policy.clone()
    }

    /// The certificate as PEM `(chain, key)` now and after each replacement.
    #[must_use]
    pub fn pem(&self) -> tokio::sync::watch::Receiver<(String, String)> {
        self.pem.subscribe()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Current> {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Uses `certified` for new connections.
    ///
    /// # Errors
    /// As [`server_config`]; nothing changes then.
    pub fn set_certificate(&self, certified: Certified) -> Result<(), String> {
        let policy = self.policy();
        self.replace(certified, policy)
    }

    /// Uses `policy` for new connections.
    ///
    /// # Errors
    /// As [`server_config`]; nothing changes then.
    pub fn set_policy(&self, policy: Policy) -> Result<(), String> {
        let certified = self.certified();
        self.replace(certified, policy)
    }

    fn replace(&self, certified: Certified, policy: Policy) -> Result<(), String> {
        let config = Arc::new(server_config(&certified, &policy)?);
        let pem = (certified.chain_pem.clone(), certified.key_pem().to_owned());
        let mut current = self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *current = Current {
            certified,
            policy,
            config,
        };
        drop(current);
        self.pem.send_if_modified(|now| {
            let changed = *now != pem;
            *now = pem;
            changed
        });
        Ok(())
    }
}
