//! MOM system maintenance (admin guide chapter 3): DB export (a download), DB import (an
//! upload the store checks completely before anything is replaced), the system dump
//! `mom_sys_dump_<id>.txt.gz` for support, with every password, PIN and key redacted, and
//! the log level of every MOM process (changed through the supervisor, without a restart).

use crate::app::{unix_now, App};
use crate::audit;
use crate::auth::{Caller, Writer};
use crate::error::{ApiError, ApiResult};
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::StreamExt;
use ipc::api::store::{StoreRequest, CHUNK_SIZE};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::sync::Arc;
use utoipa::ToSchema;

/// The largest database import accepted.
pub const MAX_IMPORT: usize = 1024 * 1024 * 1024;

fn stamp() -> String {
    let now = time::OffsetDateTime::from_unix_timestamp(i64::try_from(unix_now()).unwrap_or(0))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}{:02}{:02}-{:02}{:02}{:02}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    )
}

/// Downloads a consistent export of the whole database.
#[utoipa::path(get, path = "/api/v1/database/export", tag = "maintenance",
    responses((status = 200, description = "The export file", content_type = "application/octet-stream")))]
pub async fn export(State(app): State<Arc<App>>, Writer(who): Writer) -> ApiResult<Response> {
    let (export, size) = app.store.export_begin().await?;
    audit::record(
        &app,
        &who,
        "database.export",
        format!("{size} bytes"),
        audit::NONE,
        audit::NONE,
    )
    .await;
    let store = app.store.clone();
    let chunks = futures_util::stream::unfold(0u64, move |offset| {
        let store = store.clone();
        async move {
            if offset >= size {
                return None;
            }
            match store.export_chunk(export, offset).await {
                Ok(bytes) if !bytes.is_empty() => {
                    let next = offset + bytes.len() as u64;
                    Some((Ok::<_, std::io::Error>(bytes), next))
                }
                other => Some((
                    Err(std::io::Error::other(format!(
                        "export failed at byte {offset}: {other:?}"
                    ))),
                    size,
                )),
            }
        }
    });
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::CONTENT_LENGTH, size.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"mom_db_{}.dat\"", stamp()),
            ),
        ],
        Body::from_stream(chunks),
    )
        .into_response())
}

/// Options of an import.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ImportOptions {
    /// Import even if the file carries another installation's license or SARI while OMMs
    /// are linked (they would be provisioned with that identity).
    #[serde(default)]
    pub confirm_foreign_identity: bool,
}

/// The result of an import.
#[derive(Debug, Serialize, ToSchema)]
pub struct Imported {
    /// The database's revision after the import.
    pub revision: u64,
    /// Bytes imported.
    pub bytes: u64,
}

/// The header that carries the secrets key of the installation that made an import.
pub const SECRETS_KEY_HEADER: &str = "x-secrets-key";

/// Replaces the database with an uploaded export. The store checks every record before it
/// replaces anything; a refused file changes nothing. Every service then reloads (the OMM
/// links reconcile with the new data). An export made by another installation carries
/// PINs and passwords sealed with that installation's key: send its `secrets.key` (the
/// base64 line) in `X-Secrets-Key`.
#[utoipa::path(post, path = "/api/v1/database/import", tag = "maintenance",
    params(ImportOptions, ("X-Secrets-Key" = Option<String>, Header,
        description = "the base64 line of the secrets.key of the installation that made the export")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = Imported), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn import(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    Query(options): Query<ImportOptions>,
    headers: axum::http::HeaderMap,
    body: Body,
) -> ApiResult<Json<Imported>> {
    let size: u64 = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::LENGTH_REQUIRED,
                "length_required",
                "an import needs its Content-Length",
            )
        })?;
    if size > MAX_IMPORT as u64 {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("an import has at most {MAX_IMPORT} bytes"),
        ));
    }
    // Checked before the upload: a key that is not text refuses the import at once.
    let secrets_key = headers
        .get(SECRETS_KEY_HEADER)
        .map(|k| {
            k.to_str()
                .map(str::to_owned)
                .map_err(|_| ApiError::bad_request("the secrets key is not text"))
        })
        .transpose()?;
    let import = app.store.import_begin(size).await?;
    // Forward the upload in store-sized chunks as it arrives: nothing is held whole.
    let mut stream = body.into_data_stream();
    let mut pending: Vec<u8> = Vec::with_capacity(CHUNK_SIZE);
    let mut received = 0u64;
    while let Some(piece) = stream.next().await {
        let piece =
            piece.map_err(|e| ApiError::bad_request(format!("the upload broke off: {e}")))?;
        received += piece.len() as u64;
        if received > size {
            return Err(ApiError::bad_request(
                "the upload is longer than its Content-Length",
            ));
        }
        pending.extend_from_slice(&piece);
        while pending.len() >= CHUNK_SIZE {
            let rest = pending.split_off(CHUNK_SIZE);
            let data = std::mem::replace(&mut pending, rest);
            app.store.import_chunk(import, data).await?;
        }
    }
    if !pending.is_empty() {
        app.store.import_chunk(import, pending).await?;
    }
    if received != size {
        return Err(ApiError::bad_request(format!(
            "received {received} of {size} bytes"
        )));
    }
    if let Some(key) = secrets_key {
        app.store.import_secrets_key(import, key).await?;
    }
    let revision = if options.confirm_foreign_identity {
        app.store.import_commit_foreign(import).await?
    } else {
        app.store.import_commit(import).await?
    };
    app.known.forget();
    tracing::warn!(account = %who.account.name, source = %who.source.ip(), bytes = size, revision, "database replaced by an import");
    // Sessions, tokens and second factors made under the old database end now, before this
    // answer, not when the change feed brings the news.
    crate::database_identity::check(&app).await;
    audit::record(
        &app,
        &who,
        "database.import",
        format!("{size} bytes"),
        audit::NONE,
        audit::NONE,
    )
    .await;
    Ok(Json(Imported {
        revision,
        bytes: size,
    }))
}

