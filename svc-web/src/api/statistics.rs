//! Viewing system statistics and the event log (admin guide "MOM monitoring"): counters
//! with their history for the graphs, clear one or all; the event log.

use crate::app::{unexpected, App};
use crate::audit;
use crate::auth::{Caller, Writer};
use crate::error::{ApiError, ApiResult};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use ipc::api::store::{StoreRequest, StoreResponse};
use model::{Counter, EventEntry};
use std::sync::Arc;

async fn counters(app: &App) -> ApiResult<Vec<Counter>> {
    match app.call(StoreRequest::ListCounters).await? {
        StoreResponse::Counters(c) => Ok(c),
        other => Err(unexpected(&other)),
    }
}

/// Every statistics counter with its history.
#[utoipa::path(get, path = "/api/v1/statistics", tag = "statistics", responses((status = 200, body = [Counter])))]
pub async fn list(State(app): State<Arc<App>>, _: Caller) -> ApiResult<Json<Vec<Counter>>> {
    Ok(Json(counters(&app).await?))
}

/// One counter with its history (refresh).
#[utoipa::path(get, path = "/api/v1/statistics/{name}", tag = "statistics", params(("name" = String, Path)),
    responses((status = 200, body = Counter), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(
    State(app): State<Arc<App>>,
    _: Caller,
    Path(name): Path<String>,
) -> ApiResult<Json<Counter>> {
    counters(&app)
        .await?
        .into_iter()
        .find(|c| c.name == name)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no counter {:?}", model::printable(&name))))
}

/// Clears one counter (its value to 0).
#[utoipa::path(delete, path = "/api/v1/statistics/{name}", tag = "statistics", params(("name" = String, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn clear(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    if !counters(&app).await?.iter().any(|c| c.name == name) {
        return Err(ApiError::not_found(format!(
            "no counter {:?}",
            model::printable(&name)
        )));
    }
    app.done(StoreRequest::SetCounter {
        name: name.clone(),
        value: 0,
    })
    .await?;
    audit::record(
        &app,
        &who,
        "statistics.clear",
        name,
        audit::NONE,
        audit::NONE,
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Clears every counter.
#[utoipa::path(delete, path = "/api/v1/statistics", tag = "statistics", responses((status = 204)))]
pub async fn clear_all(State(app): State<Arc<App>>, Writer(who): Writer) -> ApiResult<StatusCode> {
    for counter in counters(&app).await? {
        app.done(StoreRequest::SetCounter {
            name: counter.name,
            value: 0,
        })
        .await?;
    }
    audit::record(
        &app,
        &who,
        "statistics.clear_all",
        String::new(),
        audit::NONE,
        audit::NONE,
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// The event log, newest last.
#[utoipa::path(get, path = "/api/v1/event-log", tag = "statistics", responses((status = 200, body = [EventEntry])))]
pub async fn event_log(State(app): State<Arc<App>>, _: Caller) -> ApiResult<Json<Vec<EventEntry>>> {
    match app.call(StoreRequest::ListEvents).await? {
        StoreResponse::Events(e) => Ok(Json(e)),
        other => Err(unexpected(&other)),
    }
}

/// Clears the event log ("Clear all").
#[utoipa::path(delete, path = "/api/v1/event-log", tag = "statistics", responses((status = 204)))]
pub async fn clear_event_log(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
) -> ApiResult<StatusCode> {
    app.done(StoreRequest::ClearEvents).await?;
    audit::record(
        &app,
        &who,
        "event_log.clear",
        String::new(),
        audit::NONE,
        audit::NONE,
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
