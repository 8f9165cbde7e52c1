//! svc-maxi through real processes and TLS: `cargo bench -p mom-tests --bench maxi` (build
//! the release binaries first; scripts/bench does both).
//!
//! - requests per second with 8 clients: `GetPPUserByNumber` (reads) and `SetPPUser`
//!   (durable writes that svc-axi then takes to the OMM);
//! - an application's `SendMessage` until the OMM has the message (the answer comes after
//!   the OMM answered): p50 and p99;
//! - events per second to 8 clients subscribed to users and devices while the MOM imports a
//!   500-OMM fleet;
//! - resident memory of svc-maxi per connected, logged-in, subscribed client.

use ipc::api::store::{NewAccount, StoreRequest, StoreResponse};
use model::LinkState;
use mom_tests::bench::{ms, percentile, Size};
use mom_tests::maxi::{attr, Maxi};
use mom_tests::{rss_kb, Mom, Options};
use omm_sim::{Fleet, FleetOptions};
use std::time::{Duration, Instant};

const USERS: u32 = 10;
const CLIENTS: usize = 8;
const ACCOUNT: (&str, &str) = ("bench", "Blue.Whale-2024");

fn client(mom: &Mom) -> Maxi {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(mut m) = Maxi::try_tls(mom.listener("maxi")) {
            if m.try_request("<Ping/>", Duration::from_secs(2)).is_some() {
                let open = m.open(ACCOUNT.0, ACCOUNT.1);
                assert!(!open.contains("errCode"), "{open}");
                return m;
            }
        }
        assert!(Instant::now() < deadline, "svc-maxi does not answer");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs `per_client` requests made by `request(client index, i)` on every client at once;
/// requests per second overall.
fn rate(
    clients: &mut [Maxi],
    per_client: usize,
    request: impl Fn(usize, usize) -> String + Sync,
) -> f64 {
    let started = Instant::now();
    let request = &request;
    std::thread::scope(|s| {
        for (c, m) in clients.iter_mut().enumerate() {
            s.spawn(move || {
                for i in 0..per_client {
                    let answer = m.request(&request(c, i));
                    assert!(!answer.contains("errCode"), "{answer}");
                }
            });
        }
    });
    (clients.len() * per_client) as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let omms = Size::from_env().omms;
    let rt = mom_tests::sim::runtime_with(1);
    let fleet = rt
        .block_on(Fleet::start(FleetOptions {
            omms,
            users: USERS,
            devices: USERS,
            ..FleetOptions::default()
        }))
        .expect("fleet");
    let mom = Mom::start(&Options {
        extra: "[axi]\nretry-secs = 2\n".into(),
        sample_secs: 60,
        ..Options::default()
    });
    let created = mom.store(StoreRequest::CreateAccount(NewAccount {
        name: ACCOUNT.0.into(),
        password: ACCOUNT.1.into(),
        enabled: true,
        write: true,
        must_change_password: false,
    }));
    assert!(matches!(created, StoreResponse::Created(_)), "{created:?}");
    let maxi_pid = mom
        .status()
        .into_iter()
        .find(|s| s.name == "maxi")
        .and_then(|s| s.pid)
        .expect("svc-maxi");
    // Wait for the certificate, then measure the idle service.
    drop(client(&mom));
    std::thread::sleep(Duration::from_millis(500));
    let idle_kb = rss_kb(maxi_pid);

    // Events during the import of a 500-OMM fleet, to 8 subscribed clients.
    let mut clients: Vec<Maxi> = (0..CLIENTS).map(|_| client(&mom)).collect();
    for m in &mut clients {
        let sub = m.request(
            "<Subscribe><e cmd=\"On\" eventType=\"PPUserCnf\" uid=\"-1\"/><e cmd=\"On\" eventType=\"PPDevCnf\" ppn=\"-1\"/></Subscribe>",
        );
        assert!(!sub.contains("errCode"), "{sub}");
    }
    let connected_kb = rss_kb(maxi_pid);
    let expected = u64::from(omms * USERS);
    let started = Instant::now();
    for i in 1..=omms {
        let _ = mom_tests::sim::add_omm(&mom, &fleet, i);
    }
    let received: Vec<(u64, Duration)> = std::thread::scope(|s| {
        let handles: Vec<_> = clients
            .iter_mut()
            .map(|m| {
                s.spawn(move || {
                    let mut users = std::collections::HashSet::new();
                    let mut devices = std::collections::HashSet::new();
                    let mut events = 0u64;
                    let mut last = started.elapsed();
                    // Every user and device seen, then until the stream is quiet for 2 s
                    // (bindings and link notes follow the records).
                    loop {
                        let all =
                            users.len() as u64 >= expected && devices.len() as u64 >= expected;
                        let wait = if all {
                            Duration::from_secs(2)
                        } else {
                            Duration::from_secs(60)
                        };
                        let Some(e) = m.event(wait) else { break };
                        events += 1;
                        last = started.elapsed();
                        let id = |name| attr(&e, name).map(str::to_owned);
                        if e.starts_with("<EventPPUserCnf") {
                            users.extend(id("uid"));
                        } else if e.starts_with("<EventPPDevCnf") {
                            devices.extend(id("ppn"));
                        }
                    }
                    (events, last)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("client"))
            .collect()
    });
    let events: u64 = received.iter().map(|(e, _)| e).sum();
    let span = received.iter().map(|(_, d)| *d).max().unwrap_or_default();
    let peak_kb = rss_kb(maxi_pid);
    let all_up = || match mom.store(StoreRequest::ListOmms) {
        StoreResponse::Omms(o) => o.iter().all(|o| o.health.link == LinkState::Up),
        _ => false,
    };
    while !all_up() {
        std::thread::sleep(Duration::from_millis(200));
    }
    println!(
        "import of {omms} OMMs × {USERS} users and devices: {events} events to {CLIENTS} clients in {} ({:.0} events/s delivered)",
        ms(span),
        events as f64 / span.as_secs_f64()
    );

    // Requests per second with 8 clients.
    let reads = rate(&mut clients, 2000, |c, i| {
        let omm = 1 + (c * 61 + i) % omms as usize;
        let user = i % USERS as usize;
        format!(
            "<GetPPUserByNumber num=\"{}\"/>",
            omm_sim::population::number(omm as u32, user as u32)
        )
    });
    println!("GetPPUserByNumber, {CLIENTS} clients: {reads:.0} requests/s");
    // 50 users of its own per client (fewer when a small run has fewer users).
    let users = (omms * USERS) as usize;
    let writes = rate(&mut clients, 200, |c, i| {
        format!(
            "<SetPPUser><user uid=\"{}\" name=\"Bench {c} {i}\"/></SetPPUser>",
            1 + (c * 50 + i % 50) % users
        )
    });
    println!("SetPPUser, {CLIENTS} clients: {writes:.0} requests/s");

    // SendMessage until the OMM has it: users of OMM 7 (the last one of a smaller run).
    let message_omm = 7.min(omms);
    let m = &mut clients[0];
    let number = omm_sim::population::number(message_omm, 1);
    let mut times = Vec::new();
    for i in 0..500 {
        let t = Instant::now();
        let answer = m.request(&format!(
            "<SendMessage><msg toAddr=\"tel:{number}\" fromAddr=\"bench\" content=\"m{i}\"/></SendMessage>"
        ));
        times.push(t.elapsed());
        assert!(!answer.contains("errCode"), "{answer}");
    }
    let delivered = fleet.omm(message_omm).lock().state.delivered_messages.len();
    assert_eq!(delivered, 500);
    println!(
        "SendMessage until the OMM has it: p50 {} p99 {}",
        ms(percentile(&mut times, 0.5)),
        ms(percentile(&mut times, 0.99))
    );
    println!(
        "svc-maxi memory: {idle_kb} kB idle, {connected_kb} kB with {CLIENTS} subscribed clients ({} kB per client), {peak_kb} kB after the import",
        connected_kb.saturating_sub(idle_kb) / CLIENTS as u64
    );
}
