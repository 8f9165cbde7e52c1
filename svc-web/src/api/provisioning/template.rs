//! The configuration template: read, saved after its check, checked ("lint"), previewed per
//! OMM, and "Show config file" for one OMM.

use super::*;
use crate::app::App;
use crate::audit;
use crate::auth::{Caller, Writer};
use crate::error::ApiResult;
use crate::provisioning::config_file;
use crate::provisioning::LocalAddr;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use model::{Omm, Settings};
use provisioning::omm::{address_for, generate};
use std::net::IpAddr;
use std::sync::Arc;

/// The check of `template` against every OMM, errors first.
pub(super) fn check(
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
pub(super) async fn lint_of(
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
