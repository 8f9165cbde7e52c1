//! Each OMM's placeholder file ("Configuring OMM-specific placeholder values").

use super::*;
use crate::app::App;
use crate::audit;
use crate::auth::Writer;
use crate::error::ApiResult;
use crate::provisioning::config_file;
use crate::provisioning::LocalAddr;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::{Extension, Json};
use model::Omm;
use std::sync::Arc;

/// The OMM's placeholder file (`name=value` lines), byte for byte.
#[utoipa::path(get, path = "/api/v1/omms/{id}/placeholders", tag = "provisioning", params(("id" = u32, Path)),
    responses((status = 200, content_type = "text/plain", body = String), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_placeholders(
    State(app): State<Arc<App>>,
    _: Writer,
    Path(id): Path<u32>,
) -> ApiResult<Response> {
    Ok(text(crate::api::omms::one(&app, id).await?.placeholders))
}

/// Replaces the OMM's placeholder file with the body: `name=value` lines (CRLF, blank lines
/// and `#` comments allowed; a value may be empty or hold `=`), at most 64 KiB. A line
/// without `=` or with a name that cannot be a placeholder is refused with its number, and
/// nothing changes. Answers with the check's findings for this OMM.
#[utoipa::path(put, path = "/api/v1/omms/{id}/placeholders", tag = "provisioning", params(("id" = u32, Path)),
    request_body(content = String, content_type = "text/plain"),
    responses((status = 200, body = Lint), (status = 404, body = crate::error::ErrorBody),
        (status = 413, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn put_placeholders(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    address: Option<Extension<LocalAddr>>,
    Path(id): Path<u32>,
    body: Body,
) -> ApiResult<Json<Lint>> {
    let new = text_body(body, MAX_PLACEHOLDERS, "placeholder file").await?;
    let current = crate::api::omms::one(&app, id).await?;
    let edited = Omm {
        placeholders: new.clone(),
        ..current.clone()
    };
    audit::store(&app, &who, "omms.placeholders")
        .put_omm(edited)
        .await?;
    tracing::info!(account = %who.account.name, omm = id, bytes = new.len(), "placeholder file changed");
    let template = config_file::template(&app).await?;
    let (omms, settings) = (crate::api::omms::all(&app).await?, app.settings().await?);
    let findings = check(&app, &template, &omms, &settings, local(address))
        .into_iter()
        .filter(|f| f.omms.contains(&id))
        .collect();
    Ok(Json(Lint { findings }))
}
