//! Centralized OMM provisioning for administrators (admin guide "Modifying the configuration
//! template", "Configuring OMM-specific placeholder values", "Verifying the OMM
//! configuration", "Update OMM"): the template and each OMM's placeholder file as plain text,
//! "Show config file", the lint and the per-OMM preview shown before anything is pushed,
//! "Update OMM" for one, several or all, and the two file folders the OMMs read
//! (`resources/` and each OMM's `Cloud-ID-<id>/`).
//!
//! Texts travel as `text/plain; charset=utf-8` bodies, byte for byte; files as
//! `application/octet-stream`, their place as `?path=a/b.txt` (the same strict rules as the
//! OMMs' own requests: no `..`, no encoded separators, no hidden names).

use crate::app::App;
use crate::audit;
use crate::auth::{Caller, Writer};
use crate::error::{ApiError, ApiResult};
use crate::json::Body as JsonBody;
use crate::provisioning::config_file;
use crate::provisioning::folders::{Folder, Listed, RelPath};
use crate::provisioning::LocalAddr;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use ipc::api::axi::{AxiRequest, AxiResponse};
use model::{ConfigFetch, Omm, Settings};
use provisioning::omm::{address_for, generate};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

/// The largest placeholder file (the store's limit too).
pub use provisioning::MAX_PLACEHOLDERS;
/// The largest template (the store's limit too).
pub use provisioning::MAX_TEMPLATE;

/// One finding of the provisioning check.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LintFinding {
    /// `error` (an OMM would fail on its file) or `warning` (probably a mistake).
    pub severity: &'static str,
    /// The kind: `not_well_formed`, `unknown_command`, `unresolved`, `unused_value`,
    /// `unknown_cloud_id`, `unbalanced_comment`, `placeholder_file`, `shared_cloud_id`.
    pub code: &'static str,
    /// For the administrator.
    pub message: String,
    /// The template line it concerns, if one.
    pub line: Option<usize>,
    /// The OMMs it concerns; empty when it is the template's alone.
    pub omms: Vec<u32>,
}

impl From<provisioning::lint::Finding> for LintFinding {
    fn from(f: provisioning::lint::Finding) -> Self {
        Self {
            severity: f.severity.as_str(),
            code: f.code,
            message: f.message,
            line: f.line,
            omms: f.omms,
        }
    }
}

/// The answer of the check: what it found (empty when all is well).
#[derive(Debug, Serialize, ToSchema)]
pub struct Lint {
    /// Errors first, then warnings.
    pub findings: Vec<LintFinding>,
}

/// What one OMM would get, against what it got.
#[derive(Debug, Serialize, ToSchema)]
pub struct Preview {
    /// OMM id.
    pub id: u32,
    /// Its name.
    pub name: String,
    /// Whether the MOM provisions it.
    pub provisioning: bool,
    /// Its last fetch, if any.
    pub last_fetch: Option<ConfigFetch>,
    /// Whether the file it would get now differs from the one it fetched last (true when it
    /// never fetched).
    pub changed: bool,
    /// A unified diff from its last file to the one it would get now (empty when the same
    /// or when it never fetched).
    pub diff: String,
    /// Placeholders its file would leave unreplaced.
    pub unresolved: Vec<String>,
}

/// Which OMMs "Update OMM" is for: a list, or all that the MOM provisions.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRequest {
    /// These OMMs.
    #[serde(default)]
    pub omms: Vec<u32>,
    /// Every OMM with Provisioning enabled (then `omms` must be empty).
    #[serde(default)]
    pub all: bool,
}

/// The outcome of "Update OMM" for one OMM.
#[derive(Debug, Serialize, ToSchema)]
pub struct UpdateResult {
    /// OMM id.
    pub id: u32,
    /// Why it was not sent, when it was not (not linked, Provisioning disabled, …).
    pub error: Option<String>,
}

/// Where a file is, below its folder.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FilePath {
    /// `/`-separated, percent-encoding as in any query.
    pub path: String,
}

/// Which OMM the preview is for (all when absent).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PreviewFilter {
    /// One OMM's id.
    pub omm: Option<u32>,
}

fn text(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

/// Reads a text body of at most `max` bytes that must be UTF-8.
async fn text_body(body: Body, max: usize, what: &str) -> ApiResult<String> {
    use futures_util::StreamExt;
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the {what} may have at most {max} bytes"),
        )
    };
    let mut bytes = Vec::new();
    let mut stream = body.into_data_stream();
    while let Some(piece) = stream.next().await {
        let piece = piece.map_err(|e| {
            if e.to_string().contains("length limit") {
                too_large()
            } else {
                ApiError::bad_request(format!("the {what} could not be read: {e}"))
            }
        })?;
        if bytes.len() + piece.len() > max {
            return Err(too_large());
        }
        bytes.extend_from_slice(&piece);
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..at].iter().filter(|b| **b == b'\n').count() + 1;
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_utf8",
            format!("the {what} is not UTF-8 text (line {line}, byte {at})"),
        )
    })
}

