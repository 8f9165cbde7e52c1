//! Bulk import and export of users and DECT phones as CSV or JSON (beyond the original MOM
//! and its peers, which cap or lack it): no row cap; a dry run that reports every row's
//! errors, checked by the store's own rules in a transaction it aborts; a real run that
//! writes nothing while any row is bad unless `partial=true` asks for the good rows.
//!
//! A row whose key (`num` of a user, `ipei` of a device) names an existing record updates
//! it (only the row's non-empty fields change); other rows create records over the
//! defaults. Exports never carry secrets (PINs and passwords are redacted).

use crate::app::App;
use crate::audit;
use crate::auth::{Caller, Writer};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::patch;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use ipc::api::store::StoreRequest;
use ipc::store_client::{Result as Answer, Store};
use model::{Device, Ipei, Page, User, MAX_PAGE};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use utoipa::ToSchema;

/// The largest upload of one import.
pub const MAX_UPLOAD: usize = 256 * 1024 * 1024;
/// Records per store request.
const BATCH: usize = 1000;

/// Users or devices, as the bulk operations (and the single-record edits) see them: the
/// typed store calls of each kind under one name.
pub trait Kind: Serialize + DeserializeOwned + Default + Clone + Send + Sync + 'static {
    /// `users` or `devices`.
    const NAME: &'static str;
    /// The field that names a record.
    const KEY: &'static str;
    /// The kind of record, as the store's "not found" names it.
    const ENTITY: model::Entity;
    /// Its id.
    fn id(&self) -> u32;
    /// Sets its id.
    fn set_id(&mut self, id: u32);
    /// One record by id, if it exists.
    fn get(store: &Store, id: u32) -> impl Future<Output = Answer<Option<Self>>> + Send;
    /// Creates or replaces one; its id.
    fn put(store: &Store, record: Self) -> impl Future<Output = Answer<u32>> + Send;
    /// The page of every record from `offset` on.
    fn page(store: &Store, offset: u32) -> impl Future<Output = Answer<Page<Self>>> + Send;
    /// The records `keys` name, in order (`None` where none, or the key cannot name one).
    fn lookup(
        store: &Store,
        keys: &[String],
    ) -> impl Future<Output = Answer<Vec<Option<Self>>>> + Send;
    /// The batch write that creates or replaces `records` (sent as it is, or dry-run).
    fn put_many(records: Vec<Self>) -> StoreRequest;
}

/// Every record from `offset`, a page of the store's largest.
fn from(offset: u32) -> model::Query {
    model::Query {
        offset,
        limit: MAX_PAGE,
        ..model::Query::default()
    }
}

impl Kind for User {
    const NAME: &'static str = "users";
    const KEY: &'static str = "num";
    const ENTITY: model::Entity = model::Entity::User;
    fn id(&self) -> u32 {
        self.uid
    }
    fn set_id(&mut self, id: u32) {
        self.uid = id;
    }
    fn get(store: &Store, id: u32) -> impl Future<Output = Answer<Option<Self>>> + Send {
        store.user(id)
    }
    fn put(store: &Store, record: Self) -> impl Future<Output = Answer<u32>> + Send {
        store.put_user(record)
    }
    fn page(store: &Store, offset: u32) -> impl Future<Output = Answer<Page<Self>>> + Send {
        store.query_users(from(offset))
    }
    fn lookup(
        store: &Store,
        keys: &[String],
    ) -> impl Future<Output = Answer<Vec<Option<Self>>>> + Send {
        store.users_by_number(keys.to_vec())
    }
    fn put_many(records: Vec<Self>) -> StoreRequest {
        StoreRequest::PutUsers(records)
    }
}

