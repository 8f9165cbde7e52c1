//! Many clients: silent handshakes and slow readers, the client caps, concurrent wrong logins,
//! idle timeouts.

use super::*;
use ipc::api::store::{StoreRequest, StoreResponse};
use model::LinkState;
use mom_tests::maxi::Maxi;
use mom_tests::sim::{add_omm, omms, runtime, wait};
use mom_tests::{Mom, Options};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

#[test]
fn nine_clients_a_silent_handshake_and_a_client_that_never_reads() {
    let rt = runtime();
    let fleet = fleet(&rt, 1);
    let mom = mom();
    account(&mom, WRITER, true, true);
    let omm = add_omm(&mom, &fleet, 1);
    wait("the OMM linked", Duration::from_secs(30), || {
        omms(&mom).iter().all(|o| o.health.link == LinkState::Up)
    });
    let addr: SocketAddr = mom.listener("maxi");
    let mut clients: Vec<Maxi> = (0..8).map(|_| logged_in(&mom, WRITER)).collect();
    let mut ninth = Maxi::tls(addr);
    let refused = ninth.open(WRITER.0, WRITER.1);
    assert!(
        refused
            .starts_with("<OpenResp seq=\"1\" errCode=\"ENoMem\" info=\"too many MAXI clients\""),
        "{refused}"
    );
    assert!(ninth.closed_within(Duration::from_secs(5)));
    wait("the refusal counted", Duration::from_secs(5), || {
        mom.counter("maxi.failed_connections") >= 1 && mom.counter("maxi.max_parallel_clients") == 8
    });

    // One leaves; a client that never finishes its TLS handshake holds its place only for
    // the handshake timeout (2 s here).
    drop(clients.pop());
    std::thread::sleep(Duration::from_millis(300));
    let silent = std::net::TcpStream::connect(addr).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let started = Instant::now();
    let mut byte = [0u8; 1];
    let read = std::io::Read::read(&mut &silent, &mut byte);
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "closed after the handshake timeout"
    );
    let mut replacement = logged_in(&mom, WRITER);

    // A client that subscribes and never reads is cut off; the others are served meanwhile.
    let mut sink = clients.pop().unwrap();
    assert!(!sink
        .request("<Subscribe><e cmd=\"On\" eventType=\"ApplicationDataChannel\"/></Subscribe>")
        .contains("errCode"));
    let chunk = vec![7u8; 600 * 1024];
    let started = Instant::now();
    let mut sent = 0;
    while sent < 60 {
        fleet.application_data(1, "bulk", &chunk).unwrap();
        sent += 1;
        let answer = replacement
            .try_request("<Ping/>", Duration::from_secs(5))
            .expect("another client is served while one does not read");
        assert!(answer.starts_with("<PingResp"));
    }
    wait(
        "the slow client is cut off",
        Duration::from_secs(30),
        || match mom.store(StoreRequest::ListEvents) {
            StoreResponse::Events(e) => e.iter().any(|x| x.text.contains("cut off")),
            _ => false,
        },
    );
    assert!(started.elapsed() < Duration::from_secs(60));
    assert!(
        sink.closed_within(Duration::from_secs(30)),
        "the slow client's link is closed"
    );
    let link = omms(&mom).into_iter().find(|o| o.id == omm).unwrap();
    assert_eq!(
        link.health.link,
        LinkState::Up,
        "the OMM link is unaffected"
    );
}

