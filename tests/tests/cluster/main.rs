//! Whole MOMs as a cluster on this machine (each its own folders and ports, `[cluster]` in
//! its `mom.toml`, certificates from one CA) and simulated OMMs:
//! - [`failover`]: only the leader's svc-axi holds the OMM's link; a leader whose store
//!   freezes closes its link before another node links (never two at once); after `kill -9`
//!   of the leader's whole process tree a new leader takes the link over, and every
//!   acknowledged write is on both remaining nodes;
//! - [`partition`] (root): a leader cut off from the other nodes ends its link within its
//!   lease, the majority goes on, and after the heal the old leader follows with nothing of
//!   its own;
//! - [`readme_flow`]: the README's init, add-node and join, and a dead node replaced;
//! - [`dev_cluster`]: `scripts/dev-cluster`, the one command of a development cluster;
//! - [`under_load`]: `kill -9` of the leader while the API, the CLI, MAXI and the OMMs'
//!   administrators write; a browser's live events resumed on another node from the
//!   revision it had seen; the statistics the leader samples for the cluster.

mod dev_cluster;
mod failover;
mod partition;
mod readme_flow;
mod under_load;

use mom_tests::cluster::{free_port, leader, status, Shared, Timings};
use mom_tests::Mom;

/// The options of node `index` (0-based) with the tests' short timings.
fn node_options(shared: &Shared, index: usize, peers: &[String]) -> mom_tests::Options {
    mom_tests::cluster::node_options(shared, index, peers, Timings::TESTS)
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

/// How many links each MOM's svc-axi holds to the OMM at `omm_port` (0 for a MOM that is
/// gone).
fn linked(moms: &[Option<Mom>], omm_port: u16) -> Vec<usize> {
    moms.iter()
        .map(|m| {
            m.as_ref()
                .and_then(axi_pid)
                .map_or(0, |pid| connections_to(pid, omm_port))
        })
        .collect()
}

fn axi_pid(mom: &Mom) -> Option<u32> {
    mom.service("axi").pid
}
