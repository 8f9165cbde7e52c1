//! The sync between the store and the OMMs: the first import, changes both ways, a link
//! refused or cut off, svc-axi killed mid-sync, an OMM away while things change,
//! relations, conflicts between sites, and the version checks.

use super::*;
use crate::license::health_json;
use axi::record::AxiRecord;
use ipc::api::store::{StoreRequest, StoreResponse};
use model::{LinkState, User};
use mom_tests::sim::{add_omm, omms, runtime, wait};
use mom_tests::{Mom, Options};
use omm_sim::{Fleet, FleetOptions};
use std::collections::HashMap;
use std::time::{Duration, Instant};

#[test]
fn first_connect_imports_everything_then_changes_flow_both_ways() {
    let rt = runtime();
    let fleet = fleet(&rt, 3);
    let mom = mom();
    let ids: Vec<u32> = (1..=3).map(|i| add_omm(&mom, &fleet, i)).collect();
    wait("every record imported", Duration::from_secs(30), || {
        user_total(&mom) == 3 * u64::from(USERS) && device_total(&mom) == 3 * u64::from(USERS)
    });
    wait("every link up", Duration::from_secs(10), || {
        omms(&mom).iter().all(|o| o.health.link == LinkState::Up)
    });
    for o in omms(&mom) {
        let index = ids.iter().position(|i| *i == o.id).unwrap() as u32 + 1;
        assert_eq!(o.cloud_id, fleet.omm(index).lock().state.cloud_id());
        assert!(o.health.healthy);
    }
    wait("links-up gauge", Duration::from_secs(10), || {
        mom.counter("axi.links_up") == 3
    });
    // Homes and bindings came along.
    let first = fleet.omm(1).lock().state.users[&1]
        .raw("num")
        .unwrap()
        .to_owned();
    let u = user_by_number(&mom, &first).unwrap();
    assert_eq!((u.home_omm, u.omm_uid), (ids[0], 1));
    assert_ne!(u.ppn, 0, "the OMM's binding was imported");
    // The OMM settings the MOM decides.
    assert!(!fleet.omm(2).lock().state.auto_create);

    // A MOM-side edit reaches the user's OMM.
    let mut edited = u.clone();
    edited.name = "Edited at the MOM".into();
    edited.timestamp = model::now();
    ok(mom.store(StoreRequest::PutUser(edited)));
    wait("MOM edit on the OMM", Duration::from_secs(10), || {
        fleet.omm(1).lock().state.users[&1].raw("name") == Some("Edited at the MOM")
    });

    // An OMM-side edit reaches the store.
    let second = fleet.omm(2).lock().state.users[&2]
        .raw("num")
        .unwrap()
        .to_owned();
    fleet
        .admin_edit_user(2, 2, "name", "Edited at the OMM")
        .unwrap();
    wait("OMM edit in the store", Duration::from_secs(10), || {
        user_by_number(&mom, &second).is_some_and(|u| u.name == "Edited at the OMM")
    });
    // An event with only the changed attribute is merged: the rest of the record stays.
    let before = user_by_number(&mom, &second).unwrap();
    fleet
        .admin_edit_user_partial(2, 2, "hierarchy2", "Ward 7")
        .unwrap();
    wait(
        "partial OMM edit in the store",
        Duration::from_secs(10),
        || user_by_number(&mom, &second).is_some_and(|u| u.hierarchy2 == "Ward 7"),
    );
    let after = user_by_number(&mom, &second).unwrap();
    assert_eq!(
        User {
            hierarchy2: before.hierarchy2.clone(),
            timestamp: before.timestamp,
            ..after.clone()
        },
        before,
        "only hierarchy2 (and the stamp) changed"
    );

    // A user created at the MOM for OMM 3 is created there; deleting it removes it there.
    let new = User {
        num: "99001".into(),
        name: "New".into(),
        home_omm: ids[2],
        timestamp: model::now(),
        ..User::default()
    };
    let StoreResponse::Created(uid) = mom.store(StoreRequest::PutUser(new)) else {
        panic!()
    };
    let on_omm = |fleet: &Fleet| {
        fleet
            .omm(3)
            .lock()
            .state
            .users
            .values()
            .any(|u| u.raw("num") == Some("99001"))
    };
    wait(
        "MOM-created user on its OMM",
        Duration::from_secs(10),
        || on_omm(&fleet),
    );
    ok(mom.store(StoreRequest::DeleteUser(uid)));
    wait(
        "MOM-deleted user gone from its OMM",
        Duration::from_secs(10),
        || !on_omm(&fleet),
    );

    // A licensed SARI is set on every OMM; they restart and the links come back.
    let installed = mom.install_license("271110277", "1F1028D085");
    assert!(installed.status.success(), "{installed:?}");
    wait("SARI on every OMM", Duration::from_secs(20), || {
        (1..=3).all(|i| fleet.omm(i).lock().state.sari.as_deref() == Some("1F1028D085"))
    });
    wait(
        "links back after the SARI restart",
        Duration::from_secs(20),
        || omms(&mom).iter().all(|o| o.health.link == LinkState::Up),
    );
    assert_eq!(
        user_total(&mom),
        3 * u64::from(USERS),
        "nothing duplicated after reconnects"
    );
    drop(mom);
    drop(fleet);
}

