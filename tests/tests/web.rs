//! End-to-end tests of svc-web: the real MOM, a real HTTPS client (rustls, HTTP/2 and
//! HTTP/1.1), real sessions, and the store behind them.

use axi::record::AxiRecord;
use mom_tests::web::{raw_tls, Offer, Web};
use mom_tests::{Mom, Options};
use serde_json::json;
use std::time::{Duration, Instant};

const PASSWORD: &str = "Blau.Wal42";

fn start() -> (Mom, Web) {
    let mom = Mom::start(&Options::default());
    let web = Web::when_ready(mom.listener("https"));
    (mom, web)
}

/// A logged-in administrator on a MOM past its first login.
fn admin() -> (Mom, Web) {
    let (mom, mut web) = start();
    web.first_login(PASSWORD);
    (mom, web)
}

#[test]
fn first_login_needs_the_eula_and_a_new_password_and_the_cookie_is_locked_down() {
    let (_mom, mut web) = start();
    assert_eq!(web.get("/api/v1/settings").code(), "not_logged_in");
    let wrong = web.login("mom", "nope");
    assert_eq!((wrong.status, wrong.code()), (401, "wrong_password"));

    let login = web.login("mom", "mom");
    assert_eq!(login.status, 200, "{}", login.text);
    let cookie = login.header("set-cookie");
    for flag in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(flag), "cookie {cookie:?} lacks {flag}");
    }
    assert_eq!(login.json["eula_required"], true);
    assert_eq!(login.json["password_change_required"], true);

    // Nothing else before the EULA, then nothing else before the new password.
    assert_eq!(web.get("/api/v1/settings").code(), "eula_required");
    let eula = web.get("/api/v1/eula");
    assert!(eula.json["text"].as_str().unwrap().contains("License"));
    assert_eq!(
        web.send("POST", "/api/v1/eula/accept", None).json["accepted"],
        true
    );
    assert_eq!(
        web.get("/api/v1/settings").code(),
        "password_change_required"
    );

    // The rules, each named; the old password must be right.
    let weak = web.send(
        "POST",
        "/api/v1/session/password",
        Some(&json!({"old_password": "mom", "new_password": "qwerty"})),
    );
    assert_eq!((weak.status, weak.code()), (422, "password_rules"));
    assert!(weak.json["message"]
        .as_str()
        .unwrap()
        .contains("adjoining keystrokes"));
    let rules = web.send(
        "POST",
        "/api/v1/password-rules",
        Some(&json!({"password": "mom"})),
    );
    let broken: Vec<&str> = rules
        .json
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["met"] == false)
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert_eq!(
        broken,
        [
            "length",
            "character_groups",
            "repeated_character",
            "account_name"
        ]
    );
    // A password near the body limit is refused by its length at once, and requests at
    // the same time are not held up (the rules are linear and stop at the limit).
    let huge = "Aa1#".repeat(250_000);
    let started = Instant::now();
    let (long_rules, long_change) = std::thread::scope(|scope| {
        let rules = scope.spawn(|| {
            web.send(
                "POST",
                "/api/v1/password-rules",
                Some(&json!({"password": huge})),
            )
        });
        let change = scope.spawn(|| {
            web.send(
                "POST",
                "/api/v1/session/password",
                Some(&json!({"old_password": "mom", "new_password": huge})),
            )
        });
        (rules.join().unwrap(), change.join().unwrap())
    });
    let took = started.elapsed();
    let long_broken: Vec<&str> = long_rules
        .json
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["met"] == false)
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert_eq!(long_broken, ["max_length"]);
    assert_eq!(
        (long_change.status, long_change.code()),
        (422, "password_rules"),
        "{}",
        long_change.text
    );
    assert!(long_change.message().contains("at most 128 characters"));
    assert!(took < Duration::from_secs(2), "{took:?}");
    let wrong_old = web.send(
        "POST",
        "/api/v1/session/password",
        Some(&json!({"old_password": "mum", "new_password": PASSWORD})),
    );
    // The session stays: 403 with the reason, not 401 (which would end it in the UI).
    assert_eq!(
        (wrong_old.status, wrong_old.code()),
        (403, "wrong_previous_password")
    );
    assert_eq!(wrong_old.message(), "the previous password is wrong");
    let changed = web.send(
        "POST",
        "/api/v1/session/password",
        Some(&json!({"old_password": "mom", "new_password": PASSWORD})),
    );
    assert_eq!(changed.status, 204, "{}", changed.text);
    assert_eq!(web.get("/api/v1/settings").status, 200);

    // CSRF: a state-changing request without the token (or with a wrong one) is refused.
    let csrf = web.csrf.take();
    let refused = web.send(
        "PATCH",
        "/api/v1/settings",
        Some(&json!({"system_name": "X"})),
    );
    assert_eq!((refused.status, refused.code()), (403, "csrf"));
    web.csrf = Some("wrong".into());
    assert_eq!(
        web.send(
            "PATCH",
            "/api/v1/settings",
            Some(&json!({"system_name": "X"}))
        )
        .code(),
        "csrf"
    );
    web.csrf = csrf;
    assert_eq!(
        web.get("/api/v1/settings").json["system_name"],
        "MOM",
        "nothing changed"
    );
    let renamed = web.send(
        "PATCH",
        "/api/v1/settings",
        Some(&json!({"system_name": "Klinikum"})),
    );
    assert_eq!(renamed.json["system_name"], "Klinikum");
    assert_eq!(web.get("/api/v1/banner").json["system_name"], "Klinikum");

    // The old password no longer logs in; logout ends the session.
    assert_eq!(web.login("mom", "mom").code(), "wrong_password");
    assert_eq!(web.login("mom", PASSWORD).status, 200);
    assert_eq!(web.send("DELETE", "/api/v1/session", None).status, 204);
    assert_eq!(web.get("/api/v1/session").code(), "session_expired");
}

#[test]
fn a_read_only_account_reads_everything_and_writes_nothing() {
    let (_mom, web) = admin();
    let created = web.send(
        "POST",
        "/api/v1/accounts",
        Some(&json!({"name": "viewer", "password": "Lesen#2024x", "write": false})),
    );
    assert_eq!(created.status, 201, "{}", created.text);
    let weak = web.send(
        "POST",
        "/api/v1/accounts",
        Some(&json!({"name": "x2", "password": "abc"})),
    );
    assert_eq!(weak.code(), "password_rules");
    let user = web.send("POST", "/api/v1/users", Some(&json!(user_json("1001"))));
    assert_eq!(user.status, 201, "{}", user.text);
    let uid = user.json["id"].as_u64().unwrap();

    let mut viewer = Web::new(_mom.listener("https"), Offer::Any);
    // Made by an administrator: its user replaces the password at the first login.
    let first = viewer.login("viewer", "Lesen#2024x");
    assert_eq!(
        viewer.get("/api/v1/users").code(),
        "password_change_required"
    );
    assert_eq!(first.json["password_change_required"], true);
    viewer.login_replacing("viewer", "Lesen#2024x", "Lesen#2025y");
    for path in [
        "/api/v1/health",
        "/api/v1/settings",
        "/api/v1/security",
        "/api/v1/certificate",
        "/api/v1/license",
        "/api/v1/accounts",
        "/api/v1/omms",
        "/api/v1/users",
        "/api/v1/devices",
        "/api/v1/conference-rooms",
        "/api/v1/statistics",
        "/api/v1/event-log",
        "/api/v1/conflicts",
    ] {
        assert_eq!(viewer.get(path).status, 200, "{path}");
    }
    let writes: Vec<(&str, String, serde_json::Value)> = vec![
        (
            "PATCH",
            "/api/v1/settings".into(),
            json!({"system_name": "x"}),
        ),
        (
            "POST",
            "/api/v1/accounts".into(),
            json!({"name": "y", "password": "Lesen#2024y"}),
        ),
        (
            "PATCH",
            "/api/v1/accounts/0".into(),
            json!({"write": false}),
        ),
        ("DELETE", "/api/v1/accounts/0".into(), json!(null)),
        ("POST", "/api/v1/omms".into(), json!({})),
        ("POST", "/api/v1/users".into(), json!(user_json("1002"))),
        (
            "PATCH",
            format!("/api/v1/users/{uid}"),
            json!({"name": "x"}),
        ),
        ("DELETE", format!("/api/v1/users/{uid}"), json!(null)),
        (
            "PUT",
            "/api/v1/certificate".into(),
            json!({"certificate_pem": "", "key_pem": ""}),
        ),
        (
            "POST",
            "/api/v1/certificate/self-signed".into(),
            json!(null),
        ),
        ("POST", "/api/v1/license".into(), json!({"file": "x"})),
        ("DELETE", "/api/v1/statistics".into(), json!(null)),
        ("POST", "/api/v1/conference-rooms".into(), json!({})),
        (
            "PATCH",
            "/api/v1/users".into(),
            json!({"ids": [uid], "changes": {"name": "x"}}),
        ),
        (
            "PATCH",
            "/api/v1/omms".into(),
            json!({"ids": [1], "changes": {"name": "x"}}),
        ),
        (
            "POST",
            format!("/api/v1/users/{uid}/copy"),
            json!({"num": "1003"}),
        ),
        (
            "POST",
            "/api/v1/fixed-pairs".into(),
            json!({"user": {}, "device": {}}),
        ),
        (
            "POST",
            format!("/api/v1/users/{uid}/binding"),
            json!({"ppn": 1, "rel_type": "Fixed"}),
        ),
        (
            "DELETE",
            format!("/api/v1/users/{uid}/binding"),
            json!(null),
        ),
        (
            "PUT",
            format!("/api/v1/users/{uid}/relation"),
            json!({"rel_type": "Fixed"}),
        ),
        (
            "PUT",
            format!("/api/v1/users/{uid}/source"),
            json!({"source": "Internal"}),
        ),
        ("POST", "/api/v1/devices/1/unsubscribe".into(), json!(null)),
        ("DELETE", "/api/v1/event-log".into(), json!(null)),
        ("DELETE", "/api/v1/statistics/x".into(), json!(null)),
        ("GET", "/api/v1/database/export".into(), json!(null)),
        ("POST", "/api/v1/database/import".into(), json!({})),
        (
            "POST",
            "/api/v1/users/import?dry_run=true".into(),
            json!([]),
        ),
        ("POST", "/api/v1/devices/import".into(), json!([])),
    ];
    for (method, path, body) in &writes {
        let body = (!body.is_null()).then_some(body);
        let answer = viewer.send(method, path, body);
        assert_eq!(
            (answer.status, answer.code()),
            (403, "read_only"),
            "{method} {path}: {}",
            answer.text
        );
    }
    assert_eq!(
        web.get(&format!("/api/v1/users/{uid}")).json["name"],
        "User 1001",
        "nothing changed"
    );
}

