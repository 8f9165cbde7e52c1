//! The admin CLI against linked OMMs, and development mode's demo fleet.

use super::*;
use axi::record::AxiRecord;
use ipc::api::store::{StoreRequest, StoreResponse};
use model::{LinkState, User};
use mom_tests::sim::{omms, runtime, wait};
use mom_tests::{Mom, Options};
use std::time::Duration;

#[test]
fn the_admin_cli_manages_omms_users_and_settings() {
    let rt = runtime();
    let fleet = fleet(&rt, 2);
    let mom = mom();
    let run = |args: &[&str]| {
        let out = mom.cli(args);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    for i in 1..=2 {
        let address = format!("127.0.0.1:{}", fleet.omm(i).addr.port());
        let (code, out, err) = run(&[
            "omm",
            "add",
            "--name",
            &format!("Site {i}"),
            "--omm1",
            &address,
            "--user",
            "omm",
            "--password",
            "omm-password",
        ]);
        assert_eq!(code, Some(0), "{out}{err}");
    }
    wait("imported", Duration::from_secs(30), || {
        user_total(&mom) == 2 * u64::from(USERS)
    });
    wait("links up", Duration::from_secs(10), || {
        let (_, out, _) = run(&["omm", "list", "--json"]);
        serde_json::from_str::<serde_json::Value>(&out).is_ok_and(|v| {
            v.as_array()
                .is_some_and(|a| a.iter().all(|o| o["health"]["link"] == "Up"))
        })
    });
    let (code, out, _) = run(&["omm", "list"]);
    assert_eq!(code, Some(0));
    assert!(
        out.lines().filter(|l| l.contains("Site ")).count() == 2,
        "{out}"
    );
    // Users with their location, and refused changes with the store's reason.
    let (code, out, _) = run(&["user", "list", "--number", "20000"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("20000") && out.contains("of 1 users"), "{out}");
    let (code, _, err) = run(&["user", "add", "--num", "20000", "--name", "Dup"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("already used"), "{err}");
    // Fields an OMM would refuse, or that a terminal would run, are refused with the reason.
    let long_name = "x".repeat(10_000);
    let long_number = "1".repeat(1_000);
    for (num, name, why) in [
        ("30001", long_name.as_str(), "10000 characters long"),
        ("30002", "Ann\u{1b}]0;owned\u{7}", "control character"),
        ("300 03", "Ann", "contains ' '"),
        (long_number.as_str(), "Ann", "1000 characters long"),
    ] {
        let (code, _, err) = run(&["user", "add", "--num", num, "--name", name]);
        assert_eq!(code, Some(1), "{why}");
        assert!(err.contains(why), "{why}: {err}");
        assert!(!err.contains("MDB_"), "{err}");
    }
    let (code, _, err) = run(&["omm", "edit", "99", "--name", "x"]);
    assert_eq!((code, err.contains("no OMM 99")), (Some(1), true), "{err}");
    let (code, _, err) = run(&["device", "add", "--ipei", "00001 0000001 0"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("invalid IPEI"), "{err}");
    // A fixed pair created at the MOM for OMM 2 appears there, bound.
    let omm2 = omms(&mom)
        .into_iter()
        .find(|o| o.name == "Site 2")
        .unwrap()
        .id
        .to_string();
    let ipei = model::Ipei::new(7777, 1).unwrap().to_string();
    let (code, out, err) = run(&[
        "user",
        "add",
        "--num",
        "77001",
        "--name",
        "Fixed one",
        "--omm",
        &omm2,
        "--ipei",
        &ipei,
    ]);
    assert_eq!(code, Some(0), "{out}{err}");
    wait("fixed pair on OMM 2", Duration::from_secs(10), || {
        fleet
            .device(2, model::Ipei::parse(&ipei).unwrap())
            .is_some_and(|d| d.get(axi::PpDev::REL_TYPE) == Some(model::RelType::Fixed))
    });
    // Any attribute an OMM's pages offer, by its AXI name, reaches the user's OMM.
    let uid = user_by_number(&mom, "20000").unwrap().uid.to_string();
    let (code, out, err) = run(&[
        "user",
        "edit",
        &uid,
        "--set",
        "sipAuthId=alice",
        "--set",
        "sosNum=112",
        "--set",
        "pin=1234",
        "--set",
        "callWaitingDisabled=true",
    ]);
    assert_eq!(code, Some(0), "{out}{err}");
    let user = user_by_number(&mom, "20000").unwrap();
    assert_eq!(
        (
            user.sip_auth_id.as_str(),
            user.sos_num.as_str(),
            user.pin.as_str()
        ),
        ("alice", "112", "1234")
    );
    assert!(user.call_waiting_disabled);
    wait("the edit on the OMM", Duration::from_secs(10), || {
        (1..=2).any(|i| {
            fleet.omm(i).lock().state.users.values().any(|u| {
                u.raw("num") == Some("20000")
                    && u.raw("sipAuthId") == Some("alice")
                    && u.raw("sosNum") == Some("112")
                    && u.raw("pin") == Some("1234")
            })
        })
    });
    for (set, why) in [
        ("uid=5", "the MOM sets uid itself"),
        ("relType=Fixed", "the MOM sets relType itself"),
        ("bogus=1", "not a user attribute"),
        ("callWaitingDisabled=maybe", "not a valid value"),
        ("sosNum", "give ATTRIBUTE=VALUE"),
    ] {
        let (code, _, err) = run(&["user", "edit", &uid, "--set", set]);
        assert_eq!(code, Some(1), "{set}");
        assert!(err.contains(why), "{set}: {err}");
    }
    // An OMM address that cannot work is refused with the reason.
    for address in [
        "192.0.2.1:99999",
        "192.0.2.1:abc",
        "https://192.0.2.1/",
        "a b c",
        "192.0.2.1:",
        "[::1",
    ] {
        let (code, _, err) = run(&[
            "omm",
            "add",
            "--name",
            "Bad",
            "--omm1",
            address,
            "--user",
            "u",
            "--password",
            "p",
        ]);
        assert_eq!(code, Some(1), "{address}");
        assert!(err.contains("OMM 1 address"), "{address}: {err}");
    }
    // Settings reach every OMM.
    let (code, _, err) = run(&[
        "settings",
        "set",
        "--subscription",
        "wildcard",
        "--fac-prefix",
        "*7",
    ]);
    assert_eq!(code, Some(0), "{err}");
    wait("settings on every OMM", Duration::from_secs(10), || {
        (1..=2).all(|i| {
            let inner = fleet.omm(i).lock();
            inner.state.subscription_mode == axi::value::DectSubscriptionMode::Wildcard
                && inner.state.fac_prefix == "*7"
        })
    });
    let (code, _, err) = run(&["settings", "set", "--fac-prefix", "abc"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("FAC prefix"), "{err}");
    let (code, out, _) = run(&["omm", "disable", &omm2]);
    assert_eq!(code, Some(0), "{out}");
    wait("OMM 2 link dropped", Duration::from_secs(10), || {
        fleet.omm(2).link_count() == 0
    });
}

#[test]
fn the_admin_cli_lists_page_past_the_store_page_size() {
    let mom = mom();
    let users: Vec<User> = (0..1_100)
        .map(|i| User {
            num: format!("{}", 500_000 + i),
            name: format!("User {i}"),
            ..User::default()
        })
        .collect();
    ok(mom.store(StoreRequest::BulkPut {
        users,
        devices: Vec::new(),
    }));
    let list = |args: &[&str]| -> Vec<serde_json::Value> {
        let out = mom.cli(args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout).unwrap()
    };
    assert_eq!(list(&["user", "list", "--all", "--json"]).len(), 1_100);
    let tail = list(&[
        "user", "list", "--offset", "1000", "--limit", "500", "--json",
    ]);
    assert_eq!(tail.len(), 100);
    assert_eq!(tail[0]["num"], "501000");
    assert_eq!(list(&["user", "list", "--json"]).len(), 100);
    let out = mom.cli(&["user", "list", "--offset", "1090"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("10 of 1100 users"), "{text}");
}

#[test]
fn development_mode_brings_a_demo_fleet_and_a_license() {
    let mom = Mom::start(&Options {
        fleet: true,
        extra: "[axi]\nretry-secs = 1\n".into(),
        ..Options::default()
    });
    wait("three demo OMMs up", Duration::from_secs(30), || {
        let list = omms(&mom);
        list.len() == 3
            && list
                .iter()
                .all(|o| o.name.starts_with("Demo site") && o.health.link == LinkState::Up)
    });
    wait("their users imported", Duration::from_secs(30), || {
        user_total(&mom) == 300
    });
    let StoreResponse::Settings(settings) = mom.store(StoreRequest::GetSettings) else {
        panic!()
    };
    assert_eq!(settings.sari, supervisor_dev_sari());
    let out = mom.cli(&["omm", "list"]);
    assert!(String::from_utf8_lossy(&out.stdout).matches("Up").count() == 3);
    // `status` shows the links and the health states under the services; the SARI restart
    // may still be under way, so ask until every link is back.
    wait(
        "status shows every link up",
        Duration::from_secs(20),
        || {
            let out = mom.cli(&["status"]);
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            out.status.success()
                && text.contains("OMM links: 3 of 3 enabled up")
                && text.contains("Demo site 2")
                && text
                    .lines()
                    .any(|l| l.starts_with("License") && l.contains("OK"))
                && text
                    .lines()
                    .any(|l| l.starts_with("OMM connections") && l.contains("OK"))
        },
    );
    // A killed supervisor leaves no demo fleet behind.
    let supervisor = mom.child.id();
    let fleet_pid = children(supervisor)
        .into_iter()
        .find(|(_, name)| name == "omm-sim")
        .map(|(pid, _)| pid)
        .expect("omm-sim runs under the supervisor");
    mom_tests::signal(supervisor, nix::sys::signal::Signal::SIGKILL);
    wait(
        "omm-sim ended with the supervisor",
        Duration::from_secs(10),
        || gone(fleet_pid),
    );
}

/// The processes whose parent is `parent`: (pid, command name).
fn children(parent: u32) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
            continue;
        };
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().to_owned())
        };
        if field("PPid:").and_then(|p| p.parse().ok()) == Some(parent) {
            out.push((pid, field("Name:").unwrap_or_default()));
        }
    }
    out
}

/// Whether process `pid` has ended (gone, or a zombie waiting to be reaped).
fn gone(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| {
        stat.rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z'))
    })
}

/// The development license's SARI (as `supervisor::dev::DEV_SARI`).
fn supervisor_dev_sari() -> &'static str {
    "1F10DE0000"
}
