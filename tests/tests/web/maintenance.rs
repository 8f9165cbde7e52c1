//! MOM system maintenance through the API: database export and import (identity across an
//! import included) and the system dump, with no secret in the dump or the audit trail.

use super::*;
use mom_tests::web::{Offer, Web};
use serde_json::json;

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
