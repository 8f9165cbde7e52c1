//! One running node of a cluster: Raft with its log, state machine and network, the peer
//! port, and the way a write reaches the log: on the leader it is proposed and answered once
//! a majority holds it durably and this node applied it; on a follower it is forwarded to the
//! leader, whose answer comes back the same way.

use super::election::Patience;
use super::log_store::LogStore;
use super::network::{Network, PeerClient};
use super::wire::{PeerRequest, PeerResponse};
use super::{Command, NodeId, Peer, Raft};
use crate::engine::Store;
use cluster_tls::PeerTls;
use ipc::api::store::{ClusterMember, ClusterStatus, StoreError, StoreRequest, StoreResponse};
use openraft::error::{ClientWriteError, RaftError};
use openraft::{ChangeMembers, ServerState};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a forwarded write may take before the follower says the leader did not answer.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a write may wait to be committed: a leader cut off from the majority cannot
/// commit, and its caller is told so instead of waiting for the heal.
const COMMIT_TIMEOUT: Duration = Duration::from_secs(8);

/// How long a follower waits to apply a forwarded write the leader committed before it
/// answers.
const APPLY_WAIT: Duration = Duration::from_secs(5);

/// Writes a follower forwards at once (each on a connection of its own, so one slow write
/// does not hold up the others); more wait for a free one. Well below the peer port's
/// connection limit, which two followers' forwards and Raft's connections share.
const MAX_FORWARDS: usize = 16;

/// A node's configuration (`[cluster]` in `mom.toml`, passed on by the supervisor; its
/// defaults are the configuration's).
#[derive(Debug, Clone)]
pub struct ClusterSettings {
    /// This node's id.
    pub node_id: NodeId,
    /// The folder of the cluster's certificates (see [`super::tls`]).
    pub tls_dir: PathBuf,
    /// Interval of the leader's heartbeats.
    pub heartbeat: Duration,
    /// Election timeout: a follower that hears no leader for a random time in this range
    /// starts an election.
    pub election: (Duration, Duration),
    /// The members to start a new cluster with, when this node's log is empty (every node
    /// of a new cluster is given the same list).
    pub initial_members: BTreeMap<NodeId, Peer>,
}

impl ClusterSettings {
    /// Node `node_id` with its certificates in `tls_dir`, a heartbeat every `heartbeat` and
    /// elections after `election` to 1.5 times that of silence; no initial members.
    #[must_use]
    pub fn new(node_id: NodeId, tls_dir: PathBuf, heartbeat: Duration, election: Duration) -> Self {
        Self {
            node_id,
            tls_dir,
            heartbeat,
            // openraft's followers also wait out the old leader's lease (the longest
            // timeout) before an election: a narrow range keeps the failover short.
            election: (election, election * 3 / 2),
            initial_members: BTreeMap::new(),
        }
    }
}

/// What became of a forwarded write (short-lived, returned once per write: the size of the
/// answer is not worth a box).
#[allow(clippy::large_enum_variant)]
enum Forwarded {
    /// The leader's answer, or an error after which the write may have been made.
    Answered(Result<StoreResponse, StoreError>),
    /// Certainly not made (no connection, or the node leads no more): it may be tried again
    /// with the next leader.
    NotSent(StoreError),
}

/// A running node.
pub struct ClusterNode {
    id: NodeId,
    /// How long a confirmation of this node's leadership holds.
    lease: Duration,
    raft: Raft,
    tls: PeerTls,
    /// When each node last answered this one.
    contacts: super::network::Contacts,
    /// Idle connections to leaders for forwarded writes, by leader.
    forwards: std::sync::Mutex<HashMap<NodeId, Vec<PeerClient>>>,
    /// Forwarded writes in flight, at most [`MAX_FORWARDS`].
    forwarding: tokio::sync::Semaphore,
    /// When this node, hearing no leader, stands by itself.
    patience: std::sync::Mutex<Patience>,
}

