//! The EULA: shown at the first login and after a version change, accepted once.

use crate::app::{eula_version, App, EULA_TEXT};
use crate::auth::LoggedIn;
use crate::error::ApiResult;
use axum::extract::State;
use axum::Json;
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;

/// The EULA.
#[derive(Debug, Serialize, ToSchema)]
pub struct Eula {
    /// The version it is for.
    pub version: String,
    /// Its text.
    pub text: String,
    /// Whether it was accepted for this version.
    pub accepted: bool,
}

/// The EULA of this version and whether it was accepted (no login needed).
#[utoipa::path(get, path = "/api/v1/eula", tag = "session", responses((status = 200, body = Eula)))]
pub async fn eula(State(app): State<Arc<App>>) -> ApiResult<Json<Eula>> {
    let settings = app.settings().await?;
    Ok(Json(Eula {
        version: eula_version(),
        text: EULA_TEXT.to_owned(),
        accepted: settings.accepted_eula_version == eula_version(),
    }))
}

/// Accepts the EULA of this version.
#[utoipa::path(post, path = "/api/v1/eula/accept", tag = "session", responses((status = 200, body = Eula)))]
pub async fn accept_eula(State(app): State<Arc<App>>, who: LoggedIn) -> ApiResult<Json<Eula>> {
    let mut settings = app.settings().await?;
    if settings.accepted_eula_version != eula_version() {
        settings.accepted_eula_version = eula_version();
        crate::audit::store(&app, &who, "eula.accept")
            .put_settings(settings)
            .await?;
        app.known.forget();
        tracing::info!(account = %who.account.name, version = %eula_version(), "EULA accepted");
    }
    eula(State(app)).await
}