impl Kind for Device {
    const NAME: &'static str = "devices";
    const KEY: &'static str = "ipei";
    const ENTITY: model::Entity = model::Entity::Device;
    fn id(&self) -> u32 {
        self.ppn
    }
    fn set_id(&mut self, id: u32) {
        self.ppn = id;
    }
    fn get(store: &Store, id: u32) -> impl Future<Output = Answer<Option<Self>>> + Send {
        store.device(id)
    }
    fn put(store: &Store, record: Self) -> impl Future<Output = Answer<u32>> + Send {
        store.put_device(record)
    }
    fn page(store: &Store, offset: u32) -> impl Future<Output = Answer<Page<Self>>> + Send {
        store.query_devices(from(offset))
    }
    fn lookup(
        store: &Store,
        keys: &[String],
    ) -> impl Future<Output = Answer<Vec<Option<Self>>>> + Send {
        // A key that is no IPEI finds nothing: the placeholder IPEI is never a record's.
        store.devices_by_ipei(
            keys.iter()
                .map(|k| Ipei::parse(k).unwrap_or_default())
                .collect(),
        )
    }
    fn put_many(records: Vec<Self>) -> StoreRequest {
        StoreRequest::PutDevices(records)
    }
}

/// The file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Comma-separated, a header line of field names.
    #[default]
    Csv,
    /// A JSON array of objects.
    Json,
}

/// Options of an export.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ExportOptions {
    /// `csv` (default) or `json`.
    #[serde(default)]
    pub format: Format,
}

/// The characters that make a spreadsheet read a cell as a formula.
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// `text` as an exported cell: one that a spreadsheet would take for a formula (`=`, `+`,
/// `-`, `@`, tab, CR first) gets a leading `'`, which spreadsheets show as text and
/// [`from_spreadsheet`] takes off again on import.
fn spreadsheet_safe(text: &str) -> String {
    if text.starts_with(FORMULA_START) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

/// An imported cell with the `'` that [`spreadsheet_safe`] added taken off.
fn from_spreadsheet(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_START) => rest,
        _ => cell,
    }
}

/// A record as one CSV line's cells, in the order of `columns`.
fn cells(value: &Value, columns: &[String]) -> Vec<String> {
    columns
        .iter()
        .map(|c| match value.get(c) {
            Some(Value::String(s)) => spreadsheet_safe(s),
            Some(Value::Null) | None => String::new(),
            Some(Value::Array(a)) if a.is_empty() => String::new(),
            Some(other @ (Value::Array(_) | Value::Object(_))) => other.to_string(),
            Some(other) => other.to_string(),
        })
        .collect()
}

/// The field names of a record type, in the JSON's order.
fn columns<K: Kind>() -> Vec<String> {
    match serde_json::to_value(K::default()) {
        Ok(Value::Object(map)) => map.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// Streams every record, page by page, as CSV or a JSON array (secrets redacted).
async fn export<K: Kind>(app: Arc<App>, format: Format) -> ApiResult<Response> {
    let columns = columns::<K>();
    let header_line = {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(&columns)
            .map_err(|e| ApiError::internal(e.to_string()))?;
        w.into_inner()
            .map_err(|e| ApiError::internal(e.to_string()))?
    };
    let first: Vec<u8> = match format {
        Format::Csv => header_line,
        Format::Json => b"[".to_vec(),
    };
    let store = app.store.clone();
    let pages = futures_util::stream::unfold(Some((0u32, true)), move |state| {
        let store = store.clone();
        let columns = columns.clone();
        async move {
            let (offset, first_page) = state?;
            let Ok(page) = K::page(&store, offset).await else {
                return Some((
                    Err(std::io::Error::other("the store stopped answering")),
                    None,
                ));
            };
            let mut out = Vec::new();
            let count = page.items.len();
            for (i, item) in page.items.iter().enumerate() {
                let value = serde_json::to_value(item)
                    .map(audit::redact)
                    .unwrap_or_default();
                match format {
                    Format::Csv => {
                        let mut w = csv::Writer::from_writer(Vec::new());
                        let _ = w.write_record(cells(&value, &columns));
                        out.extend(w.into_inner().unwrap_or_default());
                    }
                    Format::Json => {
                        if !(first_page && i == 0) {
                            out.push(b',');
                        }
                        out.extend(value.to_string().into_bytes());
                    }
                }
            }
            let next = offset + u32::try_from(count).unwrap_or(u32::MAX);
            let done = count == 0 || u64::from(next) >= page.total;
            if done && format == Format::Json {
                out.push(b']');
            }
            Some((
                Ok::<_, std::io::Error>(out),
                (!done).then_some((next, false)),
            ))
        }
    });
    let body = futures_util::StreamExt::chain(
        futures_util::stream::once(async move { Ok::<_, std::io::Error>(first) }),
        pages,
    );
    let (content_type, extension) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
        Format::Json => ("application/json", "json"),
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"mom_{}.{extension}\"", K::NAME),
            ),
        ],
        Body::from_stream(body),
    )
        .into_response())
}

