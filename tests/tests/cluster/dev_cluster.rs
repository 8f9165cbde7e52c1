//! `scripts/dev-cluster`, as a newcomer runs it (with the built binaries, `--no-build`):
//! three nodes made by init, add-node and join, the demo fleet linked, and after `kill -9` of
//! the leader's supervisor (the pid the script printed) another node leads and takes writes.

use mom_tests::sim::wait;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The CLI against node `i` of the development cluster in `dir`.
fn cli(dir: &Path, i: u32, args: &[&str]) -> Output {
    Command::new(mom_tests::bin("sip-dect-mom"))
        .arg("--dev")
        .arg("--dev-dir")
        .arg(dir.join(format!("node{i}")))
        .arg("--config")
        .arg(dir.join(format!("node{i}.toml")))
        .args(args)
        .output()
        .expect("run the CLI")
}

/// The leader node `i` knows of.
fn leader_seen_by(dir: &Path, i: u32) -> Option<u32> {
    let out = cli(dir, i, &["cluster", "status", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    status["leader"]
        .as_u64()
        .and_then(|l| u32::try_from(l).ok())
}

/// The script, leading its own process group, which is ended (SIGTERM, then SIGKILL) when
/// dropped.
struct Script(std::process::Child);

impl Drop for Script {
    fn drop(&mut self) {
        let group = nix::unistd::Pid::from_raw(-i32::try_from(self.0.id()).unwrap_or(0));
        let _ = nix::sys::signal::kill(group, nix::sys::signal::Signal::SIGTERM);
        std::thread::sleep(Duration::from_secs(2));
        let _ = nix::sys::signal::kill(group, nix::sys::signal::Signal::SIGKILL);
        let _ = self.0.wait();
    }
}

#[test]
fn the_development_cluster_starts_with_one_command_and_survives_its_leaders_kill() {
    // The script's fixed ports (845N, 794N, ...) must be free: another run of it (a
    // developer's) would make this test meaningless.
    if std::net::TcpListener::bind("127.0.0.1:7941").is_err() {
        eprintln!("skipped: port 7941 is taken (a development cluster runs here)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut script = Script(
        Command::new(repo.join("scripts/dev-cluster"))
            .arg("--no-build")
            .env("DEV_CLUSTER_DIR", dir.path())
            .env("MOM_BIN", mom_tests::bin("sip-dect-mom"))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .process_group(0)
            .spawn()
            .expect("scripts/dev-cluster starts"),
    );
    let mut pids = std::collections::BTreeMap::new();
    let lines = BufReader::new(script.0.stdout.take().unwrap()).lines();
    for line in lines {
        let line = line.unwrap();
        eprintln!("dev-cluster: {line}");
        // "node 2: supervisor pid 1234, UI https://127.0.0.1:8452/, log ..."
        if let Some(rest) = line.strip_prefix("node ") {
            if let Some((node, rest)) = rest.split_once(": supervisor pid ") {
                let pid: i32 = rest.split(',').next().unwrap().parse().unwrap();
                pids.insert(node.parse::<u32>().unwrap(), pid);
            }
        }
        if line.starts_with("Ctrl-C stops everything") {
            break;
        }
    }
    assert_eq!(pids.len(), 3, "three nodes started: {pids:?}");
    let dir = dir.path();

    // Three voters; the fleet's three OMMs linked and the license valid on every node.
    wait("three voters", Duration::from_secs(60), || {
        let out = cli(dir, 1, &["cluster", "status", "--json"]);
        serde_json::from_slice::<serde_json::Value>(&out.stdout).is_ok_and(|s| {
            s["members"]
                .as_array()
                .is_some_and(|m| m.iter().filter(|m| m["voter"] == true).count() == 3)
        })
    });
    wait("the demo fleet linked", Duration::from_secs(60), || {
        let out = cli(dir, 2, &["omm", "list", "--json"]);
        serde_json::from_slice::<serde_json::Value>(&out.stdout).is_ok_and(|o| {
            o.as_array().is_some_and(|list| {
                list.len() == 3 && list.iter().all(|o| o["health"]["link"] == "Up")
            })
        })
    });
    // Every health state well on every node: the license (issued by node 1's development
    // issuer, which the others trust too), the OMM connections, the database, the cluster.
    for i in 1..=3 {
        wait(&format!("node {i} well"), Duration::from_secs(20), || {
            cli(dir, i, &["health"]).status.success()
        });
    }

    // kill -9 of the leader's supervisor: another node leads within seconds and takes a
    // write through the third.
    let old = leader_seen_by(dir, 1).expect("a leader");
    let killed = Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pids[&old]),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let other = (1..=3).find(|i| *i != old).unwrap();
    let mut new = None;
    wait("a new leader", Duration::from_secs(15), || {
        new = leader_seen_by(dir, other).filter(|l| *l != old);
        new.is_some()
    });
    eprintln!(
        "dev-cluster: a new leader {:?} after kill -9",
        killed.elapsed()
    );
    let third = (1..=3).find(|i| *i != old && Some(*i) != new).unwrap();
    let added = cli(
        dir,
        third,
        &[
            "user",
            "add",
            "--num",
            "4711",
            "--name",
            "After the failover",
        ],
    );
    assert!(added.status.success(), "{added:?}");
    let found = cli(dir, new.unwrap(), &["user", "list", "--number", "4711"]);
    assert!(
        String::from_utf8_lossy(&found.stdout).contains("After the failover"),
        "{found:?}"
    );
}
