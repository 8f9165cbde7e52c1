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
//!
//! One module per part: [`template`], [`placeholders`], [`update`], [`files`].

use crate::error::{ApiError, ApiResult};
use crate::provisioning::LocalAddr;
use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use model::ConfigFetch;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use utoipa::{IntoParams, ToSchema};

pub mod template;
pub use template::*;
pub mod placeholders;
pub use placeholders::*;
pub mod update;
pub use update::*;
pub mod files;
pub use files::*;

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

pub(super) fn text(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

/// Reads a text body of at most `max` bytes that must be UTF-8.
pub(super) async fn text_body(body: Body, max: usize, what: &str) -> ApiResult<String> {
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

pub(super) fn local(extension: Option<Extension<LocalAddr>>) -> Option<IpAddr> {
    extension.map(|Extension(LocalAddr(a))| a.ip())
}
