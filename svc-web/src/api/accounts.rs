//! Managing MOM user accounts (admin guide): list, add, edit (the previous password is
//! required to change one's own), permissions, delete (never the default account). Every
//! new password meets the guide's rules.

use crate::api::session::{enforce_rules, verify_old_password};
use crate::app::App;
use crate::audit;
use crate::auth::{Caller, Writer};
use crate::error::{ApiError, ApiResult};
use crate::json::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use ipc::api::store::{AccountUpdate, NewAccount};
use model::{Account, DEFAULT_ACCOUNT_ID};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

/// An account as the API shows it (never its hash).
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountView {
    /// Id; 0 is the default account.
    pub id: u32,
    /// Login name.
    pub name: String,
    /// Enabled.
    pub enabled: bool,
    /// Read permission (always).
    pub read: bool,
    /// Write permission.
    pub write: bool,
    /// The password must be changed at the next login.
    pub must_change_password: bool,
    /// The default account, which cannot be deleted.
    pub default: bool,
    /// Whether a TOTP second factor is enrolled.
    pub second_factor: bool,
}

fn view(app: &App, a: Account) -> AccountView {
    let second_factor = app
        .second_factors
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .required(a.id);
    AccountView {
        id: a.id,
        default: a.id == DEFAULT_ACCOUNT_ID,
        name: a.name,
        enabled: a.enabled,
        read: a.read,
        write: a.write,
        must_change_password: a.must_change_password,
        second_factor,
    }
}

/// Every account.
#[utoipa::path(get, path = "/api/v1/accounts", tag = "accounts", responses((status = 200, body = [AccountView])))]
pub async fn list(State(app): State<Arc<App>>, _: Caller) -> ApiResult<Json<Vec<AccountView>>> {
    let accounts = app.accounts().await?;
    Ok(Json(accounts.into_iter().map(|a| view(&app, a)).collect()))
}

/// A new account.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewAccountRequest {
    /// Login name.
    pub name: String,
    /// Password (meets the rules).
    pub password: String,
    /// Enabled (default true).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Write permission (default false: read only).
    #[serde(default)]
    pub write: bool,
}

fn yes() -> bool {
    true
}

fn check_name(name: &str) -> ApiResult<()> {
    if name.is_empty()
        || name.chars().count() > 64
        || name.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(ApiError::invalid(
            "an account name has 1 to 64 characters, no spaces and no control characters",
        ));
    }
    Ok(())
}

/// Adds an account.
#[utoipa::path(post, path = "/api/v1/accounts", tag = "accounts", request_body = NewAccountRequest,
    responses((status = 201, body = AccountView), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    Body(new): Body<NewAccountRequest>,
) -> ApiResult<(StatusCode, Json<AccountView>)> {
    check_name(&new.name)?;
    enforce_rules(&app, &new.name, &new.password, None)?;
    let id = audit::store(&app, &who, "accounts.create")
        .create_account(NewAccount {
            name: new.name.clone(),
            password: new.password,
            enabled: new.enabled,
            write: new.write,
            // The administrator chose the password: its user replaces it at the first login.
            must_change_password: true,
        })
        .await?;
    app.known.forget();
    tracing::info!(account = %who.account.name, new_account = %new.name, "account added");
    let created = view(&app, app.account(id).await?);
    Ok((StatusCode::CREATED, Json(created)))
}

/// Changes to an account; absent fields stay.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AccountEdit {
    /// New login name.
    #[serde(default)]
    pub name: Option<String>,
    /// New password (meets the rules).
    #[serde(default)]
    pub password: Option<String>,
    /// The previous password: required to change one's own.
    #[serde(default)]
    pub old_password: Option<String>,
    /// Enabled.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Write permission.
    #[serde(default)]
    pub write: Option<bool>,
}

