//! The two file folders the OMMs read: `resources/` and each OMM's `Cloud-ID-<id>/`.

use super::*;
use crate::app::App;
use crate::audit;
use crate::auth::{Caller, Writer};
use crate::error::{ApiError, ApiResult};
use crate::provisioning::folders::{Folder, Listed, RelPath};
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use std::sync::Arc;

pub(super) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
}

pub(super) fn resources(app: &Arc<App>) -> ApiResult<Folder> {
    Ok(app.files.resources.try_clone()?)
}

/// The OMM's folder; `create` makes it.
pub(super) async fn omm_folder(app: &Arc<App>, id: u32, create: bool) -> ApiResult<Folder> {
    let omm = crate::api::omms::one(app, id).await?;
    let files = Arc::clone(app);
    blocking(move || Ok(files.files.omm_folder(&omm.cloud_id, create)?)).await
}

/// Every file below `resources/` (common files for every OMM and base station).
#[utoipa::path(get, path = "/api/v1/provisioning/resources", tag = "provisioning",
    responses((status = 200, body = [Listed])))]
pub async fn list_resources(
    State(app): State<Arc<App>>,
    _: Caller,
) -> ApiResult<Json<Vec<Listed>>> {
    let folder = resources(&app)?;
    Ok(Json(blocking(move || Ok(folder.list()?)).await?))
}

/// Uploads a file into `resources/` (folders on its path are made); the old file stays
/// unless the whole body arrived.
#[utoipa::path(put, path = "/api/v1/provisioning/resources/file", tag = "provisioning", params(FilePath),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201), (status = 400, body = crate::error::ErrorBody), (status = 413, body = crate::error::ErrorBody)))]
pub async fn put_resource(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    Query(at): Query<FilePath>,
    body: Body,
) -> ApiResult<StatusCode> {
    let rel = RelPath::parse_plain(&at.path)?;
    let folder = resources(&app)?;
    let size =
        crate::provisioning::write_body(&folder, &rel, body, app.files.admin_upload_max).await?;
    audited_file(
        &app,
        &who,
        "resources.put",
        &format!("resources/{}", at.path),
        Some(size),
    )
    .await;
    Ok(StatusCode::CREATED)
}

/// Deletes a file (or an empty folder) of `resources/`.
#[utoipa::path(delete, path = "/api/v1/provisioning/resources/file", tag = "provisioning", params(FilePath),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn delete_resource(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    Query(at): Query<FilePath>,
) -> ApiResult<StatusCode> {
    let rel = RelPath::parse_plain(&at.path)?;
    let folder = resources(&app)?;
    blocking(move || Ok(folder.delete(&rel)?)).await?;
    audited_file(
        &app,
        &who,
        "resources.delete",
        &format!("resources/{}", at.path),
        None,
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn audited_file(
    app: &App,
    who: &crate::auth::LoggedIn,
    action: &str,
    path: &str,
    size: Option<u64>,
) {
    tracing::info!(account = %who.account.name, path, size, "{action}");
    audit::record(
        app,
        who,
        action,
        path.to_owned(),
        audit::NONE,
        size.as_ref(),
    )
    .await;
}

/// Every file in the OMM's folder `omm_files/Cloud-ID-<cloud-id>/` (its backups and dumps).
#[utoipa::path(get, path = "/api/v1/omms/{id}/files", tag = "provisioning", params(("id" = u32, Path)),
    responses((status = 200, body = [Listed]), (status = 404, body = crate::error::ErrorBody)))]
pub async fn list_omm_files(
    State(app): State<Arc<App>>,
    _: Caller,
    Path(id): Path<u32>,
) -> ApiResult<Json<Vec<Listed>>> {
    let folder = omm_folder(&app, id, false).await?;
    Ok(Json(blocking(move || Ok(folder.list()?)).await?))
}

/// Creates the OMM's folder (it needs its Cloud-ID, learnt at its first link); nothing
/// happens when it exists.
#[utoipa::path(post, path = "/api/v1/omms/{id}/files", tag = "provisioning", params(("id" = u32, Path)),
    responses((status = 201), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn create_omm_folder(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    Path(id): Path<u32>,
) -> ApiResult<StatusCode> {
    omm_folder(&app, id, true).await?;
    audited_file(&app, &who, "omm_files.create", &format!("OMM {id}"), None).await;
    Ok(StatusCode::CREATED)
}

/// One file of the OMM's folder.
#[utoipa::path(get, path = "/api/v1/omms/{id}/file", tag = "provisioning", params(("id" = u32, Path), FilePath),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_omm_file(
    State(app): State<Arc<App>>,
    _: Caller,
    Path(id): Path<u32>,
    Query(at): Query<FilePath>,
    headers: axum::http::HeaderMap,
) -> ApiResult<Response> {
    let rel = RelPath::parse_plain(&at.path)?;
    let folder = omm_folder(&app, id, false).await?;
    let opened = folder.read(&rel)?;
    Ok(crate::provisioning::serve::file(opened, rel.split().1, &headers).await)
}

/// Uploads a file into the OMM's folder (made when missing); the old file stays unless the
/// whole body arrived.
#[utoipa::path(put, path = "/api/v1/omms/{id}/file", tag = "provisioning", params(("id" = u32, Path), FilePath),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201), (status = 400, body = crate::error::ErrorBody), (status = 413, body = crate::error::ErrorBody)))]
pub async fn put_omm_file(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    Path(id): Path<u32>,
    Query(at): Query<FilePath>,
    body: Body,
) -> ApiResult<StatusCode> {
    let rel = RelPath::parse_plain(&at.path)?;
    let folder = omm_folder(&app, id, true).await?;
    let size =
        crate::provisioning::write_body(&folder, &rel, body, app.files.admin_upload_max).await?;
    audited_file(
        &app,
        &who,
        "omm_files.put",
        &format!("OMM {id}: {}", at.path),
        Some(size),
    )
    .await;
    Ok(StatusCode::CREATED)
}

/// Deletes a file (or an empty folder) of the OMM's folder.
#[utoipa::path(delete, path = "/api/v1/omms/{id}/file", tag = "provisioning", params(("id" = u32, Path), FilePath),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn delete_omm_file(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    Path(id): Path<u32>,
    Query(at): Query<FilePath>,
) -> ApiResult<StatusCode> {
    let rel = RelPath::parse_plain(&at.path)?;
    let folder = omm_folder(&app, id, false).await?;
    blocking(move || Ok(folder.delete(&rel)?)).await?;
    audited_file(
        &app,
        &who,
        "omm_files.delete",
        &format!("OMM {id}: {}", at.path),
        None,
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
