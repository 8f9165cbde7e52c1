//! "Update OMM": each OMM fetches its own file, every fetch recorded.

use super::*;
use axi::record::AxiRecord;
use mom_tests::web::raw_request;
use serde_json::{json, Value};
use std::time::Duration;

#[test]
fn update_omm_fetches_each_omms_own_file_and_every_fetch_is_recorded() {
    let site = site(2, "");
    let (fleet, mom, web) = (&site.fleet, &site.mom, &site.web);
    let (one, two) = (site.ids[0], site.ids[1]);
    let https = mom.listener("https");

    // On connect: the URL points at the MOM with the OMM's credentials, and the daily reload
    // is at (id × 7) mod 51 minutes past midnight.
    wait("configuration URL set", Duration::from_secs(10), || {
        fleet.omm(2).lock().state.config_url.is_some()
    });
    let url = fleet.omm(1).lock().state.config_url.clone().unwrap();
    assert_eq!(url.get(axi::ConfigUrl::ENABLE), Some(true));
    assert_eq!(url.raw("host"), Some("127.0.0.1"));
    assert_eq!(url.get(axi::ConfigUrl::PORT), Some(https.port()));
    assert_eq!(url.raw("path").unwrap(), format!("provisioning/omm-{one}"));
    assert_eq!(
        (url.raw("username"), url.raw("password")),
        (Some("omm1"), Some("pw-1"))
    );
    assert_eq!(
        fleet.omm(1).lock().state.update_trigger,
        (true, 0, (one * 7) % 51)
    );

    // The template and the placeholder files, byte for byte.
    let stored = put_text(web, "/api/v1/provisioning/template", TEMPLATE.as_bytes());
    assert_eq!(stored.status, 200, "{}", stored.text);
    assert_eq!(web.get("/api/v1/provisioning/template").text, TEMPLATE);
    let file_1 = "# site one\r\nSITE=North = Wing\r\n\r\nREMOTE=\r\n";
    assert_eq!(
        put_text(
            web,
            &format!("/api/v1/omms/{one}/placeholders"),
            file_1.as_bytes()
        )
        .status,
        200
    );
    assert_eq!(
        web.get(&format!("/api/v1/omms/{one}/placeholders")).text,
        file_1
    );
    assert_eq!(
        put_text(
            web,
            &format!("/api/v1/omms/{two}/placeholders"),
            b"SITE=South\nsite=lower case is another name\n"
        )
        .status,
        200
    );
    // The lint sees what OMM 2 leaves unreplaced and the value no OMM uses.
    let lint = web.get("/api/v1/provisioning/lint").json;
    let codes: Vec<(&str, Vec<u64>)> = lint["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap(),
                f["omms"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(Value::as_u64)
                    .collect(),
            )
        })
        .collect();
    assert!(
        codes.contains(&("unresolved", vec![u64::from(two)])),
        "{lint}"
    );
    assert!(
        codes.contains(&("unused_value", vec![u64::from(two)])),
        "{lint}"
    );
    assert!(
        !codes
            .iter()
            .any(|(c, _)| *c == "not_well_formed" || *c == "unknown_command"),
        "{lint}"
    );

    // "Show config file": exactly what OMM 1 would get.
    let shown = web.get(&format!("/api/v1/omms/{one}/config-file"));
    assert_eq!(shown.status, 200);
    assert_eq!(
        shown.text,
        TEMPLATE
            .replace("%SITE%", "North = Wing")
            .replace("%REMOTE%", "")
            .replace("%MDB_OMM_username%", "omm1")
    );
    // The CLI shows the same bytes.
    let cli = mom.cli(&["provisioning", "show", &one.to_string()]);
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&cli.stdout), shown.text);

    // Update OMM 1: it fetches with its credentials and runs its commands (cloudId ones only
    // for itself); the fetch is recorded with size and digest.
    let update = web.send("POST", "/api/v1/omms/update", Some(&json!({"omms": [one]})));
    assert_eq!(
        update.json,
        json!([{"id": one, "error": null}]),
        "{}",
        update.text
    );
    wait("OMM 1 fetched", Duration::from_secs(20), || {
        fleet.omm(1).lock().state.fetches == 1
    });
    let (commands, error) = {
        let inner = fleet.omm(1).lock();
        (
            inner.state.provisioning_commands.clone(),
            inner.state.last_fetch_error.clone(),
        )
    };
    assert_eq!(error, "", "the fetch failed");
    assert_eq!(
        commands,
        [
            "<SetSystemName name=\"North = Wing\"/>",
            "<SetSystemName name=\"only one\"/>",
            "<SetRemoteAccess enable=\"\" user=\"omm1\"/>",
        ]
    );
    // It ran them: the name meant for it is its name now; a command it does not know is
    // answered with an error and the rest still run.
    let (name, results) = {
        let inner = fleet.omm(1).lock();
        (
            inner.state.system_name.clone(),
            inner.state.provisioning_results.clone(),
        )
    };
    assert_eq!(name, "only one");
    assert_eq!(results.len(), 3);
    assert_eq!(results[0], ("SetSystemName".to_owned(), None));
    assert!(results[2].1.is_some(), "{results:?}");
    assert_eq!(fleet.omm(2).lock().state.fetches, 0, "OMM 2 was not asked");
    wait("the fetch recorded", Duration::from_secs(10), || {
        !web.get(&format!("/api/v1/omms/{one}")).json["provisioning_state"]["last_fetch"].is_null()
    });
    let record = web.get(&format!("/api/v1/omms/{one}")).json;
    let fetch = &record["provisioning_state"]["last_fetch"];
    assert_eq!(fetch["refused"], "");
    assert_eq!(fetch["size"], shown.text.len());
    assert_eq!(fetch["sha256"], sha256(shown.text.as_bytes()));
    assert_eq!(fetch["client"], "127.1.0.1", "the OMM's own address");
    assert_eq!(fetch["mom_address"], "127.0.0.1");

    // The preview: nothing new for OMM 1 until its placeholders change.
    let preview = web
        .get(&format!("/api/v1/provisioning/preview?omm={one}"))
        .json;
    assert_eq!(preview[0]["changed"], false, "{preview}");
    put_text(
        web,
        &format!("/api/v1/omms/{one}/placeholders"),
        b"SITE=East\nREMOTE=\n",
    );
    let preview = web.get("/api/v1/provisioning/preview").json;
    let first = preview
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == one)
        .unwrap();
    assert_eq!(first["changed"], true);
    let diff = first["diff"].as_str().unwrap();
    assert!(
        diff.contains("-<SetSystemName name=\"North = Wing\"/>")
            && diff.contains("+<SetSystemName name=\"East\"/>"),
        "{diff}"
    );
    let other = preview
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == two)
        .unwrap();
    assert_eq!(
        (other["changed"].clone(), other["diff"].clone()),
        (json!(true), json!("")),
        "never fetched"
    );

    // Provisioning off for OMM 2: its URL is disabled at once, and Update OMM says why.
    let off = web.send(
        "PATCH",
        &format!("/api/v1/omms/{two}"),
        Some(&json!({"provisioning": false})),
    );
    assert_eq!(off.status, 200, "{}", off.text);
    wait("OMM 2's URL disabled", Duration::from_secs(10), || {
        fleet
            .omm(2)
            .lock()
            .state
            .config_url
            .as_ref()
            .and_then(|u| u.get(axi::ConfigUrl::ENABLE))
            == Some(false)
            && !fleet.omm(2).lock().state.update_trigger.0
    });
    let refused = web.send(
        "POST",
        "/api/v1/omms/update",
        Some(&json!({"omms": [one, two]})),
    );
    let outcome = refused.json.as_array().unwrap().clone();
    assert_eq!(outcome[0]["error"], Value::Null);
    assert!(
        outcome[1]["error"].as_str().unwrap().contains("disabled"),
        "{outcome:?}"
    );
    wait("OMM 1 fetched again", Duration::from_secs(20), || {
        fleet.omm(1).lock().state.fetches == 2
    });
    // The file of an OMM that is not provisioned is refused even to its own credentials.
    let (status, _) = raw_request(
        https,
        &format!(
            "GET /provisioning/omm-{two}/ipdect.cfg HTTP/1.1\r\nAuthorization: {}",
            basic("omm2", "pw-2").1
        ),
    );
    assert_eq!(status, 403);

    // The CLI's `omm update --all` reaches every provisioned OMM.
    let cli = mom.cli(&["omm", "update", "--all"]);
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    wait(
        "OMM 1 fetched a third time",
        Duration::from_secs(20),
        || fleet.omm(1).lock().state.fetches == 3,
    );

    // An OMM that does not fetch within the time gets a warning health state: here the MOM
    // is announced at an address where nothing listens.
    let settings = web.send(
        "PATCH",
        "/api/v1/settings",
        Some(&json!({"provisioning_address": "127.0.0.2", "provisioning_fetch_timeout_secs": 10})),
    );
    assert_eq!(settings.status, 200, "{}", settings.text);
    wait(
        "URL moved to the new address",
        Duration::from_secs(10),
        || {
            fleet
                .omm(1)
                .lock()
                .state
                .config_url
                .as_ref()
                .and_then(|u| u.raw("host").map(str::to_owned))
                .as_deref()
                == Some("127.0.0.2")
        },
    );
    let sent = web.send("POST", "/api/v1/omms/update", Some(&json!({"all": true})));
    assert_eq!(sent.json[0]["error"], Value::Null, "{}", sent.text);
    wait("the overdue warning", Duration::from_secs(30), || {
        web.get(&format!("/api/v1/omms/{one}")).json["provisioning_state"]["warning"]
            .as_str()
            .is_some_and(|w| w.contains("did not fetch"))
    });
    let health = web.get("/api/v1/health").text;
    assert!(
        health.contains("did not fetch its configuration"),
        "{health}"
    );
    drop(site.rt);
}
