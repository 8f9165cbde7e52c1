//! Users: the Users view and the Overview, one user, add, edit, copy, multi-edit, delete,
//! bind and unbind, the relation type and the source (External → Internal).

use super::*;
use crate::app::App;
use crate::audit;
use crate::auth::{Caller, Writer};
use crate::error::{ApiError, ApiResult};
use crate::json::{create, patch, Body};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use model::{Device, Queryable, RelType, Source, User};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

/// The Users view: a page of users.
#[utoipa::path(get, path = "/api/v1/users", tag = "users and DECT phones",
    params(("offset" = Option<u32>, Query), ("limit" = Option<u32>, Query, description = "1 to 1000"),
        ("sort" = Option<String>, Query), ("order" = Option<String>, Query, description = "asc, desc or none"),
        ("filter" = Option<String>, Query, description = "column:op:value, repeatable"),
        ("columns" = Option<String>, Query, description = "comma-separated fields to return")),
    responses((status = 200, body = Rows), (status = 400, body = crate::error::ErrorBody)))]
pub async fn list_users(
    State(app): State<Arc<App>>,
    _: Caller,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Rows>> {
    let (query, columns) = parse_query(raw.as_deref(), User::COLUMNS)?;
    let page = app.store.query_users(query).await?;
    Ok(Json(rows(page, columns.as_deref())?))
}

/// One row of the Overview: a user and the handset bound to it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OverviewRow {
    /// The user (secrets redacted).
    #[schema(value_type = User)]
    pub user: serde_json::Value,
    /// Its bound handset, if any.
    #[schema(value_type = Option<Device>)]
    pub device: Option<serde_json::Value>,
}

/// The Overview page.
#[derive(Debug, Serialize, ToSchema)]
pub struct Overview {
    /// Users matching the filters, before paging.
    pub total: u64,
    /// The page.
    pub items: Vec<OverviewRow>,
}

/// The Overview view: a page of users, each with its bound handset. Filters and sort name a
/// user's column as it is (`num`) and a DECT phone's as `device.<column>` (`device.ipei`); a
/// user without a phone has the phone's columns at their defaults (`device.ppn` 0).
#[utoipa::path(get, path = "/api/v1/overview", tag = "users and DECT phones",
    params(("offset" = Option<u32>, Query), ("limit" = Option<u32>, Query, description = "1 to 1000"),
        ("sort" = Option<String>, Query, description = "a user column, or device.<column>"),
        ("order" = Option<String>, Query, description = "asc, desc or none"),
        ("filter" = Option<String>, Query, description = "column:op:value, repeatable; column as for sort")),
    responses((status = 200, body = Overview), (status = 400, body = crate::error::ErrorBody)))]
pub async fn overview(
    State(app): State<Arc<App>>,
    _: Caller,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Overview>> {
    let (query, columns) = parse_query(raw.as_deref(), User::COLUMNS)?;
    if columns.is_some() {
        return Err(ApiError::bad_request(
            "the Overview has no column choice; use the Users or Devices view",
        ));
    }
    let page = app.store.query_overview(query).await?;
    let items = page
        .items
        .iter()
        .map(|row| {
            Ok(OverviewRow {
                user: shown(&row.user)?,
                device: row.device.as_ref().map(shown).transpose()?,
            })
        })
        .collect::<ApiResult<_>>()?;
    Ok(Json(Overview {
        total: page.total,
        items,
    }))
}

/// One user.
#[utoipa::path(get, path = "/api/v1/users/{uid}", tag = "users and DECT phones", params(("uid" = u32, Path)),
    responses((status = 200, body = User), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_user(
    State(app): State<Arc<App>>,
    _: Caller,
    Path(uid): Path<u32>,
) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(shown(&record::<User>(&app, uid).await?)?))
}