impl ClusterNode {
    /// Starts Raft on `store` and serves `peers`; returns once Raft runs (not once a leader
    /// is elected).
    ///
    /// # Errors
    /// Why the log, the certificates or Raft could not be started.
    pub async fn start(
        store: Arc<Store>,
        settings: ClusterSettings,
        peers: tokio::net::TcpListener,
    ) -> Result<Arc<Self>, String> {
        let tls = PeerTls::load(&settings.tls_dir)?;
        let log = LogStore::open(&store.db_dir().join("raft"))?;
        let machine = super::state_machine::StateMachine::new(Arc::clone(&store));
        let config = openraft::Config {
            cluster_name: "sip-dect-mom".into(),
            heartbeat_interval: millis(settings.heartbeat),
            election_timeout_min: millis(settings.election.0),
            election_timeout_max: millis(settings.election.1),
            // Entries are store writes of up to a few kB; a batch stays far below a frame.
            max_payload_entries: 64,
            snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(10_000),
            ..openraft::Config::default()
        };
        let config = Arc::new(config.validate().map_err(|e| e.to_string())?);
        let contacts = super::network::Contacts::default();
        let network = Network::new(
            settings.node_id,
            tls.clone(),
            std::sync::Arc::clone(&contacts),
        );
        let raft = Raft::new(settings.node_id, config, network, log, machine)
            .await
            .map_err(|e| format!("cannot start Raft: {e}"))?;
        let node = Arc::new(Self {
            id: settings.node_id,
            // Half the shortest election timeout: a leader cut off from the majority stops
            // acting as one well before another node can be elected.
            lease: settings.election.0 / 2,
            raft,
            tls,
            contacts,
            forwards: std::sync::Mutex::new(HashMap::new()),
            forwarding: tokio::sync::Semaphore::new(MAX_FORWARDS),
            patience: std::sync::Mutex::new(Patience::new(
                Instant::now(),
                settings.heartbeat,
                settings.election.1,
            )),
        });
        tokio::spawn(super::peer_server::serve(peers, Arc::clone(&node)));
        tokio::spawn(promote_learners(Arc::downgrade(&node)));
        tokio::spawn(log_leadership(node.raft.metrics(), node.id));
        tokio::spawn(stand_when_leaderless(
            Arc::downgrade(&node),
            settings.heartbeat / 4,
        ));
        if !settings.initial_members.is_empty()
            && !node
                .raft
                .is_initialized()
                .await
                .map_err(|e| e.to_string())?
        {
            match node.raft.initialize(settings.initial_members.clone()).await {
                Ok(()) => tracing::info!(
                    members = settings.initial_members.len(),
                    "new cluster initialised"
                ),
                // Another member initialised it first: that is the same cluster.
                Err(RaftError::APIError(e)) => {
                    tracing::info!(reason = %e, "cluster already initialised")
                }
                Err(e) => return Err(format!("cannot initialise the cluster: {e}")),
            }
        }
        Ok(node)
    }

    /// A leader was heard (its entries or snapshot taken), or a candidate given this
    /// node's vote: the wait before this node stands by itself starts again.
    pub(crate) fn heard_leader(&self) {
        self.patience().heard_leader(Instant::now());
    }

    fn patience(&self) -> std::sync::MutexGuard<'_, Patience> {
        self.patience
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// This node's id.
    #[must_use]
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// Raft.
    #[must_use]
    pub fn raft(&self) -> &Raft {
        &self.raft
    }

    /// Whether this node leads now (as Raft last reported).
    #[must_use]
    pub fn leads(&self) -> bool {
        self.raft.metrics().borrow().state == ServerState::Leader
    }

    /// The peer TLS configurations.
    #[must_use]
    pub fn tls(&self) -> &PeerTls {
        &self.tls
    }

    /// Makes `request`: proposed here when this node leads, else forwarded to the leader.
    /// Answered once a majority holds it durably and the answering node applied it.
    ///
    /// # Errors
    /// The request's refusal, or [`StoreError::Storage`] saying why the cluster could not
    /// commit it (no leader, no quorum).
    pub async fn write(&self, request: StoreRequest) -> Result<StoreResponse, StoreError> {
        // During an election (no leader, or one that is gone) the write waits for the next
        // leader instead of failing at once, as long as it was certainly not made.
        let deadline = tokio::time::Instant::now() + COMMIT_TIMEOUT;
        loop {
            let (gone, why) = match self.propose(request.clone()).await {
                PeerResponse::Write { answer, .. } => return answer,
                PeerResponse::NotLeader(Some(leader)) => {
                    match self.forward(leader, request.clone()).await {
                        Forwarded::Answered(answer) => return answer,
                        Forwarded::NotSent(why) => (Some(leader), why),
                    }
                }
                PeerResponse::NotLeader(None) => (None, no_leader()),
                other => {
                    return Err(StoreError::Storage(format!(
                        "the cluster answered {other:?}"
                    )))
                }
            };
            let mut metrics = self.raft.metrics();
            let next = tokio::time::timeout_at(
                deadline,
                metrics.wait_for(|m| m.current_leader.is_some() && m.current_leader != gone),
            )
            .await;
            if !matches!(next, Ok(Ok(_))) {
                return Err(why);
            }
        }
    }