fn local(extension: Option<Extension<LocalAddr>>) -> Option<IpAddr> {
    extension.map(|Extension(LocalAddr(a))| a.ip())
}

/// The check of `template` against every OMM, errors first.
fn check(
    app: &App,
    template: &str,
    omms: &[Omm],
    settings: &Settings,
    local: Option<IpAddr>,
) -> Vec<LintFinding> {
    let mut findings: Vec<LintFinding> =
        provisioning::omm::lint(template, omms, settings, local, app.https_port)
            .into_iter()
            .map(LintFinding::from)
            .collect();
    findings.sort_by_key(|f| f.severity != "error");
    findings
}

/// The check of `template` against every OMM as they are now (the answer of the template's
/// save and of both lint routes).
async fn lint_of(
    app: &App,
    template: &str,
    address: Option<Extension<LocalAddr>>,
) -> ApiResult<Lint> {
    let (omms, settings) = (crate::api::omms::all(app).await?, app.settings().await?);
    Ok(Lint {
        findings: check(app, template, &omms, &settings, local(address)),
    })
}

/// The configuration template, byte for byte.
#[utoipa::path(get, path = "/api/v1/provisioning/template", tag = "provisioning",
    responses((status = 200, content_type = "text/plain", body = String)))]
pub async fn get_template(State(app): State<Arc<App>>, _: Caller) -> ApiResult<Response> {
    Ok(text(config_file::template(&app).await?))
}

/// Replaces the configuration template with the body (UTF-8 text, at most 1 MiB), stored
/// byte for byte; answers with the check of the new template against every OMM. A template
/// with findings is still stored: the findings are for the administrator to read before
/// "Update OMM".
#[utoipa::path(put, path = "/api/v1/provisioning/template", tag = "provisioning",
    request_body(content = String, content_type = "text/plain"),
    responses((status = 200, body = Lint), (status = 413, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn put_template(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    address: Option<Extension<LocalAddr>>,
    body: Body,
) -> ApiResult<Json<Lint>> {
    let new = text_body(body, MAX_TEMPLATE, "template").await?;
    audit::store(&app, &who, "provisioning.template")
        .put_template(new.clone())
        .await?;
    tracing::info!(account = %who.account.name, bytes = new.len(), "configuration template changed");
    Ok(Json(lint_of(&app, &new, address).await?))
}

/// The check of the template and of every OMM's placeholders, shown before anything is
/// pushed.
#[utoipa::path(get, path = "/api/v1/provisioning/lint", tag = "provisioning",
    responses((status = 200, body = Lint)))]
pub async fn lint(
    State(app): State<Arc<App>>,
    _: Caller,
    address: Option<Extension<LocalAddr>>,
) -> ApiResult<Json<Lint>> {
    let template = config_file::template(&app).await?;
    Ok(Json(lint_of(&app, &template, address).await?))
}

/// The check of a template that is not saved (the body, UTF-8 text, at most 1 MiB) and of
/// every OMM's placeholders: the editor's "Check" of the text being edited.
#[utoipa::path(post, path = "/api/v1/provisioning/lint", tag = "provisioning",
    request_body(content = String, content_type = "text/plain"),
    responses((status = 200, body = Lint), (status = 413, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn lint_text(
    State(app): State<Arc<App>>,
    _: Caller,
    address: Option<Extension<LocalAddr>>,
    body: Body,
) -> ApiResult<Json<Lint>> {
    let template = text_body(body, MAX_TEMPLATE, "template").await?;
    Ok(Json(lint_of(&app, &template, address).await?))
}

/// Per OMM (or for `?omm=`), what it would get now against what it fetched last, so that
/// "Update all" shows what will change where. Needs write permission: the files hold the
/// OMMs' passwords.
#[utoipa::path(get, path = "/api/v1/provisioning/preview", tag = "provisioning", params(PreviewFilter),
    responses((status = 200, body = [Preview])))]
