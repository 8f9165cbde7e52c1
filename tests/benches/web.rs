//! svc-web benchmarks through real HTTPS: `cargo bench -p mom-tests --bench web` (build
//! the release binaries first: `cargo build --release --workspace --bins`; scripts/bench
//! does both).
//!
//! With 50,000 users and 50,000 handsets: the latency of a sorted, filtered Users page from
//! one keep-alive client and from 50 concurrent ones (requests per second, p99), the login
//! time (argon2 with its default cost), a user edit (a durable, audited write), svc-web's
//! resident memory idle and with 50 clients
//! and 8 WebSockets, and the time from `kill -9` of svc-web to serving again.

use mom_tests::bench::{cpu_ticks, fill_store, ms, percentile, Size};
use mom_tests::web::{client_config, Offer, Web};
use mom_tests::{rss_kb, signal, Mom, Options};
use std::time::{Duration, Instant};

const CLIENTS: usize = 50;
const PAGE: &str =
    "/api/v1/users?sort=name&order=asc&filter=name:contains:bravo&limit=50&offset=100";

fn load(mom: &Mom) {
    let users_count = Size::from_env().users;
    fill_store(&mom.store_socket(), users_count);
}

fn web_rss(mom: &Mom) -> u64 {
    rss_kb(mom.service("web").pid.expect("pid")) / 1024
}

fn main() {
    let users_count = Size::from_env().users;
    let mom = Mom::start(&Options::default());
    load(&mom);
    let https = mom.listener("https");
    let mut web = Web::new(https, Offer::Any);
    while web.try_send("GET", "/healthz", None).is_err() {
        std::thread::sleep(Duration::from_millis(50));
    }
    web.first_login("Blau.Wal42");
    println!(
        "svc-web resident memory, idle, logged in: {} MB",
        web_rss(&mom)
    );

    let mut logins = Vec::new();
    for _ in 0..20 {
        let mut other = Web::new(https, Offer::Any);
        let t = Instant::now();
        assert_eq!(other.login("mom", "Blau.Wal42").status, 200);
        logins.push(t.elapsed());
    }
    println!(
        "login (argon2id, the argon2 crate's default cost: m=19 MiB, t=2, p=1), 20 runs: p50 {} p99 {}",
        ms(percentile(&mut logins, 0.5)),
        ms(percentile(&mut logins, 0.99))
    );

    // One keep-alive client: the first page builds the store's columns, then 300 timed.
    let first = web.get(PAGE);
    assert_eq!(first.status, 200, "{}", first.text);
    let total = first.json["total"].as_u64().unwrap();
    let mut one = Vec::new();
    for _ in 0..300 {
        let t = Instant::now();
        let page = web.get(PAGE);
        one.push(t.elapsed());
        assert_eq!(page.json["items"].as_array().map(Vec::len), Some(50));
    }
    println!(
        "Users page over HTTPS ({users_count} users, filter name contains bravo: {total} match, sort by name, 50 rows at offset 100), one client, 300 requests: p50 {} p99 {}",
        ms(percentile(&mut one, 0.5)),
        ms(percentile(&mut one, 0.99))
    );

    // One user edited 300 times through the API: a durable write each, with its audit
    // entry, and the record read back for the answer.
    let uid = web.get("/api/v1/users?limit=1").json["items"][0]["uid"]
        .as_u64()
        .expect("a user");
    let mut edits = Vec::new();
    for i in 0..300 {
        let change = serde_json::json!({ "name": format!("Edited {i}") });
        let t = Instant::now();
        let edit = web.send("PATCH", &format!("/api/v1/users/{uid}"), Some(&change));
        edits.push(t.elapsed());
        assert_eq!(edit.status, 200, "{}", edit.text);
    }
    println!(
        "user edit over HTTPS (PATCH: read, durable write with its audit entry, read back), one client, 300 edits: p50 {} p99 {}",
        ms(percentile(&mut edits, 0.5)),
        ms(percentile(&mut edits, 0.99))
    );

    // 50 concurrent keep-alive clients for 10 seconds, each on its own connection.
    let cookie = web.cookie.clone().expect("cookie");
    let rt = mom_tests::sim::runtime_with(1);
    let url = format!("https://{https}{PAGE}");
    let clients: Vec<reqwest::Client> = (0..CLIENTS)
        .map(|_| {
            let _g = rt.enter();
            reqwest::Client::builder()
                .use_preconfigured_tls(client_config(&[&rustls::version::TLS13], &[b"http/1.1"]))
                .build()
                .unwrap()
        })
        .collect();
    // Eight live-event clients stay connected meanwhile.
    let watchers: Vec<Web> = (0..8)
        .map(|_| {
            let mut w = Web::new(https, Offer::Any);
            w.cookie = web.cookie.clone();
            w
        })
        .collect();
    let streams: Vec<_> = watchers.iter().map(|w| w.events("")).collect();
    let run_for = Duration::from_secs(10);
    let web_pid = mom.service("web").pid.expect("pid");
    let store_pid = mom.service("store").pid.expect("pid");
    let cpu_before = [cpu_ticks(web_pid), cpu_ticks(store_pid)];
    let (count, mut latencies, rss_under_load) = rt.block_on(async {
        let deadline = Instant::now() + run_for;
        let tasks: Vec<_> = clients
            .into_iter()
            .map(|client| {
                let url = url.clone();
                let cookie = cookie.clone();
                tokio::spawn(async move {
                    let mut samples = Vec::new();
                    while Instant::now() < deadline {
                        let t = Instant::now();
                        let response = client
                            .get(&url)
                            .header("cookie", format!("mom_session={cookie}"))
                            .send()
                            .await
                            .expect("request");
                        assert_eq!(response.status().as_u16(), 200);
                        let _ = response.bytes().await.expect("body");
                        samples.push(t.elapsed());
                    }
                    samples
                })
            })
            .collect();
        tokio::time::sleep(run_for / 2).await;
        let rss = rss_kb(web_pid) / 1024;
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.expect("task"));
        }
        (all.len(), all, rss)
    });
    // CPU per page, in microseconds (a tick is 10 ms).
    let per_page =
        |before: u64, after: u64| (after - before) as f64 * 10_000.0 / count.max(1) as f64;
    let cpu = (
        per_page(cpu_before[0], cpu_ticks(web_pid)),
        per_page(cpu_before[1], cpu_ticks(store_pid)),
    );
    println!(
        "Users page, {CLIENTS} concurrent keep-alive clients (HTTP/1.1) for {} s: {:.0} requests/s, p50 {} p99 {}",
        run_for.as_secs(),
        count as f64 / run_for.as_secs_f64(),
        ms(percentile(&mut latencies, 0.5)),
        ms(percentile(&mut latencies, 0.99))
    );
    println!(
        "CPU per page in the 50-client run: svc-web {:.0} µs, svc-store {:.0} µs",
        cpu.0, cpu.1
    );
    println!(
        "svc-web resident memory with {CLIENTS} clients and {} WebSockets: {rss_under_load} MB",
        streams.len()
    );
    drop(streams);
    drop(watchers);

    let pid = mom.service("web").pid.expect("pid");
    signal(pid, nix::sys::signal::Signal::SIGKILL);
    let killed = Instant::now();
    loop {
        let probe = Web::new(https, Offer::Any);
        if probe
            .try_send("GET", "/healthz", None)
            .is_ok_and(|a| a.status == 200)
        {
            break;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(20),
            "svc-web never came back"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    println!(
        "kill -9 of svc-web to serving HTTPS again: {}",
        ms(killed.elapsed())
    );
}
