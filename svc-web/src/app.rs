//! What every request handler shares: the store client, the session table, the login
//! throttle, the TLS state, svc-web's own state files and its metrics.

use crate::api_tokens::ApiTokens;
use crate::certificate::CertificateFiles;
use crate::error::{ApiError, ApiResult};
use crate::login_throttle::Throttle;
use crate::metrics::Metrics;
use crate::second_factor::SecondFactors;
use crate::sessions::Sessions;
use crate::tls::TlsState;
use ipc::api::store::Change;
use ipc::store_client::Store;
use ipc::Client;
use model::{Account, Settings};
use std::sync::Mutex;

/// The EULA text shown at first login and after a version change.
pub const EULA_TEXT: &str = include_str!("eula.txt");

/// The version whose EULA must be accepted: the MOM's major.minor version.
#[must_use]
pub fn eula_version() -> String {
    let mut parts = env!("CARGO_PKG_VERSION").split('.');
    format!(
        "{}.{}",
        parts.next().unwrap_or("0"),
        parts.next().unwrap_or("0")
    )
}

/// Seconds since the Unix epoch.
#[must_use]
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The shared state of svc-web.
pub struct App {
    /// The store.
    pub store: Store,
    /// The accounts and settings as the session check last read them: whoever writes them
    /// through `store` calls `known.forget()` before answering.
    pub known: crate::known_records::KnownRecords,
    /// Cookie sessions.
    pub sessions: Mutex<Sessions>,
    /// Failed-login throttle.
    pub throttle: Mutex<Throttle>,
    /// TOTP second factors.
    pub second_factors: Mutex<SecondFactors>,
    /// API tokens for scripts.
    pub tokens: Mutex<ApiTokens>,
    /// The database id the sessions, tokens and second factors were made under.
    pub database: crate::database_identity::Known,
    /// The certificate and the TLS configuration of new connections.
    pub tls: TlsState,
    /// Where the certificate is kept.
    pub certificate_files: CertificateFiles,
    /// The MOM's host names and addresses (for the password rules and the certificate).
    pub hosts: Vec<String>,
    /// The HTTPS port (for the redirect).
    pub https_port: u16,
    /// Metrics for `/metrics`.
    pub metrics: Metrics,
    /// The bearer token `/metrics` needs.
    pub metrics_token: Option<String>,
    /// Whether `/metrics` answers loopback clients without the token.
    pub metrics_loopback: bool,
    /// The store's change feed, for the WebSockets.
    pub changes: tokio::sync::broadcast::Sender<Change>,
    /// "Suppress table updates" as the settings say now (kept by the change feed, so the
    /// live-event clients need not each ask the store).
    pub suppress: tokio::sync::watch::Sender<model::SuppressTableUpdates>,
    /// The latest changes, for WebSockets that resume.
    pub recent: Mutex<crate::live_events::Recent>,
    /// Whether svc-web runs in development mode.
    pub dev: bool,
    /// The provisioning folders (resources and the OMMs' folders).
    pub files: crate::provisioning::Files,
    /// svc-axi, for "Update OMM"; `None` when svc-web was started without its socket.
    pub axi: Option<Client<ipc::api::axi::AxiApi>>,
    /// The supervisor's control socket, for the log level; `None` when not given.
    pub control: Option<Client<ipc::api::control::ControlApi>>,
}

impl App {
    /// The system settings.
    ///
    /// # Errors
    /// The store's refusal, or 503 when it cannot be reached.
    pub async fn settings(&self) -> ApiResult<Settings> {
        Ok(self.store.settings().await?)
    }

    /// Every account, hashes included.
    ///
    /// # Errors
    /// As [`App::settings`].
    pub async fn accounts(&self) -> ApiResult<Vec<Account>> {
        Ok(self.store.accounts().await?)
    }

    /// One account.
    ///
    /// # Errors
    /// 404 when there is none, else as [`App::settings`].
    pub async fn account(&self, id: u32) -> ApiResult<Account> {
        find_account(&self.accounts().await?, id)
    }

    /// The caller's account for the session check: as last read ([`App::known`]), so a
    /// request costs no store read for it.
    ///
    /// # Errors
    /// As [`App::account`].
    pub async fn session_account(&self, id: u32) -> ApiResult<Account> {
        find_account(&self.known.get_or_read(self.store.accounts()).await?, id)
    }

    /// The settings for the session check (the accepted EULA): as last read.
    ///
    /// # Errors
    /// As [`App::settings`].
    pub async fn session_settings(&self) -> ApiResult<std::sync::Arc<Settings>> {
        Ok(self.known.get_or_read(self.store.settings()).await?)
    }
}

/// Account `id` of `accounts`; 404 when there is none.
fn find_account(accounts: &[Account], id: u32) -> ApiResult<Account> {
    accounts
        .iter()
        .find(|a| a.id == id)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("account {id} does not exist")))
}
