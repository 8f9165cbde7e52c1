//! The import: rows read and keyed, checked by the store's own rules in a transaction it
//! aborts (the dry run), then written in batches unless a row is bad and `partial` was not
//! asked; the progress is streamed.

use super::*;
use crate::app::App;
use crate::audit;
use crate::auth::Writer;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::patch;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use model::{Device, User};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::sync::Arc;
use utoipa::ToSchema;

/// Options of an import.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ImportOptions {
    /// `csv` (default) or `json`.
    #[serde(default)]
    pub format: Format,
    /// Check every row and report; write nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Write the good rows even if some are bad.
    #[serde(default)]
    pub partial: bool,
    /// Answer with NDJSON: a `progress` line per 1,000 rows of each phase, then the
    /// `report` line (for long imports).
    #[serde(default)]
    pub progress: bool,
}

/// Where an import tells its progress, if anyone listens. A client that reads slowly
/// misses progress lines; it never slows the import.
#[derive(Clone, Default)]
pub(super) struct Progress(Option<tokio::sync::mpsc::Sender<Value>>);

impl Progress {
    fn tell(&self, phase: &str, done: usize, total: usize) {
        if let Some(tx) = &self.0 {
            let _ = tx.try_send(serde_json::json!({
                "type": "progress", "phase": phase, "done": done, "total": total,
            }));
        }
    }
}

/// One row's problem.
#[derive(Debug, Serialize, ToSchema)]
pub struct RowError {
    /// Row number in the file (1 = the first record; the CSV header is row 0).
    pub row: usize,
    /// The row's key, when it has one.
    pub key: String,
    /// What is wrong.
    pub error: ErrorBody,
}

/// What an import found and did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportReport {
    /// Records in the file.
    pub rows: usize,
    /// Rows that passed every check.
    pub valid: usize,
    /// Of those, new records.
    pub creates: usize,
    /// Of those, updates of existing records.
    pub updates: usize,
    /// Whether anything was written.
    pub written: bool,
    /// Every bad row.
    pub errors: Vec<RowError>,
}

pub(super) fn row_error(row: usize, key: &str, e: ApiError) -> RowError {
    RowError {
        row,
        key: key.to_owned(),
        error: ErrorBody {
            error: e.code.to_owned(),
            message: e.message,
        },
    }
}

/// One parsed row: its number in the file and its fields.
type Row = (usize, Map<String, Value>);

/// The file's rows as JSON objects, with a row number each; bad rows become errors.
pub(super) fn rows<K: Kind>(bytes: &[u8], format: Format) -> ApiResult<(Vec<Row>, Vec<RowError>)> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    match format {
        Format::Json => {
            let items: Vec<Value> = crate::json::decode(bytes)?;
            for (i, item) in items.into_iter().enumerate() {
                match item {
                    Value::Object(map) => out.push((i + 1, map)),
                    _ => errors.push(row_error(
                        i + 1,
                        "",
                        ApiError::invalid("a row is a JSON object"),
                    )),
                }
            }
        }
        Format::Csv => {
            let template = match serde_json::to_value(K::default()) {
                Ok(Value::Object(map)) => map,
                _ => return Err(ApiError::internal("record is not an object")),
            };
            let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(bytes);
            let headers = reader
                .headers()
                .map_err(|e| ApiError::invalid(format!("the CSV header line: {e}")))?
                .clone();
            if let Some(unknown) = headers.iter().find(|h| !template.contains_key(*h)) {
                return Err(ApiError::invalid(format!(
                    "unknown column {:?} in the header line",
                    model::printable(unknown)
                )));
            }
            for (i, record) in reader.records().enumerate() {
                let row = i + 1;
                let record = match record {
                    Ok(r) => r,
                    Err(e) => {
                        errors.push(row_error(
                            row,
                            "",
                            ApiError::invalid(format!("not a CSV row: {e}")),
                        ));
                        continue;
                    }
                };
                let mut map = Map::new();
                let mut bad = None;
                for (name, cell) in headers.iter().zip(record.iter()) {
                    if cell.is_empty() {
                        continue;
                    }
                    match cell_value(cell, &template[name]) {
                        Ok(v) => {
                            map.insert(name.to_owned(), v);
                        }
                        Err(e) => {
                            bad = Some(format!("column {name}: {e}"));
                            break;
                        }
                    }
                }
                match bad {
                    Some(why) => errors.push(row_error(row, "", ApiError::invalid(why))),
                    None => out.push((row, map)),
                }
            }
        }
    }
    Ok((out, errors))
}

