//! Conference rooms of the Integrated Conference Server: list, add, edit, delete. A room's
//! SIP password is never returned, only whether it is set (as users' secrets:
//! [`audit::REDACTED`]); an edit without it, or with it sent back as shown, keeps it.

use crate::app::App;
use crate::audit;
use crate::auth::{Caller, Writer};
use crate::error::{ApiError, ApiResult};
use crate::json::{patch, Body};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use model::ConferenceRoom;
use std::sync::Arc;

async fn all(app: &App) -> ApiResult<Vec<ConferenceRoom>> {
    Ok(app.store.rooms().await?)
}

/// `room` as the API shows it: its SIP password replaced by [`audit::REDACTED`] when set.
fn redacted(mut room: ConferenceRoom) -> ConferenceRoom {
    if !room.sip_password.is_empty() {
        audit::REDACTED.clone_into(&mut room.sip_password);
    }
    room
}

/// Every conference room (SIP passwords left out).
#[utoipa::path(get, path = "/api/v1/conference-rooms", tag = "conference rooms", responses((status = 200, body = [ConferenceRoom])))]
pub async fn list(State(app): State<Arc<App>>, _: Caller) -> ApiResult<Json<Vec<ConferenceRoom>>> {
    Ok(Json(all(&app).await?.into_iter().map(redacted).collect()))
}

/// Adds a conference room.
#[utoipa::path(post, path = "/api/v1/conference-rooms", tag = "conference rooms", request_body = ConferenceRoom,
    responses((status = 201, body = crate::api::directory::Created), (status = 409, body = crate::error::ErrorBody)))]
pub async fn create(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    Body(fields): Body<serde_json::Value>,
) -> ApiResult<(StatusCode, Json<crate::api::directory::Created>)> {
    let mut room: ConferenceRoom = crate::json::create(fields)?;
    room.id = 0;
    let id = audit::store(&app, &who, "conference_rooms.create")
        .put_room(room.clone())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(crate::api::directory::Created { id }),
    ))
}

/// Edits a conference room: a JSON object of the fields to change (`sip_password` absent or
/// sent back as shown keeps the password; the answer does not show it).
#[utoipa::path(patch, path = "/api/v1/conference-rooms/{id}", tag = "conference rooms", params(("id" = u32, Path)), request_body = Object,
    responses((status = 200, body = ConferenceRoom), (status = 404, body = crate::error::ErrorBody)))]
pub async fn edit(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    Path(id): Path<u32>,
    Body(changes): Body<serde_json::Value>,
) -> ApiResult<Json<ConferenceRoom>> {
    let find = |rooms: Vec<ConferenceRoom>| {
        rooms
            .into_iter()
            .find(|r| r.id == id)
            .ok_or_else(|| ApiError::not_found(format!("conference room {id} does not exist")))
    };
    let current = find(all(&app).await?)?;
    let mut edited = patch(&current, audit::without_unchanged_secrets(changes))?;
    edited.id = id;
    audit::store(&app, &who, "conference_rooms.edit")
        .put_room(edited)
        .await?;
    let after = find(all(&app).await?)?;
    Ok(Json(redacted(after)))
}

/// Deletes a conference room.
#[utoipa::path(delete, path = "/api/v1/conference-rooms/{id}", tag = "conference rooms", params(("id" = u32, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn delete(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    Path(id): Path<u32>,
) -> ApiResult<StatusCode> {
    audit::store(&app, &who, "conference_rooms.delete")
        .delete_room(id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
