//! Start-up time and memory of the simulator at scale: `cargo bench -p omm-sim --bench fleet`
//! (release binary built first). Runs `omm-sim` with 500 OMMs × 100 users and 100 handsets,
//! opens and logs in one TLS link per OMM from this process, and reads the simulator's
//! resident memory.

use omm_sim::client::AxiClient;
use std::io::BufRead;
use std::time::{Duration, Instant};

const OMMS: usize = 500;

fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let exe = std::env::current_exe().expect("exe");
    let bin = exe
        .parent()
        .and_then(std::path::Path::parent)
        .expect("target dir")
        .join("omm-sim");
    assert!(
        bin.exists(),
        "build the release binary first: cargo build --release -p omm-sim"
    );
    let started = Instant::now();
    let mut child = std::process::Command::new(&bin)
        .args([
            "--omms",
            &OMMS.to_string(),
            "--users",
            "100",
            "--devices",
            "100",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start omm-sim");
    let stdout = child.stdout.take().expect("stdout");
    let mut ports = Vec::new();
    let mut reported_ms = 0;
    for line in std::io::BufReader::new(stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(&line.expect("line")).expect("json");
        if let Some(port) = v.get("port").and_then(serde_json::Value::as_u64) {
            ports.push(u16::try_from(port).expect("port"));
        }
        if let Some(ms) = v.get("startup_ms").and_then(serde_json::Value::as_u64) {
            reported_ms = ms;
            break;
        }
    }
    let listening = started.elapsed();
    let rss_idle = rss_kb(child.id());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let clients = rt.block_on(async {
        let mut tasks = Vec::new();
        for port in &ports {
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], *port));
            tasks.push(tokio::spawn(async move {
                let mut c = AxiClient::connect_tls(addr).await.expect("connect");
                let r = c.open("omm", "omm-password", true).await.expect("open");
                assert!(r.error.is_none());
                c
            }));
        }
        let mut clients = Vec::new();
        for t in tasks {
            clients.push(t.await.expect("task"));
        }
        clients
    });
    let all_linked = started.elapsed();
    std::thread::sleep(Duration::from_millis(200));
    let rss_linked = rss_kb(child.id());
    println!("omm-sim with {OMMS} OMMs × 100 users and 100 handsets (TLS, 512-bit RSA keys):");
    println!(
        "  start to all listeners ready: {} ms (simulator's own count: {reported_ms} ms)",
        listening.as_millis()
    );
    println!(
        "  start to {} TLS links logged in: {} ms",
        clients.len(),
        all_linked.as_millis()
    );
    println!(
        "  resident memory: {} MB before links, {} MB with {} TLS links open",
        rss_idle / 1024,
        rss_linked / 1024,
        clients.len()
    );
    drop(clients);
    let _ = child.kill();
    let _ = child.wait();
}
