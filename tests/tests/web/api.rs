//! The admin API as a whole: clear errors for bad input, the OpenAPI document, statistics,
//! svc-web restarted, and the CLI's changes in the same audit trail.

use super::*;
use mom_tests::web::{Offer, Web};
use serde_json::json;
use std::time::{Duration, Instant};

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
