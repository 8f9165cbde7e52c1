//! Users and DECT phones (admin guide "Users/DECT phones"): the Users and Devices views with
//! server-side paging, 3-state sort, filters and column selection (the store's query engine
//! does the work), create, edit, multi-edit, delete, add fixed user/device, bind and unbind,
//! relation type, source External → Internal, and unsubscribe. The guide's preconditions are
//! the store's rules; their refusals come back as clear errors.

use crate::app::App;
use crate::audit;
use crate::auth::{Caller, Writer};
use crate::error::{ApiError, ApiResult};
use crate::json::{create, patch, Body};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use model::{
    Device, Filter, FilterOp, Page, Query, Queryable, RelType, SortDirection, Source, User,
    MAX_PAGE,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

/// Parses a table query: `offset`, `limit` (1 to 1000, default 100), `sort=<column>`,
/// `order=asc|desc|none`, `filter=<column>:<op>:<value>` (repeatable; op one of `eq`, `ne`,
/// `contains`, `starts`, `lt`, `gt`), `columns=a,b,c` (the fields to return).
///
/// # Errors
/// 400 naming the parameter.
pub fn parse_query(
    raw: Option<&str>,
    columns_of: &[&str],
) -> ApiResult<(Query, Option<Vec<String>>)> {
    let mut query = Query {
        limit: 100,
        ..Query::default()
    };
    let mut columns = None;
    for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "offset" => {
                query.offset = value.parse().map_err(|_| {
                    ApiError::bad_request(format!("offset {value:?} is not a number"))
                })?;
            }
            "limit" => {
                query.limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_PAGE).contains(n))
                    .ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "page size {value:?} is not between 1 and {MAX_PAGE}"
                        ))
                    })?;
            }
            "sort" => query.sort_column = value.into_owned(),
            "order" => {
                query.sort = match value.as_ref() {
                    "asc" => SortDirection::Ascending,
                    "desc" => SortDirection::Descending,
                    "none" => SortDirection::None,
                    other => {
                        return Err(ApiError::bad_request(format!(
                            "order {other:?} is not asc, desc or none"
                        )))
                    }
                };
            }
            "filter" => {
                let mut parts = value.splitn(3, ':');
                let (Some(column), Some(op), Some(text)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    return Err(ApiError::bad_request(format!(
                        "filter {value:?} is not column:op:value"
                    )));
                };
                let op = match op {
                    "eq" => FilterOp::Equals,
                    "ne" => FilterOp::NotEquals,
                    "contains" => FilterOp::Contains,
                    "starts" => FilterOp::StartsWith,
                    "lt" => FilterOp::Less,
                    "gt" => FilterOp::Greater,
                    other => {
                        return Err(ApiError::bad_request(format!(
                            "filter operator {other:?} is not eq, ne, contains, starts, lt or gt"
                        )))
                    }
                };
                query.filters.push(Filter {
                    column: column.to_owned(),
                    op,
                    value: text.to_owned(),
                });
            }
            "columns" => {
                let list: Vec<String> = value
                    .split(',')
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned)
                    .collect();
                if let Some(bad) = list.iter().find(|c| !columns_of.contains(&c.as_str())) {
                    return Err(ApiError::bad_request(format!("unknown column {bad:?}")));
                }
                columns = Some(list);
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown query parameter {other:?}"
                )))
            }
        }
    }
    if query.sort != SortDirection::None && query.sort_column.is_empty() {
        return Err(ApiError::bad_request(
            "order asc or desc needs sort=<column>",
        ));
    }
    Ok((query, columns))
}

/// A page of rows, optionally only some columns of each.
#[derive(Debug, Serialize, ToSchema)]
pub struct Rows {
    /// Rows matching the filters, before paging.
    pub total: u64,
    /// The rows of this page (objects with the chosen columns).
    pub items: Vec<serde_json::Value>,
}

/// A record as the API shows it: its secrets (PIN, SIP and other passwords) are never
/// returned, only whether they are set (as [`audit::REDACTED`]).
fn shown<T: Serialize>(record: &T) -> ApiResult<serde_json::Value> {
    serde_json::to_value(record)
        .map(audit::redact)
        .map_err(|e| ApiError::internal(e.to_string()))
}

fn rows<T: Serialize>(page: Page<T>, columns: Option<&[String]>) -> ApiResult<Rows> {
    let items = page
        .items
        .iter()
        .map(|item| {
            let mut value = shown(item)?;
            if let (Some(columns), serde_json::Value::Object(map)) = (columns, &mut value) {
                map.retain(|k, _| columns.iter().any(|c| c == k));
            }
            Ok(value)
        })
        .collect::<ApiResult<_>>()?;
    Ok(Rows {
        total: page.total,
        items,
    })
}

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

