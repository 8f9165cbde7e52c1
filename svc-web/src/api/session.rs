//! Logging in (admin guide "Logging in"): the pre-login banner, login with throttling and
//! the optional second factor, the session, logout, the EULA, the forced change of the
//! default password with the guide's password rules, and an account's own API tokens.

use crate::api_tokens::TokenInfo;
use crate::app::{eula_version, unix_now, App, EULA_TEXT};
use crate::auth::{Caller, Credential, LoggedIn};
use crate::error::{ApiError, ApiResult};
use crate::json::Body;
use crate::login_throttle::{Finish, Pass, Refused};
use crate::second_factor::Enrolment;
use crate::sessions::COOKIE;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use ipc::api::store::{AccountUpdate, StoreError};
use ipc::store_client::Failure;
use model::Account;
use password_policy::{self as password_rules, Rule};
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

async fn session_info(
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

fn locked_answer(wait: std::time::Duration) -> Response {
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
fn refused_answer(app: &App, refused: Refused) -> Response {
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
fn count_failure(app: &App, pass: Pass<'_>, name: &str, peer: SocketAddr, why: &'static str) {
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

/// The EULA.
#[derive(Debug, Serialize, ToSchema)]
pub struct Eula {
    /// The version it is for.
    pub version: String,
    /// Its text.
    pub text: String,
    /// Whether it was accepted for this version.
    pub accepted: bool,
}

/// The EULA of this version and whether it was accepted (no login needed).
#[utoipa::path(get, path = "/api/v1/eula", tag = "session", responses((status = 200, body = Eula)))]
pub async fn eula(State(app): State<Arc<App>>) -> ApiResult<Json<Eula>> {
    let settings = app.settings().await?;
    Ok(Json(Eula {
        version: eula_version(),
        text: EULA_TEXT.to_owned(),
        accepted: settings.accepted_eula_version == eula_version(),
    }))
}

/// Accepts the EULA of this version.
#[utoipa::path(post, path = "/api/v1/eula/accept", tag = "session", responses((status = 200, body = Eula)))]
pub async fn accept_eula(State(app): State<Arc<App>>, who: LoggedIn) -> ApiResult<Json<Eula>> {
    let mut settings = app.settings().await?;
    if settings.accepted_eula_version != eula_version() {
        settings.accepted_eula_version = eula_version();
        crate::audit::store(&app, &who, "eula.accept")
            .put_settings(settings)
            .await?;
        tracing::info!(account = %who.account.name, version = %eula_version(), "EULA accepted");
    }
    eula(State(app)).await
}

/// A password to check against the rules.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordCheck {
    /// The candidate.
    pub password: String,
    /// The account it is for (default: the caller's).
    #[serde(default)]
    pub account: Option<String>,
    /// The password it replaces, when known.
    #[serde(default)]
    pub old_password: Option<String>,
}

/// One rule, met or not.
#[derive(Debug, Serialize, ToSchema)]
pub struct RuleState {
    /// The rule.
    pub rule: Rule,
    /// What it asks.
    pub message: String,
    /// Whether the candidate meets it.
    pub met: bool,
}

/// Every rule and whether a candidate meets it.
#[must_use]
pub fn rule_states(broken: &[Rule]) -> Vec<RuleState> {
    Rule::ALL
        .iter()
        .map(|r| RuleState {
            rule: *r,
            message: r.message().to_owned(),
            met: !broken.contains(r),
        })
        .collect()
}

/// Checks a candidate password against each rule (for the UI while typing).
#[utoipa::path(post, path = "/api/v1/password-rules", tag = "session", request_body = PasswordCheck,
    responses((status = 200, body = [RuleState])))]
pub async fn check_password(
    State(app): State<Arc<App>>,
    who: LoggedIn,
    Body(check): Body<PasswordCheck>,
) -> Json<Vec<RuleState>> {
    let account = check.account.unwrap_or(who.account.name);
    let broken = password_rules::broken(
        &check.password,
        &password_rules::Context {
            account: &account,
            hosts: &app.hosts,
            old_password: check.old_password.as_deref(),
        },
    );
    Json(rule_states(&broken))
}

/// Refuses a password that breaks a rule, naming every broken rule.
///
/// # Errors
/// 422 `password_rules`.
pub fn enforce_rules(app: &App, account: &str, password: &str, old: Option<&str>) -> ApiResult<()> {
    let broken = password_rules::broken(
        password,
        &password_rules::Context {
            account,
            hosts: &app.hosts,
            old_password: old,
        },
    );
    if broken.is_empty() {
        return Ok(());
    }
    let rules: Vec<&str> = broken.iter().map(|r| r.message()).collect();
    Err(ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "password_rules",
        format!("the password {}", rules.join("; ")),
    ))
}

