//! The MOM cluster's figures (issue 25): three whole MOMs (release binaries, the product's
//! default timings) on this machine with `MOM_BENCH_OMMS` simulated OMMs (500, or 500 times
//! `MOM_BENCH_SCALE`) × 100 users and 100 handsets, the simulator in this process:
//! - durable write latency on a single MOM and on the three-node cluster's leader and
//!   follower (the follower forwards), in the same run;
//! - every OMM's records synced in cluster mode;
//! - `MOM_BENCH_ROUNDS` (20) rounds of `kill -9` of the leader's supervisor under a write
//!   load through every node: the time to a new leader and to every OMM link up and
//!   reconciled on it; the killed node starts again and catches up before the next round;
//!   at the end, every acknowledged write is on every node;
//! - the catch-up of a node that was stopped while 50,000 users were written.
//!
//! The soak (50 rounds, fewer OMMs): `MOM_BENCH_ROUNDS=50 MOM_BENCH_OMMS=10`.

use ipc::api::store::{StoreApi, StoreRequest, StoreResponse};
use ipc::store_client::Store;
use ipc::{Client, ClientOptions, Hello};
use model::{LinkState, User};
use mom_tests::bench::percentile;
use mom_tests::cluster::{free_port, leader, node_options, status};
use mom_tests::{Mom, Options};
use omm_sim::{Fleet, FleetOptions};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PER_OMM: u32 = 100;
/// Sequential writes per latency figure.
const WRITES: u32 = 1_000;
/// The users written while a node is stopped.
const BEHIND: u32 = 50_000;
// The bench's own users have nine-digit numbers, apart from the simulated OMMs' (a number
// on an OMM and in the bench would be one user, and the totals would not add up).