/// The Devices view: a page of DECT phones.
#[utoipa::path(get, path = "/api/v1/devices", tag = "users and DECT phones",
    params(("offset" = Option<u32>, Query), ("limit" = Option<u32>, Query, description = "1 to 1000"),
        ("sort" = Option<String>, Query), ("order" = Option<String>, Query, description = "asc, desc or none"),
        ("filter" = Option<String>, Query, description = "column:op:value, repeatable"),
        ("columns" = Option<String>, Query, description = "comma-separated fields to return")),
    responses((status = 200, body = Rows), (status = 400, body = crate::error::ErrorBody)))]
pub async fn list_devices(
    State(app): State<Arc<App>>,
    _: Caller,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Rows>> {
    let (query, columns) = parse_query(raw.as_deref(), Device::COLUMNS)?;
    let page = app.store.query_devices(query).await?;
    Ok(Json(rows(page, columns.as_deref())?))
}

/// One user or device by id.
async fn record<K: crate::api::bulk::Kind>(app: &App, id: u32) -> ApiResult<K> {
    K::get(&app.store, id).await?.ok_or_else(|| {
        ApiError::from(ipc::api::store::StoreError::NotFound {
            entity: K::ENTITY,
            id,
        })
    })
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

/// One device.
#[utoipa::path(get, path = "/api/v1/devices/{ppn}", tag = "users and DECT phones", params(("ppn" = u32, Path)),
    responses((status = 200, body = Device), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_device(
    State(app): State<Arc<App>>,
    _: Caller,
    Path(ppn): Path<u32>,
) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(shown(&record::<Device>(&app, ppn).await?)?))
}

/// The id of a created record.
#[derive(Debug, Serialize, ToSchema)]
pub struct Created {
    /// Its id.
    pub id: u32,
}

fn created(id: u32) -> (StatusCode, Json<Created>) {
    (StatusCode::CREATED, Json(Created { id }))
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

/// Adds an unbound device: the fields of a device record (`ipei` required, absent ones
/// take their defaults; `ppn` is assigned).
#[utoipa::path(post, path = "/api/v1/devices", tag = "users and DECT phones", request_body = Device,
    responses((status = 201, body = Created), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create_device(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    Body(fields): Body<serde_json::Value>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let mut device = new_device(fields)?;
    device.ppn = 0;
    let answer = created(
        audit::store(&app, &who, "devices.create")
            .put_device(device.clone())
            .await?,
    );
    device.ppn = answer.1.id;
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

/// Edits a device: a JSON object of the fields to change.
#[utoipa::path(patch, path = "/api/v1/devices/{ppn}", tag = "users and DECT phones", params(("ppn" = u32, Path)),
    request_body = Object, responses((status = 200, body = Device), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn edit_device(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    Path(ppn): Path<u32>,
    Body(changes): Body<serde_json::Value>,
) -> ApiResult<Json<serde_json::Value>> {
    let current = record::<Device>(&app, ppn).await?;
    let mut edited = patch(&current, audit::without_unchanged_secrets(changes))?;
    edited.ppn = ppn;
    audit::store(&app, &who, "devices.edit")
        .put_device(edited)
        .await?;
    let after = record::<Device>(&app, ppn).await?;
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

/// A multi-edit: the same changes to each record of a selection.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MultiEdit {
    /// The records' ids.
    pub ids: Vec<u32>,
    /// The fields to change.
    #[schema(value_type = Object)]
    pub changes: serde_json::Value,
}

/// The result for one record of a multi-edit.
#[derive(Debug, Serialize, ToSchema)]
pub struct EditResult {
    /// The record's id.
    pub id: u32,
    /// Empty when it was changed, else why not.
    pub error: Option<crate::error::ErrorBody>,
}

fn result_of(id: u32, outcome: ApiResult<()>) -> EditResult {
    EditResult {
        id,
        error: outcome.err().map(|e| crate::error::ErrorBody {
            error: e.code.to_owned(),
            message: e.message,
        }),
    }
}

/// The largest selection of one multi-edit (a page).
const MAX_SELECTION: usize = MAX_PAGE as usize;

/// The same changes to each record of a selection, each with its own result.
async fn multi_edit<K: crate::api::bulk::Kind>(
    app: &App,
    who: &crate::auth::LoggedIn,
    edit: MultiEdit,
) -> ApiResult<Vec<EditResult>> {
    if edit.ids.len() > MAX_SELECTION {
        return Err(ApiError::bad_request(format!(
            "at most {MAX_SELECTION} records per multi-edit"
        )));
    }
    let mut out = Vec::new();
    for id in edit.ids {
        let outcome = async {
            let current: K = record(app, id).await?;
            let mut edited: K = patch(
                &current,
                audit::without_unchanged_secrets(edit.changes.clone()),
            )?;
            edited.set_id(id);
            K::put(&app.store, edited.clone()).await?;
            audit::record(
                app,
                who,
                &format!("{}.multi_edit", K::NAME),
                format!("{} {id}", K::SINGULAR),
                Some(&current),
                Some(&edited),
            )
            .await;
            Ok(())
        }
        .await;
        out.push(result_of(id, outcome));
    }
    Ok(out)
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

/// Applies the same changes to several devices; each gets its own result.
#[utoipa::path(patch, path = "/api/v1/devices", tag = "users and DECT phones", request_body = MultiEdit,
    responses((status = 200, body = [EditResult])))]
pub async fn multi_edit_devices(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    Body(edit): Body<MultiEdit>,
) -> ApiResult<Json<Vec<EditResult>>> {
    multi_edit::<Device>(&app, &who, edit).await.map(Json)
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

/// Deletes a device (its user is unbound).
#[utoipa::path(delete, path = "/api/v1/devices/{ppn}", tag = "users and DECT phones", params(("ppn" = u32, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn delete_device(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    Path(ppn): Path<u32>,
) -> ApiResult<StatusCode> {
    audit::store(&app, &who, "devices.delete")
        .delete_device(ppn)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A device from the fields a client sent; the IPEI is required.
fn new_device(fields: serde_json::Value) -> ApiResult<Device> {
    if fields.get("ipei").is_none() {
        return Err(ApiError::invalid(
            "missing field \"ipei\": a DECT phone needs its IPEI",
        ));
    }
    create(fields)
}

/// A fixed user/device pair to add: the fields of each (absent ones take their defaults).
#[derive(Debug, Deserialize, ToSchema)]
pub struct FixedPair {
    /// The user's fields.
    #[schema(value_type = User)]
    pub user: serde_json::Value,
    /// The device's fields (`ipei` required).
    #[schema(value_type = Device)]
    pub device: serde_json::Value,
}

/// The ids of a new fixed pair.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedPair {
    /// User id.
    pub uid: u32,
    /// Device id.
    pub ppn: u32,
}

/// Adds a fixed user/device pair in one step.
#[utoipa::path(post, path = "/api/v1/fixed-pairs", tag = "users and DECT phones", request_body = FixedPair,
    responses((status = 201, body = CreatedPair), (status = 409, body = crate::error::ErrorBody)))]
pub async fn create_fixed(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    Body(pair): Body<FixedPair>,
) -> ApiResult<(StatusCode, Json<CreatedPair>)> {
    let mut user: User = create(pair.user)?;
    let mut device = new_device(pair.device)?;
    user.uid = 0;
    device.ppn = 0;
    let (uid, ppn) = audit::store(&app, &who, "fixed_pairs.create")
        .create_fixed(user, device)
        .await?;
    Ok((StatusCode::CREATED, Json(CreatedPair { uid, ppn })))
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

/// Unsubscribes a DECT phone (on the OMM where it is).
#[utoipa::path(post, path = "/api/v1/devices/{ppn}/unsubscribe", tag = "users and DECT phones", params(("ppn" = u32, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn unsubscribe(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    Path(ppn): Path<u32>,
) -> ApiResult<StatusCode> {
    audit::store(&app, &who, "devices.unsubscribe")
        .unsubscribe_device(ppn)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_query_is_parsed_and_bad_parameters_are_named() {
        let (q, cols) = parse_query(
            Some(
                "offset=50&limit=25&sort=num&order=desc&filter=name:contains:a%3Ab&columns=uid,num",
            ),
            User::COLUMNS,
        )
        .unwrap();
        assert_eq!(
            (q.offset, q.limit, q.sort_column.as_str(), q.sort),
            (50, 25, "num", SortDirection::Descending)
        );
        assert_eq!(q.filters[0].value, "a:b");
        assert_eq!(cols.unwrap(), vec!["uid", "num"]);
        for (raw, needle) in [
            ("limit=0", "page size"),
            ("limit=5000", "page size"),
            ("limit=x", "page size"),
            ("order=up", "order"),
            ("order=asc", "sort=<column>"),
            ("filter=name", "column:op:value"),
            ("filter=name:like:x", "operator"),
            ("columns=nope", "unknown column"),
            ("bogus=1", "unknown query parameter"),
        ] {
            let e = parse_query(Some(raw), User::COLUMNS).unwrap_err();
            assert!(e.message.contains(needle), "{raw}: {}", e.message);
        }
    }
}
