//! Centralized OMM provisioning end to end: the real MOM (svc-store, svc-axi, svc-web) and
//! simulated OMMs that set their configuration URL from the MOM and fetch `ipdect.cfg` over
//! real HTTPS with their own credentials; the admin API and CLI in front.

use axi::record::AxiRecord;
use base64::Engine;
use mom_tests::web::{raw_request, raw_tls, Answer, Offer, Web};
use mom_tests::{Mom, Options};
use omm_sim::{Fleet, FleetOptions};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const PASSWORD: &str = "Blau.Wal42";
/// The Cloud-IDs the simulated OMMs 1 and 2 report (from their PARKs).
const CLOUD_1: &str = "001F10000001";
const CLOUD_2: &str = "001F10000002";

fn wait(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn web_of(mom: &Mom) -> Web {
    let https = mom.listener("https");
    let web = Web::new(https, Offer::Any);
    wait("svc-web", Duration::from_secs(20), || {
        web.try_send("GET", "/healthz", None)
            .is_ok_and(|a| a.status == 200)
    });
    web
}

/// A MOM with an administrator logged in, and `omms` simulated OMMs added through the API
/// with Provisioning enabled, linked and their Cloud-IDs learnt. Returns their record ids.
struct Site {
    rt: tokio::runtime::Runtime,
    fleet: Fleet,
    mom: Mom,
    web: Web,
    ids: Vec<u32>,
}

fn site(omms: u32, extra: &str) -> Site {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let fleet = rt
        .block_on(Fleet::start(FleetOptions {
            omms,
            users: 2,
            devices: 2,
            ..FleetOptions::default()
        }))
        .unwrap();
    // Each OMM its own login, so that one OMM's credentials can be tried on another's files.
    for i in 1..=omms {
        let mut inner = fleet.omm(i).lock();
        inner.state.config.username = format!("omm{i}");
        inner.state.config.password = format!("pw-{i}");
    }
    let mom = Mom::start(&Options {
        extra: format!("[axi]\nretry-secs = 1\nping-secs = 5\n{extra}"),
        ..Options::default()
    });
    let mut web = web_of(&mom);
    web.first_login(PASSWORD);
    let ids = (1..=omms)
        .map(|i| {
            let created = web.send(
                "POST",
                "/api/v1/omms",
                Some(&json!({
                    "enabled": true, "name": format!("Site {i}"),
                    "omm1": format!("127.0.0.1:{}", fleet.omm(i).addr.port()),
                    "user": format!("omm{i}"), "password": format!("pw-{i}"),
                    "provisioning": true,
                })),
            );
            assert_eq!(created.status, 201, "{}", created.text);
            u32::try_from(created.json["id"].as_u64().unwrap()).unwrap()
        })
        .collect::<Vec<_>>();
    wait(
        "links up, Cloud-IDs learnt",
        Duration::from_secs(30),
        || {
            ids.iter().all(|id| {
                let omm = web.get(&format!("/api/v1/omms/{id}")).json;
                omm["health"]["link"] == "Up"
                    && omm["cloud_id"].as_str().is_some_and(|c| c.len() == 12)
            })
        },
    );
    Site {
        rt,
        fleet,
        mom,
        web,
        ids,
    }
}

fn basic(user: &str, password: &str) -> (&'static str, String) {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    ("authorization", format!("Basic {token}"))
}

fn put_text(web: &Web, path: &str, text: &[u8]) -> Answer {
    web.send_raw("PUT", path, "text/plain; charset=utf-8", text.to_vec())
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A client without a session, as an OMM or a base station is.
fn anonymous(mom: &Mom) -> Web {
    Web::new(mom.listener("https"), Offer::Any)
}

/// Starts a `PUT` of `path` as OMM 1 announcing 100,000 bytes and sends only half of them;
/// the connection stays open until the returned stream is dropped.
fn half_upload(
    https: std::net::SocketAddr,
    path: &str,
) -> rustls::StreamOwned<rustls::ClientConnection, std::net::TcpStream> {
    use std::io::Write;
    let mut tls = raw_tls(https);
    let (name, value) = basic("omm1", "pw-1");
    tls.write_all(
        format!("PUT {path} HTTP/1.1\r\nHost: localhost\r\n{name}: {value}\r\nContent-Length: 100000\r\n\r\n")
            .as_bytes(),
    )
    .unwrap();
    tls.write_all(&[b'y'; 50_000]).unwrap();
    tls.flush().unwrap();
    tls
}

const TEMPLATE: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n\
<!-- the site's own name -->\r\n\
<SetSystemName name=\"%SITE%\"/>\r\n\
<SetSystemName cloudId=\"001F10000001\" name=\"only one\"/>\r\n\
<SetRemoteAccess enable=\"%REMOTE%\" user=\"%MDB_OMM_username%\"/>\r\n";

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

#[test]
fn only_the_omms_own_credentials_reach_its_file_and_its_folder() {
    let site = site(2, "[web]\nomm-upload-max-mib = 1\n");
    let (mom, web) = (&site.mom, &site.web);
    let (one, two) = (site.ids[0], site.ids[1]);
    let https = mom.listener("https");
    let omm = anonymous(mom);
    // Wrong credentials come from other hosts: failures lock the client's address.
    let intruder = |n: u8| Web::from_source(https, std::net::IpAddr::from([127, 3, 0, n]));
    let (guesser, prober) = (intruder(1), intruder(2));
    let cfg = format!("/provisioning/omm-{one}/ipdect.cfg");

    // ipdect.cfg: its own credentials only; a 401 carries its challenge.
    let challenged = omm.send_with("GET", &cfg, &[], Vec::new());
    assert_eq!(challenged.status, 401);
    assert!(
        challenged
            .header("www-authenticate")
            .starts_with("Basic realm="),
        "{challenged:?}"
    );
    assert_eq!(
        guesser
            .send_with("GET", &cfg, &[basic("omm1", "wrong")], Vec::new())
            .status,
        401
    );
    assert_eq!(
        guesser
            .send_with("GET", &cfg, &[basic("omm2", "pw-2")], Vec::new())
            .status,
        401,
        "another OMM's"
    );
    let got = omm.send_with("GET", &cfg, &[basic("omm1", "pw-1")], Vec::new());
    assert_eq!(got.status, 200);
    assert!(got.text.contains("<?xml"), "the default template");
    // An OMM that does not exist is not told apart from wrong credentials.
    assert_eq!(
        guesser
            .send_with(
                "GET",
                "/provisioning/omm-999/ipdect.cfg",
                &[basic("omm1", "pw-1")],
                Vec::new()
            )
            .status,
        401
    );
    let refused =
        web.get(&format!("/api/v1/omms/{one}")).json["provisioning_state"]["last_fetch"].clone();
    assert_eq!(refused["refused"], "", "the last fetch was the good one");

    // Resources: no credentials; ranges and If-Modified-Since for the large images.
    let image: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    web.put_resource("images/iprfp4G.dnld", image.clone());
    assert!(web
        .get("/api/v1/provisioning/resources")
        .text
        .contains("images/iprfp4G.dnld"));
    let (status, bytes) = omm.get_bytes("/resources/images/iprfp4G.dnld");
    assert_eq!((status, bytes.len()), (200, image.len()));
    assert!(bytes == image);
    let get_image = |headers: &[(&str, String)]| {
        omm.send_with("GET", "/resources/images/iprfp4G.dnld", headers, Vec::new())
    };
    let whole = get_image(&[]);
    let modified = whole.header("last-modified");
    let part = get_image(&[("range", "bytes=1000-1009".into())]);
    assert_eq!(part.status, 206);
    assert_eq!(
        part.header("content-range"),
        format!("bytes 1000-1009/{}", image.len())
    );
    assert_eq!(part.header("content-length"), "10");
    let unmodified = get_image(&[("if-modified-since", modified)]);
    assert_eq!(unmodified.status, 304);
    let beyond = get_image(&[("range", "bytes=900000-".into())]);
    assert_eq!(beyond.status, 416);

    // The OMM's folder: written and read with its own credentials, not another OMM's.
    let own = format!("/omm_files/Cloud-ID-{CLOUD_1}/backup/omm_db.xml");
    let backup = b"<db>first</db>".to_vec();
    assert_eq!(
        omm.send_with("PUT", &own, &[basic("omm1", "pw-1")], backup.clone())
            .status,
        201
    );
    assert_eq!(
        omm.send_with("GET", &own, &[basic("omm1", "pw-1")], Vec::new())
            .text
            .as_bytes(),
        backup
    );
    assert_eq!(
        prober
            .send_with("PUT", &own, &[basic("omm2", "pw-2")], b"theirs".to_vec())
            .status,
        401
    );
    assert_eq!(
        prober
            .send_with("GET", &own, &[basic("omm2", "pw-2")], Vec::new())
            .status,
        401
    );
    assert_eq!(omm.send_with("GET", &own, &[], Vec::new()).status, 401);
    let listed = web.get(&format!("/api/v1/omms/{one}/files")).text;
    assert!(listed.contains("backup/omm_db.xml"), "{listed}");
    assert_eq!(
        web.get(&format!("/api/v1/omms/{one}/file?path=backup/omm_db.xml"))
            .text
            .as_bytes(),
        backup
    );

    // Over the limit (1 MiB here): refused, the old file kept.
    let big = vec![b'x'; 1_200_000];
    assert_eq!(
        omm.send_with("PUT", &own, &[basic("omm1", "pw-1")], big)
            .status,
        413
    );
    assert_eq!(
        omm.send_with("GET", &own, &[basic("omm1", "pw-1")], Vec::new())
            .text
            .as_bytes(),
        backup
    );

    // An upload broken off halfway: the old file stays and nothing half-written is seen.
    {
        let tls = half_upload(https, &own);
        std::thread::sleep(Duration::from_millis(300));
        drop(tls);
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        omm.send_with("GET", &own, &[basic("omm1", "pw-1")], Vec::new())
            .text
            .as_bytes(),
        backup
    );
    let listed = web.get(&format!("/api/v1/omms/{one}/files")).json;
    assert_eq!(
        listed.as_array().unwrap().len(),
        2,
        "the folder and the one file: {listed}"
    );

    // Traversal in every spelling, and a symlink planted in the folder, never leave it.
    let folder = mom
        .state_dir
        .join("web/omm_files")
        .join(format!("Cloud-ID-{CLOUD_1}"));
    std::os::unix::fs::symlink("/etc", folder.join("etc")).unwrap();
    std::fs::write(mom.state_dir.join("web/secret.txt"), "secret").unwrap();
    let (name, value) = basic("omm1", "pw-1");
    for path in [
        format!("/omm_files/Cloud-ID-{CLOUD_1}/../../secret.txt"),
        format!("/omm_files/Cloud-ID-{CLOUD_1}/%2e%2e/%2e%2e/secret.txt"),
        format!("/omm_files/Cloud-ID-{CLOUD_1}/..%2f..%2fsecret.txt"),
        format!("/omm_files/Cloud-ID-{CLOUD_1}/%252e%252e/secret.txt"),
        format!("/omm_files/Cloud-ID-{CLOUD_1}/..%5c..%5csecret.txt"),
        format!("/omm_files/Cloud-ID-{CLOUD_1}/x%00/secret.txt"),
        format!("/omm_files/Cloud-ID-{CLOUD_1}/etc/passwd"),
        format!("/omm_files/Cloud-ID-{CLOUD_1}//etc/passwd"),
        format!("/omm_files/Cloud-ID-{CLOUD_2}/../Cloud-ID-{CLOUD_1}/backup/omm_db.xml"),
        "/resources/../secret.txt".to_owned(),
        "/resources/%2e%2e/secret.txt".to_owned(),
        "/resources/images/%2e%2e%2f%2e%2e%2fsecret.txt".to_owned(),
    ] {
        for method in ["GET", "PUT"] {
            let (status, body) = raw_request(
                https,
                &format!("{method} {path} HTTP/1.1\r\n{name}: {value}\r\nContent-Length: 0"),
            );
            assert!(
                [400, 401, 404, 405].contains(&status),
                "{method} {path}: {status} {body}"
            );
            assert!(
                !body.contains("root:") && !body.contains("secret"),
                "{method} {path}: {body}"
            );
        }
    }
    assert_eq!(
        std::fs::read_to_string(mom.state_dir.join("web/secret.txt")).unwrap(),
        "secret"
    );
    // The admin API's paths follow the same rules.
    for bad in [
        "../secret.txt",
        "a/../../secret.txt",
        "%2e%2e/secret.txt",
        ".hidden",
        "a//b",
        "",
    ] {
        let answer = web.send_raw(
            "PUT",
            &format!("/api/v1/omms/{one}/file?path={}", bad.replace('%', "%25")),
            "application/octet-stream",
            b"x".to_vec(),
        );
        assert_eq!(answer.status, 400, "{bad:?}: {}", answer.text);
    }

    // The folder as a whole has a quota (8 uploads' worth): a ninth 1 MB dump does not fit
    // until the administrator deletes one.
    let put_dump = |i: u32| {
        let path = format!("/omm_files/Cloud-ID-{CLOUD_1}/dumps/dump-{i}.bin");
        omm.send_with(
            "PUT",
            &path,
            &[basic("omm1", "pw-1")],
            vec![b'd'; 1_000_000],
        )
    };
    for i in 0..8 {
        let put = put_dump(i);
        assert_eq!(put.status, 201, "dump {i}: {}", put.text);
    }
    let full = put_dump(8);
    assert!(
        [413, 507].contains(&full.status),
        "{}: {}",
        full.status,
        full.text
    );
    let deleted = web.send(
        "DELETE",
        &format!("/api/v1/omms/{one}/file?path=dumps/dump-0.bin"),
        None,
    );
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    let fits = put_dump(8);
    assert_eq!(fits.status, 201, "{}", fits.text);

    // svc-web killed in the middle of an upload: the old file stays, and the half file is
    // gone once it is back.
    {
        let _tls = half_upload(https, &own);
        let backup_dir = folder.join("backup");
        wait("the upload under way", Duration::from_secs(10), || {
            std::fs::read_dir(&backup_dir)
                .unwrap()
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with(".upload-"))
        });
        let pid = mom.service("web").pid.unwrap();
        mom_tests::signal(pid, nix::sys::signal::Signal::SIGKILL);
        wait("svc-web back", Duration::from_secs(15), || {
            mom.service("web").pid.is_some_and(|p| p != pid)
                && anonymous(mom)
                    .try_send("GET", "/healthz", None)
                    .is_ok_and(|a| a.status == 200)
        });
        let left: Vec<String> = std::fs::read_dir(&backup_dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, ["omm_db.xml"], "the half upload was removed");
        assert_eq!(
            std::fs::read(backup_dir.join("omm_db.xml")).unwrap(),
            backup
        );
    }

    // Failed OMM logins are throttled like web logins: the guessing address is locked out,
    // the real OMM at its own address is not.
    let attacker = intruder(3);
    let statuses: Vec<u16> = (0..8)
        .map(|_| {
            attacker
                .send_with(
                    "GET",
                    &format!("/provisioning/omm-{two}/ipdect.cfg"),
                    &[basic("omm2", "guess")],
                    Vec::new(),
                )
                .status
        })
        .collect();
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429, 429]);
    let locked = attacker.send_with(
        "GET",
        &format!("/provisioning/omm-{two}/ipdect.cfg"),
        &[basic("omm2", "pw-2")],
        Vec::new(),
    );
    assert_eq!(locked.status, 429, "locked even with the right password");
    assert!(locked.header("retry-after").parse::<u64>().unwrap() >= 1);
    let real = anonymous(mom).send_with(
        "GET",
        &format!("/provisioning/omm-{two}/ipdect.cfg"),
        &[basic("omm2", "pw-2")],
        Vec::new(),
    );
    assert_eq!(real.status, 200, "{}", real.text);
    drop(site.rt);
}