fn user_json(number: &str) -> serde_json::Value {
    // Every field of a user record, as GET returns it: the API takes records whole.
    let template = serde_json::to_value(model::User::default()).unwrap();
    let mut user = template;
    user["num"] = json!(number);
    user["name"] = json!(format!("User {number}"));
    user
}

#[test]
fn failed_logins_lock_the_account_for_a_while_and_are_counted() {
    let (mom, mut web) = start();
    for _ in 0..5 {
        assert_eq!(web.login("mom", "wrong").code(), "wrong_password");
    }
    let locked = web.login("mom", "mom");
    assert_eq!(
        (locked.status, locked.code()),
        (429, "locked"),
        "the right password waits too"
    );
    assert!(locked.header("retry-after").parse::<u64>().unwrap() >= 1);
    // The metrics need their token (in svc-web's state folder) and show the lockout.
    assert_eq!(web.get("/metrics").status, 401);
    let token = std::fs::read_to_string(mom.state_dir.join("web").join("metrics-token")).unwrap();
    let metrics = web.send_with_token("GET", "/metrics", &token, None);
    assert_eq!(metrics.status, 200);
    assert!(
        metrics.text.contains("mom_web_login_lockouts_total 1"),
        "{}",
        metrics.text
    );
    assert!(metrics
        .text
        .contains("mom_web_logins_total{result=\"wrong_password\"} 5"));
    drop(mom);
}

/// One login over its own HTTP/1.1 connection (TLS), the status of its answer.
fn login_http1(https: std::net::SocketAddr, name: &str, password: &str) -> u16 {
    use std::io::{Read, Write};
    let body = json!({"name": name, "password": password}).to_string();
    let mut tls = mom_tests::web::raw_tls(https);
    write!(
        tls,
        "POST /api/v1/session HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = Vec::new();
    let _ = tls.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer)
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[test]
fn logins_in_flight_count_against_the_throttle_over_http1_and_http2_streams() {
    let (mom, _web) = start();
    let https = mom.listener("https");
    let max = login_throttle::MAX_FAILURES as usize;
    // 60 logins at once on 60 connections; the right password is the last one.
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(60));
    let threads: Vec<_> = (0..60)
        .map(|i| {
            let barrier = std::sync::Arc::clone(&barrier);
            std::thread::spawn(move || {
                let password = if i == 59 { "mom" } else { "wrong" };
                barrier.wait();
                login_http1(https, "mom", password)
            })
        })
        .collect();
    let statuses: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let wrong = statuses.iter().filter(|s| **s == 401).count();
    assert!(
        wrong <= max && statuses.iter().all(|s| matches!(s, 200 | 401 | 429)),
        "at most {max} wrong passwords checked: {statuses:?}"
    );
    assert!(statuses.contains(&429), "{statuses:?}");

    // 200 streams of one HTTP/2 connection, another address and a padded account name:
    // the same limit.
    let created = mom.store(ipc::api::store::StoreRequest::CreateAccount(
        ipc::api::store::NewAccount {
            name: "ops".into(),
            password: "Blue.Whale-2024".into(),
            enabled: true,
            write: true,
            must_change_password: false,
        },
    ));
    assert!(matches!(
        created,
        ipc::api::store::StoreResponse::Created(_)
    ));
    let other = Web::from_source(https, [127, 0, 0, 77].into());
    let mut logins: Vec<(&str, &str)> = (0..199)
        .map(|i| (if i % 2 == 0 { " ops" } else { "OPS\t" }, "wrong"))
        .collect();
    logins.push(("ops", "Blue.Whale-2024"));
    let statuses = other.logins_at_once(&logins);
    let wrong = statuses.iter().filter(|s| **s == 401).count();
    assert!(
        wrong <= max && statuses.iter().filter(|s| **s == 429).count() >= 190,
        "at most {max} wrong passwords checked: {statuses:?}"
    );
    // The account is locked now, whatever its name's padding, from any address.
    let third = Web::from_source(https, [127, 0, 0, 78].into());
    assert_eq!(
        third.logins_at_once(&[(" ops ", "Blue.Whale-2024")]),
        vec![429]
    );
}

/// 512 wrong logins in flight at once from 128 addresses, 4 each, as `name(address,
/// login)` names them; svc-store's resident memory (idle, peak) in kB and the statuses.
fn login_flood(name: impl Fn(usize, usize) -> String + Sync) -> (u64, u64, Vec<u16>) {
    let (mom, _web) = start();
    let https = mom.listener("https");
    let store_pid = mom.service("store").pid.unwrap();
    let clients: Vec<Web> = (0..128u8)
        .map(|i| Web::from_source(https, [127, 0, 1, i + 1].into()))
        .collect();
    let idle = mom_tests::rss_kb(store_pid);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let stop = std::sync::Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut peak = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(mom_tests::rss_kb(store_pid));
                std::thread::sleep(Duration::from_millis(20));
            }
            peak
        })
    };
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(clients.len()));
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let threads: Vec<_> = clients
            .iter()
            .enumerate()
            .map(|(i, client)| {
                let barrier = std::sync::Arc::clone(&barrier);
                let name = &name;
                scope.spawn(move || {
                    let names: Vec<String> = (0..4).map(|j| name(i, j)).collect();
                    let logins: Vec<(&str, &str)> =
                        names.iter().map(|n| (n.as_str(), "guess")).collect();
                    barrier.wait();
                    client.logins_at_once(&logins)
                })
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect()
    });
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let peak = sampler.join().unwrap();
    let after = mom_tests::rss_kb(store_pid);
    eprintln!("login flood: svc-store idle {idle} kB, peak {peak} kB, after {after} kB");
    assert!(mom.login("mom", "mom").is_some(), "it still checks logins");
    (idle, peak, statuses)
}

