//! The MOM cluster: every store write replicated through Raft (openraft) to the other nodes
//! before it is answered, applied in log order on every node by the store's own write path.
//!
//! - [`log_store`]: Raft's log and vote in an LMDB environment of their own (`raft/` beside
//!   the database), so installing a snapshot, which replaces the database, keeps the log;
//! - [`state_machine`]: the database as Raft's state machine: a committed entry is applied (`apply`) by
//!   [`Store::apply_replicated`] with the leader's time, and the entry's log id is written in
//!   the same transaction, so a crash never applies an entry twice; a snapshot is the
//!   database's dump (the export format);
//! - [`wire`]: the peer protocol (one request, one answer, framed by `ipc::frame` with a size
//!   limit checked before the body is read);
//! - [`network`]: Raft's connections to the other nodes; [`peer_server`]: the peer port,
//!   with [`admission`] limiting the connections that have not yet proven themselves;
//! - `cluster-tls` (a crate of its own, which the admin CLI shares): the cluster's CA,
//!   each node's certificate, and the peers' mutual-TLS configurations;
//! - [`health`]: the "Cluster" health state;
//! - [`election`]: when a follower that hears no leader stands by itself;
//! - [`node`]: one running node: start, writes (on the leader through Raft, on a follower
//!   forwarded to the leader), membership and status.
//!
//! Without a cluster configuration none of this runs and the store writes as a single node.

// openraft's storage traits return its `StorageError` (224 bytes) by value; the helpers here
// return what those methods return.
#![allow(clippy::result_large_err)]

pub mod admission;
mod apply;
pub mod election;
pub mod health;
pub mod log_store;
pub mod network;
pub mod node;
pub mod peer_server;
pub mod state_machine;
pub mod wire;

use ipc::api::store::{StoreError, StoreRequest, StoreResponse};
use model::Timestamp;
use serde::{Deserialize, Serialize};
use std::io::Cursor;

pub use node::{ClusterNode, ClusterSettings};

/// A node's id in the cluster (1, 2, 3, …).
pub type NodeId = cluster_tls::NodeId;

/// One replicated write: the request as its client sent it, and the time the leader
/// proposed it at (every node applies it with that time, so every node stores the same
/// stamps).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Command {
    /// The write.
    pub request: StoreRequest,
    /// The leader's clock when it proposed the write.
    pub time: Timestamp,
    /// The seed of the write's randomness (password salts, nonces of sealed secrets), drawn
    /// by the leader, so every node makes the same ones ([`crate::entropy`]).
    pub seed: [u8; 32],
}

/// The outcome of one applied write, as the store answers it.
pub type Applied = Result<StoreResponse, StoreError>;

/// What the cluster knows of a node: where its peer port is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Peer {
    /// `host:port` of the node's peer listener.
    pub address: String,
}

impl std::fmt::Display for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.address)
    }
}

openraft::declare_raft_types!(
    /// The cluster's Raft types: store writes in, the store's answers out.
    pub TypeConfig:
        D = Command,
        R = Applied,
        NodeId = NodeId,
        Node = Peer,
        SnapshotData = Cursor<Vec<u8>>,
);

/// The Raft instance of the cluster.
pub type Raft = openraft::Raft<TypeConfig>;

/// A storage error as openraft wants it.
pub(crate) type RaftStorageError = openraft::StorageError<NodeId>;

/// `e` as an openraft storage error for `verb` on `subject`.
pub(crate) fn storage_error(
    subject: openraft::ErrorSubject<NodeId>,
    verb: openraft::ErrorVerb,
    e: impl std::fmt::Display,
) -> RaftStorageError {
    openraft::StorageIOError::new(subject, verb, openraft::AnyError::error(e.to_string())).into()
}

/// Whether `request` changes the database (and so goes through Raft in a cluster).
#[must_use]
pub fn replicated(request: &StoreRequest) -> bool {
    !request.is_read()
        && !matches!(
            request,
            StoreRequest::DryRun(_)
                | StoreRequest::ClusterAddNode { .. }
                | StoreRequest::ClusterRemoveNode(_)
        )
}