/// A change of one's own password.
#[derive(Debug, Deserialize, ToSchema)]
pub struct OwnPassword {
    /// The current password.
    pub old_password: String,
    /// The new password.
    pub new_password: String,
}

/// Checks `old` as the password of `account`, counting a wrong one like a failed login.
/// A wrong one is 403, not 401: the session stays valid, and the page says what is wrong
/// instead of showing the login page.
///
/// # Errors
/// 403 `wrong_previous_password`, 429 while locked.
pub async fn verify_old_password(
    app: &App,
    account: &Account,
    old: &str,
    peer: SocketAddr,
) -> ApiResult<()> {
    let Ok(pass) = Pass::begin(&app.throttle, &account.name, peer.ip()) else {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "locked",
            "too many wrong passwords; try again later",
        ));
    };
    match check_login(app, &account.name, old).await {
        Ok(Ok(_)) => {
            pass.finish(Finish::Success);
            Ok(())
        }
        Ok(Err(StoreError::WrongPassword)) => {
            count_failure(app, pass, &account.name, peer, "wrong_password");
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "wrong_previous_password",
                "the previous password is wrong",
            ))
        }
        Ok(Err(e)) => {
            pass.finish(Finish::Incomplete);
            Err(e.into())
        }
        Err(e) => {
            pass.finish(Finish::Incomplete);
            Err(e)
        }
    }
}

/// The store's verdict on `password` for account `name`: the account, or the refusal a
/// failed login counts (`WrongPassword`, `AccountDisabled`).
///
/// # Errors
/// Anything that is no verdict on the password (the store busy or away): the caller
/// counts it against nobody.
async fn check_login(
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

/// Changes the caller's own password (the previous one is required); the caller's other
/// sessions end.
#[utoipa::path(post, path = "/api/v1/session/password", tag = "session", request_body = OwnPassword,
    responses((status = 204), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn change_own_password(
    State(app): State<Arc<App>>,
    who: LoggedIn,
    Body(change): Body<OwnPassword>,
) -> ApiResult<StatusCode> {
    verify_old_password(&app, &who.account, &change.old_password, who.source).await?;
    enforce_rules(
        &app,
        &who.account.name,
        &change.new_password,
        Some(&change.old_password),
    )?;
    crate::audit::store(&app, &who, "session.change_password")
        .update_account(AccountUpdate {
            id: who.account.id,
            password: Some(change.new_password),
            ..AccountUpdate::default()
        })
        .await?;
    let keep = match &who.credential {
        Credential::Session(token) => Some(token.as_str()),
        Credential::Token => None,
    };
    app.sessions
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .remove_account(who.account.id, keep)
        .map_err(ApiError::internal)?;
    app.tokens
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .revoke_all(who.account.id)
        .map_err(ApiError::internal)?;
    tracing::info!(account = %who.account.name, source = %who.source.ip(), "password changed");
    Ok(StatusCode::NO_CONTENT)
}

/// Starts enrolling a TOTP second factor for the caller's account.
#[utoipa::path(post, path = "/api/v1/session/second-factor", tag = "session", responses((status = 200, body = Enrolment)))]
pub async fn enrol_second_factor(
    State(app): State<Arc<App>>,
    Caller(who): Caller,
) -> ApiResult<Json<Enrolment>> {
    let enrolment = app
        .second_factors
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .enrol(who.account.id, &who.account.name)
        .map_err(ApiError::internal)?;
    Ok(Json(enrolment))
}

/// A TOTP code.
#[derive(Debug, Deserialize, ToSchema)]
pub struct Code {
    /// Six digits from the authenticator app.
    pub code: String,
}

/// Confirms the enrolment with a first code; from then on logins need a code.
#[utoipa::path(post, path = "/api/v1/session/second-factor/confirm", tag = "session", request_body = Code,
    responses((status = 204), (status = 422, body = crate::error::ErrorBody)))]
