//! The Health states and System settings panes: health, the conflicts, the settings (system
//! name, suppress table updates, DECT settings, FAC number, pre-login banner), the security
//! level with its cipher lists and the supported suites, the certificate, the license, and
//! the version.

use crate::app::{eula_version, unix_now, App};
use crate::audit;
use crate::auth::LoggedIn;
use crate::auth::{Caller, Writer};
use crate::certificate::{self, CertificateInfo};
use crate::error::{ApiError, ApiResult};
use crate::json::{patch, Body};
use axum::extract::State;
use axum::Json;
use model::{CipherChoice, Conflict, HealthState, License, Settings, TlsSecurityLevel};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

/// The Health states pane.
#[utoipa::path(get, path = "/api/v1/health", tag = "health", responses((status = 200, body = [HealthState])))]
pub async fn health(State(app): State<Arc<App>>, _: Caller) -> ApiResult<Json<Vec<HealthState>>> {
    Ok(Json(app.store.health().await?))
}

/// Records held back because two OMMs claim them or the store refused them.
#[utoipa::path(get, path = "/api/v1/conflicts", tag = "health", responses((status = 200, body = [Conflict])))]
pub async fn conflicts(State(app): State<Arc<App>>, _: Caller) -> ApiResult<Json<Vec<Conflict>>> {
    Ok(Json(app.store.conflicts().await?))
}

/// The system settings, with the SARI's printed form beside its hex.
#[derive(Debug, Serialize, ToSchema)]
pub struct SettingsView {
    /// The settings.
    #[serde(flatten)]
    pub settings: Settings,
    /// The SARI as handsets print it ("31100 5064 1024 *"), empty without a SARI.
    pub sari_printed: String,
}

impl From<Settings> for SettingsView {
    fn from(settings: Settings) -> Self {
        Self {
            sari_printed: model::park::printed(&settings.sari).unwrap_or_default(),
            settings,
        }
    }
}

/// The installed license, with the SARI's printed form beside its hex.
#[derive(Debug, Serialize, ToSchema)]
pub struct LicenseView {
    /// The license.
    #[serde(flatten)]
    pub license: License,
    /// The SARI as handsets print it.
    pub sari_printed: String,
}

/// The system settings.
#[utoipa::path(get, path = "/api/v1/settings", tag = "system settings", responses((status = 200, body = SettingsView)))]
pub async fn get_settings(State(app): State<Arc<App>>, _: Caller) -> ApiResult<Json<SettingsView>> {
    Ok(Json(app.settings().await?.into()))
}

/// Fields only the MOM sets: the SARI comes from the license, the EULA version from its
/// acceptance.
const READ_ONLY_SETTINGS: &[&str] = &["sari", "accepted_eula_version"];

/// Changes settings: a JSON object of the fields to change. Cipher lists are checked
/// (an unknown suite is refused, naming it and listing the supported ones).
#[utoipa::path(patch, path = "/api/v1/settings", tag = "system settings", request_body = Object,
    responses((status = 200, body = SettingsView), (status = 422, body = crate::error::ErrorBody)))]
pub async fn edit_settings(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    Body(changes): Body<serde_json::Value>,
) -> ApiResult<Json<SettingsView>> {
    if let Some(map) = changes.as_object() {
        if let Some(key) = READ_ONLY_SETTINGS.iter().find(|k| map.contains_key(**k)) {
            return Err(ApiError::invalid(format!(
                "`{key}` cannot be set (it comes from the license or the EULA)"
            )));
        }
    }
    let current = app.settings().await?;
    let edited: Settings = patch(&current, changes)?;
    check_settings(&edited)?;
    check_against_certificate(&app, &edited)?;
    audit::store(&app, &who, "settings.edit")
        .put_settings(edited)
        .await?;
    app.known.forget();
    let saved = app.settings().await?;
    apply_tls_settings(&app, &saved);
    tracing::info!(account = %who.account.name, "system settings changed");
    Ok(Json(saved.into()))
}

/// The checks svc-web adds to the store's: the cipher lists.
fn check_settings(settings: &Settings) -> ApiResult<()> {
    tls_policy::check_settings(settings).map_err(|(level, e)| {
        ApiError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "cipher",
            format!("level {level:?}: {e}"),
        )
    })
}

