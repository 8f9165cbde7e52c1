//! Store benchmarks through the real IPC path: `cargo bench -p mom-tests --bench store`
//! (build the release binaries first: `cargo build --release --workspace --bins`).
//!
//! Prints bulk-import time for 50,000 users and 50,000 devices, single durable write
//! latency, sorted and filtered page-query latency over 50,000 users, svc-store's resident
//! memory, the Overview's page query (users joined to their bound DECT phones) once every
//! user is bound, and the time from `kill -9` of svc-store to its replacement being ready.

use ipc::api::store::{StoreApi, StoreRequest, StoreResponse};
use ipc::{Client, ClientOptions, Hello};
use model::{Filter, FilterOp, Query, SortDirection};
use mom_tests::bench::{device, ms, percentile, user, Size};
use mom_tests::{block_on, rss_kb, signal, Mom, Options};
use std::time::{Duration, Instant};

const BATCH: u32 = 10_000;

fn main() {
    let users_count = Size::from_env().users;
    let mom = Mom::start(&Options {
        restart: String::new(),
        ..Options::default()
    });
    let socket = mom.store_socket();
    let store_pid = mom.service("store").pid.expect("pid");
    println!(
        "svc-store resident memory at start: {} MB",
        rss_kb(store_pid) / 1024
    );
    block_on(async move {
        let (client, _events) =
            Client::<StoreApi>::start(socket, Hello::new("bench", 0), ClientOptions::default());

        let started = Instant::now();
        for batch in 0..users_count.div_ceil(BATCH) {
            let range = batch * BATCH..((batch + 1) * BATCH).min(users_count);
            let users = range.clone().map(user).collect();
            let devices = range.map(device).collect();
            let resp = client
                .request(StoreRequest::BulkPut { users, devices })
                .await
                .expect("bulk");
            assert_eq!(resp, StoreResponse::Done, "bulk put refused");
        }
        println!(
            "bulk import of {users_count} users and {users_count} devices ({} requests): {}",
            users_count.div_ceil(BATCH),
            ms(started.elapsed())
        );

        let mut writes = Vec::new();
        for i in 0..2000u32 {
            let mut u = user(i);
            u.uid = i + 1;
            u.name = format!("Edited {i}");
            let t = Instant::now();
            let resp = client.request(StoreRequest::PutUser(u)).await.expect("put");
            writes.push(t.elapsed());
            assert!(matches!(resp, StoreResponse::Created(_)), "{resp:?}");
        }
        println!(
            "single durable write (edit a user), 2000 sequential: p50 {} p99 {}",
            ms(percentile(&mut writes, 0.5)),
            ms(percentile(&mut writes, 0.99))
        );

        let (first, mut queries, total) = timed_pages(&client, "num", |query| {
            (StoreRequest::QueryUsers(query), |answer| match answer {
                StoreResponse::Users(page) => Some((page.items.len(), page.total)),
                _ => None,
            })
        })
        .await;
        println!(
            "first page query over {users_count} users, building its two columns: {}",
            ms(first)
        );
        println!(
            "page query over {users_count} users (filter name contains, sort by number descending, 50 rows; {total} match), 200 runs: p50 {} p99 {}",
            ms(percentile(&mut queries, 0.5)),
            ms(percentile(&mut queries, 0.99))
        );
    });
    println!(
        "svc-store resident memory with {users_count} users and {users_count} devices: {} MB",
        rss_kb(store_pid) / 1024
    );
    overview(&mom);
    drop(mom);

    let mut restarts = Vec::new();
    for _ in 0..5 {
        let mom = Mom::start(&Options {
            restart: String::new(),
            ..Options::default()
        });
        let old = mom.service("store").pid.expect("pid");
        let t = Instant::now();
        signal(old, nix::sys::signal::Signal::SIGKILL);
        mom.wait_status("store back", Duration::from_secs(10), |rows| {
            rows.iter().any(|r| {
                r.name == "store"
                    && r.pid != Some(old)
                    && r.state == ipc::api::control::ServiceState::Running
            })
        });
        restarts.push(t.elapsed());
    }
    println!(
        "kill -9 of svc-store to replacement ready (first crash, default policy: 100 ms backoff), 5 runs: p50 {} max {}",
        ms(percentile(&mut restarts, 0.5)),
        ms(*restarts.iter().max().expect("runs"))
    );
}

/// Binds user `i` to handset `i` for the whole population, then measures the Overview's page
/// query, which filters on a user column and sorts on a joined phone column.
fn overview(mom: &Mom) {
    let users_count = Size::from_env().users;
    let socket = mom.store_socket();
    block_on(async move {
        let (client, _events) =
            Client::<StoreApi>::start(socket, Hello::new("bench", 0), ClientOptions::default());
        let pairs = (1..=users_count)
            .map(|id| (id, id, model::RelType::Fixed, model::Timestamp::default()))
            .collect();
        let resp = client
            .request(StoreRequest::BindMany(pairs))
            .await
            .expect("bind");
        let StoreResponse::CreatedMany(outcomes) = resp else {
            panic!("{resp:?}")
        };
        assert!(outcomes.iter().all(Result::is_ok), "every pair bound");
        let (first, mut queries, total) = timed_pages(&client, "device.ipei", |query| {
            (StoreRequest::QueryOverview(query), |answer| match answer {
                StoreResponse::Overview(page) => {
                    assert!(page.items.iter().all(|row| row.device.is_some()));
                    Some((page.items.len(), page.total))
                }
                _ => None,
            })
        })
        .await;
        println!(
            "first Overview page query, building the user's Device ID and the phone's IPEI columns: {}",
            ms(first)
        );
        println!(
            "Overview page query over {users_count} bound pairs (filter name contains, sort by the phone's IPEI descending, 50 rows with their phones; {total} match), 200 runs: p50 {} p99 {}",
            ms(percentile(&mut queries, 0.5)),
            ms(percentile(&mut queries, 0.99))
        );
    });
}

/// What a page answer holds: its rows and the total of matching rows, or `None` for an
/// answer of another kind.
type PageOf = fn(StoreResponse) -> Option<(usize, u64)>;

/// 201 page queries (filter name contains "bravo", sort by `sort` descending, 50 rows, ten
/// different offsets) made by `request`: the first's time (it builds the columns it uses,
/// then kept up to date), every later one's, and the total of matching rows.
async fn timed_pages(
    client: &Client<StoreApi>,
    sort: &str,
    request: impl Fn(Query) -> (StoreRequest, PageOf),
) -> (Duration, Vec<Duration>, u64) {
    let mut queries = Vec::new();
    let (mut first, mut total) = (Duration::ZERO, 0);
    for i in 0..=200u32 {
        let query = Query {
            filters: vec![Filter {
                column: "name".into(),
                op: FilterOp::Contains,
                value: "bravo".into(),
            }],
            sort_column: sort.into(),
            sort: SortDirection::Descending,
            offset: (i % 10) * 50,
            limit: 50,
        };
        let (body, page_of) = request(query);
        let t = Instant::now();
        let answer = client.request(body).await.expect("query");
        let elapsed = t.elapsed();
        if i == 0 {
            first = elapsed;
        } else {
            queries.push(elapsed);
        }
        let (rows, matching) = page_of(answer).expect("a page");
        assert_eq!(rows, 50);
        total = matching;
    }
    (first, queries, total)
}
