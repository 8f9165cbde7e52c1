//! svc-axi at scale: `scripts/bench` (release binaries first). 500 simulated OMMs × 100 users
//! and 100 handsets (`MOM_BENCH_SCALE`, `MOM_BENCH_OMMS`, `MOM_BENCH_PER_OMM`: see
//! [`mom_tests::bench::Size`]), the simulator in this process: time from adding the OMM
//! records to every record imported and every link up, roaming handover latency while the other links are live,
//! MOM-side edit latency, CPU, and resident memory of all MOM processes. `MOM_BENCH_LOG` sets
//! the MOM's `RUST_LOG` (e.g. `info,svc_axi::session=debug` logs every handover's latency).

use axi::record::AxiRecord;
use ipc::api::store::{StoreRequest, StoreResponse};
use model::{LinkState, Omm, Query};
use mom_tests::bench::{ms, percentile, Size};
use mom_tests::{rss_kb, Mom, Options};
use omm_sim::{Fleet, FleetOptions};
use std::time::{Duration, Instant};

/// Handovers and edits measured at most (one per OMM).
const MAX_RUNS: u32 = 500;

fn main() {
    let size = Size::from_env();
    let (omms, per_omm) = (size.omms, size.per_omm);
    let runs = omms.min(MAX_RUNS);
    let rt = mom_tests::sim::runtime_with(1);
    let fleet = rt
        .block_on(Fleet::start(FleetOptions {
            omms,
            users: per_omm,
            devices: per_omm,
            ..FleetOptions::default()
        }))
        .expect("fleet");
    let mom = Mom::start(&Options {
        extra: "[axi]\nretry-secs = 2\n".into(),
        // The product's statistics period (tests sample every second).
        sample_secs: 60,
        env: std::env::var("MOM_BENCH_LOG")
            .map(|l| vec![("RUST_LOG".to_owned(), l)])
            .unwrap_or_default(),
        ..Options::default()
    });
    let started = Instant::now();
    for i in 1..=omms {
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
    let expected = u64::from(omms * per_omm);
    while mom.totals() != (expected, expected) {
        assert!(
            started.elapsed() < size.patience(Duration::from_secs(300)),
            "import did not finish: {:?}",
            mom.totals()
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
    println!("svc-axi with {omms} simulated OMMs × {per_omm} users and {per_omm} handsets (TLS, simulator in the bench process):");
    println!(
        "  records added to every record imported: {} ({} users, {} handsets); every link up: {}",
        ms(imported),
        expected,
        expected,
        ms(all_up)
    );

    let pids: Vec<(String, u32)> = mom
        .status()
        .into_iter()
        .filter_map(|s| Some((s.name, s.pid?)))
        .collect();
    let cpu = |pids: &[(String, u32)]| -> Vec<u64> {
        pids.iter()
            .map(|(_, p)| mom_tests::bench::cpu_ticks(*p))
            .collect()
    };
    std::thread::sleep(Duration::from_secs(2));
    let before = cpu(&pids);
    std::thread::sleep(Duration::from_secs(2));
    let after = cpu(&pids);
    for ((name, _), (b, a)) in pids.iter().zip(before.iter().zip(&after)) {
        println!(
            "  idle CPU of {name} with every link up: {}% of a core",
            (a - b) / 2
        );
    }
    // What the Users and Devices panes ask first, so their columns exist when memory is
    // measured (the store builds a column on its first query).
    for (column, sort) in [("num", "name"), ("home_omm", "num")] {
        let _ = mom.store(StoreRequest::QueryUsers(Query {
            filters: vec![model::Filter {
                column: column.into(),
                op: model::FilterOp::StartsWith,
                value: "1".into(),
            }],
            sort_column: sort.into(),
            sort: model::SortDirection::Ascending,
            limit: 50,
            ..Query::default()
        }));
    }
    for (column, sort) in [("ipei", "location"), ("uid", "ipei")] {
        let _ = mom.store(StoreRequest::QueryDevices(Query {
            filters: vec![model::Filter {
                column: column.into(),
                op: model::FilterOp::StartsWith,
                value: "0".into(),
            }],
            sort_column: sort.into(),
            sort: model::SortDirection::Ascending,
            limit: 50,
            ..Query::default()
        }));
    }
    print_memory(&mom);
    let before_roaming = cpu(&pids);
    let roaming_started = Instant::now();
    // Roaming: handsets of OMM i register at OMM i+1 while every other link is live.
    let mut handovers = Vec::new();
    for i in 1..=runs {
        let from = i;
        let to = i % omms + 1;
        let ipei = fleet.omm(from).lock().state.devices[&(per_omm - 1)]
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
    println!("  roaming handover (locate event to bound records on the new OMM), {runs} runs: p50 {} p99 {}", ms(percentile(&mut handovers, 0.5)), ms(percentile(&mut handovers, 0.99)));
    let secs = roaming_started.elapsed().as_secs_f64();
    for ((name, _), (b, a)) in pids.iter().zip(before_roaming.iter().zip(&cpu(&pids))) {
        println!(
            "  CPU of {name} while roaming: {:.0}% of a core",
            (a - b) as f64 / secs
        );
    }

    // MOM-side edits reaching their OMM.
    let mut edits = Vec::new();
    for i in 1..=runs {
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
        "  MOM-side edit to its OMM (store write included), {runs} runs: p50 {} p99 {}",
        ms(percentile(&mut edits, 0.5)),
        ms(percentile(&mut edits, 0.99))
    );
    print_memory(&mom);

    // svc-axi restarts (kill -9): every link reconnects and reconciles with an OMM that
    // already agrees, so it writes nothing.
    let synced = mom.counter("axi.records_synced");
    std::thread::sleep(Duration::from_millis(1100)); // `since` has one-second resolution
    let killed_at = model::now();
    let axi = mom.service("axi").pid.expect("svc-axi pid");
    let t = Instant::now();
    mom_tests::signal(axi, nix::sys::signal::Signal::SIGKILL);
    loop {
        let StoreResponse::Omms(list) = mom.store(StoreRequest::ListOmms) else {
            panic!()
        };
        if list
            .iter()
            .all(|o| o.health.link == LinkState::Up && o.health.since >= killed_at)
        {
            break;
        }
        assert!(
            t.elapsed() < size.patience(Duration::from_secs(120)),
            "links did not come back"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    println!(
        "  svc-axi killed → all {omms} links reconnected and reconciled: {}; records written: {}",
        ms(t.elapsed()),
        mom.counter("axi.records_synced") - synced
    );
}

/// Resident memory of every MOM process, and their sum.
fn print_memory(mom: &Mom) {
    let mut total = rss_kb(mom.child.id());
    for s in mom.status() {
        if let Some(pid) = s.pid {
            let kb = rss_kb(pid);
            println!(
                "  resident memory of {}: {} MB (anonymous {}, file-backed {}, shared {})",
                s.name,
                kb / 1024,
                mom_tests::proc_field(pid, "RssAnon"),
                mom_tests::proc_field(pid, "RssFile"),
                mom_tests::proc_field(pid, "RssShmem")
            );
            total += kb;
        }
    }
    println!(
        "  resident memory of all MOM processes together: {} MB",
        total / 1024
    );
}
