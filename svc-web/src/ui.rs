//! The browser UI: the single-page app built from `ui/` (`scripts/ui-build`) and embedded in
//! the binary, so the MOM needs no files and no internet to show it. A binary built before
//! the UI was built serves a page that says how to build it.
//!
//! Every asset is answered with an `ETag` (its SHA-256) and `Cache-Control: no-cache`, so a
//! browser revalidates after an upgrade; text assets are sent gzip-compressed when the
//! browser accepts it (compressed once, on first use).

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

/// The built UI (`ui/dist`); empty when it was not built.
#[derive(rust_embed::RustEmbed)]
#[folder = "../ui/dist/"]
#[allow_missing = true]
#[exclude = ".gitignore"]
struct Assets;

/// What a binary without the UI shows at `/`.
const NOT_BUILT: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>SIP-DECT MOM</title></head>\
<body><h1>SIP-DECT MOM</h1><p>The browser interface is not part of this build. Build it with \
<code>scripts/ui-build</code> (Node.js and npm, packages from <code>ui/package-lock.json</code>) \
and then the binaries, or use <code>scripts/dev</code>, which does both. \
The admin API is served at <code>/api/v1</code>; its description is \
<a href=\"/api/v1/openapi.json\">/api/v1/openapi.json</a>.</p></body></html>";

/// Whether this binary carries the UI.
#[must_use]
pub fn built() -> bool {
    Assets::get("index.html").is_some()
}

/// `GET /`: the app's page.
pub async fn index(headers: HeaderMap) -> Response {
    if built() {
        asset_response("index.html", &headers)
    } else {
        Html(NOT_BUILT).into_response()
    }
}

/// `GET /ui/{file}`: one of the app's assets.
pub async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    if file == "index.html" || file.contains('/') {
        return StatusCode::NOT_FOUND.into_response();
    }
    asset_response(&file, &headers)
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Gzip of each text asset, made once.
fn gzipped(name: &str, data: &[u8]) -> Arc<Vec<u8>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Vec<u8>>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    let mut cache = cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    Arc::clone(cache.entry(name.to_owned()).or_insert_with(|| {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        // Writing to a Vec cannot fail.
        let _ = encoder.write_all(data);
        Arc::new(encoder.finish().unwrap_or_default())
    }))
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|e| e.trim().starts_with("gzip")))
}

fn asset_response(name: &str, headers: &HeaderMap) -> Response {
    let Some(file) = Assets::get(name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let hash = file.metadata.sha256_hash();
    let etag = format!(
        "\"{}\"",
        hash.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let kind = content_type(name);
        let compress = accepts_gzip(headers) && !kind.starts_with("image/png");
        let mut response = if compress {
            let body = gzipped(name, &file.data);
            let mut r = (*body).clone().into_response();
            r.headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            r
        } else {
            file.data.into_owned().into_response()
        };
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
        response
    };
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_accepted_only_when_offered() {
        let mut h = HeaderMap::new();
        assert!(!accepts_gzip(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("br, gzip;q=0.8"),
        );
        assert!(accepts_gzip(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("identity"),
        );
        assert!(!accepts_gzip(&h));
    }

    #[test]
    fn content_types_cover_the_built_files() {
        assert!(content_type("app.js").starts_with("text/javascript"));
        assert!(content_type("app.css").starts_with("text/css"));
        assert_eq!(content_type("x.bin"), "application/octet-stream");
    }
}
