//! The whole HTTPS application: the API, the OpenAPI document, the monitoring endpoints and
//! the browser UI, with the security headers, body limit, request timeout and metrics every
//! answer gets.

use crate::app::App;
use crate::error::ApiError;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower_http::set_header::SetResponseHeaderLayer;

/// The largest request body (certificates, license files and JSON edits fit easily).
pub const MAX_BODY: usize = 1024 * 1024;
/// A request must be answered within this.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Uploads (OMM backups, provisioning files, database imports) get this long.
pub const UPLOAD_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// Whether a request is an upload that may take longer than [`REQUEST_TIMEOUT`].
fn is_upload(request: &Request) -> bool {
    let path = request.uri().path();
    (request.method() == axum::http::Method::PUT
        && (path.starts_with("/omm_files/")
            || path.starts_with("/api/v1/provisioning/")
            || path.starts_with("/api/v1/omms/")))
        || path == "/api/v1/database/import"
}

/// The request timeout: [`UPLOAD_TIMEOUT`] for uploads, else [`REQUEST_TIMEOUT`]; 408 when
/// it runs out. (Downloads stream after the answer's head, so they are not cut.)
async fn timeout(request: Request, next: Next) -> Response {
    let limit = if is_upload(&request) {
        UPLOAD_TIMEOUT
    } else {
        REQUEST_TIMEOUT
    };
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => axum::http::StatusCode::REQUEST_TIMEOUT.into_response(),
    }
}

/// An HTTP/1.1 answer given before the request's body was read to its end (a refusal by
/// size, login or permission) says `Connection: close`: hyper closes such a connection
/// rather than read a body nobody wants, and the client must know not to send the next
/// request on it.
async fn close_if_body_unread(request: Request, next: Next) -> Response {
    let has_body = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > 0)
        || request.headers().contains_key(header::TRANSFER_ENCODING);
    if !has_body || request.version() != axum::http::Version::HTTP_11 {
        return next.run(request).await;
    }
    let read = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (parts, body) = request.into_parts();
    let mut data = body.into_data_stream();
    let seen = Arc::clone(&read);
    let tracked = futures_util::stream::poll_fn(move |cx| {
        let next = futures_util::StreamExt::poll_next_unpin(&mut data, cx);
        if matches!(next, std::task::Poll::Ready(None)) {
            seen.store(true, std::sync::atomic::Ordering::Release);
        }
        next
    });
    let request = Request::from_parts(parts, axum::body::Body::from_stream(tracked));
    let mut response = next.run(request).await;
    if !read.load(std::sync::atomic::Ordering::Acquire) {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// The Content-Security-Policy: only the MOM's own assets, no framing, no plugins.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

async fn not_found() -> ApiError {
    ApiError::not_found("no such path")
}

async fn count(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let response = next.run(request).await;
    app.metrics.latency.observe(started.elapsed().as_secs_f64());
    let class = format!("{}xx", response.status().as_u16() / 100);
    app.metrics
        .requests
        .get_or_create(&crate::metrics::StatusLabel { class })
        .inc();
    response
}

/// Every error answer is JSON, also the rejections axum and tower-http make themselves (a
/// path parameter that is not a number, a wrong method, a timeout): their text becomes the
/// message.
async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if status.as_u16() < 400 || is_json {
        return response;
    }
    let (_, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let code = match status.as_u16() {
        400 => "bad_request",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "timeout",
        413 => "too_large",
        415 => "not_json",
        426 => "upgrade_required",
        _ => "error",
    };
    let message = if text.trim().is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        text
    };
    ApiError::new(status, code, message).into_response()
}

fn header_layer(name: &'static str, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(
        HeaderName::from_static(name),
        HeaderValue::from_static(value),
    )
}

/// The application for the HTTPS listener.
pub fn build(app: Arc<App>) -> axum::Router {
    let (api, doc) = crate::api::routes();
    let doc = Arc::new(crate::api::served_document(&doc));
    let doc_json = move || {
        let doc = Arc::clone(&doc);
        async move { Json(doc.as_ref().clone()).into_response() }
    };
    axum::Router::new()
        .merge(api)
        .merge(crate::provisioning::routes())
        .route("/api/v1/openapi.json", get(doc_json))
        .route("/", get(crate::ui::index))
        .route("/ui/{file}", get(crate::ui::asset))
        .route("/healthz", get(crate::monitoring::healthz))
        .route("/readyz", get(crate::monitoring::readyz))
        .route("/metrics", get(crate::monitoring::metrics))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn(close_if_body_unread))
        .layer(axum::middleware::from_fn(timeout))
        .layer(axum::middleware::from_fn(json_errors))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&app),
            count,
        ))
        .layer(header_layer(
            "strict-transport-security",
            "max-age=31536000",
        ))
        .layer(header_layer("content-security-policy", CSP))
        .layer(header_layer("x-frame-options", "DENY"))
        .layer(header_layer("x-content-type-options", "nosniff"))
        .layer(header_layer("referrer-policy", "no-referrer"))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .with_state(app)
}