/// One section of the system dump.
fn section(out: &mut String, title: &str, value: &impl Serialize) {
    let value = serde_json::to_value(value)
        .map(audit::redact)
        .unwrap_or_default();
    let text = serde_json::to_string_pretty(&value).unwrap_or_default();
    out.push_str(&format!("==== {title} ====\n{text}\n\n"));
}

/// Downloads the system dump `mom_sys_dump_<id>.txt.gz`: versions, configuration, links,
/// health, event log, counters, conflicts, the security level and certificate, with every
/// password, PIN and key redacted.
#[utoipa::path(get, path = "/api/v1/system-dump", tag = "maintenance",
    responses((status = 200, description = "gzip text", content_type = "application/gzip")))]
pub async fn system_dump(State(app): State<Arc<App>>, Caller(who): Caller) -> ApiResult<Response> {
    let mut out = String::new();
    out.push_str(&format!(
        "SIP-DECT MOM system dump\nversion {}\nIPC protocol {}\ncreated {}\nby {}\n\n",
        env!("CARGO_PKG_VERSION"),
        ipc::PROTO_VERSION,
        stamp(),
        who.account.name
    ));
    let settings = app.settings().await?;
    section(&mut out, "settings", &settings);
    section(
        &mut out,
        "security",
        &(settings.tls_level, app.tls.policy().list()),
    );
    section(&mut out, "certificate", &app.tls.certified().info);
    for (title, request) in [
        ("license", StoreRequest::GetLicense),
        ("health", StoreRequest::GetHealth),
        ("omms", StoreRequest::ListOmms),
        ("conference rooms", StoreRequest::ListConferenceRooms),
        ("counters", StoreRequest::ListCounters),
        ("event log", StoreRequest::ListEvents),
        ("conflicts", StoreRequest::ListConflicts),
        ("revision", StoreRequest::CurrentRevision),
    ] {
        match app.store.call(request).await {
            Ok(answer) => section(&mut out, title, &answer),
            Err(e) => out.push_str(&format!("==== {title} ====\nunavailable: {e}\n\n")),
        }
    }
    let accounts: Vec<_> = app
        .accounts()
        .await?
        .into_iter()
        .map(|a| (a.id, a.name, a.enabled, a.write, a.must_change_password))
        .collect();
    section(
        &mut out,
        "accounts (id, name, enabled, write, must change password)",
        &accounts,
    );
    let sessions = app
        .sessions
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .len();
    section(&mut out, "web sessions", &sessions);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(out.as_bytes())
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let bytes = gz.finish().map_err(|e| ApiError::internal(e.to_string()))?;
    let id = stamp();
    Ok((
        [
            (header::CONTENT_TYPE, "application/gzip".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"mom_sys_dump_{id}.txt.gz\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// The log level of the MOM's processes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogLevel {
    /// `error`, `warn`, `info`, `debug`, `trace` or `off`, or directives such as
    /// `info,svc_axi=debug`.
    pub level: String,
}

async fn ask_supervisor(
    app: &App,
    request: ipc::api::control::ControlRequest,
) -> ApiResult<LogLevel> {
    use ipc::api::control::ControlResponse;
    let control = app
        .control
        .as_ref()
        .ok_or_else(|| ApiError::unavailable("the supervisor cannot be reached from svc-web"))?;
    match control.request(request).await? {
        ControlResponse::LogLevel(level) => Ok(LogLevel { level }),
        ControlResponse::Refused(why) => Err(ApiError::invalid(why)),
        other => Err(ApiError::internal(format!(
            "unexpected answer from the supervisor: {other:?}"
        ))),
    }
}

/// The log level in force.
#[utoipa::path(get, path = "/api/v1/log-level", tag = "maintenance",
    responses((status = 200, body = LogLevel), (status = 503, description = "No supervisor")))]
pub async fn get_log_level(State(app): State<Arc<App>>, _: Caller) -> ApiResult<Json<LogLevel>> {
    Ok(Json(
        ask_supervisor(&app, ipc::api::control::ControlRequest::LogLevel).await?,
    ))
}

/// Changes the log level of the supervisor and every service until the MOM's next start
/// (`[log] level` in `mom.toml` is the level at start).
#[utoipa::path(put, path = "/api/v1/log-level", tag = "maintenance", request_body = LogLevel,
    responses((status = 200, body = LogLevel), (status = 400, description = "Not a level"),
        (status = 503, description = "No supervisor")))]
pub async fn set_log_level(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    crate::json::Body(body): crate::json::Body<LogLevel>,
) -> ApiResult<Json<LogLevel>> {
    service_kit::logging::parse_level(&body.level).map_err(ApiError::invalid)?;
    let before = ask_supervisor(&app, ipc::api::control::ControlRequest::LogLevel)
        .await
        .ok();
    let after = ask_supervisor(
        &app,
        ipc::api::control::ControlRequest::SetLogLevel(body.level.trim().to_owned()),
    )
    .await?;
    audit::record(
        &app,
        &who,
        "log-level.edit",
        after.level.clone(),
        before.as_ref(),
        Some(&after),
    )
    .await;
    Ok(Json(after))
}