#[test]
fn bad_provisioning_input_gets_a_clear_error_and_changes_nothing() {
    let mom = Mom::start(&Options::default());
    let mut web = web_of(&mom);
    web.first_login(PASSWORD);
    let before = web.get("/api/v1/provisioning/template").text;
    assert!(
        before.contains("SetDECTRegDomain"),
        "the default template is installed"
    );

    // Not UTF-8, too large: refused with the reason, the template unchanged.
    let latin1 = put_text(
        &web,
        "/api/v1/provisioning/template",
        b"<SetSystemName name=\"Z\xfcrich\"/>",
    );
    assert_eq!(
        (latin1.status, latin1.code()),
        (422, "not_utf8"),
        "{}",
        latin1.text
    );
    assert!(latin1.message().contains("line 1"));
    let huge = put_text(
        &web,
        "/api/v1/provisioning/template",
        &vec![b' '; 1024 * 1024 + 1],
    );
    assert_eq!(huge.status, 413, "{}", huge.text);
    assert_eq!(web.get("/api/v1/provisioning/template").text, before);

    // A template that is not well formed is stored (the administrator may be midway) but
    // the answer and the lint say where it breaks.
    let broken = put_text(
        &web,
        "/api/v1/provisioning/template",
        b"<SetSystemName name=\"a\"/>\n<SetFoo>\n",
    );
    assert_eq!(broken.status, 200);
    let findings = broken.json["findings"].to_string();
    assert!(
        findings.contains("not_well_formed") && findings.contains("line"),
        "{findings}"
    );
    let lint = web.get("/api/v1/provisioning/lint").json.to_string();
    assert!(lint.contains("not_well_formed"), "{lint}");
    put_text(
        &web,
        "/api/v1/provisioning/template",
        b"<SetFoo/>\n<SetSystemName name=\"%A%\"/>\n<!-- %BeginComment% -->\n",
    );
    let lint = web.get("/api/v1/provisioning/lint").json.to_string();
    assert!(
        lint.contains("unknown_command") && lint.contains("SetFoo"),
        "{lint}"
    );

    // A placeholder file with a line without `=`, a bad name, too large: refused with the
    // line number, nothing changed.
    let created = web.send(
        "POST",
        "/api/v1/omms",
        Some(&json!({"name": "Far", "omm1": "192.0.2.1", "user": "u", "password": "p", "placeholders": "A=1\n"})),
    );
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json["id"].as_u64().unwrap();
    let path = format!("/api/v1/omms/{id}/placeholders");
    for (file, line) in [
        ("A=2\nno equals sign\n", "line 2"),
        ("A=2\r\n\r\nB C=3\r\n", "line 3"),
        ("%X%=1\n", "line 1"),
    ] {
        let answer = put_text(&web, &path, file.as_bytes());
        assert_eq!(answer.status, 422, "{file:?}: {}", answer.text);
        assert!(
            answer.message().contains(line),
            "{file:?}: {}",
            answer.message()
        );
    }
    assert_eq!(put_text(&web, &path, &vec![b'#'; 65 * 1024]).status, 413);
    assert_eq!(put_text(&web, &path, b"A=\xff\n").code(), "not_utf8");
    assert_eq!(web.get(&path).text, "A=1\n");
    // The OMM list does not show the file (it may hold secrets), and it cannot be edited
    // around the checks.
    assert_eq!(
        web.get(&format!("/api/v1/omms/{id}")).json["placeholders"],
        ""
    );
    let patched = web.send(
        "PATCH",
        &format!("/api/v1/omms/{id}"),
        Some(&json!({"placeholders": "bad line"})),
    );
    assert_eq!(patched.status, 422, "{}", patched.text);
    let forged = web.send(
        "PATCH",
        &format!("/api/v1/omms/{id}"),
        Some(&json!({"provisioning_state": {"warning": "x"}})),
    );
    assert_eq!(forged.status, 422);

    // Update OMM: a clear answer for what cannot be done.
    assert_eq!(
        web.send("POST", "/api/v1/omms/update", Some(&json!({})))
            .status,
        422
    );
    assert_eq!(
        web.send(
            "POST",
            "/api/v1/omms/update",
            Some(&json!({"omms": [id], "all": true}))
        )
        .status,
        422
    );
    assert_eq!(
        web.send(
            "POST",
            "/api/v1/omms/update",
            Some(&json!({"omms": [4242]}))
        )
        .status,
        404
    );
    let unlinked = web.send("POST", "/api/v1/omms/update", Some(&json!({"omms": [id]})));
    assert!(
        unlinked.json[0]["error"]
            .as_str()
            .unwrap()
            .contains("not connected"),
        "{}",
        unlinked.text
    );
    // An OMM without a Cloud-ID has no folder yet.
    let folder = web.send("POST", &format!("/api/v1/omms/{id}/files"), None);
    assert_eq!(folder.status, 400);
    assert!(folder.message().contains("Cloud-ID"), "{}", folder.text);

    // The CLI: the same checks, the reason on stderr, exit 1; the lint's errors exit 3.
    let bad = mom.dir.path().join("bad.txt");
    std::fs::write(&bad, "A=1\nB\n").unwrap();
    let refused = mom.cli(&[
        "provisioning",
        "set-placeholders",
        &id.to_string(),
        bad.to_str().unwrap(),
    ]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("line 2"),
        "{refused:?}"
    );
    std::fs::write(&bad, b"<A n=\"\xff\"/>").unwrap();
    let latin1 = mom.cli(&["provisioning", "set-template", bad.to_str().unwrap()]);
    assert_eq!(latin1.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&latin1.stderr).contains("not UTF-8"),
        "{latin1:?}"
    );
    let good = mom.dir.path().join("good.xml");
    std::fs::write(&good, "<SetSystemName name=\"%A%\"/>\n<SetFoo>\n").unwrap();
    let set = mom.cli(&["provisioning", "set-template", good.to_str().unwrap()]);
    assert_eq!(
        set.status.code(),
        Some(3),
        "saved, and the lint found it not well formed: {set:?}"
    );
    assert!(
        String::from_utf8_lossy(&set.stdout).contains("not_well_formed"),
        "{set:?}"
    );
    assert_eq!(
        web.get("/api/v1/provisioning/template").text,
        "<SetSystemName name=\"%A%\"/>\n<SetFoo>\n"
    );
    let shown = mom.cli(&["provisioning", "placeholders", &id.to_string()]);
    assert_eq!(String::from_utf8_lossy(&shown.stdout), "A=1\n");

    // Settings: the provisioning address and fetch time are checked.
    for bad in [
        json!({"provisioning_address": "a b"}),
        json!({"provisioning_fetch_timeout_secs": 1}),
    ] {
        assert_eq!(
            web.send("PATCH", "/api/v1/settings", Some(&bad)).status,
            422,
            "{bad}"
        );
    }

    // A read-only account reads the template and the lint but changes nothing, and cannot
    // read what holds an OMM's password.
    let account = web.send(
        "POST",
        "/api/v1/accounts",
        Some(&json!({"name": "viewer", "password": "Gelb.Fisch77", "write": false})),
    );
    assert_eq!(account.status, 201, "{}", account.text);
    let mut viewer = Web::new(mom.listener("https"), Offer::Any);
    viewer.login_replacing("viewer", "Gelb.Fisch77", "Gelb.Fisch78x");
    assert_eq!(viewer.get("/api/v1/provisioning/lint").status, 200);
    assert_eq!(
        put_text(&viewer, "/api/v1/provisioning/template", b"x").code(),
        "read_only"
    );
    assert_eq!(
        viewer.get(&format!("/api/v1/omms/{id}/config-file")).code(),
        "read_only"
    );
    assert_eq!(viewer.get(&path).code(), "read_only");

    // Every admin route is in the OpenAPI document.
    let doc = web.get("/api/v1/openapi.json").json;
    for route in [
        "/api/v1/provisioning/template",
        "/api/v1/provisioning/lint",
        "/api/v1/provisioning/preview",
        "/api/v1/omms/{id}/placeholders",
        "/api/v1/omms/{id}/config-file",
        "/api/v1/omms/update",
        "/api/v1/provisioning/resources/file",
        "/api/v1/omms/{id}/files",
    ] {
        assert!(doc["paths"][route].is_object(), "{route} missing");
    }
}