    /// Proposes `request` if this node leads; the answer to a peer's forwarded write too.
    /// Waits at most [`COMMIT_TIMEOUT`] for the commit.
    pub(crate) async fn propose(&self, request: StoreRequest) -> PeerResponse {
        let command = Command {
            request,
            time: model::now(),
            seed: crate::entropy::seed(),
        };
        let Ok(written) =
            tokio::time::timeout(COMMIT_TIMEOUT, self.raft.client_write(command)).await
        else {
            return PeerResponse::Write {
                index: None,
                answer: Err(StoreError::Storage(format!(
                    "the cluster did not commit the write within {} s (no majority reachable?); it may still be made when one is",
                    COMMIT_TIMEOUT.as_secs()
                ))),
            };
        };
        match written {
            Ok(written) => PeerResponse::Write {
                index: Some(written.log_id.index),
                answer: written.data,
            },
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(to))) => {
                PeerResponse::NotLeader(to.leader_id)
            }
            Err(e) => PeerResponse::Write {
                index: None,
                answer: Err(StoreError::Storage(format!(
                    "the cluster could not commit the write: {e}"
                ))),
            },
        }
    }

    async fn forward(&self, leader: NodeId, request: StoreRequest) -> Forwarded {
        // The address only: not a copy of every metric per forwarded write.
        let metrics = self.raft.metrics();
        let address = metrics
            .borrow()
            .membership_config
            .membership()
            .get_node(&leader)
            .map(|p| p.address.clone());
        let Some(address) = address else {
            return Forwarded::NotSent(no_leader());
        };
        let Ok(_permit) = self.forwarding.acquire().await else {
            return Forwarded::NotSent(no_leader());
        };
        let idle = self.idle_forwards().get_mut(&leader).and_then(Vec::pop);
        let mut client =
            idle.unwrap_or_else(|| PeerClient::new(self.id, leader, address, self.tls.clone()));
        let answer = client
            .call(PeerRequest::Write(request), FORWARD_TIMEOUT)
            .await;
        let sent = client.sent();
        if answer.is_ok() {
            // Back for the next write; a failed connection is dropped (the next connects).
            let mut idle = self.idle_forwards();
            idle.retain(|id, _| *id == leader);
            idle.entry(leader).or_default().push(client);
        }
        Forwarded::Answered(match answer {
            Ok(PeerResponse::Write { index, answer }) => {
                // Read-your-writes here too: the caller's next read on this node sees the
                // write. Applying follows the commit within a heartbeat; past the limit the
                // answer goes anyway (the write is made; this copy is behind).
                if index.is_some() {
                    let _ = self
                        .raft
                        .wait(Some(APPLY_WAIT))
                        .applied_index_at_least(index, "a forwarded write applied here")
                        .await;
                }
                answer
            }
            // It leads no more: it made nothing.
            Ok(PeerResponse::NotLeader(_)) => return Forwarded::NotSent(no_leader()),
            Ok(other) => Err(StoreError::Storage(format!(
                "node {leader} answered {other:?}"
            ))),
            // Not even connected (the leader is gone): certainly not made.
            Err(e) if !sent => {
                return Forwarded::NotSent(StoreError::Storage(format!(
                    "the leader (node {leader}) cannot be reached: {e}"
                )))
            }
            // The write may or may not have been made: the caller is told so by the store
            // client as for any unanswered write.
            Err(e) => Err(StoreError::Storage(format!(
                "the leader (node {leader}) did not answer the forwarded write: {e}"
            ))),
        })
    }

    /// The idle forwarding connections (only the current leader's are kept).
    fn idle_forwards(&self) -> std::sync::MutexGuard<'_, HashMap<NodeId, Vec<PeerClient>>> {
        // A map of idle connections has no half-made state: a poisoned lock is taken as is.
        self.forwards
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds or removes a member ([`StoreRequest::ClusterAddNode`],
    /// [`StoreRequest::ClusterRemoveNode`]): a new node first catches up as a learner, then
    /// votes; each change goes through Raft (joint consensus).
    ///
    /// # Errors
    /// [`StoreError::Invalid`] naming the leader when this node does not lead, or why Raft
    /// refused the change.
    pub async fn change_members(&self, request: StoreRequest) -> Result<StoreResponse, StoreError> {
        let refused = |e: &dyn std::fmt::Display| {
            let leader = self.raft.metrics().borrow().current_leader;
            match leader {
                Some(leader) if leader != self.id => StoreError::Invalid(format!(
                    "node {} does not lead the cluster; ask the leader, node {leader} ({e})",
                    self.id
                )),
                _ => StoreError::Invalid(format!("the membership change failed: {e}")),
            }
        };
        let (voters, members): (BTreeSet<NodeId>, BTreeSet<NodeId>) = {
            let metrics = self.raft.metrics().borrow().clone();
            let membership = metrics.membership_config.membership();
            (
                membership.voter_ids().collect(),
                membership.nodes().map(|(id, _)| *id).collect(),
            )
        };
        match request {
            StoreRequest::ClusterAddNode { id, address } => {
                if members.contains(&id) {
                    return Err(StoreError::Invalid(format!(
                        "node {id} is a member already"
                    )));
                }
                // A new node starts from a snapshot of this database, not from the log: the
                // log does not hold what the database held before the cluster was made.
                self.snapshot_and_purge().await?;
                // Not blocking: the node is started only after its join token reaches it.
                // The leader makes it a voter once it has caught up (`promote_learners`).
                self.raft
                    .add_learner(id, Peer { address }, false)
                    .await
                    .map_err(|e| refused(&e))?;
                tracing::info!(node = id, "node added to the cluster as a learner");
            }
            // A learner (added, never caught up: a wrong address, a node never started) goes
            // from the node list alone; a voter leaves the voters and the list together.
            StoreRequest::ClusterRemoveNode(id)
                if members.contains(&id) && !voters.contains(&id) =>
            {
                self.raft
                    .change_membership(ChangeMembers::RemoveNodes(BTreeSet::from([id])), false)
                    .await
                    .map_err(|e| refused(&e))?;
                tracing::info!(node = id, "learner removed from the cluster");
            }
            StoreRequest::ClusterRemoveNode(id) => {
                if !voters.contains(&id) {
                    return Err(StoreError::Invalid(format!("node {id} is no member")));
                }
                let mut without = voters;
                without.remove(&id);
                if without.is_empty() {
                    return Err(StoreError::Invalid(
                        "the last member cannot be removed".into(),
                    ));
                }
                self.raft
                    .change_membership(without, false)
                    .await
                    .map_err(|e| refused(&e))?;
                tracing::info!(node = id, "node removed from the cluster");
            }
            other => {
                return Err(StoreError::Invalid(format!(
                    "{other:?} is no membership change"
                )))
            }
        }
        Ok(StoreResponse::Done)
    }

    /// Takes a snapshot of what this node applied and drops the log up to it, so a node that
    /// joins is sent the snapshot.
    async fn snapshot_and_purge(&self) -> Result<(), StoreError> {
        let failed = |e: &dyn std::fmt::Display| {
            StoreError::Storage(format!(
                "cannot snapshot the database for the new node: {e}"
            ))
        };
        let applied = self.raft.metrics().borrow().last_applied.map(|l| l.index);
        let Some(applied) = applied else {
            return Ok(());
        };
        self.raft
            .trigger()
            .snapshot()
            .await
            .map_err(|e| failed(&e))?;
        self.raft
            .wait(Some(Duration::from_secs(30)))
            .metrics(
                |m| m.snapshot.is_some_and(|s| s.index >= applied),
                "a snapshot of the applied log",
            )
            .await
            .map_err(|e| failed(&e))?;
        self.raft
            .trigger()
            .purge_log(applied)
            .await
            .map_err(|e| failed(&e))
    }

    /// The node's view of the cluster; on the leader, with its leadership confirmed by a
    /// majority (or not) within half a lease.
    pub async fn status(&self) -> ClusterStatus {
        let leads = self.raft.metrics().borrow().state == ServerState::Leader;
        let confirmed = leads
            && tokio::time::timeout(self.lease / 2, self.raft.ensure_linearizable())
                .await
                .is_ok_and(|r| r.is_ok());
        let m = self.raft.metrics().borrow().clone();
        let role = match m.state {
            ServerState::Leader => "leader",
            ServerState::Follower => "follower",
            ServerState::Candidate => "candidate",
            ServerState::Learner => "learner",
            ServerState::Shutdown => "shutdown",
        };
        let matched: BTreeMap<NodeId, Option<u64>> = m
            .replication
            .as_ref()
            .map(|r| {
                r.iter()
                    .map(|(id, log)| (*id, log.map(|l| l.index)))
                    .collect()
            })
            .unwrap_or_default();
        let membership = m.membership_config.membership();
        let voters: Vec<NodeId> = membership.voter_ids().collect();
        let contacts = self
            .contacts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let members = membership
            .nodes()
            .map(|(id, peer)| ClusterMember {
                id: *id,
                address: peer.address.clone(),
                voter: voters.contains(id),
                matched: matched.get(id).copied().flatten(),
                last_contact_ms: contacts.get(id).map(|t| millis(t.elapsed())),
            })
            .collect();
        ClusterStatus {
            node: self.id,
            role: role.to_owned(),
            term: m.current_term,
            leader: leader_seen(&m, self.id),
            last_log: m.last_log_index,
            applied: m.last_applied.map(|l| l.index),
            millis_since_quorum_ack: m.millis_since_quorum_ack,
            confirmed,
            lease_ms: millis(self.lease),
            members,
        }
    }
}

