//! A cluster node's view of its cluster, as `cluster status` shows it.

use serde::{Deserialize, Serialize};

/// One node's view of the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ClusterStatus {
    /// This node's id.
    pub node: u64,
    /// `leader`, `follower`, `candidate` or `learner`.
    pub role: String,
    /// The Raft term.
    pub term: u64,
    /// The leader this node knows of.
    pub leader: Option<u64>,
    /// The index of this node's last log entry.
    pub last_log: Option<u64>,
    /// The index of the last entry this node applied.
    pub applied: Option<u64>,
    /// On the leader: how long ago a majority last acknowledged it.
    pub millis_since_quorum_ack: Option<u64>,
    /// On the leader: a majority confirmed its leadership while this status was made (a
    /// round of heartbeats, Raft's read index). The leader's lease starts when the request
    /// was sent.
    pub confirmed: bool,
    /// How long a confirmation holds (shorter than the shortest election timeout, so a
    /// partitioned leader's lease ends before another node can be elected).
    pub lease_ms: u64,
    /// The members.
    pub members: Vec<ClusterMember>,
}

/// One member of the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ClusterMember {
    /// Node id.
    pub id: u64,
    /// `host:port` of its peer port.
    pub address: String,
    /// Whether it votes (a new node first catches up as a learner).
    pub voter: bool,
    /// On the leader: the index of the last entry the member is known to hold.
    pub matched: Option<u64>,
    /// On the leader: how long ago the member last answered it (`None`: never since this
    /// node started).
    pub last_contact_ms: Option<u64>,
}
