//! The export of every user or DECT phone as CSV or JSON, streamed page by page, secrets
//! redacted.

use super::*;
use crate::app::App;
use crate::audit;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use model::{Device, User};
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;

/// Options of an export.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ExportOptions {
    /// `csv` (default) or `json`.
    #[serde(default)]
    pub format: Format,
}

/// A record as one CSV line's cells, in the order of `columns`.
pub(super) fn cells(value: &Value, columns: &[String]) -> Vec<String> {
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
pub(super) fn columns<K: Kind>() -> Vec<String> {
    match serde_json::to_value(K::default()) {
        Ok(Value::Object(map)) => map.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// Streams every record, page by page, as CSV or a JSON array (secrets redacted).
pub(super) async fn export<K: Kind>(app: Arc<App>, format: Format) -> ApiResult<Response> {
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
