//! `ipdect.cfg` for the OMM that asks (admin guide "OMM configuration files"): the template
//! with that OMM's placeholders and the MOM's predefined values, served only to the OMM's
//! own credentials while Provisioning is enabled for it, and every fetch recorded with the
//! OMM record (time, result, size, SHA-256, what stayed unreplaced).

use super::omm_auth;
use super::LocalAddr;
use crate::app::App;
use crate::error::{ApiError, ApiResult};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use model::{ConfigFetch, Omm};
use provisioning::omm::{generate, mom_address};
use sha2::Digest;
use std::net::SocketAddr;
use std::sync::Arc;

/// The configuration template's text.
///
/// # Errors
/// The store's refusal, or 503 when it cannot be reached.
pub async fn template(app: &App) -> ApiResult<String> {
    Ok(app.store.template().await?.text)
}

/// One OMM record, `None` when there is none.
///
/// # Errors
/// As [`template`].
pub async fn omm(app: &App, id: u32) -> ApiResult<Option<Omm>> {
    Ok(app.store.omm(id).await?)
}

async fn record(app: &App, id: u32, fetch: ConfigFetch, served: Option<String>) {
    if let Err(e) = app.store.record_fetch(id, fetch, served).await {
        tracing::warn!(omm = id, error = %e, "the fetch of ipdect.cfg could not be recorded");
    }
}

/// `GET /provisioning/omm-<id>/ipdect.cfg`.
///
/// # Errors
/// 404 for another folder, 401/429 for credentials, 403 while Provisioning is disabled.
pub async fn fetch(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    local: Option<Extension<LocalAddr>>,
    Path(folder): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let id = folder
        .strip_prefix("omm-")
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|id| *id != 0)
        .ok_or_else(|| ApiError::not_found("no such provisioning folder"))?;
    let record_of = omm(&app, id).await?;
    let checked = omm_auth::check(&app, record_of.as_ref(), &headers, peer.ip());
    let Some(omm) = record_of else {
        return Err(checked
            .err()
            .unwrap_or_else(|| ApiError::not_found("no such OMM")));
    };
    let settings = app.settings().await?;
    let address = mom_address(&settings, local.map(|Extension(LocalAddr(a))| a.ip()));
    let refused = |why: &str| ConfigFetch {
        time: model::now(),
        client: peer.ip().to_string(),
        mom_address: address.clone(),
        refused: why.to_owned(),
        ..ConfigFetch::default()
    };
    if let Err(e) = checked {
        if e.status == StatusCode::UNAUTHORIZED && omm_auth::basic(&headers).is_some() {
            record(&app, id, refused("wrong credentials"), None).await;
        }
        return Err(e);
    }
    if !omm.provisioning {
        app.metrics.provisioning("disabled");
        record(
            &app,
            id,
            refused("Provisioning is disabled for this OMM"),
            None,
        )
        .await;
        return Err(ApiError::forbidden(
            "provisioning_disabled",
            format!("Provisioning is disabled for OMM {id}"),
        ));
    }
    let rendered = generate(&template(&app).await?, &omm, &address, app.https_port);
    let fetch = ConfigFetch {
        time: model::now(),
        client: peer.ip().to_string(),
        mom_address: address,
        refused: String::new(),
        size: rendered.text.len() as u64,
        sha256: hex(&sha2::Sha256::digest(rendered.text.as_bytes())),
        unresolved: rendered.unresolved.clone(),
    };
    tracing::info!(omm = id, client = %peer.ip(), size = fetch.size, unresolved = rendered.unresolved.len(), "ipdect.cfg served");
    app.metrics.provisioning("served");
    record(&app, id, fetch, Some(rendered.text.clone())).await;
    Ok(([(header::CONTENT_TYPE, "application/xml")], rendered.text).into_response())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
