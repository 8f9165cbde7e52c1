//! Whether this svc-axi may hold OMM links: always when the MOM runs alone; in a cluster only
//! while its node leads under a lease, so that two MOMs never write to one OMM, not even
//! while the network is split.
//!
//! The lease (sans IO, [`Lease`]): each time the store says a majority has just confirmed
//! this node's leadership, the lease runs until the moment the question was asked plus the
//! lease's length, which is half the shortest election timeout. A leader cut off from the
//! majority gets no more confirmations, and its lease ends before any other node can be
//! elected. A store that does not answer (within half a lease) confirms nothing. [`watch`]
//! asks every quarter lease and publishes the answer; the link manager closes every link
//! when it turns false.

use crate::shared::Shared;
use ipc::api::store::{ClusterStatus, StoreError};
use ipc::store_client::Failure;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// What the store said when it was asked whether this node leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The MOM runs alone: it may always link.
    Alone,
    /// The cluster's view: whether a majority confirmed this node's leadership, and how long
    /// a confirmation holds.
    Cluster {
        /// Confirmed as leader.
        confirmed: bool,
        /// The lease's length.
        lease: Duration,
        /// Another node this one knows as the leader: "node 2 (10.0.0.2)".
        leader: Option<String>,
    },
    /// No answer (the store is down or slow): nothing new is known.
    Unknown,
}

impl Answer {
    /// The answer a status (or its refusal) gives.
    #[must_use]
    pub fn of(result: Result<ClusterStatus, Failure>) -> Self {
        match result {
            Ok(status) => Self::Cluster {
                confirmed: status.role == "leader" && status.confirmed,
                lease: Duration::from_millis(status.lease_ms),
                leader: status
                    .leader
                    .filter(|l| *l != status.node)
                    .map(|l| describe(&status, l)),
            },
            // The store says this MOM is no cluster node.
            Err(Failure::Refused(StoreError::Invalid(_))) => Self::Alone,
            Err(_) => Self::Unknown,
        }
    }
}

/// Node `id` as an application's administrator finds it: its id and its host (the peer
/// address without the port; the node's other ports are where they are on every node).
fn describe(status: &ClusterStatus, id: u64) -> String {
    let host = status
        .members
        .iter()
        .find(|m| m.id == id)
        .and_then(|m| m.address.rsplit_once(':'))
        .map(|(host, _)| host.trim_start_matches('[').trim_end_matches(']'));
    match host {
        Some(host) if !host.is_empty() => format!("node {id} ({host})"),
        _ => format!("node {id}"),
    }
}

/// Why a node that may not link holds no links, for the API's answers (`None` while it may).
#[must_use]
pub fn elsewhere(answer: &Answer, may_link: bool) -> Option<String> {
    match answer {
        _ if may_link => None,
        Answer::Cluster {
            leader: Some(leader),
            ..
        } => Some(format!(
            "this MOM node does not lead the cluster and holds no OMM links: ask the leader, {leader}"
        )),
        Answer::Cluster { .. } => Some(
            "this MOM node holds no OMM links: the cluster has no leader it can reach now (an election, or no majority)".into(),
        ),
        Answer::Alone | Answer::Unknown => None,
    }
}

/// The lease, from the store's answers and the time they were asked at.
#[derive(Debug, Clone, Default)]
pub struct Lease {
    alone: bool,
    until: Option<Instant>,
}

impl Lease {
    /// Takes `answer` to a question asked at `asked`.
    pub fn answered(&mut self, answer: &Answer, asked: Instant) {
        match answer {
            Answer::Alone => self.alone = true,
            Answer::Cluster {
                confirmed, lease, ..
            } => {
                self.alone = false;
                if *confirmed {
                    self.until = Some(asked + *lease);
                } else {
                    self.until = None;
                }
            }
            Answer::Unknown => {}
        }
    }

    /// Whether links may run at `now`.
    #[must_use]
    pub fn may_link(&self, now: Instant) -> bool {
        self.alone || self.until.is_some_and(|until| now < until)
    }

    /// Whether the MOM runs alone (then nothing more needs asking).
    #[must_use]
    pub fn alone(&self) -> bool {
        self.alone
    }
}

/// How often the store is asked while in a cluster, as a share of the lease.
const ASKS_PER_LEASE: u32 = 4;

