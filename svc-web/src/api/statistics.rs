//! Viewing system statistics and the event log (admin guide "MOM monitoring"): counters
//! with their history for the graphs, clear one or all; the event log.

use crate::app::App;
use crate::audit;
use crate::auth::{Caller, Writer};
use crate::error::{ApiError, ApiResult};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use model::statistics::{CounterKind, CATALOGUE};
use model::{Counter, EventEntry, Timestamp};
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;

/// A counter as the Statistics pane shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CounterView {
    /// Its name, e.g. `maxi.requests`.
    pub name: String,
    /// What it counts, in the guide's words.
    pub label: String,
    /// How its value behaves (a gauge cannot be cleared).
    pub kind: CounterKind,
    /// Current value.
    pub value: u64,
    /// Samples `(time, value)`, oldest first.
    pub history: Vec<(Timestamp, u64)>,
}

impl CounterView {
    fn of(counter: Counter) -> Self {
        let info = model::statistics::info(&counter.name);
        Self {
            label: info.map_or_else(|| counter.name.clone(), |i| i.label.to_owned()),
            kind: info.map_or(CounterKind::Total, |i| i.kind),
            name: counter.name,
            value: counter.value,
            history: counter.history,
        }
    }
}

/// Every counter: the catalogue's, in its order, zero where nothing was counted yet, then
/// any other the store holds.
async fn counters(app: &App) -> ApiResult<Vec<CounterView>> {
    let mut stored = app.store.counters().await?;
    let mut out: Vec<CounterView> = CATALOGUE
        .iter()
        .map(|info| {
            let counter = stored.iter().position(|c| c.name == info.name).map_or_else(
                || Counter {
                    name: info.name.to_owned(),
                    value: 0,
                    history: Vec::new(),
                },
                |i| stored.swap_remove(i),
            );
            CounterView::of(counter)
        })
        .collect();
    out.extend(stored.into_iter().map(CounterView::of));
    Ok(out)
}

/// Every statistics counter with its history.
#[utoipa::path(get, path = "/api/v1/statistics", tag = "statistics", responses((status = 200, body = [CounterView])))]
pub async fn list(State(app): State<Arc<App>>, _: Caller) -> ApiResult<Json<Vec<CounterView>>> {
    Ok(Json(counters(&app).await?))
}

/// One counter with its history (refresh).
#[utoipa::path(get, path = "/api/v1/statistics/{name}", tag = "statistics", params(("name" = String, Path)),
    responses((status = 200, body = CounterView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(
    State(app): State<Arc<App>>,
    _: Caller,
    Path(name): Path<String>,
) -> ApiResult<Json<CounterView>> {
    counters(&app)
        .await?
        .into_iter()
        .find(|c| c.name == name)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no counter {:?}", model::printable(&name))))
}

/// Clears one counter (its value to 0); a gauge, which shows the current state, cannot be
/// cleared (422).
#[utoipa::path(delete, path = "/api/v1/statistics/{name}", tag = "statistics", params(("name" = String, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn clear(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    let Some(counter) = counters(&app).await?.into_iter().find(|c| c.name == name) else {
        return Err(ApiError::not_found(format!(
            "no counter {:?}",
            model::printable(&name)
        )));
    };
    if counter.kind == CounterKind::Gauge {
        return Err(ApiError::invalid(format!(
            "{} shows the current state and cannot be cleared",
            counter.label
        )));
    }
    audit::store_naming(&app, &who, "statistics.clear", name.clone())
        .set_counter(name, 0)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Clears every counter but the gauges (which show the current state).
#[utoipa::path(delete, path = "/api/v1/statistics", tag = "statistics", responses((status = 204)))]
pub async fn clear_all(State(app): State<Arc<App>>, Writer(who): Writer) -> ApiResult<StatusCode> {
    for counter in counters(&app)
        .await?
        .into_iter()
        .filter(|c| c.kind != CounterKind::Gauge && c.value != 0)
    {
        app.store.set_counter(counter.name, 0).await?;
    }
    // One entry for the whole clearing, not one per counter.
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
    Ok(Json(app.store.events().await?))
}

/// Clears the event log ("Clear all").
#[utoipa::path(delete, path = "/api/v1/event-log", tag = "statistics", responses((status = 204)))]
pub async fn clear_event_log(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
) -> ApiResult<StatusCode> {
    audit::store(&app, &who, "event_log.clear")
        .clear_events()
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
