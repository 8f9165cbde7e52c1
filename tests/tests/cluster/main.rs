//! Whole MOMs as a cluster on this machine (each its own folders and ports, `[cluster]` in
//! its `mom.toml`, certificates from one CA) and simulated OMMs:
//! - [`failover`]: only the leader's svc-axi holds the OMM's link; a leader whose store
//!   freezes closes its link before another node links (never two at once); after `kill -9`
//!   of the leader's whole process tree a new leader takes the link over, and every
//!   acknowledged write is on both remaining nodes;
//! - [`partition`] (root): a leader cut off from the other nodes ends its link within its
//!   lease, the majority goes on, and after the heal the old leader follows with nothing of
//!   its own;
//! - [`readme_flow`]: the README's init, add-node and join;
//! - [`dev_cluster`]: `scripts/dev-cluster`, the one command of a development cluster.

mod dev_cluster;
mod failover;
mod partition;
mod readme_flow;

use ipc::api::store::{ClusterStatus, StoreRequest, StoreResponse};
use mom_tests::sim::wait;
use mom_tests::{Mom, Options};
use std::path::PathBuf;
use std::time::Duration;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn status(mom: &Mom) -> Option<ClusterStatus> {
    match mom.store(StoreRequest::ClusterStatus) {
        StoreResponse::ClusterStatus(s) => Some(s),
        _ => None,
    }
}

/// The index in `moms` of the leader every one of them (alive) agrees on.
fn leader(moms: &[Option<Mom>]) -> usize {
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

/// The sockets process `pid` holds to TCP port `port` (from its fds and the TCP table of
/// its network namespace).
fn connections_to(pid: u32, port: u16) -> usize {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|dir| {
            dir.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
                .filter_map(|l| {
                    let l = l.to_string_lossy().into_owned();
                    Some(l.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned())
                })
                .collect()
        })
        .unwrap_or_default();
    let table = std::fs::read_to_string(format!("/proc/{pid}/net/tcp")).unwrap_or_default();
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let remote_port = f
                .get(2)
                .and_then(|r| r.split(':').nth(1))
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            // 01 = ESTABLISHED.
            remote_port == Some(port)
                && f.get(3) == Some(&"01")
                && f.get(9).is_some_and(|i| inodes.iter().any(|x| x == i))
        })
        .count()
}

/// The options of node `index` (0-based; its id is one more) of a cluster whose nodes'
/// peer addresses are `peers`, with certificates from `ca` and the tests' short timings.
fn node_options(ca: &cluster_tls::Ca, index: usize, peers: &[String]) -> Options {
    let id = index as u64 + 1;
    let node = ca.issue(id).unwrap();
    let members: Vec<String> = peers
        .iter()
        .enumerate()
        .map(|(i, p)| format!("\"{}={p}\"", i + 1))
        .collect();
    let dir = PathBuf::from("store/cluster");
    Options {
        extra: format!(
            "[web]\nmetrics-loopback = true\n\n[cluster]\nnode-id = {id}\nlisten = {:?}\nmembers = [{}]\nheartbeat-ms = 100\nelection-ms = 600\n",
            peers[index],
            members.join(", ")
        ),
        state_files: vec![
            (dir.join(cluster_tls::CA_CERT), ca.cert.clone()),
            (dir.join(cluster_tls::CA_KEY), ca.key.clone()),
            (dir.join(cluster_tls::NODE_CERT), node.cert),
            (dir.join(cluster_tls::NODE_KEY), node.key),
        ],
        ..Options::default()
    }
}

fn axi_pid(mom: &Mom) -> Option<u32> {
    mom.service("axi").pid
}