/// Asks the store until the task ends and publishes whether links may run. A MOM that runs
/// alone is answered once and then left alone (the task then only keeps the channel open).
pub async fn watch(shared: Arc<Shared>, may_link: watch::Sender<bool>) {
    let store = shared.store.clone();
    let mut lease = Lease::default();
    let mut every = Duration::from_millis(250);
    let mut patience = Duration::from_millis(500);
    loop {
        let asked = Instant::now();
        // A store that does not answer in time (stopped, cut off, overloaded) renews nothing:
        // the lease is judged again after each try, never only once the store answers.
        let answer = match tokio::time::timeout(patience, store.cluster_status()).await {
            Ok(result) => Answer::of(result),
            Err(_) => Answer::Unknown,
        };
        if let Answer::Cluster { lease: length, .. } = &answer {
            every = (*length / ASKS_PER_LEASE).max(Duration::from_millis(20));
            // The store takes up to half a lease to confirm (a round of heartbeats).
            patience = (*length / 2).max(every);
        }
        lease.answered(&answer, asked);
        let now = lease.may_link(Instant::now());
        if !matches!(answer, Answer::Unknown) {
            *shared
                .elsewhere
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = elsewhere(&answer, now);
        }
        may_link.send_if_modified(|was| {
            let changed = *was != now;
            if changed {
                if now {
                    tracing::info!("this node leads: the OMM links start");
                } else {
                    tracing::warn!(
                        "this node does not lead (or lost its majority): every OMM link is closed"
                    );
                }
            }
            *was = now;
            changed
        });
        if lease.alone() {
            // Nothing more to ask; the sender stays, for a closed channel would tell the
            // links and the manager that this node stopped leading.
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(every.saturating_sub(asked.elapsed())).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(confirmed: bool) -> Answer {
        Answer::Cluster {
            confirmed,
            lease: Duration::from_millis(1000),
            leader: None,
        }
    }

    #[test]
    fn alone_always_links() {
        let mut lease = Lease::default();
        let t = Instant::now();
        assert!(!lease.may_link(t), "nothing known yet: no link");
        lease.answered(&Answer::Alone, t);
        assert!(lease.may_link(t + Duration::from_secs(3600)));
        assert!(lease.alone());
    }

    #[test]
    fn a_confirmed_leader_links_until_its_lease_ends_counted_from_the_question() {
        let mut lease = Lease::default();
        let asked = Instant::now();
        lease.answered(&cluster(true), asked);
        assert!(lease.may_link(asked + Duration::from_millis(999)));
        assert!(!lease.may_link(asked + Duration::from_millis(1000)));
        // Renewed by the next confirmation.
        lease.answered(&cluster(true), asked + Duration::from_millis(500));
        assert!(lease.may_link(asked + Duration::from_millis(1400)));
    }

    #[test]
    fn a_store_that_does_not_answer_renews_nothing() {
        let mut lease = Lease::default();
        let asked = Instant::now();
        lease.answered(&cluster(true), asked);
        lease.answered(&Answer::Unknown, asked + Duration::from_millis(900));
        assert!(!lease.may_link(asked + Duration::from_millis(1001)));
    }

    #[test]
    fn an_unconfirmed_answer_ends_the_lease_at_once() {
        let mut lease = Lease::default();
        let asked = Instant::now();
        lease.answered(&cluster(true), asked);
        lease.answered(&cluster(false), asked + Duration::from_millis(100));
        assert!(!lease.may_link(asked + Duration::from_millis(101)));
    }

    #[test]
    fn answers_are_read_from_the_status_or_its_refusal() {
        let status = ClusterStatus {
            role: "leader".into(),
            confirmed: true,
            lease_ms: 1000,
            ..ClusterStatus::default()
        };
        assert_eq!(Answer::of(Ok(status.clone())), cluster(true));
        let follower = ClusterStatus {
            role: "follower".into(),
            ..status
        };
        assert_eq!(Answer::of(Ok(follower)), cluster(false));
        assert_eq!(
            Answer::of(Err(Failure::Refused(StoreError::Invalid("alone".into())))),
            Answer::Alone
        );
        assert_eq!(
            Answer::of(Err(Failure::Unreachable("down".into()))),
            Answer::Unknown
        );
    }

    #[test]
    fn a_follower_names_the_leader_and_its_host_and_a_leader_names_nobody() {
        use ipc::api::store::ClusterMember;
        let member = |id: u64, address: &str| ClusterMember {
            id,
            address: address.into(),
            voter: true,
            ..ClusterMember::default()
        };
        let follower = ClusterStatus {
            node: 1,
            role: "follower".into(),
            leader: Some(2),
            lease_ms: 600,
            members: vec![member(1, "10.0.0.1:7946"), member(2, "[fd00::2]:7946")],
            ..ClusterStatus::default()
        };
        let answer = Answer::of(Ok(follower.clone()));
        assert_eq!(
            elsewhere(&answer, false).as_deref(),
            Some("this MOM node does not lead the cluster and holds no OMM links: ask the leader, node 2 (fd00::2)")
        );
        // No leader known: said so; the leader itself, or a MOM alone: nothing to say.
        let lost = Answer::of(Ok(ClusterStatus {
            leader: None,
            ..follower.clone()
        }));
        assert!(elsewhere(&lost, false)
            .unwrap()
            .contains("no leader it can reach"));
        let leads = Answer::of(Ok(ClusterStatus {
            node: 2,
            role: "leader".into(),
            confirmed: true,
            ..follower
        }));
        assert_eq!(elsewhere(&leads, true), None);
        assert_eq!(elsewhere(&Answer::Alone, true), None);
    }
}
