//! "My account": the password rules and a change of one's own password, the second
//! factor (an authenticator), and API tokens for scripts.

use super::*;
use crate::api_tokens::TokenInfo;
use crate::app::{unix_now, App};
use crate::auth::{Caller, Credential, LoggedIn};
use crate::error::{ApiError, ApiResult};
use crate::json::Body;
use crate::login_throttle::{Finish, Pass};
use crate::second_factor::Enrolment;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use ipc::api::store::{AccountUpdate, StoreError};
use model::Account;
use password_policy::{self as password_rules, Rule};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::Arc;
use utoipa::ToSchema;

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
    app.known.forget();
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