#[test]
fn a_refused_login_stays_down_with_its_reason_and_recovers_after_the_fix() {
    let rt = runtime();
    let fleet = fleet(&rt, 1);
    let mom = mom();
    let id = add_omm(&mom, &fleet, 1);
    let mut omm = omms(&mom).into_iter().find(|o| o.id == id).unwrap();
    omm.password = "wrong".into();
    ok(mom.store(StoreRequest::PutOmm(omm.clone())));
    wait(
        "authentication failure reported",
        Duration::from_secs(15),
        || {
            omms(&mom).iter().any(|o| {
                o.id == id
                    && o.health.link == LinkState::Down
                    && o.health.last_error == "authentication failed"
            })
        },
    );
    // The event-log entry follows the state.
    wait("event-log entry", Duration::from_secs(5), || {
        match mom.store(StoreRequest::ListEvents) {
            StoreResponse::Events(events) => events
                .iter()
                .any(|e| e.subsystem == "axi" && e.text.contains("authentication failed")),
            other => panic!("{other:?}"),
        }
    });
    omm.password = "omm-password".into();
    ok(mom.store(StoreRequest::PutOmm(omm)));
    wait("link up after the fix", Duration::from_secs(15), || {
        omms(&mom)
            .iter()
            .any(|o| o.id == id && o.health.link == LinkState::Up)
    });
    assert_eq!(user_total(&mom), u64::from(USERS));
}