/// The checked records of an import, each with its row, key and whether it updates.
pub(super) struct Checked<K> {
    records: Vec<(usize, String, bool, K)>,
    errors: Vec<RowError>,
}

pub(super) async fn check<K: Kind>(
    app: &App,
    parsed: Vec<Row>,
    mut errors: Vec<RowError>,
    progress: &Progress,
) -> ApiResult<Checked<K>> {
    let mut seen = HashSet::new();
    let mut keyed = Vec::new();
    for (row, map) in parsed {
        let key = match map.get(K::KEY) {
            Some(Value::String(k)) if !k.trim().is_empty() => k.trim().to_owned(),
            _ => {
                errors.push(row_error(
                    row,
                    "",
                    ApiError::invalid(format!("missing field `{}`", K::KEY)),
                ));
                continue;
            }
        };
        // The same key twice in one file: the second is refused, like a duplicate record.
        let normalised = key.replace(' ', "").to_ascii_uppercase();
        if !seen.insert(normalised) {
            errors.push(row_error(
                row,
                &key,
                ApiError::new(
                    StatusCode::CONFLICT,
                    "duplicate_in_file",
                    format!("{} {key} is in the file twice", K::KEY),
                ),
            ));
            continue;
        }
        keyed.push((row, key, map));
    }
    let mut records = Vec::new();
    for chunk in keyed.chunks(BATCH) {
        let keys: Vec<String> = chunk.iter().map(|(_, k, _)| k.clone()).collect();
        let found = K::lookup(&app.store, &keys).await?;
        progress.tell("reading", records.len() + chunk.len(), keyed.len());
        for ((row, key, map), existing) in chunk.iter().zip(found) {
            let update = existing.is_some();
            let base = existing.unwrap_or_default();
            let mut fields = map.clone();
            fields.remove("uid");
            fields.remove("ppn");
            match patch(
                &base,
                audit::without_unchanged_secrets(Value::Object(fields)),
            ) {
                Ok(mut record) => {
                    record.set_id(base.id());
                    records.push((*row, key.clone(), update, record));
                }
                Err(e) => errors.push(row_error(*row, key, e)),
            }
        }
    }
    // The store's own rules, in a transaction it aborts.
    let mut passed = Vec::new();
    for chunk in records.chunks(BATCH) {
        let batch: Vec<K> = chunk.iter().map(|(_, _, _, r)| r.clone()).collect();
        let results = app.store.dry_run_batch(K::put_many(batch)).await?;
        progress.tell("checking", passed.len() + chunk.len(), records.len());
        for (entry, result) in chunk.iter().zip(results) {
            match result {
                Ok(_) => passed.push(entry.clone()),
                Err(e) => errors.push(row_error(entry.0, &entry.1, ApiError::from(e))),
            }
        }
    }
    errors.sort_by_key(|e| e.row);
    Ok(Checked {
        records: passed,
        errors,
    })
}

/// The upload of an import, whole (bounded by [`MAX_UPLOAD`]).
pub(super) async fn upload(body: Body) -> ApiResult<axum::body::Bytes> {
    axum::body::to_bytes(body, MAX_UPLOAD).await.map_err(|e| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("an import has at most {MAX_UPLOAD} bytes ({e})"),
        )
    })
}

