//! The Cluster pane (beyond the original MOM): every node's role, log, lag and last contact
//! as the node that serves the request sees them, and removing a node.
//!
//! A node is added from the leader's console (`sip-dect-mom cluster add-node`), not here:
//! its join token carries the cluster's CA key and the new node's private key, which the web
//! service never holds (they stay in the store's folder, readable by root and the store).

use crate::app::App;
use crate::audit;
use crate::auth::{Caller, Writer};
use crate::error::{ApiError, ApiResult};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use ipc::api::store::{ClusterStatus, StoreError};
use ipc::store_client::Failure;
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;

/// The cluster as the node that answers sees it.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct ClusterView {
    /// False when this MOM runs alone (no `[cluster]` in its `mom.toml`); then nothing
    /// else is set.
    pub clustered: bool,
    /// The id of the node that answers.
    pub node: Option<u64>,
    /// Its role: `leader`, `follower`, `candidate` or `learner`.
    pub role: String,
    /// The Raft term.
    pub term: u64,
    /// The leader it knows of (none during an election or without a majority).
    pub leader: Option<u64>,
    /// The index of its last log entry.
    pub last_log: Option<u64>,
    /// The index of the last entry it applied.
    pub applied: Option<u64>,
    /// The members. Matched entries, lag and last contact are known on the leader only.
    pub members: Vec<NodeView>,
}

/// One member of the cluster.
#[derive(Debug, Serialize, ToSchema)]
pub struct NodeView {
    /// Node id.
    pub id: u64,
    /// Its peer address (`host:port`).
    pub address: String,
    /// `leader`, `voter` or `learner` (a new node catches up as a learner, then votes).
    pub role: String,
    /// The node that answers this request.
    pub this_node: bool,
    /// The index of the last entry it is known to hold.
    pub matched: Option<u64>,
    /// The entries of the leader's log it is not known to hold.
    pub lag: Option<u64>,
    /// How long ago it last answered the leader, in milliseconds.
    pub last_contact_ms: Option<u64>,
}

impl From<ClusterStatus> for ClusterView {
    fn from(status: ClusterStatus) -> Self {
        let members = status
            .members
            .iter()
            .map(|m| NodeView {
                id: m.id,
                address: m.address.clone(),
                role: if status.leader == Some(m.id) {
                    "leader"
                } else if m.voter {
                    "voter"
                } else {
                    "learner"
                }
                .into(),
                this_node: m.id == status.node,
                matched: m.matched,
                lag: status.behind(m),
                last_contact_ms: m.last_contact_ms,
            })
            .collect();
        Self {
            clustered: true,
            node: Some(status.node),
            term: status.term,
            leader: status.leader,
            last_log: status.last_log,
            applied: status.applied,
            role: status.role,
            members,
        }
    }
}

/// The Cluster pane.
#[utoipa::path(get, path = "/api/v1/cluster", tag = "cluster", responses((status = 200, body = ClusterView),
    (status = 503, description = "The store cannot answer now", body = crate::error::ErrorBody)))]
pub async fn status(State(app): State<Arc<App>>, _: Caller) -> ApiResult<Json<ClusterView>> {
    match app.store.cluster_status().await {
        Ok(status) => Ok(Json(status.into())),
        // The store says so when it runs without a cluster.
        Err(Failure::Refused(StoreError::Invalid(_))) => Ok(Json(ClusterView::default())),
        Err(e) => Err(e.into()),
    }
}

/// Removes a node from the cluster (on the leader; a follower's answer names the leader).
/// The node's MOM should be stopped first: a removed node that still runs hears no leader.
#[utoipa::path(delete, path = "/api/v1/cluster/nodes/{id}", tag = "cluster", params(("id" = u64, Path)),
    responses((status = 204), (status = 400, body = crate::error::ErrorBody),
        (status = 422, description = "This MOM runs alone, or the change was refused (on a follower: it names the leader)", body = crate::error::ErrorBody),
        (status = 503, description = "The store or the cluster cannot answer now", body = crate::error::ErrorBody)))]
pub async fn remove_node(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    Path(id): Path<u64>,
) -> ApiResult<StatusCode> {
    let status = app.store.cluster_status().await?;
    if id == status.node {
        return Err(ApiError::bad_request(
            "this node cannot remove itself: remove it on another node's Cluster pane, or with `sip-dect-mom cluster remove-node` there",
        ));
    }
    let Some(member) = status.members.iter().find(|m| m.id == id) else {
        return Err(ApiError::bad_request(format!(
            "node {id} is no member of the cluster"
        )));
    };
    let address = member.address.clone();
    app.store.cluster_remove_node(id).await?;
    audit::record(
        &app,
        &who,
        "cluster.remove_node",
        format!("node {id}"),
        Some(&serde_json::json!({ "node": id, "address": address })),
        None::<&()>,
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
