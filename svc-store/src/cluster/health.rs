//! The "Cluster" health state, from a node's view of its cluster (sans IO): no leader or no
//! majority is an error; a node that is down or far behind is a warning (the cluster still
//! writes, but one more failure stops it).

use ipc::api::store::ClusterStatus;
use model::{HealthCheck, HealthState, Severity};

/// Entries a voter may lag behind the leader before it counts as behind.
pub const BEHIND: u64 = 1000;

/// Milliseconds without an answer after which the leader counts a voter as down.
pub const DOWN_AFTER_MS: u64 = 5000;

/// The health state `status` gives.
#[must_use]
pub fn state(status: &ClusterStatus) -> HealthState {
    let (severity, reason) = judge(status);
    HealthState {
        check: HealthCheck::Cluster,
        severity,
        reason,
    }
}

fn judge(status: &ClusterStatus) -> (Option<Severity>, String) {
    let Some(leader) = status.leader else {
        return (
            Some(Severity::Error),
            "No leader: no majority of the nodes can be reached, or an election is under way; writes wait".into(),
        );
    };
    if status.role != "leader" {
        // A follower sees the leader; the leader judges the others.
        return (None, format!("node {leader} leads"));
    }
    if !status.confirmed {
        return (
            Some(Severity::Error),
            "No quorum: this leader cannot reach a majority of the nodes; writes wait".into(),
        );
    }
    let mut down = Vec::new();
    let mut behind = Vec::new();
    for m in status
        .members
        .iter()
        .filter(|m| m.voter && m.id != status.node)
    {
        if m.last_contact_ms.is_none_or(|ms| ms > DOWN_AFTER_MS) {
            down.push(m.id.to_string());
            continue;
        }
        match status.behind(m) {
            None => behind.push(format!("{} (nothing yet)", m.id)),
            Some(entries) if entries > BEHIND => {
                behind.push(format!("{} ({entries} entries)", m.id));
            }
            Some(_) => {}
        }
    }
    let mut reasons = Vec::new();
    if !down.is_empty() {
        reasons.push(format!("node {} down or unreachable", down.join(", ")));
    }
    if !behind.is_empty() {
        reasons.push(format!("node {} behind", behind.join(", ")));
    }
    if reasons.is_empty() {
        (None, format!("node {leader} leads; every node is in step"))
    } else {
        (
            Some(Severity::Warning),
            format!("{}; one more failure stops the writes", reasons.join("; ")),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipc::api::store::ClusterMember;

    fn member(id: u64, matched: Option<u64>) -> ClusterMember {
        ClusterMember {
            id,
            address: format!("10.0.0.{id}:7946"),
            voter: true,
            matched,
            last_contact_ms: matched.map(|_| 200),
        }
    }

    fn leader(members: Vec<ClusterMember>) -> ClusterStatus {
        ClusterStatus {
            node: 1,
            role: "leader".into(),
            leader: Some(1),
            last_log: Some(5000),
            confirmed: true,
            members,
            ..ClusterStatus::default()
        }
    }

    #[test]
    fn a_leader_in_step_with_everyone_is_well() {
        let s = state(&leader(vec![
            member(1, Some(5000)),
            member(2, Some(4990)),
            member(3, Some(5000)),
        ]));
        assert_eq!(s.severity, None, "{}", s.reason);
    }

    #[test]
    fn a_node_down_or_behind_is_a_warning_that_names_it() {
        let s = state(&leader(vec![
            member(1, Some(5000)),
            member(2, None),
            member(3, Some(100)),
        ]));
        assert_eq!(s.severity, Some(Severity::Warning));
        assert!(s.reason.contains("node 2 down"), "{}", s.reason);
        assert!(
            s.reason.contains("node 3 (4900 entries) behind"),
            "{}",
            s.reason
        );
    }

    #[test]
    fn no_leader_or_no_quorum_is_an_error() {
        let none = ClusterStatus {
            role: "candidate".into(),
            ..ClusterStatus::default()
        };
        assert_eq!(state(&none).severity, Some(Severity::Error));
        assert!(state(&none).reason.starts_with("No leader"));
        let cut_off = ClusterStatus {
            confirmed: false,
            ..leader(vec![member(1, Some(5000))])
        };
        assert!(state(&cut_off).reason.starts_with("No quorum"));
    }

    #[test]
    fn a_follower_that_sees_a_leader_is_well() {
        let s = state(&ClusterStatus {
            node: 2,
            role: "follower".into(),
            leader: Some(1),
            ..ClusterStatus::default()
        });
        assert_eq!(s.severity, None);
    }
}