/// Adds an unbound user: the fields of a user record (absent ones take their defaults;
/// `uid` is assigned).
#[utoipa::path(post, path = "/api/v1/users", tag = "users and DECT phones", request_body = User,
    responses((status = 201, body = Created), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create_user(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    Body(fields): Body<serde_json::Value>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let mut user: User = create(fields)?;
    user.uid = 0;
    let answer = created(
        audit::store(&app, &who, "users.create")
            .put_user(user.clone())
            .await?,
    );
    user.uid = answer.1.id;
    Ok(answer)
}

/// Edits a user: a JSON object of the fields to change.
#[utoipa::path(patch, path = "/api/v1/users/{uid}", tag = "users and DECT phones", params(("uid" = u32, Path)),
    request_body = Object, responses((status = 200, body = User), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn edit_user(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    Path(uid): Path<u32>,
    Body(changes): Body<serde_json::Value>,
) -> ApiResult<Json<serde_json::Value>> {
    let current = record::<User>(&app, uid).await?;
    let mut edited = patch(&current, audit::without_unchanged_secrets(changes))?;
    edited.uid = uid;
    audit::store(&app, &who, "users.edit")
        .put_user(edited)
        .await?;
    let after = record::<User>(&app, uid).await?;
    Ok(Json(shown(&after)?))
}

/// Copies a user ("Copy" in the Users/DECT phones pane): a new, unbound user with the
/// copied user's values, and the fields of the body (at least a new `num`) over them.
#[utoipa::path(post, path = "/api/v1/users/{uid}/copy", tag = "users and DECT phones", params(("uid" = u32, Path)),
    request_body = Object, responses((status = 201, body = Created), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn copy_user(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    Path(uid): Path<u32>,
    Body(changes): Body<serde_json::Value>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    if changes
        .get("num")
        .and_then(serde_json::Value::as_str)
        .is_none_or(|n| n.trim().is_empty())
    {
        return Err(ApiError::invalid("a copy needs its own number"));
    }
    let original = record::<User>(&app, uid).await?;
    let template = User {
        uid: 0,
        ppn: 0,
        rel_type: RelType::Unbound,
        omm_uid: 0,
        timestamp: 0,
        timestamp_admin: 0,
        timestamp_relation: 0,
        created: 0,
        ..original
    };
    let mut copy = patch(&template, audit::without_unchanged_secrets(changes))?;
    copy.uid = 0;
    copy.ppn = 0;
    let answer = created(
        audit::store(&app, &who, "users.copy")
            .put_user(copy.clone())
            .await?,
    );
    copy.uid = answer.1.id;
    Ok(answer)
}

/// Applies the same changes to several users; each gets its own result.
#[utoipa::path(patch, path = "/api/v1/users", tag = "users and DECT phones", request_body = MultiEdit,
    responses((status = 200, body = [EditResult])))]
pub async fn multi_edit_users(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    Body(edit): Body<MultiEdit>,
) -> ApiResult<Json<Vec<EditResult>>> {
    multi_edit::<User>(&app, &who, edit).await.map(Json)
}

/// Deletes a user (its device is unbound).
#[utoipa::path(delete, path = "/api/v1/users/{uid}", tag = "users and DECT phones", params(("uid" = u32, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn delete_user(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    Path(uid): Path<u32>,
) -> ApiResult<StatusCode> {
    audit::store(&app, &who, "users.delete")
        .delete_user(uid)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A binding to make.
#[derive(Debug, Deserialize, ToSchema)]
pub struct Binding {
    /// The device.
    pub ppn: u32,
    /// Dynamic or Fixed.
    pub rel_type: RelType,
}

/// Binds a user to a device.
#[utoipa::path(post, path = "/api/v1/users/{uid}/binding", tag = "users and DECT phones", params(("uid" = u32, Path)),
    request_body = Binding, responses((status = 204), (status = 409, body = crate::error::ErrorBody)))]
pub async fn bind(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    Path(uid): Path<u32>,
    Body(b): Body<Binding>,
) -> ApiResult<StatusCode> {
    audit::store(&app, &who, "users.bind")
        .bind(uid, b.ppn, b.rel_type)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Unbinds a user from its device.
#[utoipa::path(delete, path = "/api/v1/users/{uid}/binding", tag = "users and DECT phones", params(("uid" = u32, Path)),
    responses((status = 204), (status = 409, body = crate::error::ErrorBody)))]
pub async fn unbind(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    Path(uid): Path<u32>,
) -> ApiResult<StatusCode> {
    audit::store(&app, &who, "users.unbind").unbind(uid).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A relation type.
#[derive(Debug, Deserialize, ToSchema)]
pub struct Relation {
    /// Dynamic or Fixed.
    pub rel_type: RelType,
}

/// Changes a bound pair's relation type.
#[utoipa::path(put, path = "/api/v1/users/{uid}/relation", tag = "users and DECT phones", params(("uid" = u32, Path)),
    request_body = Relation, responses((status = 204), (status = 409, body = crate::error::ErrorBody)))]
pub async fn relation(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    Path(uid): Path<u32>,
    Body(r): Body<Relation>,
) -> ApiResult<StatusCode> {
    audit::store(&app, &who, "users.relation")
        .change_relation_type(uid, r.rel_type)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A provisioning source.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SourceChange {
    /// The new source (only External → Internal is allowed).
    pub source: Source,
}

/// Changes a user's source (External → Internal).
#[utoipa::path(put, path = "/api/v1/users/{uid}/source", tag = "users and DECT phones", params(("uid" = u32, Path)),
    request_body = SourceChange, responses((status = 204), (status = 409, body = crate::error::ErrorBody)))]
pub async fn source(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    Path(uid): Path<u32>,
    Body(s): Body<SourceChange>,
) -> ApiResult<StatusCode> {
    audit::store(&app, &who, "users.source")
        .change_source(uid, s.source)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
