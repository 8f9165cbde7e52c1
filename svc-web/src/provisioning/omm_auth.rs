//! An OMM's credentials on the provisioning URLs: pre-emptive Basic authentication with the
//! user and password of its OMM record (admin guide: "the provisioning credentials used are
//! the OMM credentials configured in the MOM"). Failures are counted and throttled like web
//! logins, per client address (not per OMM: see [`check`]), and written to the journal once
//! a lockout.

use crate::app::App;
use crate::error::ApiError;
use crate::login_throttle::{Key, Verdict};
use axum::http::{header, HeaderMap, StatusCode};
use base64::Engine;
use model::Omm;
use std::net::IpAddr;
use std::time::Instant;
use subtle::ConstantTimeEq;

/// The `(user, password)` of a Basic `Authorization` header.
#[must_use]
pub fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// Whether the credentials are the OMM record's (compared in constant time).
fn matches(omm: &Omm, user: &str, password: &str) -> bool {
    let user_ok = omm.user.as_bytes().ct_eq(user.as_bytes());
    let password_ok = omm.password.as_bytes().ct_eq(password.as_bytes());
    bool::from(user_ok & password_ok) && !omm.user.is_empty()
}

/// The answer to missing or wrong credentials: 401 with the challenge.
fn challenge(message: &str) -> ApiError {
    let mut error = ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message);
    error.www_authenticate = Some("Basic realm=\"SIP-DECT MOM provisioning\", charset=\"UTF-8\"");
    error
}

/// Checks the request's credentials against `omm` (`None`: no such OMM, which is answered
/// like wrong credentials, so a client cannot probe which OMMs exist).
///
/// Failures lock the client's address, as for web logins, but not the OMM's account: an OMM
/// cannot wait out or clear a lockout, so an account lock would let anyone who guesses
/// wrong stop a real OMM's provisioning.
///
/// # Errors
/// 429 while locked, 401 for missing or wrong credentials.
pub fn check(
    app: &App,
    omm: Option<&Omm>,
    headers: &HeaderMap,
    peer: IpAddr,
) -> Result<(), ApiError> {
    let now = Instant::now();
    let source = Key::Source(peer);
    let mut throttle = app
        .throttle
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(wait) = throttle.locked(&source, now) {
        let secs = u32::try_from(wait.as_secs() + 1).unwrap_or(u32::MAX);
        let mut error = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "locked",
            format!("too many failed attempts; try again in {secs} s"),
        );
        error.retry_after = Some(secs);
        return Err(error);
    }
    let Some((user, password)) = basic(headers) else {
        // No credentials at all: the challenge, not a failure (a client may probe first).
        return Err(challenge("credentials required"));
    };
    if omm.is_some_and(|o| matches(o, &user, &password)) {
        return Ok(());
    }
    if let Verdict::LockedNow(d) = throttle.failure(source, now) {
        app.metrics.lockouts.inc();
        tracing::warn!(client = %peer, lock_secs = d.as_secs(), "provisioning credentials failed repeatedly; the client is locked out");
    }
    app.metrics.provisioning("unauthorized");
    Err(challenge("wrong credentials"))
}
