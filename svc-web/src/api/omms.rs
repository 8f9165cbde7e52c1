//! The OMMs pane: list with connection state and health, add, edit, multi-edit,
//! enable/disable, delete, certificate settings. An OMM's password and placeholder file are
//! never returned here (the password only as set or not, the file has its own path); an
//! edit without `password`, or with it sent back as shown, keeps it.

use crate::app::App;
use crate::audit;
use crate::auth::LoggedIn;
use crate::auth::{Caller, Writer};
use crate::error::{ApiError, ApiResult};
use crate::json::{patch, Body};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use model::Omm;
use std::sync::Arc;

/// Every OMM record, as the store keeps it (passwords included).
pub(crate) async fn all(app: &App) -> ApiResult<Vec<Omm>> {
    Ok(app.store.omms().await?)
}

/// OMM record `id` (one store read), 404 when there is none.
pub(crate) async fn one(app: &App, id: u32) -> ApiResult<Omm> {
    crate::provisioning::config_file::omm(app, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("OMM {id} does not exist")))
}

/// `omm` as the API shows it: the password as [`audit::REDACTED`] when set (as users' and
/// rooms' secrets), the placeholder file left out.
fn redacted(mut omm: Omm) -> Omm {
    if !omm.password.is_empty() {
        audit::REDACTED.clone_into(&mut omm.password);
    }
    // May hold secrets too; read and written at /api/v1/omms/{id}/placeholders.
    omm.placeholders.clear();
    omm
}

/// Every OMM record with its link state and health (passwords left out).
#[utoipa::path(get, path = "/api/v1/omms", tag = "OMMs", responses((status = 200, body = [Omm])))]
pub async fn list(State(app): State<Arc<App>>, _: Caller) -> ApiResult<Json<Vec<Omm>>> {
    Ok(Json(all(&app).await?.into_iter().map(redacted).collect()))
}

/// One OMM record.
#[utoipa::path(get, path = "/api/v1/omms/{id}", tag = "OMMs", params(("id" = u32, Path)),
    responses((status = 200, body = Omm), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(
    State(app): State<Arc<App>>,
    _: Caller,
    Path(id): Path<u32>,
) -> ApiResult<Json<Omm>> {
    Ok(Json(redacted(one(&app, id).await?)))
}

/// Adds an OMM record: the fields of an OMM record (absent ones take their defaults; the id
/// is assigned; link state and Cloud-ID are svc-axi's).
#[utoipa::path(post, path = "/api/v1/omms", tag = "OMMs", request_body = Omm,
    responses((status = 201, body = crate::api::directory::Created), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    Body(fields): Body<serde_json::Value>,
) -> ApiResult<(StatusCode, Json<crate::api::directory::Created>)> {
    if let Some(key) = fields
        .as_object()
        .and_then(|m| READ_ONLY.iter().find(|k| m.contains_key(**k)))
    {
        return Err(ApiError::invalid(format!("`{key}` cannot be set")));
    }
    let mut omm: Omm = crate::json::create(fields)?;
    omm.id = 0;
    omm.health = model::OmmHealth::default();
    omm.cloud_id.clear();
    omm.provisioning_state = model::ProvisioningState::default();
    let id = audit::store(&app, &who, "omms.create")
        .put_omm(omm.clone())
        .await?;
    tracing::info!(account = %who.account.name, omm = id, "OMM added");
    Ok((
        StatusCode::CREATED,
        Json(crate::api::directory::Created { id }),
    ))
}

/// Fields svc-axi owns.
const READ_ONLY: &[&str] = &["id", "health", "cloud_id", "provisioning_state"];

async fn apply(app: &App, who: &LoggedIn, id: u32, changes: serde_json::Value) -> ApiResult<()> {
    if let Some(key) = changes
        .as_object()
        .and_then(|m| READ_ONLY.iter().find(|k| m.contains_key(**k)))
    {
        return Err(ApiError::invalid(format!("`{key}` cannot be set")));
    }
    let current = one(app, id).await?;
    let edited = patch(&current, audit::without_unchanged_secrets(changes))?;
    audit::store(app, who, "omms.edit")
        .put_omm(edited.clone())
        .await?;
    Ok(())
}

/// Edits an OMM record: a JSON object of the fields to change (`enabled` to enable or
/// disable it).
#[utoipa::path(patch, path = "/api/v1/omms/{id}", tag = "OMMs", params(("id" = u32, Path)), request_body = Object,
    responses((status = 200, body = Omm), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn edit(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    Path(id): Path<u32>,
    Body(changes): Body<serde_json::Value>,
) -> ApiResult<Json<Omm>> {
    apply(&app, &who, id, changes).await?;
    tracing::info!(account = %who.account.name, omm = id, "OMM changed");
    Ok(Json(redacted(one(&app, id).await?)))
}

/// Applies the same changes to several OMM records; each gets its own result.
#[utoipa::path(patch, path = "/api/v1/omms", tag = "OMMs", request_body = crate::api::directory::MultiEdit,
    responses((status = 200, body = [crate::api::directory::EditResult])))]
pub async fn multi_edit(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    Body(edit): Body<crate::api::directory::MultiEdit>,
) -> ApiResult<Json<Vec<crate::api::directory::EditResult>>> {
    let mut out = Vec::new();
    for id in edit.ids.into_iter().take(1000) {
        let outcome = apply(&app, &who, id, edit.changes.clone()).await;
        out.push(crate::api::directory::EditResult {
            id,
            error: outcome.err().map(|e| crate::error::ErrorBody {
                error: e.code.to_owned(),
                message: e.message,
            }),
        });
    }
    Ok(Json(out))
}

/// Deletes an OMM record (its link ends).
#[utoipa::path(delete, path = "/api/v1/omms/{id}", tag = "OMMs", params(("id" = u32, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn delete(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    Path(id): Path<u32>,
) -> ApiResult<StatusCode> {
    audit::store(&app, &who, "omms.delete")
        .delete_omm(id)
        .await?;
    tracing::info!(account = %who.account.name, omm = id, "OMM deleted");
    Ok(StatusCode::NO_CONTENT)
}