#[test]
fn a_hostile_omm_is_cut_off_while_the_others_keep_syncing() {
    use omm_sim::Behaviour;
    let rt = runtime();
    let fleet = fleet(&rt, 6);
    let mom = mom_with("request-timeout-secs = 2\n");
    let ids: Vec<u32> = (1..=6).map(|i| add_omm(&mom, &fleet, i)).collect();
    wait("imported", Duration::from_secs(30), || {
        user_total(&mom) == 6 * u64::from(USERS)
    });
    wait("links up", Duration::from_secs(10), || {
        omms(&mom).iter().all(|o| o.health.link == LinkState::Up)
    });
    fleet.omm(1).set_behaviour(Behaviour::Garbage);
    fleet.omm(2).set_behaviour(Behaviour::Oversize);
    fleet.omm(3).set_behaviour(Behaviour::ByteByByte);
    fleet.omm(5).set_behaviour(Behaviour::Silent);
    // Requests make the hostile OMMs answer: a settings change goes to every link.
    ok(mom.store(StoreRequest::PutSettings(model::Settings {
        fac_prefix: "*8".into(),
        ..model::Settings::default()
    })));
    // Each is seen down with a reason at some point (the oversize OMM behaves again after
    // its one oversize frame, so its link comes back soon).
    let mut reasons: HashMap<u32, String> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while ![ids[0], ids[1], ids[4]]
        .iter()
        .all(|id| reasons.contains_key(id))
    {
        assert!(
            Instant::now() < deadline,
            "garbage, oversize and stalled links cut off: {reasons:?}"
        );
        for o in omms(&mom) {
            if o.health.link == LinkState::Down && !o.health.last_error.is_empty() {
                reasons.entry(o.id).or_insert(o.health.last_error);
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(reasons[&ids[4]].contains("did not answer"), "{reasons:?}");
    assert!(reasons[&ids[0]].contains("bad frame"), "{reasons:?}");
    assert!(reasons[&ids[1]].contains("limit"), "{reasons:?}");
    // Byte-by-byte is slow but valid: that link stays and gets the settings; so does OMM 4.
    wait(
        "settings on the good links",
        Duration::from_secs(15),
        || {
            fleet.omm(3).lock().state.fac_prefix == "*8"
                && fleet.omm(4).lock().state.fac_prefix == "*8"
        },
    );
    assert!(omms(&mom)
        .iter()
        .any(|o| o.id == ids[2] && o.health.link == LinkState::Up));
    // The healthy OMM keeps syncing while the hostile ones are cut off.
    let num = fleet.omm(4).lock().state.users[&3]
        .raw("num")
        .unwrap()
        .to_owned();
    fleet
        .admin_edit_user(4, 3, "name", "Still syncing")
        .unwrap();
    wait("healthy OMM still syncs", Duration::from_secs(10), || {
        user_by_number(&mom, &num).is_some_and(|u| u.name == "Still syncing")
    });
    // And handsets roam between the healthy OMMs as usual.
    let ipei = fleet.omm(6).lock().state.devices[&4]
        .get(axi::PpDev::IPEI)
        .unwrap();
    fleet.roam(ipei, 4, 3).unwrap();
    wait(
        "roamed between healthy OMMs",
        Duration::from_secs(5),
        || fleet.device(4, ipei).is_some() && device_location(&mom, ipei) == Some(ids[3]),
    );
    let StoreResponse::Events(events) = mom.store(StoreRequest::ListEvents) else {
        panic!()
    };
    assert!(
        events.iter().filter(|e| e.subsystem == "axi").count() >= 2,
        "{events:?}"
    );
    // Once it behaves again, the link comes back by itself.
    fleet.omm(1).set_behaviour(Behaviour::Normal);
    wait("recovered", Duration::from_secs(15), || {
        omms(&mom)
            .iter()
            .any(|o| o.id == ids[0] && o.health.link == LinkState::Up)
    });
}

#[test]
fn svc_axi_killed_during_a_sync_restarts_and_the_result_is_complete_without_duplicates() {
    let rt = runtime();
    let mut options = FleetOptions {
        omms: 4,
        users: 150,
        devices: 150,
        ..FleetOptions::default()
    };
    options.omm.restart_time = Duration::from_millis(500);
    let fleet = rt.block_on(Fleet::start(options)).unwrap();
    let mom = mom();
    for i in 1..=4 {
        add_omm(&mom, &fleet, i);
    }
    wait("sync under way", Duration::from_secs(30), || {
        user_total(&mom) > 50
    });
    let axi = mom.service("axi");
    mom_tests::signal(axi.pid.unwrap(), nix::sys::signal::Signal::SIGKILL);
    wait("svc-axi restarted", Duration::from_secs(10), || {
        mom.service("axi").restarts == 1
            && mom.service("axi").state == ipc::api::control::ServiceState::Running
    });
    wait("complete", Duration::from_secs(60), || {
        user_total(&mom) == 600 && device_total(&mom) == 600
    });
    wait("links up", Duration::from_secs(10), || {
        omms(&mom).iter().all(|o| o.health.link == LinkState::Up)
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        (user_total(&mom), device_total(&mom)),
        (600, 600),
        "no duplicates"
    );
    for i in 1..=4 {
        assert_eq!(
            fleet.omm(i).lock().state.users.len(),
            150,
            "nothing duplicated on OMM {i}"
        );
    }
    // Once in agreement, a reconnect writes nothing on either side.
    let synced = mom.counter("axi.records_synced");
    std::thread::sleep(Duration::from_millis(1100)); // `since` has one-second resolution
    let killed_at = model::now();
    let axi = mom.service("axi");
    mom_tests::signal(axi.pid.unwrap(), nix::sys::signal::Signal::SIGKILL);
    wait("svc-axi restarted again", Duration::from_secs(10), || {
        mom.service("axi").restarts == 2
    });
    wait("every link up again", Duration::from_secs(15), || {
        omms(&mom)
            .iter()
            .all(|o| o.health.link == LinkState::Up && o.health.since >= killed_at)
    });
    assert_eq!(
        mom.counter("axi.records_synced"),
        synced,
        "a quiet reconnect"
    );
}

#[test]
fn a_protocol_version_mismatch_stays_down_and_is_reported() {
    let rt = runtime();
    let fleet = fleet(&rt, 1);
    let mom = mom_with("protocol-version = 46\n");
    add_omm(&mom, &fleet, 1);
    assert_mismatch_reported(&mom);
}

#[test]
fn an_omm_that_refuses_another_version_with_efailed_is_a_version_mismatch_too() {
    let rt = runtime();
    let mut options = FleetOptions {
        omms: 1,
        users: 2,
        devices: 2,
        ..FleetOptions::default()
    };
    options.omm.refuse_other_version = true;
    let fleet = rt.block_on(Fleet::start(options)).expect("fleet");
    let mom = mom_with("protocol-version = 46\n");
    add_omm(&mom, &fleet, 1);
    assert_mismatch_reported(&mom);
}

/// The OMM's link stays down as a version mismatch, reported once, nothing imported.
fn assert_mismatch_reported(mom: &Mom) {
    let reason = "protocol version mismatch: OMM 45, MOM 46";
    wait("mismatch reported", Duration::from_secs(15), || {
        omms(mom)
            .iter()
            .all(|o| o.health.link == LinkState::Down && o.health.last_error == reason)
    });
    // It stays down through several retries and nothing is imported.
    std::thread::sleep(Duration::from_secs(3));
    let omm = &omms(mom)[0];
    assert_eq!(omm.health.link, LinkState::Down);
    assert_eq!(omm.health.last_error, reason);
    assert!(!omm.health.healthy);
    assert_eq!(user_total(mom), 0);
    let events = match mom.store(StoreRequest::ListEvents) {
        StoreResponse::Events(e) => e,
        other => panic!("{other:?}"),
    };
    let logged: Vec<_> = events.iter().filter(|e| e.text.contains(reason)).collect();
    assert_eq!(logged.len(), 1, "one entry, its count raised: {events:?}");
    let (code, health) = health_json(mom);
    assert_eq!(code, 3);
    assert_eq!(health[1]["reason"], "OMM not connected: Site 1");
}

#[test]
fn an_event_flood_is_cut_off_and_the_link_recovers() {
    use omm_sim::Behaviour;
    let rt = runtime();
    let (fleet, mom, ids) = linked(&rt, 2);
    // OMM 1 answers the next request, then sends 20,000 events at once.
    fleet.omm(1).set_behaviour(Behaviour::Flood(20_000));
    ok(mom.store(StoreRequest::PutSettings(model::Settings {
        fac_prefix: "*9".into(),
        ..model::Settings::default()
    })));
    let mut reason = String::new();
    wait("the flooding link cut off", Duration::from_secs(20), || {
        if let Some(o) = omms(&mom).into_iter().find(|o| o.id == ids[0]) {
            if o.health.link == LinkState::Down {
                reason = o.health.last_error;
                return true;
            }
        }
        false
    });
    assert!(reason.contains("events faster"), "{reason}");
    // The other OMM was not affected, and the flooding one comes back (it behaves again).
    assert!(omms(&mom)
        .iter()
        .any(|o| o.id == ids[1] && o.health.link == LinkState::Up));
    wait("link back", Duration::from_secs(15), || {
        omms(&mom).iter().all(|o| o.health.link == LinkState::Up)
    });
    assert_eq!(user_total(&mom), 2 * u64::from(USERS), "nothing duplicated");
}

fn conflicts(mom: &Mom) -> Vec<model::Conflict> {
    match mom.store(StoreRequest::ListConflicts) {
        StoreResponse::Conflicts(c) => c,
        other => panic!("{other:?}"),
    }
}

#[test]
fn conflicting_sites_keep_their_links_and_the_conflicts_are_listed_until_fixed() {
    use axi::{PpDev, PpUser};
    let rt = runtime();
    let fleet = fleet(&rt, 2);
    // Before the MOM is commissioned, site 2 gave out a number and registered a handset
    // that site 1 has too (its copies are the newer ones).
    let (num_1, ipei_1) = {
        let inner = fleet.omm(1).lock();
        let user = inner.state.users.values().next().unwrap();
        let device = inner.state.devices.values().next().unwrap();
        (
            user.raw("num").unwrap().to_owned(),
            device.get(PpDev::IPEI).unwrap(),
        )
    };
    let (uid_2, ppn_2) = {
        let mut inner = fleet.omm(2).lock();
        let now = model::now();
        let (&uid, user) = inner.state.users.iter_mut().nth(3).unwrap();
        user.set_raw("num", num_1.clone());
        user.set(PpUser::TIME_STAMP, now);
        let (&ppn, device) = inner.state.devices.iter_mut().nth(5).unwrap();
        device.set(PpDev::IPEI, ipei_1);
        device.set(PpDev::TIME_STAMP, now);
        (uid, ppn)
    };
    let mom = mom();
    let id_1 = add_omm(&mom, &fleet, 1);
    wait("site 1 imported", Duration::from_secs(30), || {
        user_total(&mom) == u64::from(USERS)
    });
    let id_2 = add_omm(&mom, &fleet, 2);
    wait(
        "both linked, all but the conflicting records imported",
        Duration::from_secs(30),
        || {
            mom.totals() == (u64::from(2 * USERS - 1), u64::from(2 * USERS - 1))
                && omms(&mom).iter().all(|o| o.health.link == LinkState::Up)
                && conflicts(&mom).len() == 2
        },
    );
    let listed = conflicts(&mom);
    let kinds: Vec<model::ConflictKind> = listed.iter().map(|c| c.kind).collect();
    assert!(
        kinds.contains(&model::ConflictKind::SameNumber),
        "{listed:?}"
    );
    assert!(
        kinds.contains(&model::ConflictKind::SameHandset),
        "{listed:?}"
    );
    assert!(
        listed.iter().all(|c| c.omm == id_2 && c.other_omm == id_1),
        "{listed:?}"
    );
    // Site 1 keeps its records.
    assert_eq!(user_by_number(&mom, &num_1).unwrap().home_omm, id_1);
    assert!(fleet.device(1, ipei_1).is_some() && fleet.device(2, ipei_1).is_some());
    // The CLI lists them (exit 3), and health names the site.
    let out = mom.cli(&["conflicts"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(
        text.contains("same number on two OMMs") && text.contains(&num_1),
        "{text}"
    );
    let (_, health) = health_json(&mom);
    assert!(
        health.to_string().contains("held back at: Site 2"),
        "{health}"
    );

    // While linked, site 1 gives a user a number that a user of site 2 already has: the
    // store refuses it, the link stays up, and the rest goes on.
    let (uid_1, old_num) = {
        let inner = fleet.omm(1).lock();
        let (&uid, user) = inner.state.users.iter().nth(7).unwrap();
        (uid, user.raw("num").unwrap().to_owned())
    };
    let taken = {
        let inner = fleet.omm(2).lock();
        inner
            .state
            .users
            .values()
            .nth(9)
            .unwrap()
            .raw("num")
            .unwrap()
            .to_owned()
    };
    fleet.admin_edit_user(1, uid_1, "num", &taken).unwrap();
    wait("the refusal listed", Duration::from_secs(10), || {
        conflicts(&mom)
            .iter()
            .any(|c| c.kind == model::ConflictKind::Refused && c.omm == id_1)
    });
    let other_uid = *fleet.omm(1).lock().state.users.keys().nth(8).unwrap();
    fleet
        .admin_edit_user(1, other_uid, "name", "Still syncing")
        .unwrap();
    wait("other records still sync", Duration::from_secs(10), || {
        mom.users_named("Still syncing") == 1
    });
    assert!(omms(&mom).iter().all(|o| o.health.link == LinkState::Up));
    // Roaming of a healthy handset from site 1 to site 2 still works.
    let roamer = {
        let inner = fleet.omm(1).lock();
        inner
            .state
            .devices
            .values()
            .nth(2)
            .unwrap()
            .get(PpDev::IPEI)
            .unwrap()
    };
    fleet.roam(roamer, 2, 1).unwrap();
    wait("handset roamed", Duration::from_secs(10), || {
        device_location(&mom, roamer) == Some(id_2)
    });

    // Fixing each side clears its conflict.
    fleet.admin_edit_user(1, uid_1, "num", &old_num).unwrap();
    fleet.admin_edit_user(2, uid_2, "num", "77001").unwrap();
    let fresh = model::Ipei::new(2, 999_001).unwrap();
    fleet
        .admin_edit_device(2, ppn_2, "ipei", &fresh.to_string())
        .unwrap();
    wait("every conflict cleared", Duration::from_secs(15), || {
        conflicts(&mom).is_empty()
    });
    assert!(user_by_number(&mom, "77001").is_some_and(|u| u.home_omm == id_2));
    assert_eq!(device_location(&mom, fresh), Some(id_2));
    assert_eq!(mom.cli(&["conflicts"]).status.code(), Some(0));
    assert_stamped(&fleet, 2);
    let (_, health) = health_json(&mom);
    assert!(!health.to_string().contains("held back"), "{health}");
}

#[test]
fn while_svc_axi_is_down_status_and_health_say_no_link_is_held() {
    let rt = runtime();
    let fleet = fleet(&rt, 1);
    let mom = Mom::start(&Options {
        restart: "min-backoff-ms = 4000\nmax-backoff-ms = 8000\n".into(),
        extra: "[axi]\nretry-secs = 1\n".into(),
        ..Options::default()
    });
    add_omm(&mom, &fleet, 1);
    wait("linked", Duration::from_secs(30), || {
        omms(&mom).iter().all(|o| o.health.link == LinkState::Up)
    });
    mom_tests::signal(
        mom.service("axi").pid.unwrap(),
        nix::sys::signal::Signal::SIGKILL,
    );
    wait(
        "the link shown down at once",
        Duration::from_secs(3),
        || {
            omms(&mom).iter().all(|o| {
                o.health.link == LinkState::Down
                    && o.health.last_error.contains("svc-axi is not running")
            })
        },
    );
    let out = mom.cli(&["status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("svc-axi is not running"), "{text}");
    let (_, health) = health_json(&mom);
    assert!(
        health.to_string().contains("OMM not connected: Site 1"),
        "{health}"
    );
    assert_eq!(mom.counter("axi.links_up"), 0);
    wait("back up after the restart", Duration::from_secs(30), || {
        omms(&mom).iter().all(|o| o.health.link == LinkState::Up)
    });
}
