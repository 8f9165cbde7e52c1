//! Logins and sessions: the EULA and the first password, read-only accounts, the login
//! throttle under floods over HTTP/1.1 and HTTP/2.

use super::*;
use mom_tests::web::{Offer, Web};
use serde_json::json;
use std::time::{Duration, Instant};

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
fn a_password_reset_at_the_console_reaches_an_open_session_at_once() {
    // svc-web's session check keeps the accounts it read until the store's change feed says
    // they changed: a reset made by another process (the console) must reach a session
    // that is already open, with no store read of svc-web's own to notice it.
    let (mom, web) = admin();
    for _ in 0..3 {
        assert_eq!(web.get("/api/v1/users").status, 200);
    }
    let reset = mom.cli(&["reset-password", "mom"]);
    assert!(reset.status.success(), "{reset:?}");
    let started = Instant::now();
    loop {
        let answer = web.get("/api/v1/users");
        if answer.status == 403 {
            assert_eq!(answer.code(), "password_change_required");
            break;
        }
        assert_eq!(answer.status, 200);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "the open session still works 2 s after the reset"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    println!("reset reached the session after {:?}", started.elapsed());
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