/// Answers an import: its report, or with `progress=true` an NDJSON stream of progress
/// lines and the report (its `status` field says what the plain answer's status would be).
pub(super) async fn answer<K: Kind>(
    app: Arc<App>,
    who: crate::auth::LoggedIn,
    options: ImportOptions,
    body: Body,
) -> ApiResult<Response> {
    let bytes = upload(body).await?;
    if !options.progress {
        let (status, report) =
            import::<K>(&app, &who, &options, &bytes, &Progress::default()).await?;
        return Ok((status, Json(report)).into_response());
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<Value>(64);
    tokio::spawn(async move {
        let progress = Progress(Some(tx.clone()));
        let last = match import::<K>(&app, &who, &options, &bytes, &progress).await {
            Ok((status, report)) => serde_json::json!({
                "type": "report", "status": status.as_u16(), "report": report,
            }),
            Err(e) => serde_json::json!({
                "type": "error", "status": e.status.as_u16(),
                "error": {"error": e.code, "message": e.message},
            }),
        };
        let _ = tx.send(last).await;
    });
    let lines = futures_util::stream::unfold(rx, |mut rx| async move {
        let value = rx.recv().await?;
        let mut line = value.to_string().into_bytes();
        line.push(b'\n');
        Some((Ok::<_, std::io::Error>(line), rx))
    });
    Ok((
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(lines),
    )
        .into_response())
}

pub(super) async fn import<K: Kind>(
    app: &App,
    who: &crate::auth::LoggedIn,
    options: &ImportOptions,
    bytes: &[u8],
    progress: &Progress,
) -> ApiResult<(StatusCode, ImportReport)> {
    // A file that cannot be read at all (its header, or JSON that is no array of objects)
    // is a bad request; bad rows are the report's (422 when they stop the import).
    let (parsed, errors) = rows::<K>(bytes, options.format).map_err(|mut e| {
        e.status = StatusCode::BAD_REQUEST;
        e
    })?;
    let rows = parsed.len() + errors.len();
    let checked = check::<K>(app, parsed, errors, progress).await?;
    let creates = checked.records.iter().filter(|r| !r.2).count();
    let mut report = ImportReport {
        rows,
        valid: checked.records.len(),
        creates,
        updates: checked.records.len() - creates,
        written: false,
        errors: checked.errors,
    };
    if options.dry_run
        || (!report.errors.is_empty() && !options.partial)
        || checked.records.is_empty()
    {
        let status = if report.errors.is_empty() || options.dry_run {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        return Ok((status, report));
    }
    let total = checked.records.len();
    let mut written = 0;
    for chunk in checked.records.chunks(BATCH) {
        let batch: Vec<K> = chunk.iter().map(|(_, _, _, r)| r.clone()).collect();
        let results = app.store.batch(K::put_many(batch)).await?;
        for (entry, result) in chunk.iter().zip(results) {
            if let Err(e) = result {
                // Changed between the check and the write (another administrator, an OMM).
                report
                    .errors
                    .push(row_error(entry.0, &entry.1, ApiError::from(e)));
            }
        }
        written += chunk.len();
        progress.tell("writing", written, total);
        if total > BATCH {
            tracing::info!(kind = K::NAME, written, total, "bulk import in progress");
        }
    }
    report.written = true;
    tracing::info!(account = %who.account.name, kind = K::NAME, rows, valid = report.valid, "bulk import");
    audit::record(
        app,
        who,
        &format!("{}.bulk_import", K::NAME),
        format!("{} rows, {} written", rows, report.valid),
        audit::NONE,
        audit::NONE,
    )
    .await;
    Ok((StatusCode::OK, report))
}

/// Imports users from CSV or JSON; `dry_run=true` only reports.
#[utoipa::path(post, path = "/api/v1/users/import", tag = "users and DECT phones", params(ImportOptions),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, description = "The report (with progress=true: NDJSON lines, the last one the report)",
            content((ImportReport = "application/json"), (String = "application/x-ndjson"))),
        (status = 422, body = ImportReport)))]
pub async fn import_users(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    Query(options): Query<ImportOptions>,
    body: Body,
) -> ApiResult<Response> {
    answer::<User>(app, who, options, body).await
}

/// Imports devices from CSV or JSON; `dry_run=true` only reports.
#[utoipa::path(post, path = "/api/v1/devices/import", tag = "users and DECT phones", params(ImportOptions),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, description = "The report (with progress=true: NDJSON lines, the last one the report)",
            content((ImportReport = "application/json"), (String = "application/x-ndjson"))),
        (status = 422, body = ImportReport)))]
pub async fn import_devices(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    Query(options): Query<ImportOptions>,
    body: Body,
) -> ApiResult<Response> {
    answer::<Device>(app, who, options, body).await
}
