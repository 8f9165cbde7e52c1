//! MAXI's TLS: the MOM's own certificate, which svc-web keeps and hands over on `web.sock`
//! (now and after each replacement), with the security level of the system settings (the
//! `tls-policy` crate: TLS 1.2 and 1.3, the level's suites). A change reaches new
//! connections; open ones keep theirs. Until the first certificate arrives, TLS clients are
//! refused with a log line (the plain debug listener, when configured, works meanwhile).

use crate::service::Service;
use ipc::api::web::{WebApi, WebRequest, WebResponse};
use ipc::{Client, ClientEvent};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use std::sync::{Arc, Mutex};
use tls_policy::Policy;
use tokio::sync::mpsc;

/// The server configuration for a PEM chain and key under `policy`.
///
/// # Errors
/// Why the PEM or the combination is unusable.
pub fn server_config(
    chain_pem: &str,
    key_pem: &str,
    policy: &Policy,
) -> Result<ServerConfig, String> {
    let chain: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut chain_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("certificate PEM: {e}"))?;
    if chain.is_empty() {
        return Err("no certificate in the PEM".into());
    }
    let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut key_pem.as_bytes())
        .map_err(|e| format!("key PEM: {e}"))?
        .ok_or("no private key in the PEM")?;
    let signing = policy
        .provider()
        .key_provider
        .load_private_key(key)
        .map_err(|e| format!("private key: {e}"))?;
    policy.server_config(Arc::new(CertifiedKey::new(chain, signing)))
}

/// The parts of the configuration, each replaced on its own.
#[derive(Default)]
struct Parts {
    pem: Option<(String, String)>,
    policy: Option<Policy>,
}

/// Keeps [`Service::tls`] built from the latest certificate and policy.
#[derive(Default)]
pub struct Identity {
    parts: Mutex<Parts>,
}

impl Identity {
    fn update(&self, service: &Service, change: impl FnOnce(&mut Parts)) {
        let mut parts = self
            .parts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        change(&mut parts);
        let (Some((chain, key)), Some(policy)) = (&parts.pem, &parts.policy) else {
            return;
        };
        match server_config(chain, key, policy) {
            Ok(config) => {
                *service
                    .tls
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::new(config));
                tracing::info!("MAXI TLS configuration in force for new connections");
            }
            Err(e) => {
                tracing::warn!(error = %e, "MAXI TLS configuration refused; the previous one stays")
            }
        }
    }

    /// Takes the security level of `settings`.
    pub fn set_settings(&self, service: &Service, settings: &model::Settings) {
        let (policy, error) = tls_policy::from_settings(settings);
        if let Some(e) = error {
            tracing::warn!(error = %e, "stored cipher list unusable; MAXI uses the level's defaults");
        }
        self.update(service, |p| p.policy = Some(policy));
    }

    /// Reads the settings from the store and takes their security level; whether the
    /// store answered.
    pub async fn refresh_settings(&self, service: &Service) -> bool {
        match service.store.settings().await {
            Ok(s) => {
                self.set_settings(service, &s);
                true
            }
            _ => false,
        }
    }

    /// The first security level, waiting for the store while it starts.
    pub async fn first_settings(&self, service: &Service) {
        while !self.refresh_settings(service).await {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }

    /// Follows svc-web's certificate, subscribing again after each reconnect.
    pub async fn follow_certificate(
        self: Arc<Self>,
        service: Arc<Service>,
        client: Client<WebApi>,
        mut events: mpsc::Receiver<ClientEvent<WebResponse>>,
    ) {
        while let Some(event) = events.recv().await {
            match event {
                ClientEvent::Connected(_) => {
                    let (client, me, service) =
                        (client.clone(), Arc::clone(&self), Arc::clone(&service));
                    tokio::spawn(async move {
                        match client.request(WebRequest::SubscribeCertificate).await {
                            Ok(WebResponse::Certificate { chain_pem, key_pem }) => {
                                me.update(&service, |p| p.pem = Some((chain_pem, key_pem)));
                            }
                            Ok(other) => {
                                tracing::warn!(answer = ?other, "svc-web answered the certificate subscription with something else")
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "svc-web did not hand the certificate")
                            }
                        }
                    });
                }
                ClientEvent::Event(WebResponse::Certificate { chain_pem, key_pem }) => {
                    tracing::info!("the MOM's certificate was replaced; MAXI uses the new one");
                    self.update(&service, |p| p.pem = Some((chain_pem, key_pem)));
                }
                ClientEvent::Event(WebResponse::SecondFactor(_)) | ClientEvent::Disconnected(_) => {
                }
            }
        }
    }
}