/// The leader node `me` knows of. A node that restarts remembers having led its last term;
/// it leads only once Raft made it leader again, and is no leader to report before.
fn leader_seen(m: &openraft::RaftMetrics<NodeId, Peer>, me: NodeId) -> Option<NodeId> {
    m.current_leader
        .filter(|l| *l != me || m.state == ServerState::Leader)
}

/// One journal line each time the leadership this node sees changes: who leads, in which
/// term, or that no node does.
async fn log_leadership(
    mut metrics: tokio::sync::watch::Receiver<openraft::RaftMetrics<NodeId, Peer>>,
    me: NodeId,
) {
    let mut seen: Option<(Option<NodeId>, u64)> = None;
    loop {
        let (leader, term, running) = {
            let m = metrics.borrow_and_update();
            (leader_seen(&m, me), m.current_term, m.running_state.clone())
        };
        if let Err(fatal) = running {
            tracing::error!(error = %fatal, "cluster: Raft stopped on this node; writes fail until the store restarts");
            return;
        }
        // A leaderless node goes through a term per election: said once, not per term.
        let same = match (seen, leader) {
            (Some((None, _)), None) => true,
            (Some(before), _) => before == (leader, term),
            (None, _) => false,
        };
        if !same {
            seen = Some((leader, term));
            match leader {
                Some(l) if l == me => tracing::info!(term, "cluster: this node leads"),
                Some(l) => tracing::info!(term, leader = l, "cluster: node {l} leads"),
                None => tracing::warn!(term, "cluster: no leader (an election, or no quorum)"),
            }
        }
        if metrics.changed().await.is_err() {
            return;
        }
    }
}

