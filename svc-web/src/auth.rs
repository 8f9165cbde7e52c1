//! Who is calling: a session cookie (with the CSRF token on every state-changing request)
//! or an API token (`Authorization: Bearer`, no CSRF: it is never sent by a browser on its
//! own). The account is read from the store at every request, so a disabled or deleted
//! account stops at once.
//!
//! Three extractors, from least to most demanding:
//! - [`LoggedIn`]: any live session or token (logout, session info, EULA, own password);
//! - [`Caller`]: also the EULA accepted and no forced password change pending;
//! - [`Writer`]: also write permission (a read-only account gets 403).

use crate::app::{eula_version, unix_now, App};
use crate::error::ApiError;
use crate::sessions::COOKIE;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, Method};
use model::Account;
use std::net::SocketAddr;
use std::sync::Arc;

/// Header that carries the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// How the caller authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A session; the cookie's token.
    Session(String),
    /// An API token.
    Token,
}

/// An authenticated caller, whatever its state.
#[derive(Debug, Clone)]
pub struct LoggedIn {
    /// The account.
    pub account: Account,
    /// How it authenticated.
    pub credential: Credential,
    /// The client's address.
    pub source: SocketAddr,
}

/// The session cookie's value in a request, if any.
#[must_use]
pub fn session_cookie(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == COOKIE).then(|| v.to_owned())
        })
}

/// The client's address.
#[must_use]
pub fn source(parts: &Parts) -> SocketAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)), |c| c.0)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

impl FromRequestParts<Arc<App>> for LoggedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        let source = source(parts);
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let (account_id, credential) = if let Some(secret) = bearer {
            let id = app
                .tokens
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .account_of(secret, unix_now())
                .ok_or_else(|| {
                    ApiError::unauthorized("invalid_token", "the API token is unknown or revoked")
                })?;
            (id, Credential::Token)
        } else {
            let token = session_cookie(parts).ok_or_else(|| {
                ApiError::unauthorized("not_logged_in", "log in first (no session)")
            })?;
            let session = app
                .sessions
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .touch(&token, unix_now())
                .ok_or_else(|| {
                    ApiError::unauthorized(
                        "session_expired",
                        "the session has expired or was ended; log in again",
                    )
                })?;
            if changes_state(&parts.method) {
                let given = parts
                    .headers
                    .get(CSRF_HEADER)
                    .map(axum::http::HeaderValue::as_bytes)
                    .unwrap_or_default();
                if !constant_time_eq(given, session.csrf.as_bytes()) {
                    return Err(ApiError::forbidden(
                        "csrf",
                        "missing or wrong X-CSRF-Token header (it is in the login answer and GET /api/v1/session)",
                    ));
                }
            }
            (session.account_id, Credential::Session(token))
        };
        let account = app.session_account(account_id).await.map_err(|e| {
            if e.code == "not_found" {
                ApiError::unauthorized("account_gone", "the account no longer exists")
            } else {
                e
            }
        })?;
        if !account.enabled {
            return Err(ApiError::forbidden(
                "account_disabled",
                "the account is disabled",
            ));
        }
        Ok(Self {
            account,
            credential,
            source,
        })
    }
}

/// A caller who has accepted the EULA and has no password change pending.
#[derive(Debug, Clone)]
pub struct Caller(pub LoggedIn);

impl FromRequestParts<Arc<App>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        let who = LoggedIn::from_request_parts(parts, app).await?;
        if app.session_settings().await?.accepted_eula_version != eula_version() {
            return Err(ApiError::forbidden(
                "eula_required",
                "the EULA of this version must be accepted first (POST /api/v1/eula/accept)",
            ));
        }
        if who.account.must_change_password {
            return Err(ApiError::forbidden(
                "password_change_required",
                "the password of this account must be changed first (POST /api/v1/session/password)",
            ));
        }
        Ok(Self(who))
    }
}

/// A caller with write permission.
#[derive(Debug, Clone)]
pub struct Writer(pub LoggedIn);

impl FromRequestParts<Arc<App>> for Writer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        let Caller(who) = Caller::from_request_parts(parts, app).await?;
        if !who.account.write {
            return Err(ApiError::forbidden(
                "read_only",
                format!("account {:?} has read permission only", who.account.name),
            ));
        }
        Ok(Self(who))
    }
}