#[test]
fn logins_with_passwords_at_the_body_limit_are_answered_at_once() {
    let (mom, _web) = start();
    // Four logins of about 1 MB each (the body limit is 1 MiB) at once on one HTTP/2
    // connection: each is checked (Argon2 reads a long password once) and refused.
    let huge = "x".repeat(1_000_000);
    let client = Web::from_source(mom.listener("https"), [127, 0, 9, 1].into());
    let started = Instant::now();
    let statuses = client.logins_at_once(&[("mom", huge.as_str()); 4]);
    assert_eq!(statuses, vec![401; 4]);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_flood_of_logins_with_other_names_keeps_the_store_memory_bounded() {
    // Every name another (unknown names cost a check too), under the throttle's per-key
    // limit: every login reaches the store.
    let (idle, peak, statuses) = login_flood(|i, j| format!("user-{i}-{j}"));
    // Wrong (401) or refused while the checks are full (503 with Retry-After); never more.
    assert!(
        statuses.iter().all(|s| matches!(s, 401 | 503)),
        "{statuses:?}"
    );
    // The stated ceiling (README): two checks at a time, about 19 MiB each.
    let ceiling_kb = idle + 96 * 1024;
    assert!(
        peak < ceiling_kb,
        "svc-store peaked at {peak} kB, idle {idle} kB (ceiling {ceiling_kb} kB)"
    );
}

#[test]
fn a_flood_of_logins_of_one_account_checks_five_and_keeps_the_store_memory_bounded() {
    let (idle, peak, statuses) = login_flood(|_, _| "mom".into());
    let wrong = statuses.iter().filter(|s| **s == 401).count();
    assert!(
        wrong <= login_throttle::MAX_FAILURES as usize
            && statuses.iter().all(|s| matches!(s, 401 | 429)),
        "{statuses:?}"
    );
    let ceiling_kb = idle + 96 * 1024;
    assert!(
        peak < ceiling_kb,
        "svc-store peaked at {peak} kB, idle {idle} kB (ceiling {ceiling_kb} kB)"
    );
}

/// The head of an HTTP/1.1 answer to `request` (sent as is on a new TLS connection).
fn http1_head(https: std::net::SocketAddr, request: &str) -> String {
    use std::io::{Read, Write};
    let mut tls = mom_tests::web::raw_tls(https);
    tls.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = tls.read(&mut buf) {
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
        if answer.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    String::from_utf8_lossy(&answer).to_lowercase()
}

#[test]
fn a_refusal_before_the_body_is_read_says_connection_close() {
    let (mom, _web) = start();
    let https = mom.listener("https");
    let body = r#"{"name":"x"}"#;
    // Not logged in: refused before the body is read.
    let refused = http1_head(
        https,
        &format!("POST /api/v1/session/tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len()),
    );
    assert!(refused.starts_with("http/1.1 401"), "{refused}");
    assert!(refused.contains("connection: close"), "{refused}");
    // A login reads its body: the connection may be kept.
    let login = r#"{"name":"mom","password":"wrong"}"#;
    let read = http1_head(
        https,
        &format!("POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{login}", login.len()),
    );
    assert!(read.starts_with("http/1.1 401"), "{read}");
    assert!(!read.contains("connection: close"), "{read}");
}

#[test]
fn http_redirects_and_https_speaks_http2_with_the_security_headers() {
    let (mom, web) = start();
    let http = mom.listener("http");
    let https = mom.listener("https");
    let mut conn = std::net::TcpStream::connect(http).unwrap();
    use std::io::{Read, Write};
    write!(
        conn,
        "GET /api/v1/version?x=1 HTTP/1.1\r\nHost: localhost:{}\r\nConnection: close\r\n\r\n",
        http.port()
    )
    .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 308"), "{answer}");
    assert!(
        answer.contains(&format!(
            "location: https://localhost:{}/api/v1/version?x=1",
            https.port()
        )),
        "{answer}"
    );
    // A name the MOM does not have is not copied into the redirect.
    let mut conn = std::net::TcpStream::connect(http).unwrap();
    write!(
        conn,
        "GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    assert!(
        answer.contains(&format!("location: https://127.0.0.1:{}/", https.port())),
        "{answer}"
    );

    let version = web.get("/api/v1/version");
    assert_eq!(version.version, reqwest::Version::HTTP_2);
    for (name, value) in [
        ("strict-transport-security", "max-age=31536000"),
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
    ] {
        assert_eq!(version.header(name), value, "{name}");
    }
    let csp = version.header("content-security-policy");
    assert!(
        csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(web.get("/healthz").text, "ok\n");
    let ready = web.get("/readyz");
    assert_eq!((ready.status, &ready.json["store"]), (200, &json!(true)));
    assert_eq!(web.get("/no/such/path").status, 404);
}

#[test]
fn a_security_level_change_reaches_new_connections_and_not_open_ones() {
    let (mom, web) = admin();
    let https = mom.listener("https");
    // High (the default) takes TLS 1.2 with ECDHE AES-GCM, but not TLS 1.2 with ChaCha20.
    assert_eq!(
        Web::new(https, Offer::Tls12Only).get("/healthz").status,
        200,
        "TLS 1.2 with ECDHE AES-GCM at High"
    );
    let chacha = Web::new(https, Offer::Tls12ChaCha);
    assert!(
        chacha.try_send("GET", "/healthz", None).is_err(),
        "TLS 1.2 ChaCha20 refused at High"
    );

    let bad = web.send(
        "PATCH",
        "/api/v1/settings",
        Some(&json!({"tls_level": "Legacy", "ciphers_legacy": {"use_defaults": false, "custom": "ECDHE-RSA-AES128-GCM-SHA256:NO-SUCH"}})),
    );
    assert_eq!((bad.status, bad.code()), (422, "cipher"));
    let message = bad.json["message"].as_str().unwrap();
    assert!(
        message.contains("NO-SUCH") && message.contains("supported: TLS_AES_256_GCM_SHA384"),
        "{message}"
    );
    assert_eq!(
        web.get("/api/v1/settings").json["tls_level"],
        "High",
        "nothing changed"
    );

    // A list with no suite the MOM's certificate (ECDSA) can use would end every
    // handshake: refused, naming why.
    let unusable = web.send(
        "PATCH",
        "/api/v1/settings",
        Some(&json!({"tls_level": "Legacy", "ciphers_legacy": {"use_defaults": false, "custom": "ECDHE-RSA-AES128-GCM-SHA256"}})),
    );
    assert_eq!((unusable.status, unusable.code()), (422, "cipher"));
    assert!(
        unusable.message().contains("certificate"),
        "{}",
        unusable.text
    );
    let legacy = web.send(
        "PATCH",
        "/api/v1/settings",
        Some(&json!({"tls_level": "Legacy"})),
    );
    assert_eq!(legacy.status, 200, "{}", legacy.text);
    let deadline = Instant::now() + Duration::from_secs(10);
    let chacha = Web::new(https, Offer::Tls12ChaCha);
    while chacha.try_send("GET", "/healthz", None).is_err() {
        assert!(
            Instant::now() < deadline,
            "Legacy never reached new connections"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let security = web.get("/api/v1/security");
    assert!(security.json["in_force"]
        .as_str()
        .unwrap()
        .contains("ECDHE-ECDSA-CHACHA20-POLY1305"));
    assert_eq!(security.json["supported"].as_array().unwrap().len(), 9);

    // Back to High: the open ChaCha20 connection keeps working, a new one is refused.
    assert_eq!(
        web.send(
            "PATCH",
            "/api/v1/settings",
            Some(&json!({"tls_level": "High"}))
        )
        .status,
        200
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while Web::new(https, Offer::Tls12ChaCha)
        .try_send("GET", "/healthz", None)
        .is_ok()
    {
        assert!(
            Instant::now() < deadline,
            "High never reached new connections"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        chacha.get("/healthz").status,
        200,
        "the open connection was kept"
    );

    // The console's way back to the defaults.
    assert_eq!(
        web.send(
            "PATCH",
            "/api/v1/settings",
            Some(&json!({"tls_level": "Medium", "ciphers_medium": {"use_defaults": false, "custom": "TLS_AES_128_GCM_SHA256"}}))
        )
        .status,
        200
    );
    let reset = mom.cli(&["settings", "tls-defaults"]);
    assert!(reset.status.success(), "{reset:?}");
    let settings = web.get("/api/v1/settings").json;
    assert_eq!(settings["tls_level"], "High");
    assert_eq!(settings["ciphers_medium"]["use_defaults"], true);
}

#[test]
fn the_certificate_is_checked_before_it_replaces_the_old_one() {
    let (mom, web) = admin();
    let shown = web.get("/api/v1/certificate");
    assert_eq!(shown.json["self_signed"], true);
    assert_eq!(
        web.server_fingerprint().unwrap(),
        shown.json["sha256_fingerprint"].as_str().unwrap(),
        "the API shows the certificate the server presents"
    );
    let a = rcgen::generate_simple_self_signed(vec!["a.example".into()]).unwrap();
    let b = rcgen::generate_simple_self_signed(vec!["b.example".into()]).unwrap();
    let mismatch = web.send(
        "PUT",
        "/api/v1/certificate",
        Some(&json!({"certificate_pem": a.cert.pem(), "key_pem": b.signing_key.serialize_pem()})),
    );
    assert_eq!((mismatch.status, mismatch.code()), (422, "certificate"));
    assert!(mismatch.json["message"]
        .as_str()
        .unwrap()
        .contains("does not belong"));
    let garbage = web.send(
        "PUT",
        "/api/v1/certificate",
        Some(&json!({"certificate_pem": "junk", "key_pem": "junk"})),
    );
    assert_eq!(garbage.code(), "certificate");
    assert_eq!(
        web.get("/api/v1/certificate").json,
        shown.json,
        "nothing replaced"
    );

    let uploaded = web.send(
        "PUT",
        "/api/v1/certificate",
        Some(&json!({"certificate_pem": a.cert.pem(), "key_pem": a.signing_key.serialize_pem()})),
    );
    assert_eq!(uploaded.status, 200, "{}", uploaded.text);
    let fresh = Web::new(mom.listener("https"), Offer::Any);
    assert_eq!(fresh.get("/healthz").status, 200);
    assert_eq!(
        fresh.server_fingerprint().unwrap(),
        uploaded.json["sha256_fingerprint"].as_str().unwrap(),
        "a new connection gets the uploaded certificate"
    );
    let renewed = web.send("POST", "/api/v1/certificate/self-signed", None);
    assert_eq!(renewed.json["self_signed"], true);
    assert_ne!(
        renewed.json["sha256_fingerprint"],
        shown.json["sha256_fingerprint"]
    );
}

#[test]
fn bad_input_gets_a_clear_error_and_changes_nothing() {
    let (_mom, web) = admin();
    let malformed = web.send_raw(
        "POST",
        "/api/v1/users",
        "application/json",
        b"{\"num\": ".to_vec(),
    );
    assert_eq!(
        (malformed.status, malformed.code()),
        (400, "malformed_json")
    );
    let not_json = web.send_raw("POST", "/api/v1/users", "text/plain", b"x".to_vec());
    assert_eq!(not_json.status, 415);
    let mut user = user_json("2001");
    user["num"] = json!(17);
    let wrong_type = web.send("POST", "/api/v1/users", Some(&user));
    assert_eq!(
        (wrong_type.status, wrong_type.code()),
        (422, "invalid_json_value")
    );
    let mut user = user_json("2001");
    user["colour"] = json!("blue");
    let unknown = web.send("POST", "/api/v1/users", Some(&user));
    assert_eq!(
        (unknown.status, unknown.message()),
        (422, "unknown field `colour`".to_owned())
    );
    let oversize = web.send_raw(
        "POST",
        "/api/v1/users",
        "application/json",
        vec![b' '; 2 * 1024 * 1024],
    );
    assert_eq!(oversize.status, 413);
    assert_eq!(web.get("/api/v1/users?limit=5000").code(), "bad_request");
    assert_eq!(
        web.get("/api/v1/users?sort=nope&order=asc").code(),
        "bad_query"
    );
    assert_eq!(
        web.get("/api/v1/users").json["total"],
        0,
        "nothing was created"
    );

    // The same user twice: the second is refused by the store's rule, named.
    assert_eq!(
        web.send("POST", "/api/v1/users", Some(&user_json("2001")))
            .status,
        201
    );
    let twice = web.send("POST", "/api/v1/users", Some(&user_json("2001")));
    assert_eq!((twice.status, twice.code()), (409, "duplicate_number"));
    let control = web.send(
        "PATCH",
        "/api/v1/settings",
        Some(&json!({"system_name": "a\u{7}b"})),
    );
    assert_eq!(control.status, 422, "{}", control.text);
    let sari = web.send("PATCH", "/api/v1/settings", Some(&json!({"sari": "x"})));
    assert_eq!(sari.status, 422);

    // A sorted, filtered page and column selection.
    for n in ["2003", "2002"] {
        assert_eq!(
            web.send("POST", "/api/v1/users", Some(&user_json(n)))
                .status,
            201
        );
    }
    let page =
        web.get("/api/v1/users?sort=num&order=desc&filter=num:starts:200&columns=uid,num&limit=2");
    assert_eq!(page.json["total"], 3);
    let nums: Vec<&str> = page.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["num"].as_str().unwrap())
        .collect();
    assert_eq!(nums, ["2003", "2002"]);
    assert_eq!(page.json["items"][0].as_object().unwrap().len(), 2);
}

#[test]
fn the_openapi_document_covers_the_api() {
    let (_mom, web) = start();
    let doc = web.get("/api/v1/openapi.json");
    assert_eq!(
        doc.json["openapi"].as_str().unwrap().chars().next(),
        Some('3')
    );
    let paths = doc.json["paths"].as_object().unwrap();
    for path in [
        "/api/v1/session",
        "/api/v1/users",
        "/api/v1/users/{uid}",
        "/api/v1/devices",
        "/api/v1/omms",
        "/api/v1/accounts",
        "/api/v1/settings",
        "/api/v1/security",
        "/api/v1/certificate",
        "/api/v1/license",
        "/api/v1/statistics",
        "/api/v1/event-log",
        "/api/v1/conference-rooms",
    ] {
        assert!(paths.contains_key(path), "{path} missing");
    }
    assert!(doc.json["components"]["schemas"]["User"].is_object());
}

#[test]
fn statistics_show_every_counter_by_name_a_gauge_is_not_cleared_and_an_unsaved_template_is_checked()
{
    let (_mom, web) = admin();
    // Every counter of the catalogue, by the guide's words, zero before anything counted.
    let counters = web.get("/api/v1/statistics").json;
    let requests = counters
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "maxi.requests")
        .expect("the MAXI requests counter");
    assert_eq!(
        (&requests["label"], &requests["value"]),
        (&json!("MAXI: Total number of client requests"), &json!(0))
    );
    // A gauge shows the current state: clearing it is refused, in words.
    let gauge = web.send("DELETE", "/api/v1/statistics/axi.links_up", None);
    assert_eq!(
        (gauge.status, gauge.message()),
        (
            422,
            "OMM links up shows the current state and cannot be cleared".to_owned()
        )
    );
    // The editor's Check reads the text it is sent, and saves nothing.
    let before = web.get("/api/v1/provisioning/template").text;
    let checked = web.send_raw(
        "POST",
        "/api/v1/provisioning/lint",
        "text/plain",
        b"<SetBroken name=\"x\"\n".to_vec(),
    );
    assert_eq!(checked.status, 200, "{}", checked.text);
    assert!(
        checked.json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "not_well_formed"),
        "{}",
        checked.text
    );
    assert_eq!(web.get("/api/v1/provisioning/template").text, before);
    // A secrets key header that is not text is refused before anything is imported.
    let bad_key = web.send_with(
        "POST",
        "/api/v1/database/import",
        &[
            ("content-type", "application/octet-stream".into()),
            ("x-secrets-key", "k\u{e9}y".into()),
        ],
        vec![0; 64],
    );
    assert_eq!(
        (bad_key.status, bad_key.message()),
        (400, "the secrets key is not text".to_owned())
    );
}

#[test]
fn a_second_factor_and_api_tokens() {
    let (mom, mut web) = admin();
    let enrol = web.send("POST", "/api/v1/session/second-factor", None);
    let secret = enrol.json["secret"].as_str().unwrap().to_owned();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let code = svc_web::second_factor::SecondFactors::code_at(&secret, now).unwrap();
    assert_eq!(
        web.send(
            "POST",
            "/api/v1/session/second-factor/confirm",
            Some(&json!({"code": code}))
        )
        .status,
        204
    );
    // The secret is sealed in svc-web's state file, with a key of its own beside it.
    let state = mom.state_dir.join("web");
    let file = std::fs::read_to_string(state.join("second-factor.json")).unwrap();
    assert!(
        !file.contains(&secret) && file.contains("sealed:1:"),
        "{file}"
    );
    assert!(state.join("secrets.key").exists());
    let without = web.login("mom", PASSWORD);
    assert_eq!(
        (without.status, without.code()),
        (401, "second_factor_required")
    );
    // MAXI cannot ask for the code: the account's password alone does not open it.
    let maxi = mom.listener("maxi");
    let mut m = loop {
        if let Ok(m) = mom_tests::maxi::Maxi::try_tls(maxi) {
            break m;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let refused = m.open("mom", PASSWORD);
    assert!(
        refused.contains("errCode=\"EAuth\"") && refused.contains("authenticator app"),
        "{refused}"
    );
    let next = svc_web::second_factor::SecondFactors::code_at(&secret, now + 30).unwrap();
    let with = web.send(
        "POST",
        "/api/v1/session",
        Some(&json!({"name": "mom", "password": PASSWORD, "code": next})),
    );
    assert_eq!(with.status, 200, "{}", with.text);
    web.take_session(&with);

    let token = web.send(
        "POST",
        "/api/v1/session/tokens",
        Some(&json!({"name": "backup script"})),
    );
    assert_eq!(token.status, 201);
    let secret = token.json["secret"].as_str().unwrap().to_owned();
    let id = token.json["token"]["id"].as_u64().unwrap();
    let script = Web::new(mom.listener("https"), Offer::Any);
    let bearer = |method: &str, path: &str, body: Option<serde_json::Value>| {
        script.send_with_token(method, path, &secret, body.as_ref())
    };
    assert_eq!(bearer("GET", "/api/v1/users", None).status, 200);
    assert_eq!(
        bearer(
            "PATCH",
            "/api/v1/settings",
            Some(json!({"system_name": "Script"}))
        )
        .status,
        200,
        "no CSRF for tokens"
    );
    // A token cannot make tokens; it expires; an administrator sees and revokes it.
    assert_eq!(
        bearer(
            "POST",
            "/api/v1/session/tokens",
            Some(json!({"name": "from a token"}))
        )
        .code(),
        "token_cannot_make_tokens"
    );
    let listed = web.get("/api/v1/accounts/0/tokens").json;
    let entry = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .expect("listed for administrators")
        .clone();
    assert_eq!(
        entry["expires"].as_u64().unwrap() - entry["created"].as_u64().unwrap(),
        90 * 24 * 3600
    );
    assert_eq!(
        web.send("DELETE", &format!("/api/v1/accounts/0/tokens/{id}"), None)
            .status,
        204
    );
    assert_eq!(bearer("GET", "/api/v1/users", None).code(), "invalid_token");
    assert_eq!(
        web.send("DELETE", &format!("/api/v1/session/tokens/{id}"), None)
            .code(),
        "not_found"
    );

    // A password change revokes the account's tokens.
    let secret = web.new_token("nightly");
    assert_eq!(
        script
            .send_with_token("GET", "/api/v1/users", &secret, None)
            .status,
        200
    );
    let changed = web.send(
        "POST",
        "/api/v1/session/password",
        Some(&json!({"old_password": PASSWORD, "new_password": "Neues.Pass#2025"})),
    );
    assert_eq!(changed.status, 204, "{}", changed.text);
    assert_eq!(
        script
            .send_with_token("GET", "/api/v1/users", &secret, None)
            .code(),
        "invalid_token"
    );

    // Wrong codes count; asking again without a code (the right password) resets nothing.
    let attempt = |code: Option<&str>| {
        web.send(
            "POST",
            "/api/v1/session",
            Some(&json!({"name": "mom", "password": "Neues.Pass#2025", "code": code})),
        )
    };
    for _ in 0..4 {
        assert_eq!(attempt(Some("000000")).code(), "wrong_code");
    }
    assert_eq!(attempt(None).code(), "second_factor_required");
    assert_eq!(attempt(Some("000000")).code(), "wrong_code");
    assert_eq!(attempt(Some("000000")).code(), "locked");
}

#[test]
fn svc_web_killed_comes_back_at_once_and_the_session_still_works() {
    let (mom, web) = admin();
    let pid = mom.service("web").pid.unwrap();
    mom_tests::signal(pid, nix::sys::signal::Signal::SIGKILL);
    let killed = Instant::now();
    let deadline = killed + Duration::from_secs(10);
    loop {
        let fresh = Web::new(mom.listener("https"), Offer::Any);
        if fresh
            .try_send("GET", "/healthz", None)
            .is_ok_and(|a| a.status == 200)
        {
            break;
        }
        assert!(Instant::now() < deadline, "svc-web did not come back");
        std::thread::sleep(Duration::from_millis(20));
    }
    let back = killed.elapsed();
    eprintln!("svc-web serving again {back:?} after kill -9");
    assert_ne!(mom.service("web").pid.unwrap(), pid);
    let mut again = Web::new(mom.listener("https"), Offer::Any);
    again.cookie = web.cookie.clone();
    again.csrf = web.csrf.clone();
    let session = again.get("/api/v1/session");
    assert_eq!(session.status, 200, "{}", session.text);
    assert_eq!(session.json["account"], "mom");
    assert_eq!(
        again
            .send(
                "PATCH",
                "/api/v1/settings",
                Some(&json!({"system_name": "After"}))
            )
            .status,
        200
    );
}

/// One simulated OMM (on its own runtime, returned to keep it alive) and a MOM past its
/// first login whose links retry every second.
fn one_omm(
    records: u32,
    tls: impl FnOnce(&mut omm_sim::FleetOptions),
) -> (tokio::runtime::Runtime, omm_sim::Fleet, Mom, Web) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let fleet = rt
        .block_on(omm_sim::Fleet::start({
            let mut options = omm_sim::FleetOptions {
                omms: 1,
                users: records,
                devices: records,
                ..omm_sim::FleetOptions::default()
            };
            tls(&mut options);
            options
        }))
        .unwrap();
    let mom = Mom::start(&Options {
        extra: "[axi]\nretry-secs = 1\nping-secs = 5\n".into(),
        ..Options::default()
    });
    let mut web = Web::when_ready(mom.listener("https"));
    web.first_login(PASSWORD);
    (rt, fleet, mom, web)
}

#[test]
fn a_user_bound_at_the_mom_to_a_handset_at_an_omm_lives_there_bound() {
    // Two users, three handsets at the OMM: the third handset has no user (a self-service
    // subscription tool's new handset).
    let (_rt, fleet, _mom, web) = one_omm(2, |o| o.devices = 3);
    let omm = json!({
        "enabled": true, "name": "Site 1",
        "omm1": format!("127.0.0.1:{}", fleet.omm(1).addr.port()),
        "user": "omm", "password": "omm-password",
    });
    let created = web.send("POST", "/api/v1/omms", Some(&omm));
    assert_eq!(created.status, 201, "{}", created.text);
    let deadline = Instant::now() + Duration::from_secs(30);
    while web.get("/api/v1/devices").json["total"] != 3 {
        assert!(
            Instant::now() < deadline,
            "the OMM's handsets never arrived"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let devices = web.get("/api/v1/devices?limit=50").json;
    let free = devices["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["uid"] == 0)
        .expect("a handset without a user")
        .clone();
    let (ppn, ipei) = (
        free["ppn"].as_u64().unwrap(),
        free["ipei"].as_str().unwrap().to_owned(),
    );
    let user = web.send("POST", "/api/v1/users", Some(&user_json("7700")));
    assert_eq!(user.status, 201, "{}", user.text);
    let uid = user.json["id"].as_u64().unwrap();
    let bound = web.send(
        "POST",
        &format!("/api/v1/users/{uid}/binding"),
        Some(&json!({"ppn": ppn, "rel_type": "Dynamic"})),
    );
    assert!(bound.status < 300, "{}", bound.text);

    // On the OMM: the user, bound to that handset.
    let on_omm = |field: &str| {
        let omm = fleet.omm(1).lock();
        let pp = omm
            .state
            .devices
            .values()
            .find(|d| d.raw("ipei") == Some(ipei.as_str()))?
            .clone();
        let omm_uid: u32 = pp.raw("uid")?.parse().ok()?;
        let user = omm.state.users.get(&omm_uid)?;
        user.raw(field).map(str::to_owned)
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    while on_omm("num").as_deref() != Some("7700") {
        assert!(
            Instant::now() < deadline,
            "the user never reached the handset's OMM"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Later edits follow it there.
    let renamed = web.send(
        "PATCH",
        &format!("/api/v1/users/{uid}"),
        Some(&json!({"name": "Chosen name"})),
    );
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    let deadline = Instant::now() + Duration::from_secs(15);
    while on_omm("name").as_deref() != Some("Chosen name") {
        assert!(Instant::now() < deadline, "the edit never reached the OMM");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Deleting it deletes it there.
    assert_eq!(
        web.send("DELETE", &format!("/api/v1/users/{uid}"), None)
            .status,
        204
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    while fleet
        .omm(1)
        .lock()
        .state
        .users
        .values()
        .any(|u| u.raw("num") == Some("7700"))
    {
        assert!(Instant::now() < deadline, "the user stayed on the OMM");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn live_events_follow_omm_side_edits_resume_by_revision_and_honour_suppression() {
    let (_rt, fleet, _mom, web) = one_omm(5, |_| {});
    let omm = json!({
        "enabled": true, "name": "Site 1",
        "omm1": format!("127.0.0.1:{}", fleet.omm(1).addr.port()),
        "user": "omm", "password": "omm-password",
    });
    let created = web.send("POST", "/api/v1/omms", Some(&omm));
    assert_eq!(created.status, 201, "{}", created.text);
    let omm_id = created.json["id"].as_u64().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while web.get("/api/v1/users").json["total"] != 5
        || web.get(&format!("/api/v1/omms/{omm_id}")).json["health"]["link"] != "Up"
    {
        assert!(Instant::now() < deadline, "the OMM never linked");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        web.get(&format!("/api/v1/omms/{omm_id}")).json["password"],
        "(redacted)",
        "never returned, only that it is set"
    );

    let mut events = web.events("");
    let hello = events.next(Duration::from_secs(5)).expect("hello");
    assert_eq!(hello["type"], "hello");
    let start_rev = hello["rev"].as_u64().unwrap();

    // An edit at the OMM arrives as a user change.
    fleet
        .admin_edit_user(1, 2, "name", "Edited at the OMM")
        .unwrap();
    let change = events
        .wait_for(Duration::from_secs(10), |e| {
            e["type"] == "change" && e["entity"] == "User"
        })
        .expect("the OMM-side edit as an event");
    let uid = change["id"].as_u64().unwrap();
    assert_eq!(
        web.get(&format!("/api/v1/users/{uid}")).json["name"],
        "Edited at the OMM"
    );

    // A second client resuming after the first hello gets the same change replayed.
    let mut resumed = web.events(&format!("?from_rev={start_rev}"));
    assert_eq!(
        resumed.next(Duration::from_secs(5)).unwrap()["type"],
        "hello"
    );
    let replayed = resumed
        .wait_for(Duration::from_secs(5), |e| {
            e["type"] == "change" && e["entity"] == "User"
        })
        .expect("replayed");
    assert_eq!(replayed["rev"], change["rev"]);
    drop(resumed);

    // Suppressed: users and DECT phones are not sent, OMM changes are.
    let set = |mode: &str| {
        let answer = web.send(
            "PATCH",
            "/api/v1/settings",
            Some(&json!({"suppress_table_updates": mode})),
        );
        assert_eq!(answer.status, 200, "{}", answer.text);
    };
    set("UsersDectPhones");
    events
        .wait_for(Duration::from_secs(5), |e| e["entity"] == "Settings")
        .expect("the settings change is always sent");
    fleet
        .admin_edit_user(1, 3, "name", "Quietly edited")
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while web
        .get("/api/v1/users?filter=name:eq:Quietly%20edited")
        .json["total"]
        != 1
    {
        assert!(
            Instant::now() < deadline,
            "the quiet edit never reached the store"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let description = |text: &str| {
        let answer = web.send(
            "PATCH",
            &format!("/api/v1/omms/{omm_id}"),
            Some(&json!({"description": text})),
        );
        assert_eq!(answer.status, 200, "{}", answer.text);
    };
    // The user change reached the store before this OMM change: had it been sent, it would
    // come first.
    description("first");
    let next = events
        .wait_for(Duration::from_secs(10), |e| {
            e["type"] == "change" && e["entity"] != "Settings"
        })
        .expect("the OMM change");
    assert_eq!(
        next["entity"], "Omm",
        "the user change was suppressed: {next}"
    );

    // All: no table change at all, only settings.
    set("All");
    events
        .wait_for(Duration::from_secs(5), |e| e["entity"] == "Settings")
        .unwrap();
    description("second");
    fleet.admin_edit_user(1, 4, "name", "Also quiet").unwrap();
    set("Off");
    let after = events
        .wait_for(Duration::from_secs(5), |e| e["type"] == "change")
        .unwrap();
    assert_eq!(
        after["entity"], "Settings",
        "nothing between the two settings changes: {after}"
    );
}

#[test]
fn an_import_leaves_no_session_token_or_second_factor_acting_as_another_account() {
    // Installation A: account 1 is an administrator.
    let (_a, web_a) = admin();
    let boss = web_a.send(
        "POST",
        "/api/v1/accounts",
        Some(&json!({"name": "boss", "password": "Chef#2024xy", "write": true})),
    );
    assert_eq!(boss.status, 201, "{}", boss.text);
    let export = web_a.get_bytes("/api/v1/database/export");
    assert_eq!(export.0, 200);

    // Installation B: account 1 is read-only, with a session and an API token.
    let (b, web_b) = admin();
    let viewer_id = web_b
        .send(
            "POST",
            "/api/v1/accounts",
            Some(&json!({"name": "viewer", "password": "Lesen#2024x", "write": false})),
        )
        .json["id"]
        .as_u64()
        .unwrap();
    assert_eq!(viewer_id, boss.json["id"].as_u64().unwrap(), "the same id");
    let mut viewer = Web::new(b.listener("https"), Offer::Any);
    viewer.login_replacing("viewer", "Lesen#2024x", "Lesen#2025y");
    let secret = viewer.new_token("viewer script");
    let script = Web::new(b.listener("https"), Offer::Any);
    assert_eq!(
        script
            .send_with_token("GET", "/api/v1/users", &secret, None)
            .status,
        200
    );

    // B imports A's database: id 1 is "boss" now.
    let imported = web_b.send_raw(
        "POST",
        "/api/v1/database/import",
        "application/octet-stream",
        export.1,
    );
    assert_eq!(imported.status, 200, "{}", imported.text);
    // Dropped before the import answered: at once, not when the feed brings the news.
    assert_eq!(viewer.get("/api/v1/session").status, 401);
    let made = viewer.send(
        "POST",
        "/api/v1/accounts",
        Some(&json!({"name": "intruder", "password": "Einbruch#2024"})),
    );
    assert_eq!(made.status, 401, "{}", made.text);
    for (method, path, body) in [
        ("GET", "/api/v1/users", None),
        (
            "POST",
            "/api/v1/accounts",
            Some(json!({"name": "intruder", "password": "Einbruch#2024"})),
        ),
    ] {
        let answer = script.send_with_token(method, path, &secret, body.as_ref());
        assert_eq!(answer.status, 401, "{method} {path}: {}", answer.text);
    }
    // The imported administrator logs in with the imported password; nobody else was made.
    let mut boss = Web::new(b.listener("https"), Offer::Any);
    boss.login_replacing("boss", "Chef#2024xy", "Chef#2025yz");
    let accounts = boss.get("/api/v1/accounts").text;
    assert!(!accounts.contains("intruder"), "{accounts}");
    let log = boss.get("/api/v1/event-log").text;
    assert!(log.contains("database replaced"), "{log}");
}

#[test]
fn a_db_export_reimported_into_a_fresh_mom_gives_the_same_data_and_a_corrupt_one_changes_nothing() {
    let (_a, web) = admin();
    for n in ["3001", "3002", "3003"] {
        let mut user = user_json(n);
        user["pin"] = json!("4711");
        user["sip_pw"] = json!(format!("sip-secret-{n}"));
        assert_eq!(web.send("POST", "/api/v1/users", Some(&user)).status, 201);
    }
    let export = web.get_bytes("/api/v1/database/export");
    assert_eq!(export.0, 200);
    assert!(export.1.len() > 100);
    let users_a = web.get("/api/v1/users?sort=num&order=asc").json;

    let (_b, fresh) = admin();
    let mut corrupt = export.1.clone();
    let mid = corrupt.len() / 2;
    corrupt[mid] ^= 0xff;
    let refused = fresh.send_raw(
        "POST",
        "/api/v1/database/import",
        "application/octet-stream",
        corrupt,
    );
    assert_eq!(
        (refused.status, refused.code()),
        (422, "import_refused"),
        "{}",
        refused.text
    );
    assert_eq!(
        fresh.get("/api/v1/users").json["total"],
        0,
        "nothing replaced"
    );
    let garbage = fresh.send_raw(
        "POST",
        "/api/v1/database/import",
        "application/octet-stream",
        b"not a database".to_vec(),
    );
    assert_eq!(garbage.code(), "import_refused");
    // The PINs and SIP passwords inside are sealed with A's key: without it B refuses the
    // file and says what it needs.
    assert!(!String::from_utf8_lossy(&export.1).contains("sip-secret-3001"));
    let keyless = fresh.send_raw(
        "POST",
        "/api/v1/database/import",
        "application/octet-stream",
        export.1.clone(),
    );
    assert_eq!(
        (keyless.status, keyless.code()),
        (422, "import_refused"),
        "{}",
        keyless.text
    );
    assert!(
        keyless.message().contains("secrets.key"),
        "{}",
        keyless.text
    );
    let key_file = std::fs::read_to_string(_a.state_dir.join("store").join("secrets.key")).unwrap();
    let key_line = key_file.lines().last().unwrap().to_owned();
    let imported = fresh.send_with(
        "POST",
        "/api/v1/database/import",
        &[
            ("content-type", "application/octet-stream".into()),
            ("x-secrets-key", key_line),
        ],
        export.1,
    );
    assert_eq!(imported.status, 200, "{}", imported.text);
    // The import replaced the accounts too: the session's account is the exported one.
    let mut again = Web::new(_b.listener("https"), Offer::Any);
    assert_eq!(again.login("mom", PASSWORD).status, 200);
    let users_b = again.get("/api/v1/users?sort=num&order=asc").json;
    assert_eq!(users_a, users_b);
    let audit = again.get("/api/v1/audit").json;
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "users.create" && e["actor"] == "mom"),
        "the audit trail travels with the export: {audit}"
    );
}

#[test]
fn the_system_dump_and_the_audit_trail_carry_no_secret() {
    let (_mom, web) = admin();
    let mut user = user_json("4001");
    let secrets = [
        "90817263",
        "SipSecret0815",
        "CredSecret42",
        "ServiceSecret9",
    ];
    user["pin"] = json!(secrets[0]);
    user["sip_pw"] = json!(secrets[1]);
    user["credential_pw"] = json!(secrets[2]);
    user["service_auth_password"] = json!(secrets[3]);
    let created = web.send("POST", "/api/v1/users", Some(&user));
    assert_eq!(created.status, 201, "{}", created.text);
    let uid = created.json["id"].as_u64().unwrap();
    // Secrets are never read back; sent back unchanged (redacted), they stay.
    let shown = web.get(&format!("/api/v1/users/{uid}"));
    assert_eq!(shown.json["pin"], "(redacted)");
    let renamed = web.send(
        "PATCH",
        &format!("/api/v1/users/{uid}"),
        Some(&json!({"name": "Renamed", "pin": "(redacted)"})),
    );
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert!(!renamed.text.contains(secrets[0]));
    match _mom.store(ipc::api::store::StoreRequest::GetUser(
        u32::try_from(uid).unwrap(),
    )) {
        ipc::api::store::StoreResponse::User(u) => {
            assert_eq!((u.pin.as_str(), u.name.as_str()), (secrets[0], "Renamed"))
        }
        other => panic!("{other:?}"),
    }
    let omm_secret = "OmmSecretPassword77";
    let omm = web.send(
        "POST",
        "/api/v1/omms",
        Some(
            &json!({"name": "Site", "omm1": "192.0.2.10", "user": "admin", "password": omm_secret}),
        ),
    );
    assert_eq!(omm.status, 201, "{}", omm.text);
    let account_secret = "Zugang#Neu2025";
    assert_eq!(
        web.send(
            "POST",
            "/api/v1/accounts",
            Some(&json!({"name": "ops", "password": account_secret, "write": true}))
        )
        .status,
        201
    );
    let room_secret = "RoomSecret314";
    let room = web.send(
        "POST",
        "/api/v1/conference-rooms",
        Some(&json!({"name": "R", "number": "900", "sip_password": room_secret})),
    );
    assert_eq!(room.status, 201, "{}", room.text);
    let room_id = room.json["id"].as_u64().unwrap();
    // A wrong value is said in words, with the field: not serde's type names.
    let port = web.send(
        "POST",
        "/api/v1/conference-rooms",
        Some(&json!({"name": "P", "number": "901", "fixed_port": 70000})),
    );
    assert_eq!(
        (port.status, port.message()),
        (
            422,
            "fixed port: 70000 is not a whole number from 0 to 65535".to_owned()
        )
    );
    // A room's SIP password is not read back either, by any account; an edit that sends
    // back what it was shown keeps it.
    let rooms = web.get("/api/v1/conference-rooms");
    assert!(!rooms.text.contains(room_secret), "{}", rooms.text);
    assert_eq!(rooms.json[0]["sip_password"], "(redacted)");
    let renamed = web.send(
        "PATCH",
        &format!("/api/v1/conference-rooms/{room_id}"),
        Some(&json!({"name": "Board", "sip_password": "(redacted)"})),
    );
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert!(!renamed.text.contains(room_secret), "{}", renamed.text);
    match _mom.store(ipc::api::store::StoreRequest::ListConferenceRooms) {
        ipc::api::store::StoreResponse::Rooms(r) => assert_eq!(
            (r[0].name.as_str(), r[0].sip_password.as_str()),
            ("Board", room_secret)
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        web.send(
            "POST",
            "/api/v1/accounts",
            Some(&json!({"name": "viewer", "password": "Nur#Lesen2025", "write": false}))
        )
        .status,
        201
    );
    let mut viewer = Web::new(_mom.listener("https"), Offer::Any);
    viewer.login_replacing("viewer", "Nur#Lesen2025", "Nur#Lesen2026x");
    let seen = viewer.get("/api/v1/conference-rooms");
    assert_eq!(seen.status, 200);
    assert!(!seen.text.contains(room_secret), "{}", seen.text);

    let dump = web.get_bytes("/api/v1/system-dump");
    assert_eq!(dump.0, 200);
    let mut text = String::new();
    use std::io::Read;
    flate2::read::GzDecoder::new(dump.1.as_slice())
        .read_to_string(&mut text)
        .unwrap();
    assert!(
        text.contains("==== omms ====") && text.contains("Site"),
        "{text}"
    );
    let key = std::fs::read_to_string(_mom.state_dir.join("web").join("key.pem")).unwrap();
    let key_body: String = key.lines().nth(1).unwrap().to_owned();
    for secret in secrets.iter().chain(&[
        omm_secret,
        account_secret,
        room_secret,
        PASSWORD,
        key_body.as_str(),
    ]) {
        assert!(!text.contains(secret), "the dump contains {secret}");
    }
    let audit = web.get("/api/v1/audit");
    for secret in secrets
        .iter()
        .chain(&[omm_secret, account_secret, room_secret, PASSWORD])
    {
        assert!(
            !audit.text.contains(secret),
            "the audit trail contains {secret}"
        );
    }
    let edit = audit
        .json
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "users.edit")
        .expect("the edit is audited");
    assert_eq!(edit["actor"], "mom");
    assert_eq!(edit["source"], "127.0.0.1");
    assert!(edit["before"].as_str().unwrap().contains("User 4001"));
    assert!(edit["after"].as_str().unwrap().contains("Renamed"));
    assert!(edit["after"].as_str().unwrap().contains("(redacted)"));

    assert_eq!(web.send("DELETE", "/api/v1/event-log", None).status, 204);
    assert!(web
        .get("/api/v1/event-log")
        .json
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn idle_http2_connections_from_many_addresses_keep_no_new_client_out() {
    let mom = Mom::start(&Options {
        extra: "[web]\nheader-timeout-secs = 2\nmax-connections = 24\n".into(),
        ..Options::default()
    });
    let https = mom.listener("https");
    drop(Web::when_ready(https));
    std::thread::sleep(Duration::from_secs(3));
    // Six addresses, four HTTP/2 connections each: every place taken, then idle (their
    // clients keep the connections and answer pings).
    let idle: Vec<Web> = (0..24u8)
        .map(|i| {
            let web = Web::from_source(https, [127, 0, 3, 1 + i / 4].into());
            assert_eq!(web.get("/healthz").status, 200);
            web
        })
        .collect();
    // A client from an address not seen before is served once the idle ones are closed.
    let started = Instant::now();
    let fresh = Web::from_source(https, [127, 0, 4, 1].into());
    let answer = fresh.try_send("GET", "/healthz", None);
    assert!(answer.is_ok(), "{answer:?}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "served after {:?}",
        started.elapsed()
    );
    drop(idle);

    // The plain-HTTP listener caps one address too: 80 idle connections from one address
    // leave it answering another.
    let http = mom.listener("http");
    let hogs: Vec<std::net::TcpStream> = (0..80)
        .filter_map(|_| mom_tests::maxi::tcp_from(http, [127, 0, 5, 1].into()).ok())
        .collect();
    assert!(hogs.len() >= 24);
    let (status, _) = {
        use std::io::{Read, Write};
        let mut other = mom_tests::maxi::tcp_from(http, [127, 0, 5, 2].into()).unwrap();
        other
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        write!(
            other,
            "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        let _ = other.read_to_string(&mut answer);
        (answer.split_whitespace().nth(1).map(str::to_owned), answer)
    };
    assert_eq!(status.as_deref(), Some("308"));
}

#[test]
fn a_live_event_stream_outlives_the_idle_timeout_of_connections() {
    let mom = Mom::start(&Options {
        extra: "[web]\nheader-timeout-secs = 1\n".into(),
        ..Options::default()
    });
    let mut web = Web::when_ready(mom.listener("https"));
    web.first_login(PASSWORD);
    let mut events = web.events("");
    let hello = events.next(Duration::from_secs(5)).expect("hello");
    assert_eq!(hello["type"], "hello");
    // Quiet for three idle timeouts: the upgraded connection is not an idle one.
    std::thread::sleep(Duration::from_secs(3));
    let changed = mom.store(ipc::api::store::StoreRequest::PutUser(model::User {
        num: "4711".into(),
        name: "After the quiet".into(),
        ..model::User::default()
    }));
    assert!(matches!(
        changed,
        ipc::api::store::StoreResponse::Created(_)
    ));
    let change = events
        .wait_for(Duration::from_secs(5), |e| e["entity"] == "User")
        .expect("the stream still delivers");
    assert_eq!(change["op"], "put");
}

#[test]
fn a_slow_download_outlives_the_idle_timeout_of_connections() {
    use std::io::{Read, Write};
    let mom = Mom::start(&Options {
        extra: "[web]\nheader-timeout-secs = 1\n".into(),
        ..Options::default()
    });
    let mut web = Web::when_ready(mom.listener("https"));
    web.first_login(PASSWORD);
    // A firmware image an OMM fetches over a slow link.
    let image: Vec<u8> = (0..4_000_000u32).map(|i| (i % 251) as u8).collect();
    web.put_resource("big.dnld", image.clone());
    let mut tls = raw_tls(mom.listener("https"));
    tls.write_all(b"GET /resources/big.dnld HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    // At most 64 KiB (one TLS record, 16 KiB, in practice) every 100 ms: about 25 s,
    // many idle timeouts.
    let mut got = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match tls.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let body_at = got
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an answer")
        + 4;
    assert_eq!(got.len() - body_at, image.len(), "the whole file arrived");
    assert!(got[body_at..] == image[..]);
}

#[test]
fn slow_clients_oversize_headers_and_the_connection_cap_are_limited() {
    use std::io::{Read, Write};
    let mom = Mom::start(&Options {
        extra: "[web]\nheader-timeout-secs = 1\nmax-connections = 4\n".into(),
        ..Options::default()
    });
    let web = Web::when_ready(mom.listener("https"));
    let https = mom.listener("https");

    // Headers that never finish: the connection is closed after the header timeout.
    let mut slow = raw_tls(https);
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let started = Instant::now();
    let mut rest = Vec::new();
    let _ = slow.read_to_end(&mut rest);
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_secs(5),
        "a slow client held the connection {waited:?}"
    );
    let answer = String::from_utf8_lossy(&rest);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );

    // A head over 64 KiB is refused with 431. The server closes with part of the head
    // unread, so the kernel may reset the connection and drop the answer before the client
    // reads it; a few attempts make sure the 431 itself is seen.
    let header = "x".repeat(70 * 1024);
    let saw_431 = (0..10).any(|_| {
        let mut big = raw_tls(https);
        write!(
            big,
            "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {header}\r\n\r\n"
        )
        .unwrap_or(());
        let mut text = Vec::new();
        let _ = big.read_to_end(&mut text);
        let text = String::from_utf8_lossy(&text);
        assert!(
            text.is_empty() || text.starts_with("HTTP/1.1 431"),
            "{text}"
        );
        !text.is_empty()
    });
    assert!(saw_431, "no 431 answer in ten attempts");

    // Four connections are served at once; the fifth waits until one closes. (The HTTP/2
    // connection of the client above goes first: it stays open while its client lives.)
    drop(web);
    std::thread::sleep(Duration::from_millis(300));
    let held: Vec<_> = (0..4).map(|_| raw_tls(https)).collect();
    let tcp = std::net::TcpStream::connect(https).unwrap();
    tcp.set_read_timeout(Some(Duration::from_millis(700)))
        .unwrap();
    let mut probe = [0u8; 1];
    // The fifth is accepted by the kernel but svc-web does not start its handshake: a TLS
    // client hello gets no answer yet.
    let mut waiting = tcp;
    waiting
        .write_all(&[0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00])
        .unwrap();
    assert!(
        waiting.read(&mut probe).is_err(),
        "the fifth connection was served at once"
    );
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let fresh = Web::new(https, Offer::Any);
        if fresh.try_send("GET", "/healthz", None).is_ok() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "connections were not served again"
        );
    }
}

#[test]
fn changes_through_the_admin_cli_are_in_the_audit_trail_too() {
    let (mom, web) = admin();
    let out = mom.cli(&[
        "omm",
        "add",
        "--name",
        "CLI site",
        "--omm1",
        "192.0.2.20",
        "--user",
        "admin",
        "--password",
        "CliSecret55",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let audit = web.get("/api/v1/audit");
    let entry = audit
        .json
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "cli.PutOmm")
        .unwrap_or_else(|| panic!("no CLI entry in {}", audit.text));
    assert!(entry["actor"].as_str().unwrap().starts_with("cli:"));
    assert_eq!(entry["source"], "local");
    assert!(entry["after"].as_str().unwrap().contains("CLI site"));
    assert!(
        !audit.text.contains("CliSecret55"),
        "the password is redacted"
    );
}

#[test]
fn bulk_import_reports_every_bad_row_and_writes_only_when_asked() {
    let (_mom, web) = admin();
    let csv = "num,name,lang,pin\n5001,Anna,English,97531\n5002,Ben,,\na b,Bad number,,\n5001,Twice,,\n5003,Too,many,cells,here\n";
    let import = |query: &str, body: &str| {
        web.send_raw(
            "POST",
            &format!("/api/v1/users/import?{query}"),
            "text/csv",
            body.as_bytes().to_vec(),
        )
    };
    let dry = import("dry_run=true", csv);
    assert_eq!(dry.status, 200, "{}", dry.text);
    assert_eq!(
        (
            dry.json["rows"].as_u64(),
            dry.json["valid"].as_u64(),
            dry.json["written"].as_bool()
        ),
        (Some(5), Some(2), Some(false))
    );
    let errors: Vec<(u64, &str)> = dry.json["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["row"].as_u64().unwrap(),
                e["error"]["error"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        [(3, "invalid"), (4, "duplicate_in_file"), (5, "invalid")],
        "{}",
        dry.text
    );
    assert_eq!(
        web.get("/api/v1/users").json["total"],
        0,
        "a dry run writes nothing"
    );

    let refused = import("", csv);
    assert_eq!(
        (refused.status, &refused.json["written"]),
        (422, &json!(false))
    );
    assert_eq!(
        web.get("/api/v1/users").json["total"],
        0,
        "bad rows: nothing written"
    );

    let partial = import("partial=true", csv);
    assert_eq!(
        (partial.status, &partial.json["written"]),
        (200, &json!(true)),
        "{}",
        partial.text
    );
    assert_eq!(web.get("/api/v1/users").json["total"], 2);
    let update = import("", "num,name\n5001,Anna Maria\n");
    assert_eq!(
        (
            update.json["updates"].as_u64(),
            update.json["creates"].as_u64()
        ),
        (Some(1), Some(0))
    );
    let anna = web.get("/api/v1/users?filter=num:eq:5001").json;
    assert_eq!(anna["items"][0]["name"], "Anna Maria");
    assert_eq!(
        anna["items"][0]["lang"], "English",
        "fields not in the row stay"
    );
    // A row is checked by the rules the form follows: a PIN is digits only.
    let pin = import("dry_run=true", "num,name,pin\n5009,Pin,12ab\n");
    assert_eq!(pin.json["valid"].as_u64(), Some(0), "{}", pin.text);
    assert!(
        pin.json["errors"][0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("a PIN holds the digits 0 to 9 only"),
        "{}",
        pin.text
    );
    // Cells a spreadsheet would run as a formula are exported as text and read back as
    // they were.
    let formula = import("", "num,name,hierarchy1\n5010,=HYPERLINK(1),+49 30 1234\n");
    assert_eq!(formula.status, 200, "{}", formula.text);
    let exported = web.get("/api/v1/users/export?format=csv").text;
    assert!(
        exported.contains(",'=HYPERLINK(1),") && exported.contains(",'+49 30 1234,"),
        "{exported}"
    );
    let again = import("", &exported);
    assert_eq!(again.status, 200, "{}", again.text);
    let cell = web.get("/api/v1/users?filter=num:eq:5010").json;
    assert_eq!(
        (&cell["items"][0]["name"], &cell["items"][0]["hierarchy1"]),
        (&json!("=HYPERLINK(1)"), &json!("+49 30 1234"))
    );

    let unknown = import("", "num,colour\n1,blue\n");
    assert_eq!(unknown.status, 400);
    assert!(unknown.message().contains("colour"), "{}", unknown.text);

    // No row cap: 3,000 rows in one file.
    let mut big = String::from("num,name\n");
    for i in 0..3000 {
        big.push_str(&format!("{},Bulk {i}\n", 600_000 + i));
    }
    // With progress=true: NDJSON, a progress line per 1,000 rows of each phase, the report last.
    let streamed = import("progress=true", &big);
    assert_eq!(streamed.header("content-type"), "application/x-ndjson");
    let lines: Vec<serde_json::Value> = streamed
        .text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let phases: Vec<(&str, u64)> = lines
        .iter()
        .filter(|l| l["type"] == "progress")
        .map(|l| (l["phase"].as_str().unwrap(), l["done"].as_u64().unwrap()))
        .collect();
    assert!(
        phases.contains(&("writing", 3000)) && phases.contains(&("checking", 1000)),
        "{phases:?}"
    );
    let last = lines.last().unwrap();
    assert_eq!(
        (last["type"].as_str(), last["status"].as_u64()),
        (Some("report"), Some(200))
    );
    assert_eq!(last["report"]["creates"], 3000);

    // Exports: CSV with a header, JSON as an array, secrets redacted.
    let (status, csv_out) = web.get_bytes("/api/v1/users/export?format=csv");
    assert_eq!(status, 200);
    let text = String::from_utf8(csv_out).unwrap();
    assert_eq!(text.lines().count(), 1 + 3003);
    assert!(text.lines().next().unwrap().contains("num"));
    assert!(!text.contains("97531"), "the PIN is not exported");
    assert!(text.contains("(redacted)"));
    let (_, json_out) = web.get_bytes("/api/v1/users/export?format=json");
    let all: Vec<serde_json::Value> = serde_json::from_slice(&json_out).unwrap();
    assert_eq!(all.len(), 3003);
    // An export imports back unchanged (the redacted secrets are kept as they are).
    let again = import(
        "format=json&dry_run=true",
        &String::from_utf8(json_out).unwrap(),
    );
    assert_eq!(
        (again.json["valid"].as_u64(), again.json["updates"].as_u64()),
        (Some(3003), Some(3003)),
        "{}",
        again.text.chars().take(500).collect::<String>()
    );
    let (_, json_out) = web.get_bytes("/api/v1/users/export?format=json");
    let real = import("format=json", &String::from_utf8(json_out).unwrap());
    assert_eq!(
        real.json["written"],
        true,
        "{}",
        real.text.chars().take(300).collect::<String>()
    );
    match _mom.store(ipc::api::store::StoreRequest::GetUserByNumber(
        "5001".into(),
    )) {
        ipc::api::store::StoreResponse::User(u) => {
            assert_eq!(u.pin, "97531", "the PIN survived its redacted round trip")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn fixed_pairs_relations_and_the_overview() {
    let (_mom, web) = admin();
    let pair = web.send(
        "POST",
        "/api/v1/fixed-pairs",
        Some(&json!({"user": {"num": "7001", "name": "Pair"}, "device": {"ipei": "00077 0000001 9"}})),
    );
    assert_eq!(pair.status, 201, "{}", pair.text);
    let (uid, ppn) = (
        pair.json["uid"].as_u64().unwrap(),
        pair.json["ppn"].as_u64().unwrap(),
    );
    let no_ipei = web.send("POST", "/api/v1/devices", Some(&json!({"hw_type": "632d"})));
    assert_eq!(
        (no_ipei.status, no_ipei.message()),
        (
            422,
            "missing field \"ipei\": a DECT phone needs its IPEI".to_owned()
        )
    );
    let bad_ipei = web.send(
        "POST",
        "/api/v1/devices",
        Some(&json!({"ipei": "00077 0000001 3"})),
    );
    assert_eq!(bad_ipei.code(), "invalid_json_value", "{}", bad_ipei.text);
    assert!(
        web.send("POST", "/api/v1/users", Some(&json!({"num": "7002"})))
            .status
            == 201
    );

    let overview = web.get("/api/v1/overview?sort=num&order=asc");
    assert_eq!(overview.json["total"], 2, "{}", overview.text);
    assert_eq!(
        overview.json["items"][0]["device"]["ipei"],
        "00077 0000001 9"
    );
    assert_eq!(overview.json["items"][0]["device"]["ppn"], ppn);
    assert!(overview.json["items"][1]["device"].is_null());
    // The Overview sorts and filters on the phone's columns too; a user without a phone
    // has the phone's defaults there (Device ID 0).
    let nums = |path: &str| -> Vec<String> {
        let page = web.get(path);
        assert_eq!(page.status, 200, "{path}: {}", page.text);
        page.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row["user"]["num"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        nums("/api/v1/overview?sort=device.ipei&order=desc"),
        ["7001", "7002"]
    );
    assert_eq!(
        nums("/api/v1/overview?sort=device.ppn&order=asc"),
        ["7002", "7001"]
    );
    assert_eq!(nums("/api/v1/overview?filter=device.ppn:eq:0"), ["7002"]);
    assert_eq!(
        nums("/api/v1/overview?filter=device.ipei:contains:0000001"),
        ["7001"]
    );
    assert_eq!(
        nums("/api/v1/overview?filter=device.ipei:contains:0000001&filter=num:eq:7002"),
        Vec::<String>::new()
    );
    let unknown = web.get("/api/v1/overview?sort=device.name&order=asc");
    assert_eq!(unknown.status, 400, "{}", unknown.text);
    assert!(
        unknown.message().contains("device.name"),
        "{}",
        unknown.text
    );

    // The admin guide's precondition: only a subscribed handset's relation changes.
    let relation = web.send(
        "PUT",
        &format!("/api/v1/users/{uid}/relation"),
        Some(&json!({"rel_type": "Dynamic"})),
    );
    assert_eq!((relation.status, relation.code()), (409, "relation_change"));
    assert!(
        relation.message().contains("not subscribed"),
        "{}",
        relation.text
    );
    assert_eq!(
        web.get(&format!("/api/v1/users/{uid}")).json["rel_type"],
        "Fixed"
    );
    assert_eq!(
        web.send("DELETE", &format!("/api/v1/users/{uid}/binding"), None)
            .status,
        204
    );
    assert!(web.get("/api/v1/overview?filter=num:eq:7001").json["items"][0]["device"].is_null());
    // The join follows the unbinding at once.
    assert_eq!(
        nums("/api/v1/overview?filter=device.ppn:eq:0"),
        ["7001", "7002"]
    );
    let again = web.send(
        "POST",
        &format!("/api/v1/users/{uid}/binding"),
        Some(&json!({"ppn": ppn, "rel_type": "Fixed"})),
    );
    assert_eq!(again.status, 204, "{}", again.text);
    let wrong = web.send(
        "PUT",
        "/api/v1/users/999999/relation",
        Some(&json!({"rel_type": "Fixed"})),
    );
    assert_eq!(wrong.status, 404, "{}", wrong.text);
    // Multi-edit: each record its own result.
    let multi = web.send(
        "PATCH",
        "/api/v1/users",
        Some(&json!({"ids": [uid, 999_999], "changes": {"hierarchy1": "Ward 3"}})),
    );
    assert_eq!(multi.status, 200, "{}", multi.text);
    assert!(multi.json[0]["error"].is_null(), "{}", multi.text);
    assert_eq!(multi.json[1]["error"]["error"], "not_found");
    assert_eq!(
        web.get(&format!("/api/v1/users/{uid}")).json["hierarchy1"],
        "Ward 3"
    );

    let ids: Vec<u32> = (1..=1001).collect();
    let too_many = web.send(
        "PATCH",
        "/api/v1/users",
        Some(&json!({"ids": ids, "changes": {}})),
    );
    assert_eq!(
        (too_many.status, too_many.code()),
        (400, "bad_request"),
        "a selection is at most a page"
    );

    // Copy: the values of the original, a number of its own, unbound.
    let no_number = web.send(
        "POST",
        &format!("/api/v1/users/{uid}/copy"),
        Some(&json!({})),
    );
    assert_eq!(no_number.status, 422);
    let copy = web.send(
        "POST",
        &format!("/api/v1/users/{uid}/copy"),
        Some(&json!({"num": "7003"})),
    );
    assert_eq!(copy.status, 201, "{}", copy.text);
    let copied = web.get(&format!("/api/v1/users/{}", copy.json["id"]));
    assert_eq!(
        (
            copied.json["name"].as_str(),
            copied.json["rel_type"].as_str(),
            copied.json["ppn"].as_u64()
        ),
        (Some("Pair"), Some("Unbound"), Some(0))
    );
    let same = web.send(
        "POST",
        &format!("/api/v1/users/{uid}/copy"),
        Some(&json!({"num": "7003"})),
    );
    assert_eq!(same.code(), "duplicate_number");
    let not_a_number = web.send("DELETE", "/api/v1/users/abc", None);
    assert_eq!(
        (not_a_number.status, not_a_number.code()),
        (400, "bad_request"),
        "every error is JSON"
    );
}

#[test]
fn the_security_level_reaches_the_omm_links_at_their_next_connect() {
    // An OMM that speaks TLS 1.2 with ECDHE AES-256-GCM only links at the default level.
    let (_rt, fleet, _mom, web) = one_omm(2, |o| o.tls12_only = true);
    let add = |web: &Web, port: u16| {
        let created = web.send(
            "POST",
            "/api/v1/omms",
            Some(
                &json!({"enabled": true, "name": format!("Site {port}"), "user": "omm",
                "password": "omm-password", "omm1": format!("127.0.0.1:{port}")}),
            ),
        );
        created.json["id"].as_u64().unwrap()
    };
    let health = |web: &Web, id: u64| web.get(&format!("/api/v1/omms/{id}")).json["health"].clone();
    let wait_up = |web: &Web, id: u64, what: &str| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while health(web, id)["link"] != "Up" {
            assert!(Instant::now() < deadline, "{what}: {}", health(web, id));
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    assert_eq!(web.get("/api/v1/settings").json["tls_level"], "High");
    let tls12 = add(&web, fleet.omm(1).addr.port());
    wait_up(&web, tls12, "a TLS 1.2 OMM never linked at High");

    // One that offers only ChaCha20 with TLS 1.2 fails at High, and its record says why.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let chacha_fleet = rt
        .block_on(omm_sim::Fleet::start(omm_sim::FleetOptions {
            omms: 1,
            users: 1,
            devices: 1,
            tls12_only: true,
            tls12_chacha_only: true,
            ..omm_sim::FleetOptions::default()
        }))
        .unwrap();
    let chacha = add(&web, chacha_fleet.omm(1).addr.port());
    let deadline = Instant::now() + Duration::from_secs(20);
    while health(&web, chacha)["last_error"]
        .as_str()
        .unwrap_or("")
        .is_empty()
    {
        assert!(Instant::now() < deadline, "the link never failed at High");
        std::thread::sleep(Duration::from_millis(100));
    }
    let why = health(&web, chacha)["last_error"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        why.contains("TLS handshake failed")
            && why.contains(
                "security level High offers TLS 1.3 and TLS 1.2 with TLS_AES_256_GCM_SHA384"
            )
            && why.contains("the OMM chose TLS 1.2 with ECDHE-ECDSA-CHACHA20-POLY1305"),
        "{why}"
    );
    assert_ne!(health(&web, chacha)["link"], "Up");
    let state = web.get("/api/v1/health").text;
    assert!(state.contains("ECDHE-ECDSA-CHACHA20-POLY1305"), "{state}");

    // Legacy allows ChaCha20 with TLS 1.2: the next connect links it.
    assert_eq!(
        web.send(
            "PATCH",
            "/api/v1/settings",
            Some(&json!({"tls_level": "Legacy"}))
        )
        .status,
        200
    );
    wait_up(&web, chacha, "Legacy never reached the OMM link");
}

#[test]
fn the_browser_ui_is_served_from_the_binary_with_etags_and_gzip() {
    let (_mom, web) = start();
    let page = web.get("/");
    assert_eq!(page.status, 200);
    assert!(
        !page.text.contains("not part of this build"),
        "the binaries were built without the UI: run scripts/ui-build, then cargo build"
    );
    assert!(page.header("content-type").starts_with("text/html"));
    assert!(page.text.contains("/ui/app.js"), "{}", page.text);
    assert!(page
        .header("content-security-policy")
        .contains("script-src 'self'"));
    let plain = web.get("/ui/app.js");
    assert_eq!(plain.status, 200);
    assert!(plain.header("content-type").starts_with("text/javascript"));
    assert_eq!(plain.header("cache-control"), "no-cache");
    let etag = plain.header("etag");
    assert!(etag.len() == 66 && etag.starts_with('"'), "{etag}");
    let zipped = web.send_with(
        "GET",
        "/ui/app.js",
        &[("accept-encoding", "gzip".into())],
        Vec::new(),
    );
    assert_eq!(zipped.header("content-encoding"), "gzip");
    let plain_len: usize = plain
        .header("content-length")
        .parse()
        .unwrap_or(plain.text.len());
    let zipped_len: usize = zipped.header("content-length").parse().expect("length");
    assert!(
        zipped_len * 3 < plain_len,
        "gzip {zipped_len} of {plain_len}"
    );
    let again = web.send_with(
        "GET",
        "/ui/app.js",
        &[("if-none-match", etag.clone())],
        Vec::new(),
    );
    assert_eq!(again.status, 304);
    assert!(again.text.is_empty());
    for path in [
        "/ui/missing.js",
        "/ui/index.html",
        "/ui/..%2fCargo.toml",
        "/ui/.gitignore",
    ] {
        let answer = web.get(path);
        assert_eq!(answer.status, 404, "{path}");
        assert_eq!(answer.code(), "not_found", "{path}: {}", answer.text);
    }
}