/// A follower that has heard no leader for longer than every node's own election timer
/// stands by itself (see [`super::election`]), checked four times a heartbeat.
async fn stand_when_leaderless(node: std::sync::Weak<ClusterNode>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        let Some(node) = node.upgrade() else {
            return;
        };
        let (state, voter) = {
            let m = node.raft.metrics();
            let m = m.borrow();
            let voter = m
                .membership_config
                .membership()
                .voter_ids()
                .any(|v| v == node.id);
            (m.state, voter)
        };
        let now = Instant::now();
        let due = {
            let mut patience = node.patience();
            match state {
                ServerState::Leader => {
                    patience.heard_leader(now);
                    false
                }
                ServerState::Candidate => {
                    patience.standing(now);
                    false
                }
                ServerState::Follower if voter && patience.due(now) => {
                    patience.standing(now);
                    true
                }
                _ => false,
            }
        };
        if due {
            tracing::info!("cluster: no leader heard for longer than any election timeout; this node stands for election");
            let _ = node.raft.trigger().elect().await;
        }
    }
}

/// Entries a learner may still lack and be made a voter.
const CAUGHT_UP: u64 = 16;

/// On the leader, every second: a learner that has caught up with the log is made a voter
/// (a membership change through Raft), so a node added with `cluster add-node` votes as soon
/// as it holds the database.
async fn promote_learners(node: std::sync::Weak<ClusterNode>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let Some(node) = node.upgrade() else {
            return;
        };
        let m = node.raft.metrics().borrow().clone();
        if m.state != ServerState::Leader {
            continue;
        }
        let membership = m.membership_config.membership();
        let voters: std::collections::BTreeSet<NodeId> = membership.voter_ids().collect();
        let last = m.last_log_index.unwrap_or(0);
        let ready: Vec<NodeId> = membership
            .learner_ids()
            .filter(|id| {
                m.replication
                    .as_ref()
                    .and_then(|r| r.get(id).copied().flatten())
                    .is_some_and(|matched| matched.index + CAUGHT_UP >= last)
            })
            .collect();
        if ready.is_empty() {
            continue;
        }
        let mut with = voters;
        with.extend(ready.iter().copied());
        match node.raft.change_membership(with, true).await {
            Ok(_) => tracing::info!(nodes = ?ready, "caught-up nodes now vote"),
            Err(e) => {
                tracing::warn!(nodes = ?ready, error = %e, "caught-up nodes could not be made voters")
            }
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn no_leader() -> StoreError {
    StoreError::Storage(
        "the cluster has no leader now (no quorum, or an election is under way); try again in a few seconds".into(),
    )
}
