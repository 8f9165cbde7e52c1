//! End-to-end tests of the supervisor and svc-store: real processes, real sockets, real LMDB.

use ipc::api::control::ServiceState;
use ipc::api::store::{StoreApi, StoreError, StoreRequest, StoreResponse};
use ipc::{Client, ClientError, ClientOptions, Hello};
use model::{Filter, FilterOp, Query, User};
use mom_tests::{alive, bin, block_on, signal, Mom, Options};
use nix::sys::signal::Signal;
use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

fn user(num: &str) -> User {
    User {
        num: num.into(),
        name: format!("User {num}"),
        ..User::default()
    }
}

fn count_users(mom: &Mom) -> u64 {
    match mom.store(StoreRequest::QueryUsers(Query {
        limit: 1,
        ..Query::default()
    })) {
        StoreResponse::Users(page) => page.total,
        other => panic!("{other:?}"),
    }
}

fn event_texts(mom: &Mom) -> Vec<String> {
    match mom.store(StoreRequest::ListEvents) {
        StoreResponse::Events(e) => e.into_iter().map(|e| e.text).collect(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn store_killed_with_sigkill_loses_no_acknowledged_write_and_clients_reconnect() {
    let mom = Mom::start(&Options::default());
    let first_pid = mom.service("store").pid.expect("store pid");
    let socket = mom.store_socket();
    let acked = block_on(async move {
        let options = ClientOptions {
            request_timeout: Duration::from_secs(10),
            ..ClientOptions::default()
        };
        let (client, _events) =
            Client::<StoreApi>::start(socket, Hello::new("test-writer", 0), options);
        let mut acked: BTreeMap<String, u32> = BTreeMap::new();
        let mut killed_at = None;
        let mut after_restart = 0;
        let mut n = 0u32;
        while after_restart < 50 {
            n += 1;
            let num = format!("{}", 10_000 + n);
            if n == 100 {
                signal(first_pid, Signal::SIGKILL);
                killed_at = Some(Instant::now());
            }
            loop {
                match client.request(StoreRequest::PutUser(user(&num))).await {
                    Ok(StoreResponse::Created(uid)) => {
                        acked.insert(num.clone(), uid);
                        if killed_at.is_some() {
                            after_restart += 1;
                        }
                        break;
                    }
                    // The write was in flight when the store died: it may have committed.
                    Ok(StoreResponse::Error(StoreError::DuplicateNumber(_))) => break,
                    Ok(other) => panic!("unexpected {other:?}"),
                    Err(ClientError::Disconnected | ClientError::Timeout) => {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    Err(e) => panic!("{e}"),
                }
            }
        }
        acked
    });
    // Every acknowledged write is there, with the id the store gave it.
    for (num, uid) in &acked {
        match mom.store(StoreRequest::GetUser(*uid)) {
            StoreResponse::User(u) => assert_eq!(&u.num, num),
            other => panic!("acknowledged user {num} (uid {uid}) lost: {other:?}"),
        }
    }
    assert!(
        acked.len() >= 149,
        "only {} writes acknowledged",
        acked.len()
    );
    let store = mom.service("store");
    assert_eq!(store.state, ServiceState::Running);
    assert_eq!(store.restarts, 1);
    assert_ne!(store.pid, Some(first_pid));
    assert!(store.last_exit.contains("SIGKILL"), "{}", store.last_exit);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let events = event_texts(&mom);
        if events
            .iter()
            .any(|t| t.starts_with("store exited (signal SIGKILL)"))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "restart not in the event log: {events:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_service_crashing_in_a_loop_ends_failed_while_the_store_keeps_serving() {
    let options = Options {
        restart: "min-backoff-ms = 20\nmax-backoff-ms = 60000\nthrottle-ms = 20\nstable-after-secs = 30\nfailure-window-secs = 60\nmax-failures = 3\ngrace-period-ms = 2000\n".into(),
        extra: format!(
            "[[extra-service]]\nname = \"crashy\"\nbinary = {:?}\nuser = \"mom-axi\"\nargs = [\"--name\", \"crashy\", \"--crash-after-ms\", \"30\"]\n",
            bin("mom-test-service")
        ),
        ..Options::default()
    };
    let mom = Mom::start(&options);
    let rows = mom.wait_status("crashy failed", Duration::from_secs(20), |rows| {
        rows.iter()
            .any(|r| r.name == "crashy" && r.state == ServiceState::Failed)
    });
    let crashy = rows.iter().find(|r| r.name == "crashy").unwrap();
    assert!(crashy.restarts >= 3);
    assert_eq!(crashy.last_exit, "exit code 3");
    let store = rows.iter().find(|r| r.name == "store").unwrap();
    assert_eq!((store.state, store.restarts), (ServiceState::Running, 0));
    // The store still serves.
    assert!(matches!(
        mom.store(StoreRequest::PutUser(user("42"))),
        StoreResponse::Created(_)
    ));
    // `status` shows it and exits non-zero.
    let out = mom.cli(&["status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("crashy") && l.contains("failed")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("store") && l.contains("running")),
        "{text}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&mom.cli(&["status", "--json"]).stdout).unwrap();
    assert!(json
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["service"] == "crashy" && r["state"] == "failed"));
    assert!(event_texts(&mom)
        .iter()
        .any(|t| t.starts_with("crashy failed")));
}

#[test]
fn a_store_that_cannot_stay_up_ends_the_daemon_with_an_error() {
    let libexec = tempfile::tempdir().unwrap();
    let fake = libexec.path().join("svc-store");
    let mut f = std::fs::File::create(&fake).unwrap();
    writeln!(f, "#!/bin/sh\nexit 1").unwrap();
    drop(f);
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let options = Options {
        libexec_dir: Some(libexec.path().to_owned()),
        wait_ready: false,
        restart: "min-backoff-ms = 10\nmax-backoff-ms = 100\nthrottle-ms = 10\nstable-after-secs = 30\nfailure-window-secs = 60\nmax-failures = 3\ngrace-period-ms = 500\n".into(),
        ..Options::default()
    };
    let mut mom = Mom::start(&options);
    let status = mom.wait_exit(Duration::from_secs(20));
    assert_eq!(status.code(), Some(1));
}

#[test]
fn sigterm_stops_every_process_within_the_grace_period_and_leaves_no_orphan() {
    let options = Options {
        restart: "min-backoff-ms = 50\nmax-backoff-ms = 2000\nthrottle-ms = 200\nstable-after-secs = 30\nfailure-window-secs = 60\nmax-failures = 5\ngrace-period-ms = 700\n".into(),
        extra: format!(
            "[[extra-service]]\nname = \"stubborn\"\nbinary = {:?}\nuser = \"mom-axi\"\nargs = [\"--name\", \"stubborn\", \"--ignore-sigterm\"]\n",
            bin("mom-test-service")
        ),
        ..Options::default()
    };
    let mut mom = Mom::start(&options);
    let pids: Vec<u32> = mom.status().iter().filter_map(|s| s.pid).collect();
    assert_eq!(
        pids.len(),
        5,
        "store, axi, web, maxi and the stubborn service"
    );
    let started = Instant::now();
    let status = mom.stop(Duration::from_secs(10));
    let took = started.elapsed();
    assert!(status.success(), "{status}");
    assert!(
        took < Duration::from_millis(700 + 1500),
        "shutdown took {took:?}"
    );
    for pid in pids {
        assert!(!alive(pid), "process {pid} outlived the supervisor");
    }
    mom.wait_notification("STOPPING=1", Duration::from_secs(1));
}

#[test]
fn a_hostile_store_client_is_cut_off_and_others_keep_being_served() {
    use std::io::ErrorKind;
    use std::os::unix::net::UnixStream;
    let mom = Mom::start(&Options::default());
    let socket = mom.store_socket();
    let hello = ipc::frame::encode(&Hello::new("hostile", 0), 1024).unwrap();
    // Oversize frame, garbage, leftover bytes, a version from the future, a frame split byte by byte.
    let mut future = Hello::new("future", 0);
    future.proto_version += 1;
    let cases: Vec<Vec<u8>> = vec![
        [hello.clone(), u32::MAX.to_be_bytes().to_vec()].concat(),
        [hello.clone(), vec![0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff]].concat(),
        [hello.clone(), {
            let body = [
                postcard::to_stdvec(&ipc::Envelope {
                    id: 1,
                    body: StoreRequest::CurrentRevision,
                })
                .unwrap(),
                vec![7],
            ]
            .concat();
            [(body.len() as u32).to_be_bytes().to_vec(), body].concat()
        }]
        .concat(),
        ipc::frame::encode(&future, 1024).unwrap(),
        b"GET / HTTP/1.1\r\n\r\n".to_vec(),
    ];
    for bytes in cases {
        let mut s = UnixStream::connect(&socket).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        for b in &bytes {
            // The store may close as soon as it has seen enough (a length over the limit, a
            // foreign hello): the rest of the case then meets a closed socket.
            match s.write_all(&[*b]) {
                Ok(()) => {}
                Err(e)
                    if matches!(e.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset) =>
                {
                    break
                }
                Err(e) => panic!("writing to the store socket: {e}"),
            }
        }
        // The store answers with its hello and then closes the connection.
        let mut rest = Vec::new();
        let _ = std::io::Read::read_to_end(&mut s, &mut rest);
    }
    assert!(matches!(
        mom.store(StoreRequest::CurrentRevision),
        StoreResponse::Revision(_)
    ));
    assert_eq!(mom.service("store").restarts, 0);
}

#[test]
fn an_export_moves_to_another_installation_with_its_secrets_key() {
    let a = Mom::start(&Options::default());
    let StoreResponse::Created(uid) = a.store(StoreRequest::PutUser(User {
        sip_pw: "Sip-Secret-4711".into(),
        ..user("800")
    })) else {
        panic!("user not created")
    };
    let export = a.dir.path().join("a.momdb");
    let out = a.cli(&["db", "export", export.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = a.state_dir.join("store").join("secrets.key");
    let b = Mom::start(&Options::default());
    // Without A's key, B refuses the file and names the key it needs …
    let out = b.cli(&["db", "import", export.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("secrets.key") && err.contains("--secrets-key"),
        "{err}"
    );
    assert_eq!(count_users(&b), 0);
    // … and takes it with the key.
    let out = b.cli(&[
        "db",
        "import",
        export.to_str().unwrap(),
        "--secrets-key",
        key.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    match b.store(StoreRequest::GetUser(uid)) {
        StoreResponse::User(u) => assert_eq!(u.sip_pw, "Sip-Secret-4711"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn export_and_import_through_the_cli_refuse_bad_files_and_keep_the_data() {
    let mom = Mom::start(&Options::default());
    for i in 0..20 {
        assert!(matches!(
            mom.store(StoreRequest::PutUser(user(&format!("{}", 300 + i)))),
            StoreResponse::Created(_)
        ));
    }
    let export = mom.dir.path().join("backup.momdb");
    let out = mom.cli(&["db", "export", export.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let good = std::fs::read(&export).unwrap();
    assert!(matches!(
        mom.store(StoreRequest::PutUser(user("999"))),
        StoreResponse::Created(_)
    ));
    assert_eq!(count_users(&mom), 21);

    let bad = mom.dir.path().join("bad.momdb");
    for (what, bytes) in [
        ("truncated", good[..good.len() / 2].to_vec()),
        ("corrupt", {
            let mut b = good.clone();
            let i = b.len() - 10;
            b[i] ^= 1;
            b
        }),
        ("empty", Vec::new()),
    ] {
        std::fs::write(&bad, &bytes).unwrap();
        let out = mom.cli(&["db", "import", bad.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{what}: {err}");
        assert!(err.contains("import refused"), "{what}: {err}");
        assert_eq!(count_users(&mom), 21, "{what} import changed the data");
    }
    let out = mom.cli(&["db", "import", export.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(count_users(&mom), 20);
    let filter = Query {
        filters: vec![Filter {
            column: "num".into(),
            op: FilterOp::Equals,
            value: "999".into(),
        }],
        limit: 10,
        ..Query::default()
    };
    assert!(
        matches!(mom.store(StoreRequest::QueryUsers(filter)), StoreResponse::Users(p) if p.total == 0)
    );
}

#[test]
fn status_without_a_running_mom_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(bin("sip-dect-mom"))
        .args(["--dev", "--dev-dir", dir.path().to_str().unwrap(), "status"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is it running?"));
}

#[test]
fn check_accepts_a_good_config_and_names_the_unknown_key_of_a_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        format!(
            "[paths]\nstate-dir = {:?}\nruntime-dir = {:?}\nlibexec-dir = {:?}\n",
            dir.path().join("s"),
            dir.path().join("r"),
            mom_tests::bin_dir()
        ),
    )
    .unwrap();
    let out = std::process::Command::new(bin("sip-dect-mom"))
        .args(["--dev", "--check", "--config", good.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[paths]\nstate-directory = \"/x\"\n").unwrap();
    let out = std::process::Command::new(bin("sip-dect-mom"))
        .args(["--dev", "--check", "--config", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&out.stderr).contains("state-directory"));
}

#[test]
fn watchdog_pings_when_systemd_asks_for_them() {
    let options = Options {
        env: vec![("WATCHDOG_USEC".into(), "200000".into())],
        ..Options::default()
    };
    let mut mom = Mom::start(&options);
    mom.wait_notification("WATCHDOG=1", Duration::from_secs(3));
}

#[test]
fn a_write_whose_connection_breaks_says_its_outcome_is_unknown() {
    // A store that takes one request and goes away without answering, as a killed
    // svc-store does in the middle of a commit.
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    std::fs::create_dir_all(run.join("store")).unwrap();
    let config = dir.path().join("mom.toml");
    std::fs::write(
        &config,
        format!(
            "[paths]\nstate-dir = {:?}\nruntime-dir = {:?}\n",
            dir.path().join("state"),
            run
        ),
    )
    .unwrap();
    let socket = run.join("store").join("store.sock");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let listener = rt
        .block_on(async {
            ipc::Listener::<StoreApi>::bind(&socket, 0o600, vec![nix::unistd::getuid().as_raw()])
        })
        .unwrap();
    rt.spawn(async move {
        loop {
            let Ok(pending) = listener.accept().await else {
                return;
            };
            if let Ok(mut ch) = pending.handshake(&Hello::new("store", 1)).await {
                let _ = ch.rx.recv().await;
            }
        }
    });
    let cli = |args: &[&str]| {
        std::process::Command::new(bin("sip-dect-mom"))
            .arg("--dev")
            .arg("--config")
            .arg(&config)
            .args(args)
            .output()
            .unwrap()
    };
    let out = cli(&["user", "add", "--num", "1000", "--name", "Ann"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("may or may not have been made"), "{err}");
    // A read has nothing to be unsure about: it just failed.
    let out = cli(&["user", "list"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!err.contains("may or may not"), "{err}");
}
