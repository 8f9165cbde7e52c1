//! Operations through the real binaries: the log level changed at run time (CLI and API)
//! in every process and recorded in the trace file, `reset-password` with the MOM running
//! and stopped, and a database of a newer version refused untouched with exit code 78.

use mom_tests::web::Web;
use mom_tests::{temporary_password, Mom, Options};
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const PROCESSES: [&str; 5] = ["supervisor", "svc-store", "svc-axi", "svc-web", "svc-maxi"];

/// Today's trace file of `mom` (UTC date, as the services name it).
fn trace_file(mom: &Mom) -> PathBuf {
    mom.dir
        .path()
        .join("log")
        .join(service_kit::trace_file::todays_file_name())
}

/// Waits until every process wrote a trace line containing `words`.
fn wait_for_trace_lines(mom: &Mom, words: &str) {
    let file = trace_file(mom);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let missing: Vec<&str> = PROCESSES
            .iter()
            .copied()
            .filter(|p| {
                !text
                    .lines()
                    .any(|l| l.contains(&format!(" {p} ")) && l.contains(words))
            })
            .collect();
        if missing.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no {words:?} in {} from {missing:?}",
            file.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn the_log_level_changes_at_run_time_in_every_process_and_the_trace_file_records_it() {
    let mom = Mom::start(&Options::default());
    // The trace file exists from the start, one line per event, from every process.
    wait_for_trace_lines(&mom, "");
    let out = mom.cli(&["log-level"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(stdout(&out), "info");

    let out = mom.cli(&["log-level", "info,svc_axi=debug"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(stdout(&mom.cli(&["log-level"])), "info,svc_axi=debug");
    wait_for_trace_lines(&mom, "log level changed");

    // Junk is refused with a reason, and the level stays.
    for junk in ["loud", "info\u{7}", &"debug,".repeat(60), "info;rm -rf /"] {
        let out = mom.cli(&["log-level", junk]);
        assert!(!out.status.success(), "{junk:?} was accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("level"), "{junk:?}: {err}");
    }
    assert_eq!(stdout(&mom.cli(&["log-level"])), "info,svc_axi=debug");
}

#[test]
fn the_log_level_api_needs_a_writer_and_checks_what_it_is_given() {
    let mom = Mom::start(&Options::default());
    let mut web = Web::when_ready(mom.listener("https"));
    assert_eq!(
        web.get("/api/v1/log-level").status,
        401,
        "no session, no level"
    );
    web.first_login("Blau.Wal42");
    let got = web.get("/api/v1/log-level");
    assert_eq!(got.status, 200, "{}", got.text);
    assert_eq!(got.json["level"], "info");

    let set = web.send("PUT", "/api/v1/log-level", Some(&json!({"level": "debug"})));
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(set.json["level"], "debug");
    assert_eq!(
        stdout(&mom.cli(&["log-level"])),
        "debug",
        "the CLI sees the API's level"
    );

    let bad = web.send(
        "PUT",
        "/api/v1/log-level",
        Some(&json!({"level": "shout\n"})),
    );
    assert_eq!(bad.status, 422, "{}", bad.text);
    assert!(bad.message().contains("level"), "{}", bad.text);
    assert_eq!(web.get("/api/v1/log-level").json["level"], "debug");

    // The change is in the audit trail with the account that made it.
    let audit = web.get("/api/v1/audit?limit=20");
    assert!(
        audit.text.contains("log-level.edit"),
        "no audit entry: {}",
        audit.text
    );
}

fn must_change_after_login(mom: &Mom, password: &str) -> bool {
    let account = mom
        .login("mom", password)
        .expect("login with the reset password");
    assert!(account.enabled);
    account.must_change_password
}

#[test]
fn reset_password_works_with_the_mom_running_and_stopped() {
    let mut mom = Mom::start(&Options::default());
    let first = temporary_password(&mom.cli(&["reset-password", "mom"]));
    assert!(must_change_after_login(&mom, &first));
    assert!(
        mom.login("mom", "mom").is_none(),
        "the old password still works"
    );
    let out = mom.cli(&["reset-password", "nobody"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("nobody"),
        "{out:?}"
    );

    // Stopped: the CLI opens the database itself.
    mom.stop(Duration::from_secs(20));
    let second = temporary_password(&mom.cli(&["reset-password", "mom"]));
    assert_ne!(first, second);
    mom.start_again(&Options::default());
    assert!(must_change_after_login(&mom, &second));
    assert!(mom.login("mom", &first).is_none());
}

/// `reset-password mom --password-stdin` with `password` on standard input.
fn reset_from_stdin(mom: &Mom, password: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = std::process::Command::new(mom_tests::bin("sip-dect-mom"))
        .arg("--config")
        .arg(&mom.config)
        .args(["--dev", "reset-password", "mom", "--password-stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run sip-dect-mom");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(format!("{password}\n").as_bytes())
        .expect("write");
    drop(stdin);
    child.wait_with_output().expect("wait")
}

#[test]
fn a_password_given_on_standard_input_must_pass_the_password_rules() {
    let mom = Mom::start(&Options::default());
    for weak in ["short", "mom", "password123", ""] {
        let out = reset_from_stdin(&mom, weak);
        assert!(!out.status.success(), "{weak:?} was accepted");
        assert!(
            !String::from_utf8_lossy(&out.stderr).is_empty(),
            "no reason for {weak:?}"
        );
    }
    assert!(
        must_change_after_login(&mom, "mom"),
        "a refused password changed the account"
    );
    let out = reset_from_stdin(&mom, "Grün.Wal42-x");
    assert!(out.status.success(), "{out:?}");
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("Temporary password"),
        "a chosen password is not printed"
    );
    assert!(must_change_after_login(&mom, "Grün.Wal42-x"));
}

#[test]
fn a_database_of_a_newer_version_is_refused_untouched_and_the_daemon_exits_78() {
    use svc_store::ops::{meta, SCHEMA_VERSION};
    use svc_store::storage::{Db, Storage};
    const NEWER: &str = "written by a newer sip-dect-mom";
    let mut mom = Mom::start(&Options::default());
    mom.stop(Duration::from_secs(20));
    let db_dir = mom.state_dir.join("store").join("db");
    {
        let key = svc_store::secrets::load_key(&db_dir).expect("the secrets key");
        let storage = Storage::open(&db_dir, std::sync::Arc::new(key)).expect("open the database");
        let mut view = storage.write().expect("write");
        view.put(Db::Meta, meta::SCHEMA, &(SCHEMA_VERSION + 1))
            .expect("put");
        view.commit().expect("commit");
    }
    let before = std::fs::read(db_dir.join("data.mdb")).expect("read");
    mom.start_again(&Options {
        wait_ready: false,
        ..Options::default()
    });
    let status = mom.wait_exit(Duration::from_secs(30));
    assert_eq!(
        status.code(),
        Some(78),
        "a permanent refusal, not a crash loop"
    );
    assert_eq!(
        std::fs::read(db_dir.join("data.mdb")).expect("read"),
        before,
        "the newer database was changed"
    );
    let trace = std::fs::read_to_string(trace_file(&mom)).unwrap_or_default();
    assert!(trace.contains(NEWER), "the reason is not logged");
    // Once from svc-store, once from the supervisor ending the daemon: no restart loop.
    let refusals = trace.matches(NEWER).count();
    assert!(refusals <= 2, "svc-store was started {refusals} times");
}
