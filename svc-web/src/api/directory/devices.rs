//! DECT phones: the Devices view, one phone, add, edit, multi-edit, delete and unsubscribe.

use super::*;
use crate::app::App;
use crate::audit;
use crate::auth::{Caller, Writer};
use crate::error::{ApiError, ApiResult};
use crate::json::{create, patch, Body};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use model::{Device, Queryable};
use std::sync::Arc;

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

/// A device from the fields a client sent; the IPEI is required.
pub(super) fn new_device(fields: serde_json::Value) -> ApiResult<Device> {
    if fields.get("ipei").is_none() {
        return Err(ApiError::invalid(
            "missing field \"ipei\": a DECT phone needs its IPEI",
        ));
    }
    create(fields)
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
