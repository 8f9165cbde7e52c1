//! Users and DECT phones through the API with linked OMMs: bindings, live events, the bulk
//! import, fixed pairs and the Overview.

use super::*;
use axi::record::AxiRecord;
use serde_json::json;
use std::time::{Duration, Instant};

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