pub async fn preview(
    State(app): State<Arc<App>>,
    _: Writer,
    address: Option<Extension<LocalAddr>>,
    Query(filter): Query<PreviewFilter>,
) -> ApiResult<Json<Vec<Preview>>> {
    let template = config_file::template(&app).await?;
    let settings = app.settings().await?;
    let local = local(address);
    let omms: Vec<Omm> = match filter.omm {
        Some(id) => vec![crate::api::omms::one(&app, id).await?],
        None => crate::api::omms::all(&app).await?,
    };
    let mut out = Vec::with_capacity(omms.len());
    for omm in omms {
        let served = app.store.served_config(omm.id).await?;
        let now = generate(
            &template,
            &omm,
            &address_for(&settings, &omm, local),
            app.https_port,
        );
        out.push(Preview {
            id: omm.id,
            name: omm.name.clone(),
            provisioning: omm.provisioning,
            last_fetch: omm.provisioning_state.last_fetch.clone(),
            changed: served.as_deref() != Some(now.text.as_str()),
            diff: served
                .as_deref()
                .map(|s| provisioning::diff::diff(s, &now.text))
                .unwrap_or_default(),
            unresolved: now.unresolved,
        });
    }
    Ok(Json(out))
}

/// "Show config file": exactly what the OMM would get now. Needs write permission: the file
/// holds the OMM's password.
#[utoipa::path(get, path = "/api/v1/omms/{id}/config-file", tag = "provisioning", params(("id" = u32, Path)),
    responses((status = 200, content_type = "application/xml", body = String), (status = 404, body = crate::error::ErrorBody)))]
pub async fn config_file(
    State(app): State<Arc<App>>,
    _: Writer,
    address: Option<Extension<LocalAddr>>,
    Path(id): Path<u32>,
) -> ApiResult<Response> {
    let omm = crate::api::omms::one(&app, id).await?;
    let settings = app.settings().await?;
    let template = config_file::template(&app).await?;
    let rendered = generate(
        &template,
        &omm,
        &address_for(&settings, &omm, local(address)),
        app.https_port,
    );
    Ok(([(header::CONTENT_TYPE, "application/xml")], rendered.text).into_response())
}

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

/// "Update OMM": the OMMs are told to fetch their configuration now (`SoftwareUpdate`);
/// each fetch is then recorded with its OMM, and an OMM that does not fetch in time gets a
/// warning health state.
#[utoipa::path(post, path = "/api/v1/omms/update", tag = "provisioning", request_body = UpdateRequest,
    responses((status = 200, body = [UpdateResult]), (status = 422, body = crate::error::ErrorBody),
        (status = 503, body = crate::error::ErrorBody)))]
pub async fn update(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    JsonBody(request): JsonBody<UpdateRequest>,
) -> ApiResult<Json<Vec<UpdateResult>>> {
    let omms = crate::api::omms::all(&app).await?;
    let ids: Vec<u32> = match (request.all, request.omms.is_empty()) {
        (true, true) => omms
            .iter()
            .filter(|o| o.provisioning)
            .map(|o| o.id)
            .collect(),
        (false, false) => {
            if let Some(missing) = request
                .omms
                .iter()
                .find(|id| !omms.iter().any(|o| o.id == **id))
            {
                return Err(ApiError::not_found(format!("OMM {missing} does not exist")));
            }
            request.omms.iter().copied().take(10_000).collect()
        }
        (true, false) => return Err(ApiError::invalid("give either `omms` or `all`, not both")),
        (false, true) => return Err(ApiError::invalid("give `omms` or `all: true`")),
    };
    let axi = app
        .axi
        .as_ref()
        .ok_or_else(|| ApiError::unavailable("svc-axi cannot be reached from svc-web"))?;
    let outcome = match axi.request(AxiRequest::SoftwareUpdate(ids.clone())).await? {
        AxiResponse::Updated(o) => o,
        AxiResponse::Error(why) => return Err(ApiError::unavailable(why)),
        other => {
            return Err(ApiError::internal(format!(
                "unexpected answer from svc-axi: {other:?}"
            )))
        }
    };
    let sent = outcome.iter().filter(|(_, e)| e.is_none()).count();
    tracing::info!(account = %who.account.name, asked = ids.len(), sent, "Update OMM");
    audit::record(
        &app,
        &who,
        "omms.update",
        format!("{} OMM(s)", ids.len()),
        audit::NONE,
        Some(&ids),
    )
    .await;
    Ok(Json(
        outcome
            .into_iter()
            .map(|(id, error)| UpdateResult { id, error })
            .collect(),
    ))
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
}

fn resources(app: &Arc<App>) -> ApiResult<Folder> {
    Ok(app.files.resources.try_clone()?)
}

/// The OMM's folder; `create` makes it.
async fn omm_folder(app: &Arc<App>, id: u32, create: bool) -> ApiResult<Folder> {
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

async fn audited_file(
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