#[test]
fn silent_connections_from_one_address_keep_no_logged_in_client_out() {
    let mom = mom();
    account(&mom, WRITER, true, true);
    let addr: SocketAddr = mom.listener("maxi");
    drop(connect(&mom));
    // One address opens a silent connection every 50 ms and keeps them.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flooder = {
        let stop = std::sync::Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut silent = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && silent.len() < 120 {
                if let Ok(s) = mom_tests::maxi::tcp_from(addr, [127, 0, 0, 1].into()) {
                    silent.push(s);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            silent.len()
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    // Meanwhile eight real clients from other addresses log in, every one of them.
    let mut clients = Vec::new();
    for i in 0..8u8 {
        let (m, open) = Maxi::open_from(addr, [127, 0, 2, i + 1].into(), WRITER.0, WRITER.1);
        assert!(!open.contains("errCode"), "client {i}: {open}");
        clients.push(m);
        std::thread::sleep(Duration::from_millis(200));
    }
    // A ninth is refused after its login: eight are logged in.
    let (_ninth, refused) = Maxi::open_from(addr, [127, 0, 2, 99].into(), WRITER.0, WRITER.1);
    assert!(
        refused
            .starts_with("<OpenResp seq=\"1\" errCode=\"ENoMem\" info=\"too many MAXI clients\""),
        "{refused}"
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(flooder.join().unwrap() > 40, "the flood ran");
    for mut c in clients {
        assert!(c.request("<Ping/>").starts_with("<PingResp"));
    }
}

#[test]
fn concurrent_wrong_logins_of_one_account_are_checked_at_most_five_times() {
    let mom = mom();
    account(&mom, WRITER, true, true);
    let addr: SocketAddr = mom.listener("maxi");
    // Wait until svc-maxi answers, and log that connection in so that it gives its
    // pre-login place back before the guessers arrive (a dropped connection gives it back
    // only when svc-maxi sees it close).
    let _ready = logged_in(&mom, WRITER);
    // 16 clients (the pre-login places) from 16 addresses guess the same account's
    // password at once.
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(16));
    let answers: Vec<String> = (0..16u8)
        .map(|i| {
            let barrier = std::sync::Arc::clone(&barrier);
            std::thread::spawn(move || {
                let mut m = Maxi::try_tls_from(addr, Some([127, 0, 7, i + 1].into()))
                    .expect("MAXI TLS connection");
                barrier.wait();
                m.open(&format!(" {} ", WRITER.0), "wrong")
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    let checked = answers
        .iter()
        .filter(|a| a.contains("authentication failed"))
        .count();
    assert!(
        checked <= 5 && answers.iter().all(|a| a.contains("errCode=\"EAuth\"")),
        "{answers:#?}"
    );
    // The padded name was the account's: it is locked now, for the right password too.
    let mut m = connect(&mom);
    let locked = m.open(WRITER.0, WRITER.1);
    assert!(locked.contains("too many failed logins"), "{locked}");
}

#[test]
fn connections_logging_in_are_capped_at_sixteen_across_addresses() {
    let mom = mom();
    account(&mom, WRITER, true, true);
    let addr: SocketAddr = mom.listener("maxi");
    // Logged in, the connection that waited for svc-maxi gives its pre-login place back.
    let _ready = logged_in(&mom, WRITER);
    // 16 silent connections from 16 addresses take every pre-login place …
    let silent: Vec<std::net::TcpStream> = (0..16u8)
        .map(|i| mom_tests::maxi::tcp_from(addr, [127, 0, 8, i + 1].into()).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    // … so a 17th is refused with its reason, and once they are gone one logs in.
    let (_late, refused) = Maxi::open_from(addr, [127, 0, 8, 100].into(), WRITER.0, WRITER.1);
    assert!(
        refused.contains("errCode=\"ENoMem\"")
            && refused.contains("too many MAXI connections are logging in"),
        "{refused}"
    );
    drop(silent);
    wait("the places are free again", Duration::from_secs(10), || {
        let (_m, open) = Maxi::open_from(addr, [127, 0, 8, 101].into(), WRITER.0, WRITER.1);
        !open.contains("errCode")
    });
}

#[test]
fn a_silent_client_is_closed_after_the_idle_timeout_and_ping_keeps_a_client() {
    let mom = Mom::start(&Options {
        extra: "[maxi]\nidle-timeout-secs = 2\n".into(),
        ..Options::default()
    });
    account(&mom, WRITER, true, true);
    let mut silent = logged_in(&mom, WRITER);
    let mut pinging = logged_in(&mom, WRITER);
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(4) {
        assert!(
            pinging.request("<Ping/>").starts_with("<PingResp"),
            "Ping keeps the link"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(
        silent.closed_within(Duration::from_secs(2)),
        "the silent client is closed"
    );
}