/// Refuses settings whose level in force offers no suite the MOM's certificate can use:
/// every handshake would fail (the UI too), and only the CLI could undo it.
fn check_against_certificate(app: &App, settings: &Settings) -> ApiResult<()> {
    let (policy, _) = tls_policy::from_settings(settings);
    let algorithm = app.tls.certified().key.key.algorithm();
    if policy.usable_with(algorithm) {
        return Ok(());
    }
    Err(ApiError::new(
        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        "cipher",
        format!(
            "level {:?}: no suite in {} can be used with the MOM's certificate (a {algorithm:?} key); add a TLS 1.3 suite or one for that key",
            policy.level,
            policy.list()
        ),
    ))
}

/// Puts the settings' security level in force for new connections.
pub fn apply_tls_settings(app: &App, settings: &Settings) {
    let (policy, error) = tls_policy::from_settings(settings);
    if let Some(e) = error {
        tracing::warn!(error = %e, "stored cipher list unusable; using the level's defaults");
    }
    let list = policy.list();
    let current = app.tls.policy();
    if current.list() != list || current.level != policy.level {
        match app.tls.set_policy(policy) {
            Ok(()) => {
                tracing::info!(level = ?settings.tls_level, ciphers = %list, "TLS security level in force for new connections")
            }
            Err(e) => tracing::error!(error = %e, "cannot apply the TLS security level"),
        }
    }
}

/// One level's cipher list.
#[derive(Debug, Serialize, ToSchema)]
pub struct LevelCiphers {
    /// The level.
    pub level: TlsSecurityLevel,
    /// The administrator's choice.
    pub choice: CipherChoice,
    /// The default list.
    pub defaults: String,
    /// The protocols it allows.
    pub protocols: Vec<String>,
    /// What the level offers and how it differs from the others.
    pub description: String,
}

/// One supported suite.
#[derive(Debug, Serialize, ToSchema)]
pub struct SuiteInfo {
    /// OpenSSL name.
    pub openssl_name: String,
    /// IANA name.
    pub iana_name: String,
    /// Protocol.
    pub protocol: String,
}

/// The Security section.
#[derive(Debug, Serialize, ToSchema)]
pub struct Security {
    /// The level in force.
    pub level: TlsSecurityLevel,
    /// The suites new connections are offered, in order.
    pub in_force: String,
    /// Each level's list.
    pub levels: Vec<LevelCiphers>,
    /// Every suite the MOM supports.
    pub supported: Vec<SuiteInfo>,
}

/// The security level, each level's cipher list and defaults, and the supported suites.
#[utoipa::path(get, path = "/api/v1/security", tag = "system settings", responses((status = 200, body = Security)))]
pub async fn security(State(app): State<Arc<App>>, _: Caller) -> ApiResult<Json<Security>> {
    let settings = app.settings().await?;
    let levels = [
        TlsSecurityLevel::High,
        TlsSecurityLevel::Medium,
        TlsSecurityLevel::Legacy,
    ]
    .into_iter()
    .map(|level| LevelCiphers {
        level,
        choice: tls_policy::choice(&settings, level).clone(),
        defaults: tls_policy::default_list(level),
        protocols: tls_policy::protocols(level)
            .iter()
            .map(ToString::to_string)
            .collect(),
        description: tls_policy::description(level).to_owned(),
    })
    .collect();
    let supported = tls_policy::supported()
        .into_iter()
        .map(|s| SuiteInfo {
            openssl_name: s.openssl_name.to_owned(),
            iana_name: s.iana_name.to_owned(),
            protocol: s.protocol.to_string(),
        })
        .collect();
    Ok(Json(Security {
        level: settings.tls_level,
        in_force: app.tls.policy().list(),
        levels,
        supported,
    }))
}

/// The certificate the MOM serves.
#[utoipa::path(get, path = "/api/v1/certificate", tag = "system settings", responses((status = 200, body = CertificateInfo)))]
pub async fn get_certificate(State(app): State<Arc<App>>, _: Caller) -> Json<CertificateInfo> {
    Json(app.tls.certified().info)
}

/// An uploaded certificate.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CertificateUpload {
    /// The PEM certificate chain, leaf first.
    pub certificate_pem: String,
    /// The PEM private key of the leaf.
    pub key_pem: String,
}

