//! Serving a file to an OMM: `Last-Modified` and `If-Modified-Since` (304), a single byte
//! range (206, or 416 when it lies past the end; several ranges get the whole file, which
//! HTTP allows), streamed from disk so a 20 MB base-station image is never held in memory.

use super::folders::Opened;
use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::io::SeekFrom;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// The content type by file name.
#[must_use]
pub fn content_type(name: &str) -> &'static str {
    match name
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .as_deref()
    {
        Some("cfg" | "txt" | "conf") => "text/plain; charset=utf-8",
        Some("xml") => "application/xml",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        _ => "application/octet-stream",
    }
}

/// The answer for a GET (or HEAD) of `opened`, named `name`.
pub async fn file(opened: Opened, name: &str, headers: &HeaderMap) -> Response {
    let modified = httpdate::fmt_http_date(opened.modified);
    let unchanged = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
        .is_some_and(|since| {
            // HTTP dates have whole seconds.
            let secs = |t: std::time::SystemTime| {
                t.duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs())
            };
            secs(opened.modified) <= secs(since)
        });
    if unchanged && !headers.contains_key(header::RANGE) {
        return (
            StatusCode::NOT_MODIFIED,
            [(header::LAST_MODIFIED, modified)],
        )
            .into_response();
    }
    let size = opened.size;
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(|v| http_range_header::parse_range_header(v).and_then(|r| r.validate(size)));
    let (status, start, len) = match range {
        None => (StatusCode::OK, 0, size),
        Some(Ok(ranges)) if ranges.len() == 1 => {
            let r = &ranges[0];
            (
                StatusCode::PARTIAL_CONTENT,
                *r.start(),
                r.end() - r.start() + 1,
            )
        }
        Some(Ok(_)) => (StatusCode::OK, 0, size),
        Some(Err(_)) => {
            return (
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{size}"))],
            )
                .into_response();
        }
    };
    let mut file = tokio::fs::File::from_std(opened.file);
    if start > 0 && file.seek(SeekFrom::Start(start)).await.is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let stream = tokio_util::io::ReaderStream::with_capacity(file.take(len), 64 * 1024);
    let mut response = Response::new(Body::from_stream(stream));
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(name)),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(&modified) {
        h.insert(header::LAST_MODIFIED, v);
    }
    if status == StatusCode::PARTIAL_CONTENT {
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{}/{size}", start + len - 1)) {
            h.insert(header::CONTENT_RANGE, v);
        }
    }
    response
}
