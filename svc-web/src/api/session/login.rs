//! Logging in and out: the banner before login, the login with its throttle and second
//! factor, the session's facts, and logout.

use crate::app::{eula_version, unix_now, App};
use crate::auth::{Credential, LoggedIn};
use crate::error::{ApiError, ApiResult};
use crate::json::Body;
use crate::login_throttle::{Finish, Pass, Refused};
use crate::sessions::COOKIE;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use ipc::api::store::StoreError;
use ipc::store_client::Failure;
use model::Account;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::Arc;
use utoipa::ToSchema;

/// The pre-login page's facts.
#[derive(Debug, Serialize, ToSchema)]
pub struct Banner {
    /// System name.
    pub system_name: String,
    /// Whether the banner is shown.
    pub banner_enabled: bool,
    /// Banner text (empty when not shown).
    pub banner_text: String,
}

/// The pre-login banner and system name (no login needed).
#[utoipa::path(get, path = "/api/v1/banner", tag = "session", responses((status = 200, body = Banner)))]
pub async fn banner(State(app): State<Arc<App>>) -> ApiResult<Json<Banner>> {
    let s = app.settings().await?;
    Ok(Json(Banner {
        system_name: s.system_name,
        banner_enabled: s.banner_enabled,
        banner_text: if s.banner_enabled {
            s.banner_text
        } else {
            String::new()
        },
    }))
}

/// A login.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    /// Account name.
    pub name: String,
    /// Password.
    pub password: String,
    /// The current TOTP code, for an account with a second factor.
    #[serde(default)]
    pub code: Option<String>,
}

/// The state of the caller's session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionInfo {
    /// Account id.
    pub account_id: u32,
    /// Account name.
    pub account: String,
    /// Write permission.
    pub write: bool,
    /// The token to send as `X-CSRF-Token` with every state-changing request (sessions only).
    pub csrf_token: Option<String>,
    /// The EULA of this version must be accepted before anything else.
    pub eula_required: bool,
    /// The EULA version.
    pub eula_version: String,
    /// The password must be changed before anything else.
    pub password_change_required: bool,
    /// Whether the account has a second factor.
    pub second_factor: bool,
}

pub(super) async fn session_info(
    app: &App,
    account: &Account,
    csrf: Option<String>,
) -> ApiResult<SessionInfo> {
    let settings = app.settings().await?;
    let second_factor = app
        .second_factors
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .required(account.id);
    Ok(SessionInfo {
        account_id: account.id,
        account: account.name.clone(),
        write: account.write,
        csrf_token: csrf,
        eula_required: settings.accepted_eula_version != eula_version(),
        eula_version: eula_version(),
        password_change_required: account.must_change_password,
        second_factor,
    })
}

pub(super) fn locked_answer(wait: std::time::Duration) -> Response {
    let mut response = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "locked",
        format!(
            "too many failed logins; try again in {} s",
            wait.as_secs().max(1)
        ),
    )
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

/// The answer to a login the throttle refused before checking it: 429 with `Retry-After`.
pub(super) fn refused_answer(app: &App, refused: Refused) -> Response {
    match refused {
        Refused::Locked(wait) => {
            app.metrics.login("locked");
            locked_answer(wait)
        }
        Refused::Busy => {
            app.metrics.login("busy");
            let mut response = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "busy",
                "other logins of this account or from this address are being checked; try again in a moment",
            )
            .into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            response
        }
    }
}

/// Settles a failed login for the account and the address; logs and counts a lockout.
pub(super) fn count_failure(
    app: &App,
    pass: Pass<'_>,
    name: &str,
    peer: SocketAddr,
    why: &'static str,
) {
    app.metrics.login(why);
    let lockout = pass.finish(Finish::Failure);
    if let Some(lockout) = lockout {
        app.metrics.lockouts.inc();
        tracing::warn!(
            account = %model::printable(name),
            source = %peer.ip(),
            locked = %lockout.what,
            lockout_secs = lockout.longest.as_secs(),
            "failed logins: temporarily locked"
        );
    }
    tracing::info!(account = %model::printable(name), source = %peer.ip(), reason = why, "login failed");
}

/// Logs in; sets the session cookie.
#[utoipa::path(post, path = "/api/v1/session", tag = "session", request_body = LoginRequest,
    responses((status = 200, body = SessionInfo), (status = 401, body = crate::error::ErrorBody),
        (status = 429, body = crate::error::ErrorBody)))]