async fn install(
    app: &App,
    certified: certificate::Certified,
    who: &LoggedIn,
) -> ApiResult<CertificateInfo> {
    let before = app.tls.certified().info;
    app.certificate_files
        .store(&certified)
        .map_err(ApiError::internal)?;
    let info = certified.info.clone();
    app.tls
        .set_certificate(certified)
        .map_err(ApiError::internal)?;
    tracing::info!(
        account = %who.account.name,
        sha256 = %info.sha256_fingerprint,
        subject = %info.subject,
        "TLS certificate replaced; new connections use it"
    );
    audit::record(
        app,
        who,
        "certificate.replace",
        "certificate".into(),
        Some(&before),
        Some(&info),
    )
    .await;
    Ok(info)
}

/// Replaces the certificate with an uploaded chain and key (checked: they parse, they match,
/// the certificate is current).
#[utoipa::path(put, path = "/api/v1/certificate", tag = "system settings", request_body = CertificateUpload,
    responses((status = 200, body = CertificateInfo), (status = 422, body = crate::error::ErrorBody)))]
pub async fn upload_certificate(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    Body(upload): Body<CertificateUpload>,
) -> ApiResult<Json<CertificateInfo>> {
    let now = i64::try_from(unix_now()).unwrap_or(i64::MAX);
    let certified =
        certificate::check(&upload.certificate_pem, &upload.key_pem, now).map_err(|e| {
            ApiError::new(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                "certificate",
                e.to_string(),
            )
        })?;
    let algorithm = certified.key.key.algorithm();
    let (policy, _) = tls_policy::from_settings(&app.settings().await?);
    if !policy.usable_with(algorithm) {
        return Err(ApiError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "certificate",
            format!(
                "no suite of security level {:?} ({}) can be used with this certificate's {algorithm:?} key; change the cipher list first",
                policy.level,
                policy.list()
            ),
        ));
    }
    Ok(Json(install(&app, certified, &who).await?))
}

/// Replaces the certificate with a new self-signed one.
#[utoipa::path(post, path = "/api/v1/certificate/self-signed", tag = "system settings",
    responses((status = 200, body = CertificateInfo)))]
pub async fn new_self_signed(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
) -> ApiResult<Json<CertificateInfo>> {
    let now = i64::try_from(unix_now()).unwrap_or(i64::MAX);
    let certified = certificate::self_signed(&app.hosts, now).map_err(ApiError::internal)?;
    Ok(Json(install(&app, certified, &who).await?))
}

/// The installed license, if any.
#[utoipa::path(get, path = "/api/v1/license", tag = "system settings", responses((status = 200, body = Option<LicenseView>)))]
pub async fn get_license(
    State(app): State<Arc<App>>,
    _: Caller,
) -> ApiResult<Json<Option<LicenseView>>> {
    let l = app.store.license().await?;
    Ok(Json(l.map(|license| LicenseView {
        sari_printed: model::park::printed(&license.sari).unwrap_or_default(),
        license,
    })))
}

/// A license file to import.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LicenseUpload {
    /// The signed license file's text.
    pub file: String,
}

/// Imports a signed license file (refused with the reason: signature, issuer, installation id).
#[utoipa::path(post, path = "/api/v1/license", tag = "system settings", request_body = LicenseUpload,
    responses((status = 200, body = Option<LicenseView>), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn install_license(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    Body(upload): Body<LicenseUpload>,
) -> ApiResult<Json<Option<LicenseView>>> {
    app.store.install_license(upload.file.into_bytes()).await?;
    tracing::info!(account = %who.account.name, "license installed");
    let installed = get_license(State(Arc::clone(&app)), Caller(who.clone())).await?;
    audit::record(
        &app,
        &who,
        "license.install",
        "license".into(),
        audit::NONE,
        Some(&installed.0),
    )
    .await;
    Ok(installed)
}

/// The versions.
#[derive(Debug, Serialize, ToSchema)]
pub struct Version {
    /// The MOM's version.
    pub version: String,
    /// The EULA version.
    pub eula_version: String,
    /// The services' IPC protocol.
    pub ipc_protocol: u32,
}

/// The MOM's version (no login needed).
#[utoipa::path(get, path = "/api/v1/version", tag = "system settings", responses((status = 200, body = Version)))]
pub async fn version() -> Json<Version> {
    Json(Version {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        eula_version: eula_version(),
        ipc_protocol: ipc::PROTO_VERSION,
    })
}
