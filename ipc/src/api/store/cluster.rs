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

impl ClusterStatus {
    /// Entries this node holds but has not applied yet.
    #[must_use]
    pub fn unapplied(&self) -> u64 {
        self.last_log
            .unwrap_or(0)
            .saturating_sub(self.applied.unwrap_or(0))
    }

    /// On the leader: the entries of its log that `member` is not known to hold (`None`
    /// when not known: on a follower, or before the member answered).
    #[must_use]
    pub fn behind(&self, member: &ClusterMember) -> Option<u64> {
        let matched = member.matched?;
        Some(self.last_log.unwrap_or(0).saturating_sub(matched))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_and_behind_count_entries_and_never_underflow() {
        let member = |matched| ClusterMember {
            id: 2,
            matched,
            ..ClusterMember::default()
        };
        let status = ClusterStatus {
            last_log: Some(100),
            applied: Some(97),
            ..ClusterStatus::default()
        };
        assert_eq!(status.unapplied(), 3);
        assert_eq!(status.behind(&member(Some(40))), Some(60));
        assert_eq!(status.behind(&member(Some(120))), Some(0));
        assert_eq!(status.behind(&member(None)), None);
        assert_eq!(ClusterStatus::default().unapplied(), 0);
    }
}