pub async fn login(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Body(request): Body<LoginRequest>,
) -> ApiResult<Response> {
    // A failure slot is reserved before the password is checked: logins in flight count.
    let pass = match Pass::begin(&app.throttle, &request.name, peer.ip()) {
        Ok(pass) => pass,
        Err(refused) => return Ok(refused_answer(&app, refused)),
    };
    let verdict = match check_login(&app, &request.name, &request.password).await {
        Ok(verdict) => verdict,
        Err(e) => {
            // Not checked (the store busy, say): nothing to count against anyone.
            pass.finish(Finish::Incomplete);
            return Err(e);
        }
    };
    let account = match verdict {
        Ok(account) => account,
        Err(StoreError::AccountDisabled) => {
            count_failure(&app, pass, &request.name, peer, "disabled");
            return Err(ApiError::forbidden(
                "account_disabled",
                "the account is disabled",
            ));
        }
        Err(_) => {
            count_failure(&app, pass, &request.name, peer, "wrong_password");
            return Err(ApiError::unauthorized(
                "wrong_password",
                "wrong name or password",
            ));
        }
    };
    let needs_code = app
        .second_factors
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .required(account.id);
    if needs_code {
        let Some(code) = request.code.as_deref().filter(|c| !c.is_empty()) else {
            pass.finish(Finish::Incomplete);
            return Err(ApiError::unauthorized(
                "second_factor_required",
                "this account needs the current code of its authenticator app (field `code`)",
            ));
        };
        let check = app
            .second_factors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .verify(account.id, &account.name, code, unix_now())
            .map_err(ApiError::internal)?;
        if !check.accepted() {
            count_failure(&app, pass, &request.name, peer, "second_factor");
            return Err(ApiError::unauthorized("wrong_code", check.refusal()));
        }
    }
    pass.finish(Finish::Success);
    let (token, session) = {
        let mut sessions = app
            .sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let created = sessions
            .create(account.id, peer.ip().to_string(), unix_now())
            .map_err(ApiError::internal)?;
        app.metrics
            .sessions
            .set(i64::try_from(sessions.len()).unwrap_or(i64::MAX));
        created
    };
    app.metrics.login("ok");
    tracing::info!(account = %account.name, source = %peer.ip(), "login");
    let info = session_info(&app, &account, Some(session.csrf)).await?;
    let cookie = format!("{COOKIE}={token}; Path=/; Secure; HttpOnly; SameSite=Strict");
    let mut response = Json(info).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|e| ApiError::internal(e.to_string()))?,
    );
    Ok(response)
}

/// The caller's session.
#[utoipa::path(get, path = "/api/v1/session", tag = "session",
    responses((status = 200, body = SessionInfo), (status = 401, body = crate::error::ErrorBody)))]
pub async fn current(State(app): State<Arc<App>>, who: LoggedIn) -> ApiResult<Json<SessionInfo>> {
    let csrf = match &who.credential {
        Credential::Session(token) => app
            .sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .touch(token, unix_now())
            .map(|s| s.csrf),
        Credential::Token => None,
    };
    Ok(Json(session_info(&app, &who.account, csrf).await?))
}

/// Logs out: the session ends and its cookie is cleared.
#[utoipa::path(delete, path = "/api/v1/session", tag = "session", responses((status = 204)))]
pub async fn logout(State(app): State<Arc<App>>, who: LoggedIn) -> ApiResult<Response> {
    if let Credential::Session(token) = &who.credential {
        let mut sessions = app
            .sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        sessions.remove(token).map_err(ApiError::internal)?;
        app.metrics
            .sessions
            .set(i64::try_from(sessions.len()).unwrap_or(i64::MAX));
    }
    let clear = format!("{COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0");
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = HeaderValue::from_str(&clear) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(response)
}

/// The store's verdict on `password` for account `name`: the account, or the refusal a
/// failed login counts (`WrongPassword`, `AccountDisabled`).
///
/// # Errors
/// Anything that is no verdict on the password (the store busy or away): the caller
/// counts it against nobody.
pub(super) async fn check_login(
    app: &App,
    name: &str,
    password: &str,
) -> ApiResult<Result<Account, StoreError>> {
    match app
        .store
        .check_login(name.to_owned(), password.to_owned())
        .await
    {
        Ok(account) => Ok(Ok(account)),
        Err(Failure::Refused(e @ (StoreError::WrongPassword | StoreError::AccountDisabled))) => {
            Ok(Err(e))
        }
        Err(e) => Err(e.into()),
    }
}
