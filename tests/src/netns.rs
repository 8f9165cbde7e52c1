//! A small network of namespaces for tests that cut cluster nodes apart (root only).
//!
//! Each node gets a namespace with two links: one into the peers' bridge (the cluster's
//! traffic, nothing else) and one into the OMMs' bridge, which also holds an address in
//! this test's namespace where the simulated OMMs listen. Cutting a node takes its peer link
//! down: it still reaches the OMMs, as a leader behind a broken switch port between server
//! rooms would, but hears no other node.

use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;

/// The namespaces, links and bridges of one test; removed when dropped.
pub struct Lab {
    tag: String,
    nodes: usize,
}

/// The OMMs' side: this test's own address on the OMMs' bridge.
pub const OMM_SIDE: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 201, 2, 254));

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn ip_quietly(args: &[&str]) {
    let _ = Command::new("ip").args(args).output();
}

impl Lab {
    /// Makes the network for `nodes` nodes.
    ///
    /// # Panics
    /// When `ip` fails (not root, or no namespace support).
    #[must_use]
    pub fn new(nodes: usize) -> Self {
        // Interface names have at most 15 characters: the tag keeps them short and apart
        // from another run's.
        let lab = Self {
            tag: format!("{}", std::process::id() % 100_000),
            nodes,
        };
        lab.remove();
        let (peers, omms) = (lab.bridge('p'), lab.bridge('o'));
        for bridge in [&peers, &omms] {
            ip(&["link", "add", bridge, "type", "bridge"]);
            ip(&["link", "set", bridge, "up"]);
        }
        ip(&["addr", "add", &format!("{OMM_SIDE}/24"), "dev", &omms]);
        for node in 0..nodes {
            let ns = lab.namespace(node);
            ip(&["netns", "add", &ns]);
            ip(&["-n", &ns, "link", "set", "lo", "up"]);
            for (side, bridge, address) in [
                ('p', &peers, lab.peer_address(node)),
                ('o', &omms, lab.omm_address(node)),
            ] {
                let (outer, inner) = (lab.link(side, node, 'a'), lab.link(side, node, 'b'));
                ip(&[
                    "link", "add", &outer, "type", "veth", "peer", "name", &inner,
                ]);
                ip(&["link", "set", &inner, "netns", &ns]);
                ip(&["link", "set", &outer, "master", bridge, "up"]);
                ip(&[
                    "-n",
                    &ns,
                    "addr",
                    "add",
                    &format!("{address}/24"),
                    "dev",
                    &inner,
                ]);
                ip(&["-n", &ns, "link", "set", &inner, "up"]);
            }
        }
        lab
    }

    fn bridge(&self, side: char) -> String {
        format!("mb{}{side}", self.tag)
    }

    fn link(&self, side: char, node: usize, end: char) -> String {
        format!("mv{}{side}{node}{end}", self.tag)
    }

    /// The namespace of node `node` (0-based).
    #[must_use]
    pub fn namespace(&self, node: usize) -> String {
        format!("mom{}n{node}", self.tag)
    }

    /// Node `node`'s address on the peers' bridge.
    #[must_use]
    pub fn peer_address(&self, node: usize) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 201, 1, 1 + byte(node)))
    }

    /// Node `node`'s address on the OMMs' bridge.
    #[must_use]
    pub fn omm_address(&self, node: usize) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 201, 2, 1 + byte(node)))
    }

    /// Cuts node `node` off from the other nodes (its peer link down); the OMMs still
    /// reach it.
    pub fn cut(&self, node: usize) {
        ip(&["link", "set", &self.link('p', node, 'a'), "down"]);
    }

    /// Joins node `node` to the other nodes again.
    pub fn heal(&self, node: usize) {
        ip(&["link", "set", &self.link('p', node, 'a'), "up"]);
    }

    fn remove(&self) {
        for node in 0..self.nodes {
            // Deleting a namespace deletes the links inside it, and with them their pairs.
            ip_quietly(&["netns", "del", &self.namespace(node)]);
        }
        for side in ['p', 'o'] {
            ip_quietly(&["link", "del", &self.bridge(side)]);
        }
    }
}

fn byte(node: usize) -> u8 {
    u8::try_from(node).expect("fewer than 250 nodes")
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.remove();
    }
}