pub async fn confirm_second_factor(
    State(app): State<Arc<App>>,
    Caller(who): Caller,
    Body(code): Body<Code>,
) -> ApiResult<StatusCode> {
    let check = app
        .second_factors
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .verify(who.account.id, &who.account.name, &code.code, unix_now())
        .map_err(ApiError::internal)?;
    if check.accepted() {
        tracing::info!(account = %who.account.name, "second factor enabled");
        crate::audit::record(
            &app,
            &who,
            "second_factor.enable",
            format!("account {}", who.account.id),
            crate::audit::NONE,
            crate::audit::NONE,
        )
        .await;
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::invalid(check.refusal()))
    }
}

/// Removes the caller's second factor (a current code is required).
#[utoipa::path(delete, path = "/api/v1/session/second-factor", tag = "session", request_body = Code,
    responses((status = 204), (status = 422, body = crate::error::ErrorBody)))]
pub async fn remove_second_factor(
    State(app): State<Arc<App>>,
    Caller(who): Caller,
    Body(code): Body<Code>,
) -> ApiResult<StatusCode> {
    {
        let mut factors = app
            .second_factors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if factors.required(who.account.id) {
            let check = factors
                .verify(who.account.id, &who.account.name, &code.code, unix_now())
                .map_err(ApiError::internal)?;
            if !check.accepted() {
                return Err(ApiError::invalid(check.refusal()));
            }
        }
        factors.remove(who.account.id).map_err(ApiError::internal)?;
    }
    tracing::info!(account = %who.account.name, "second factor removed");
    crate::audit::record(
        &app,
        &who,
        "second_factor.remove",
        format!("account {}", who.account.id),
        crate::audit::NONE,
        crate::audit::NONE,
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// A new API token's name.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewToken {
    /// What the token is for.
    pub name: String,
}

/// A new API token: its secret is shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    /// Send as `Authorization: Bearer <secret>`.
    pub secret: String,
    /// The token.
    pub token: TokenInfo,
}

/// The caller's API tokens.
#[utoipa::path(get, path = "/api/v1/session/tokens", tag = "session", responses((status = 200, body = [TokenInfo])))]
pub async fn list_tokens(State(app): State<Arc<App>>, Caller(who): Caller) -> Json<Vec<TokenInfo>> {
    Json(
        app.tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .list(who.account.id),
    )
}

/// Makes an API token acting as the caller's account.
#[utoipa::path(post, path = "/api/v1/session/tokens", tag = "session", request_body = NewToken,
    responses((status = 201, body = CreatedToken)))]
pub async fn create_token(
    State(app): State<Arc<App>>,
    Caller(who): Caller,
    Body(new): Body<NewToken>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    if matches!(who.credential, Credential::Token) {
        return Err(ApiError::forbidden(
            "token_cannot_make_tokens",
            "an API token cannot make API tokens; log in to make one",
        ));
    }
    if new.name.trim().is_empty()
        || new.name.chars().count() > 64
        || new.name.chars().any(char::is_control)
    {
        return Err(ApiError::invalid(
            "a token name has 1 to 64 characters and no control characters",
        ));
    }
    let (secret, token) = app
        .tokens
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .create(who.account.id, &new.name, unix_now())
        .map_err(ApiError::invalid)?;
    tracing::info!(account = %who.account.name, token = token.id, "API token created");
    crate::audit::record(
        &app,
        &who,
        "tokens.create",
        format!("token {}", token.id),
        crate::audit::NONE,
        Some(&token),
    )
    .await;
    Ok((StatusCode::CREATED, Json(CreatedToken { secret, token })))
}

/// Revokes one of the caller's API tokens.
#[utoipa::path(delete, path = "/api/v1/session/tokens/{id}", tag = "session",
    params(("id" = u32, Path, description = "Token id")), responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn revoke_token(
    State(app): State<Arc<App>>,
    Caller(who): Caller,
    Path(id): Path<u32>,
) -> ApiResult<StatusCode> {
    let revoked = app
        .tokens
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .revoke(who.account.id, id)
        .map_err(ApiError::internal)?;
    if revoked {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!(
            "no API token {id} of this account"
        )))
    }
}
