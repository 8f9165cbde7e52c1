//! svc-axi at scale: `scripts/bench` (release binaries first). 500 simulated OMMs × 100 users
//! and 100 handsets, the simulator in this process: time from adding the OMM records to every
//! record imported and every link up, roaming handover latency while the other links are live,
//! MOM-side edit latency, and resident memory of all MOM processes.

use axi::record::AxiRecord;
use ipc::api::store::{StoreRequest, StoreResponse};
use model::{LinkState, Omm, Query};
use mom_tests::{rss_kb, Mom, Options};
use omm_sim::{Fleet, FleetOptions};
use std::time::{Duration, Instant};

const OMMS: u32 = 500;
const PER_OMM: u32 = 100;

fn totals(mom: &Mom) -> (u64, u64) {
    let users = match mom.store(StoreRequest::QueryUsers(Query {
        limit: 1,
        ..Query::default()
    })) {
        StoreResponse::Users(p) => p.total,
        _ => 0,
    };
    let devices = match mom.store(StoreRequest::QueryDevices(Query {
        limit: 1,
        ..Query::default()
    })) {
        StoreResponse::Devices(p) => p.total,
        _ => 0,
    };
    (users, devices)
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let fleet = rt
        .block_on(Fleet::start(FleetOptions {
            omms: OMMS,
            users: PER_OMM,
            devices: PER_OMM,
            ..FleetOptions::default()
        }))
        .expect("fleet");
    let mom = Mom::start(&Options {
        extra: "[axi]\nretry-secs = 2\n".into(),
        ..Options::default()
    });
    let started = Instant::now();
    for i in 1..=OMMS {
        let omm = Omm {
            enabled: true,
            name: format!("Site {i}"),
            omm1: format!("127.0.0.1:{}", fleet.omm(i).addr.port()),
            user: "omm".into(),
            password: "omm-password".into(),
            ..Omm::default()
        };
        let _ = mom.store(StoreRequest::PutOmm(omm));
    }
    let expected = u64::from(OMMS * PER_OMM);
    while totals(&mom) != (expected, expected) {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "import did not finish: {:?}",
            totals(&mom)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let imported = started.elapsed();
    loop {
        let StoreResponse::Omms(list) = mom.store(StoreRequest::ListOmms) else {
            panic!()
        };
        if list.iter().all(|o| o.health.link == LinkState::Up) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let all_up = started.elapsed();
    println!("svc-axi with {OMMS} simulated OMMs × {PER_OMM} users and {PER_OMM} handsets (TLS, simulator in the bench process):");
    println!(
        "  records added to every record imported: {} ({} users, {} handsets); every link up: {}",
        ms(imported),
        expected,
        expected,
        ms(all_up)
    );

    // Roaming: handsets of OMM i register at OMM i+1 while every other link is live.
    let mut handovers = Vec::new();
    for i in 1..=100u32 {
        let from = i;
        let to = i % OMMS + 1;
        let ipei = fleet.omm(from).lock().state.devices[&(PER_OMM - 1)]
            .get(axi::PpDev::IPEI)
            .expect("ipei");
        let t = Instant::now();
        fleet.roam(ipei, to, 1).expect("roam");
        loop {
            if fleet
                .device(to, ipei)
                .is_some_and(|d| d.get(axi::PpDev::UID).unwrap_or(0) != 0)
            {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "handover {i} did not complete"
            );
            std::thread::sleep(Duration::from_micros(100));
        }
        handovers.push(t.elapsed());
    }
    println!("  roaming handover (locate event to bound records on the new OMM), 100 runs: p50 {} p99 {}", ms(percentile(&mut handovers, 0.5)), ms(percentile(&mut handovers, 0.99)));

    // MOM-side edits reaching their OMM.
    let mut edits = Vec::new();
    for i in 1..=100u32 {
        let num = fleet.omm(i).lock().state.users[&1]
            .raw("num")
            .expect("num")
            .to_owned();
        let StoreResponse::User(mut user) = mom.store(StoreRequest::GetUserByNumber(num)) else {
            panic!()
        };
        user.name = format!("Edited {i}");
        user.timestamp = model::now();
        let t = Instant::now();
        let _ = mom.store(StoreRequest::PutUser(user.clone()));
        loop {
            if fleet.omm(i).lock().state.users[&1].raw("name") == Some(user.name.as_str()) {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "edit {i} did not arrive"
            );
            std::thread::sleep(Duration::from_micros(100));
        }
        edits.push(t.elapsed());
    }
    println!(
        "  MOM-side edit to its OMM (store write included), 100 runs: p50 {} p99 {}",
        ms(percentile(&mut edits, 0.5)),
        ms(percentile(&mut edits, 0.99))
    );
    let mut total = rss_kb(mom.child.id());
    for s in mom.status() {
        if let Some(pid) = s.pid {
            let kb = rss_kb(pid);
            println!("  resident memory of {}: {} MB", s.name, kb / 1024);
            total += kb;
        }
    }
    println!(
        "  resident memory of all MOM processes together: {} MB",
        total / 1024
    );
}