/// Edits an account.
#[utoipa::path(patch, path = "/api/v1/accounts/{id}", tag = "accounts", params(("id" = u32, Path)), request_body = AccountEdit,
    responses((status = 200, body = AccountView), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn edit(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    Path(id): Path<u32>,
    Body(edit): Body<AccountEdit>,
) -> ApiResult<Json<AccountView>> {
    let target = app.account(id).await?;
    if let Some(name) = &edit.name {
        check_name(name)?;
    }
    if let Some(password) = &edit.password {
        let own = id == who.account.id;
        if own {
            let old = edit.old_password.as_deref().ok_or_else(|| {
                ApiError::invalid("the previous password is required to change your own")
            })?;
            verify_old_password(&app, &who.account, old, who.source).await?;
        }
        let name = edit.name.as_deref().unwrap_or(&target.name);
        enforce_rules(&app, name, password, edit.old_password.as_deref())?;
    }
    if id == who.account.id && (edit.enabled == Some(false) || edit.write == Some(false)) {
        return Err(ApiError::invalid(
            "you cannot disable your own account or remove your own write permission",
        ));
    }
    let action = if edit.password.is_some() {
        "accounts.edit_password"
    } else {
        "accounts.edit"
    };
    audit::store(&app, &who, action)
        .update_account(AccountUpdate {
            id,
            name: edit.name,
            password: edit.password.clone(),
            enabled: edit.enabled,
            write: edit.write,
            // Another account's password set by an administrator must be replaced by its user.
            must_change_password: edit.password.as_ref().map(|_| id != who.account.id),
        })
        .await?;
    app.known.forget();
    if edit.password.is_some() {
        // A new password ends the account's API tokens too.
        app.tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .revoke_all(id)
            .map_err(ApiError::internal)?;
    }
    if edit.password.is_some() || edit.enabled == Some(false) {
        let keep = match (&who.credential, id == who.account.id) {
            (crate::auth::Credential::Session(t), true) => Some(t.as_str()),
            _ => None,
        };
        app.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove_account(id, keep)
            .map_err(ApiError::internal)?;
    }
    tracing::info!(account = %who.account.name, edited = %target.name, "account changed");
    Ok(Json(view(&app, app.account(id).await?)))
}

/// Deletes an account (never the default one); its sessions and tokens end.
#[utoipa::path(delete, path = "/api/v1/accounts/{id}", tag = "accounts", params(("id" = u32, Path)),
    responses((status = 204), (status = 409, body = crate::error::ErrorBody)))]
pub async fn delete(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    Path(id): Path<u32>,
) -> ApiResult<StatusCode> {
    if id == who.account.id && id != DEFAULT_ACCOUNT_ID {
        return Err(ApiError::invalid("you cannot delete your own account"));
    }
    audit::store(&app, &who, "accounts.delete")
        .delete_account(id)
        .await?;
    app.known.forget();
    app.sessions
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .remove_account(id, None)
        .map_err(ApiError::internal)?;
    let _ = app
        .tokens
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .revoke_all(id);
    let _ = app
        .second_factors
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .remove(id);
    tracing::info!(account = %who.account.name, deleted = id, "account deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// An account's API tokens (administrators see every account's).
#[utoipa::path(get, path = "/api/v1/accounts/{id}/tokens", tag = "accounts", params(("id" = u32, Path)),
    responses((status = 200, body = [crate::api_tokens::TokenInfo]), (status = 404, body = crate::error::ErrorBody)))]
pub async fn tokens(
    State(app): State<Arc<App>>,
    _: Writer,
    Path(id): Path<u32>,
) -> ApiResult<Json<Vec<crate::api_tokens::TokenInfo>>> {
    app.account(id).await?;
    Ok(Json(
        app.tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .list(id),
    ))
}

/// Revokes one API token of an account (an administrator revoking another's).
#[utoipa::path(delete, path = "/api/v1/accounts/{id}/tokens/{token}", tag = "accounts",
    params(("id" = u32, Path), ("token" = u32, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn revoke_token(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    Path((id, token)): Path<(u32, u32)>,
) -> ApiResult<StatusCode> {
    let target = app.account(id).await?;
    let revoked = app
        .tokens
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .revoke(id, token)
        .map_err(ApiError::internal)?;
    if !revoked {
        return Err(ApiError::not_found(format!(
            "account {id} has no API token {token}"
        )));
    }
    tracing::info!(account = %who.account.name, of = %target.name, token, "API token revoked");
    audit::record(
        &app,
        &who,
        "accounts.revoke_token",
        format!("account {id} token {token}"),
        audit::NONE,
        audit::NONE,
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