/// Exports every user (CSV or JSON; secrets redacted).
#[utoipa::path(get, path = "/api/v1/users/export", tag = "users and DECT phones", params(ExportOptions),
    responses((status = 200, description = "CSV or JSON",
        content((String = "text/csv"), (Vec<User> = "application/json")))))]
pub async fn export_users(
    State(app): State<Arc<App>>,
    _: Caller,
    Query(options): Query<ExportOptions>,
) -> ApiResult<Response> {
    export::<User>(app, options.format).await
}

/// Exports every device (CSV or JSON).
#[utoipa::path(get, path = "/api/v1/devices/export", tag = "users and DECT phones", params(ExportOptions),
    responses((status = 200, description = "CSV or JSON",
        content((String = "text/csv"), (Vec<Device> = "application/json")))))]
pub async fn export_devices(
    State(app): State<Arc<App>>,
    _: Caller,
    Query(options): Query<ExportOptions>,
) -> ApiResult<Response> {
    export::<Device>(app, options.format).await
}

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
struct Progress(Option<tokio::sync::mpsc::Sender<Value>>);

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

fn row_error(row: usize, key: &str, e: ApiError) -> RowError {
    RowError {
        row,
        key: key.to_owned(),
        error: ErrorBody {
            error: e.code.to_owned(),
            message: e.message,
        },
    }
}

/// A CSV cell as the JSON value the field `template` (its default) has the type of.
fn cell_value(cell: &str, template: &Value) -> Result<Value, String> {
    let cell = from_spreadsheet(cell);
    match template {
        Value::String(_) => Ok(Value::String(cell.to_owned())),
        Value::Bool(_) => match cell.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(Value::Bool(true)),
            "false" | "0" | "no" => Ok(Value::Bool(false)),
            _ => Err(format!("{cell:?} is not true or false")),
        },
        Value::Number(_) => cell
            .parse::<u64>()
            .map(Value::from)
            .map_err(|_| format!("{cell:?} is not a whole number")),
        _ => serde_json::from_str(cell).map_err(|e| format!("{cell:?} is not JSON: {e}")),
    }
}

/// One parsed row: its number in the file and its fields.
type Row = (usize, Map<String, Value>);

/// The file's rows as JSON objects, with a row number each; bad rows become errors.
fn rows<K: Kind>(bytes: &[u8], format: Format) -> ApiResult<(Vec<Row>, Vec<RowError>)> {
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
struct Checked<K> {
    records: Vec<(usize, String, bool, K)>,
    errors: Vec<RowError>,
}

async fn check<K: Kind>(
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
async fn upload(body: Body) -> ApiResult<axum::body::Bytes> {
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
async fn answer<K: Kind>(
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

async fn import<K: Kind>(
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

#[cfg(test)]
mod tests {
    use super::{cell_value, from_spreadsheet, spreadsheet_safe};
    use serde_json::Value;

    #[test]
    fn cells_a_spreadsheet_would_run_are_exported_as_text_and_imported_back_unchanged() {
        for text in [
            "=HYPERLINK(\"http://x\")",
            "+4930123",
            "-1",
            "@SUM(A1)",
            "\tx",
            "\rx",
        ] {
            let cell = spreadsheet_safe(text);
            assert!(cell.starts_with('\''), "{cell}");
            assert_eq!(from_spreadsheet(&cell), text);
            assert_eq!(
                cell_value(&cell, &Value::String(String::new())).unwrap(),
                Value::String(text.into())
            );
        }
        for text in ["Ward 7", "'quoted", "", "10042"] {
            assert_eq!(spreadsheet_safe(text), text);
            assert_eq!(from_spreadsheet(text), text);
        }
    }
}
