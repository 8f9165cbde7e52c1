//! Monitoring endpoints: `/healthz` (the process answers), `/readyz` (the store answers;
//! the OMM links as facts), and Prometheus text at `/metrics`, which needs the metrics token
//! (`Authorization: Bearer`, from `metrics-token` in svc-web's state folder) unless the
//! request comes from loopback and loopback scrapes are allowed.

use crate::app::App;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde::Serialize;
use std::net::SocketAddr;
use std::sync::Arc;

/// The process is up.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness.
#[derive(Debug, Serialize)]
pub struct Ready {
    /// The store answered.
    pub store: bool,
    /// Enabled OMM records.
    pub omms_enabled: usize,
    /// Of those, linked.
    pub omms_linked: usize,
    /// In a cluster: this node's role, term, leader and log (absent when the MOM runs
    /// alone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ReadyCluster>,
}

/// A cluster node's part of `/readyz`.
#[derive(Debug, Serialize)]
pub struct ReadyCluster {
    /// This node's id.
    pub node: u64,
    /// `leader`, `follower`, `candidate` or `learner`.
    pub role: String,
    /// The Raft term.
    pub term: u64,
    /// The leader this node knows of.
    pub leader: Option<u64>,
    /// The index of the last entry this node applied (committed entries are applied in
    /// order).
    pub applied: Option<u64>,
    /// Entries this node holds but has not applied yet.
    pub lag: u64,
}

/// The cluster part of `/readyz`, if this MOM is a cluster node.
async fn cluster(app: &App) -> Option<ReadyCluster> {
    let s = app.store.cluster_status().await.ok()?;
    Some(ReadyCluster {
        lag: s.unapplied(),
        node: s.node,
        role: s.role,
        term: s.term,
        leader: s.leader,
        applied: s.applied,
    })
}

/// Ready when the store answers (503 otherwise).
pub async fn readyz(State(app): State<Arc<App>>) -> Response {
    match app.store.omms().await {
        Ok(omms) => {
            let enabled: Vec<_> = omms.iter().filter(|o| o.enabled).collect();
            let linked = enabled
                .iter()
                .filter(|o| o.health.link == model::LinkState::Up)
                .count();
            Json(Ready {
                store: true,
                omms_enabled: enabled.len(),
                omms_linked: linked,
                cluster: cluster(&app).await,
            })
            .into_response()
        }
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Ready {
                store: false,
                omms_enabled: 0,
                omms_linked: 0,
                cluster: None,
            }),
        )
            .into_response(),
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OmmLabel {
    omm: u32,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NameLabel {
    name: String,
}

/// Whether a scrape may see the metrics.
fn allowed(app: &App, peer: SocketAddr, headers: &HeaderMap) -> bool {
    if app.metrics_loopback && peer.ip().is_loopback() {
        return true;
    }
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    matches!((given, &app.metrics_token), (Some(g), Some(t)) if g.as_bytes() == t.as_bytes())
}

/// Prometheus text metrics.
pub async fn metrics(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if !allowed(&app, peer, &headers) {
        return (
            StatusCode::UNAUTHORIZED,
            "metrics need the metrics token (Authorization: Bearer)\n",
        )
            .into_response();
    }
    let mut extra = Registry::with_prefix("mom");
    let links = Family::<OmmLabel, Gauge>::default();
    let counters = Family::<NameLabel, Gauge>::default();
    if let Ok(omms) = app.store.omms().await {
        for omm in omms.iter().filter(|o| o.enabled) {
            links
                .get_or_create(&OmmLabel { omm: omm.id })
                .set(i64::from(omm.health.link == model::LinkState::Up));
        }
    }
    if let Ok(list) = app.store.counters().await {
        for c in list {
            counters
                .get_or_create(&NameLabel { name: c.name })
                .set(i64::try_from(c.value).unwrap_or(i64::MAX));
        }
    }
    if let Some(c) = cluster(&app).await {
        let gauge = |value: u64| {
            let g = Gauge::<i64, std::sync::atomic::AtomicI64>::default();
            g.set(i64::try_from(value).unwrap_or(i64::MAX));
            g
        };
        extra.register(
            "cluster_leader",
            "1 when this node leads the cluster",
            gauge(u64::from(c.role == "leader")),
        );
        extra.register("cluster_term", "The cluster's Raft term", gauge(c.term));
        extra.register(
            "cluster_applied_index",
            "The index of the last log entry this node applied",
            gauge(c.applied.unwrap_or(0)),
        );
        extra.register(
            "cluster_lag",
            "Entries this node holds but has not applied yet",
            gauge(c.lag),
        );
    }
    extra.register("omm_link_up", "1 when the OMM's link is up", links);
    extra.register("counter", "The MOM's statistics counters", counters);
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        app.metrics.render(&extra),
    )
        .into_response()
}
