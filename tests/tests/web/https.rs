//! The HTTPS server itself: HTTP/2 and the redirect, security headers, the security level and
//! the certificate, connection limits and timeouts, and the UI served from the binary.

use super::*;
use mom_tests::web::{raw_tls, Offer, Web};
use mom_tests::{Mom, Options};
use serde_json::json;
use std::time::{Duration, Instant};

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