fn setting(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn user(num: String) -> User {
    User {
        name: format!("Bench {num}"),
        num,
        ..User::default()
    }
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

/// p50 / p99 / max of `samples` in milliseconds.
fn latency(samples: &mut [Duration]) -> String {
    let p50 = percentile(samples, 0.5);
    let p99 = percentile(samples, 0.99);
    let max = percentile(samples, 1.0);
    format!(
        "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        p50.as_secs_f64() * 1000.0,
        p99.as_secs_f64() * 1000.0,
        max.as_secs_f64() * 1000.0
    )
}

/// `WRITES` sequential user writes through `mom`'s store, numbered from `first`.
fn write_latency(mom: &Mom, first: u32) -> Vec<Duration> {
    (0..WRITES)
        .map(|i| {
            let started = Instant::now();
            let answer = mom.store(StoreRequest::PutUser(user(format!("{}", first + i))));
            assert!(matches!(answer, StoreResponse::Created(_)), "{answer:?}");
            started.elapsed()
        })
        .collect()
}

/// A store client of the store at `socket` that reports failures instead of panicking and
/// connects again after the store restarted (in the runtime of the caller's context).
fn client(socket: std::path::PathBuf) -> Store {
    let options = ClientOptions {
        request_timeout: Duration::from_secs(10),
        ..ClientOptions::default()
    };
    let (client, _events) =
        Client::<StoreApi>::start(socket, Hello::new("bench-writer", 0), options);
    Store::new(client)
}

/// Every OMM of `mom`'s copy is up and was (re)linked at or after `since` (Unix seconds).
fn all_linked_since(mom: &Mom, since: u64) -> bool {
    match mom.store(StoreRequest::ListOmms) {
        StoreResponse::Omms(list) => list
            .iter()
            .all(|o| o.health.link == LinkState::Up && o.health.since >= since),
        _ => false,
    }
}

fn main() {
    let omms = mom_tests::bench::Size::from_env().omms;
    let rounds = setting("MOM_BENCH_ROUNDS", 20);
    let rt = mom_tests::sim::runtime_with(1);
    // The store clients' tasks run on this runtime's worker.
    let _enter = rt.enter();
    let fleet = rt
        .block_on(Fleet::start(FleetOptions {
            omms,
            users: PER_OMM,
            devices: PER_OMM,
            ..FleetOptions::default()
        }))
        .expect("fleet");
    let product = |mut options: Options| {
        options.extra.push_str("\n[axi]\nretry-secs = 2\n");
        options.sample_secs = 60;
        options
    };

    // A single MOM, the baseline of the write latency.
    let mut single = Mom::start(&product(Options::default()));
    let mut alone = write_latency(&single, 810_000_000);
    single.stop(Duration::from_secs(30));

    let ca = mom_tests::cluster::Shared::create();
    let peers: Vec<String> = (0..3)
        .map(|_| format!("127.0.0.1:{}", free_port()))
        .collect();
    let options: Vec<Options> = (0..3)
        .map(|i| product(node_options(&ca, i, &peers, None)))
        .collect();
    let mut moms: Vec<Option<Mom>> = options.iter().map(|o| Some(Mom::start(o))).collect();
    let first = leader(&moms);
    let follower = (first + 1) % 3;
    let mut on_leader = write_latency(moms[first].as_ref().unwrap(), 820_000_000);
    let mut on_follower = write_latency(moms[follower].as_ref().unwrap(), 830_000_000);
    println!("MOM cluster: 3 nodes on this machine (release, default timings), {omms} simulated OMMs × {PER_OMM} users and {PER_OMM} handsets");
    println!("  durable write latency ({WRITES} sequential user writes):");
    println!("    single MOM:                  {}", latency(&mut alone));
    println!(
        "    cluster, on the leader:      {}",
        latency(&mut on_leader)
    );
    println!(
        "    cluster, through a follower: {}",
        latency(&mut on_follower)
    );

    // The fleet, added on the leader, synced in cluster mode.
    let started = Instant::now();
    let leads = moms[first].as_ref().unwrap();
    for i in 1..=omms {
        let _ = mom_tests::sim::add_omm(leads, &fleet, i);
    }
    // The leader's and the follower's latency writes (the single MOM's were its own).
    let bench_users = u64::from(2 * WRITES);
    let expected = (
        u64::from(omms * PER_OMM) + bench_users,
        u64::from(omms * PER_OMM),
    );
    while leads.totals() != expected || !all_linked_since(leads, 0) {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "the import did not finish: {:?}",
            leads.totals()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let synced = started.elapsed();
    for (i, mom) in moms.iter().enumerate() {
        while mom.as_ref().unwrap().totals() != expected {
            assert!(
                started.elapsed() < Duration::from_secs(600),
                "node {i} did not get every record"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    println!(
        "  {omms} OMMs × {PER_OMM} users and handsets: added to every record synced and every link up {}, on every node {}",
        secs(synced),
        secs(started.elapsed())
    );

    // The write load: a writer through each node, one write after another, about 100 a
    // second each (a busy day's changes, not a flood); what is acknowledged is noted.
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let refused = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let down = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = moms
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let socket = m.as_ref().unwrap().store_socket();
            let (acknowledged, refused, down, stop) = (
                Arc::clone(&acknowledged),
                Arc::clone(&refused),
                Arc::clone(&down),
                Arc::clone(&stop),
            );
            std::thread::spawn(move || {
                let rt = mom_tests::sim::runtime_with(1);
                let store = {
                    let _enter = rt.enter();
                    client(socket)
                };
                let mut n = 850_000_000 + 1_000_000 * u32::try_from(i).unwrap();
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let num = n.to_string();
                    match rt.block_on(store.put_user(user(num.clone()))) {
                        Ok(_) => acknowledged.lock().unwrap().push(num),
                        // The node is down (killed, starting): nothing was sent.
                        Err(ipc::store_client::Failure::Unreachable(_)) => {
                            down.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => {
                            if refused.fetch_add(1, Ordering::Relaxed) < 5 {
                                eprintln!("  a write under load not acknowledged: {e}");
                            }
                        }
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(2));

    let mut to_leader = Vec::new();
    let mut to_links = Vec::new();
    for round in 1..=rounds {
        let old = leader(&moms);
        let killed_at = model::now();
        let killed = Instant::now();
        let mut dead = moms[old].take().unwrap();
        mom_tests::signal(dead.child.id(), nix::sys::signal::Signal::SIGKILL);
        let new = leader(&moms);
        to_leader.push(killed.elapsed());
        let leads = moms[new].as_ref().unwrap();
        while !all_linked_since(leads, killed_at) {
            assert!(
                killed.elapsed() < Duration::from_secs(120),
                "round {round}: the OMM links did not come back within 120 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        to_links.push(killed.elapsed());
        println!(
            "  round {round}: node {} killed; node {} leads after {}, every OMM linked and reconciled after {}",
            old + 1,
            new + 1,
            secs(to_leader[to_leader.len() - 1]),
            secs(to_links[to_links.len() - 1])
        );
        // The killed node comes back and catches up before the next round.
        dead.wait_exit(Duration::from_secs(10));
        dead.start_again(&options[old]);
        moms[old] = Some(dead);
        let target = status(moms[new].as_ref().unwrap())
            .and_then(|s| s.applied)
            .unwrap_or(0);
        while status(moms[old].as_ref().unwrap())
            .and_then(|s| s.applied)
            .unwrap_or(0)
            < target
        {
            std::thread::sleep(Duration::from_millis(100));
        }
        // Steady writing between two kills.
        std::thread::sleep(Duration::from_secs(2));
    }
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.join().unwrap();
    }
    if rounds > 0 {
        println!(
            "  kill -9 of the leader, {rounds} rounds: a new leader p50 {} max {}; every OMM link up and reconciled p50 {} max {}",
            secs(percentile(&mut to_leader, 0.5)),
            secs(percentile(&mut to_leader, 1.0)),
            secs(percentile(&mut to_links, 0.5)),
            secs(percentile(&mut to_links, 1.0)),
        );
    }

    // Every acknowledged write on every node; unacknowledged ones (their outcome unknown to
    // the writer) counted apart.
    let acknowledged = acknowledged.lock().unwrap().clone();
    let acked: BTreeSet<&String> = acknowledged.iter().collect();
    let mut lost = 0usize;
    for (i, mom) in moms.iter().enumerate() {
        let mom = mom.as_ref().unwrap();
        for num in &acknowledged {
            if !matches!(
                mom.store(StoreRequest::GetUserByNumber(num.clone())),
                StoreResponse::User(_)
            ) {
                lost += 1;
                eprintln!("  LOST: {num} is not on node {}", i + 1);
            }
        }
    }
    println!(
        "  writes under load: {} acknowledged, {} of them lost on any node; {} refused or unanswered by a running node (their outcome unknown to the writer); {} tried on a node that was down",
        acked.len(),
        lost,
        refused.load(Ordering::Relaxed),
        down.load(Ordering::Relaxed)
    );

    // A node stopped while 50,000 users are written catches up when it starts again.
    let leads_at = leader(&moms);
    let away = (leads_at + 1) % 3;
    let mut stopped = moms[away].take().unwrap();
    stopped.stop(Duration::from_secs(30));
    let leads = moms[leads_at].as_ref().unwrap();
    let written = Instant::now();
    let store = client(leads.store_socket());
    rt.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for worker in 0..32u32 {
            let store = store.clone();
            tasks.spawn(async move {
                let mut n = worker;
                while n < BEHIND {
                    store
                        .put_user(user(format!("{}", 890_000_000 + n)))
                        .await
                        .expect("written");
                    n += 32;
                }
            });
        }
        tasks.join_all().await;
    });
    let writing = written.elapsed();
    let target = status(leads).and_then(|s| s.applied).unwrap_or(0);
    let back = Instant::now();
    stopped.start_again(&options[away]);
    while status(&stopped).and_then(|s| s.applied).unwrap_or(0) < target {
        assert!(
            back.elapsed() < Duration::from_secs(300),
            "the node did not catch up"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    println!(
        "  a node stopped while {BEHIND} users were written ({} through the leader, 32 at once): caught up {} after its start",
        secs(writing),
        secs(back.elapsed())
    );
    moms[away] = Some(stopped);
    for mom in moms.iter_mut().flatten() {
        mom.stop(Duration::from_secs(30));
    }
}
