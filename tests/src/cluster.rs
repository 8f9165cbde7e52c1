//! A cluster of whole MOMs on this machine, for tests and benchmarks: each node's options
//! (`[cluster]` and its certificates from one CA), its status, and the leader they agree on.

use crate::sim::wait;
use crate::{Mom, Options};
use ipc::api::store::{ClusterStatus, StoreRequest, StoreResponse};
use std::path::PathBuf;
use std::time::Duration;

/// Raft's timings of a node.
#[derive(Debug, Clone, Copy)]
pub struct Timings {
    /// `heartbeat-ms`.
    pub heartbeat_ms: u64,
    /// `election-ms`.
    pub election_ms: u64,
}

impl Timings {
    /// Short ones, so tests elect within a second or two.
    pub const TESTS: Self = Self {
        heartbeat_ms: 100,
        election_ms: 600,
    };
}

/// A free TCP port on loopback for a node to bind later (free when asked).
///
/// Taken below the kernel's ephemeral range (32768 and up by default), from which every
/// outgoing connection draws its local port: a port the kernel picked for `bind(0)` was
/// now and then taken by one of the hundreds of OMM and peer connections before the node
/// bound it (a bench start failed with "Address already in use"). Each process walks the
/// range from its own offset, so no two calls of one run return the same port.
///
/// # Panics
/// When no port of the range can be bound.
#[must_use]
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    const FIRST: u32 = 20_000;
    const COUNT: u32 = 12_000;
    static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);
    let _ = NEXT.compare_exchange(
        u32::MAX,
        std::process::id().wrapping_mul(7919) % COUNT,
        Ordering::Relaxed,
        Ordering::Relaxed,
    );
    for _ in 0..COUNT {
        let port = FIRST + NEXT.fetch_add(1, Ordering::Relaxed) % COUNT;
        let port = u16::try_from(port).expect("below 65536");
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in {FIRST}..{}", FIRST + COUNT);
}

/// What the nodes of one cluster share: the CA and the installation's secrets keys (the
/// store's and svc-web's), as `cluster add-node` passes them on in its join token.
pub struct Shared {
    /// The cluster's CA.
    pub ca: cluster_tls::Ca,
    store_key: String,
    web_key: String,
}

impl Shared {
    /// A new CA and new keys.
    ///
    /// # Panics
    /// When they cannot be made.
    #[must_use]
    pub fn create() -> Self {
        let key = || secret_seal::Key::generate().unwrap().file_text();
        Self {
            ca: cluster_tls::Ca::create().unwrap(),
            store_key: key(),
            web_key: key(),
        }
    }
}

/// The options of node `index` (0-based; its id is one more) of a cluster whose nodes' peer
/// addresses are `peers`, with certificates from `shared`'s CA and its secrets keys;
/// `timings` `None` keeps the product's defaults.
///
/// # Panics
/// When the CA cannot issue the node's certificate.
#[must_use]
pub fn node_options(
    shared: &Shared,
    index: usize,
    peers: &[String],
    timings: impl Into<Option<Timings>>,
) -> Options {
    let ca = &shared.ca;
    let id = index as u64 + 1;
    let node = ca.issue(id).unwrap();
    let members: Vec<String> = peers
        .iter()
        .enumerate()
        .map(|(i, p)| format!("\"{}={p}\"", i + 1))
        .collect();
    let timings = timings.into().map_or_else(String::new, |t| {
        format!(
            "heartbeat-ms = {}\nelection-ms = {}\n",
            t.heartbeat_ms, t.election_ms
        )
    });
    let dir = PathBuf::from("store/cluster");
    Options {
        extra: format!(
            "[web]\nmetrics-loopback = true\n\n[cluster]\nnode-id = {id}\nlisten = {:?}\nmembers = [{}]\n{timings}",
            peers[index],
            members.join(", ")
        ),
        state_files: vec![
            (dir.join(cluster_tls::CA_CERT), ca.cert.clone()),
            (dir.join(cluster_tls::CA_KEY), ca.key.clone()),
            (dir.join(cluster_tls::NODE_CERT), node.cert),
            (dir.join(cluster_tls::NODE_KEY), node.key),
            (PathBuf::from("store/secrets.key"), shared.store_key.clone()),
            (PathBuf::from("web/secrets.key"), shared.web_key.clone()),
        ],
        ..Options::default()
    }
}

/// The cluster as `mom` sees it, when its store answers.
#[must_use]
pub fn status(mom: &Mom) -> Option<ClusterStatus> {
    match mom.store(StoreRequest::ClusterStatus) {
        StoreResponse::ClusterStatus(s) => Some(s),
        _ => None,
    }
}

/// The index in `moms` of the leader every one of them (alive) agrees on.
///
/// # Panics
/// When they agree on none within 30 s.
#[must_use]
pub fn leader(moms: &[Option<Mom>]) -> usize {
    let mut found = None;
    wait("one leader all nodes know", Duration::from_secs(30), || {
        let seen: Vec<(usize, ClusterStatus)> = moms
            .iter()
            .enumerate()
            .filter_map(|(i, m)| Some((i, status(m.as_ref()?)?)))
            .collect();
        let alive = moms.iter().filter(|m| m.is_some()).count();
        let Some(l) = seen.first().and_then(|(_, s)| s.leader) else {
            return false;
        };
        let agreed = seen.len() == alive && seen.iter().all(|(_, s)| s.leader == Some(l));
        found = seen
            .iter()
            .find(|(_, s)| s.node == l && s.role == "leader")
            .map(|(i, _)| *i);
        agreed && found.is_some()
    });
    found.unwrap()
}
