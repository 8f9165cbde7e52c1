//! The license and the health states, the event log, counters and conflicts between sites.

use super::*;
use ipc::api::store::{StoreError, StoreRequest as R, StoreResponse as S};
use model::{Entity, HealthCheck, HealthState, LinkState, Omm, OmmHealth, Settings, Severity};
use svc_store::Store;

fn health(store: &Store) -> Vec<HealthState> {
    match store.read(&R::GetHealth).unwrap() {
        S::Health(h) => h,
        other => panic!("{other:?}"),
    }
}

fn sari(store: &Store) -> String {
    match store.read(&R::GetSettings).unwrap() {
        S::Settings(s) => s.sari,
        other => panic!("{other:?}"),
    }
}

#[test]
fn only_a_signed_license_sets_the_sari_and_it_is_checked_again_at_every_start() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let issuer = license::IssuerKey::generate();
    let mut store = Store::open(&db).unwrap().store;
    store.trust_license_issuers(vec![issuer.public()]);
    store.enforce_license().unwrap();

    // No license: no SARI, and the health pane says so in the guide's words.
    assert_eq!(sari(&store), "");
    let h = health(&store);
    assert_eq!(h[0].check, HealthCheck::License);
    assert_eq!(h[0].severity, Some(Severity::Error));
    assert_eq!(h[0].reason, "No license available");

    // Forged, tampered and foreign files are refused and change nothing.
    let file = issuer
        .issue(&sample_license("271110277", "1F1028D085"))
        .unwrap();
    let stranger = license::IssuerKey::generate();
    for (bytes, expect) in [
        (
            file.replace("GERMANY", "FRANCE").into_bytes(),
            "altered or forged",
        ),
        (
            stranger
                .issue(&sample_license("271110277", "1F1028D085"))
                .unwrap()
                .into_bytes(),
            "not a configured issuer key",
        ),
        (b"\x00\x01garbage".to_vec(), "line 1"),
        (vec![b'a'; 100_000], "more than"),
    ] {
        match err(store.write(R::InstallLicense(bytes))) {
            StoreError::LicenseRefused(why) => assert!(why.contains(expect), "{why}"),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(sari(&store), "");
    assert!(matches!(
        store.read(&R::GetLicense).unwrap(),
        S::License(None)
    ));

    // A valid one: SARI, fields, health well, an event-log line.
    store
        .write(R::InstallLicense(file.clone().into_bytes()))
        .unwrap();
    assert_eq!(sari(&store), "1F1028D085");
    assert_eq!(
        store.read(&R::GetLicense).unwrap(),
        S::License(Some(sample_license("271110277", "1F1028D085")))
    );
    assert_eq!(health(&store)[0].severity, None);
    let S::Events(events) = store.read(&R::ListEvents).unwrap() else {
        panic!()
    };
    assert!(events[0]
        .text
        .starts_with("license installed: installation 271110277"));

    // A later license must carry the same installation id; a renewal with a new SARI may.
    let other = issuer.issue(&sample_license("1", "1F1028D085")).unwrap();
    assert!(matches!(
        err(store.write(R::InstallLicense(other.into_bytes()))),
        StoreError::LicenseMismatch { .. }
    ));
    let renewal = issuer
        .issue(&sample_license("271110277", "1F1028D086"))
        .unwrap();
    store
        .write(R::InstallLicense(renewal.into_bytes()))
        .unwrap();
    assert_eq!(sari(&store), "1F1028D086");

    // The SARI is the license's: a settings edit cannot change it.
    let S::Settings(settings) = store.read(&R::GetSettings).unwrap() else {
        panic!()
    };
    store
        .write(R::PutSettings(Settings {
            sari: "0000000000".into(),
            system_name: "Edited".into(),
            ..settings.clone()
        }))
        .unwrap();
    assert_eq!(sari(&store), "1F1028D086");
    let bad = Settings {
        system_name: String::new(),
        ..settings
    };
    assert!(matches!(
        err(store.write(R::PutSettings(bad))),
        StoreError::Invalid(_)
    ));

    // Restart with the issuer key no longer configured: the SARI is withdrawn, the license
    // kept; with the key back it returns.
    drop(store);
    let store = Store::open(&db).unwrap().store;
    store.enforce_license().unwrap();
    assert_eq!(sari(&store), "");
    let h = health(&store);
    assert!(h[0].reason.starts_with("License not valid:"), "{:?}", h[0]);
    let S::Events(events) = store.read(&R::ListEvents).unwrap() else {
        panic!()
    };
    assert_eq!(events[0].severity, Severity::Error);
    drop(store);
    let mut store = Store::open(&db).unwrap().store;
    store.trust_license_issuers(vec![issuer.public()]);
    store.enforce_license().unwrap();
    assert_eq!(sari(&store), "1F1028D086");
    assert_eq!(health(&store)[0].severity, None);
}

#[test]
fn omm_connections_health_names_the_enabled_omms_that_are_down() {
    let (_dir, store) = open();
    let well = |store: &Store| health(store)[1].clone();
    assert_eq!(well(&store).check, HealthCheck::OmmConnections);
    assert_eq!(well(&store).severity, None);
    let mut ids = Vec::new();
    for (i, enabled) in [(1, true), (2, true), (3, false)] {
        ids.push(created(
            store
                .write(R::PutOmm(Omm {
                    name: format!("Site {i}"),
                    enabled,
                    omm1: format!("127.0.0.1:{i}"),
                    ..Omm::default()
                }))
                .unwrap(),
        ));
    }
    // One OMM, one record: the same address again (another spelling) is refused.
    let twin = store
        .write(R::PutOmm(Omm {
            name: "Twin".into(),
            omm2: "127.0.0.1:2".into(),
            omm1: "192.0.2.9".into(),
            ..Omm::default()
        }))
        .unwrap_err();
    assert!(
        twin.to_string()
            .contains(&format!("already OMM {} (Site 2)", ids[1])),
        "{twin}"
    );
    let h = well(&store);
    assert_eq!(h.severity, Some(Severity::Warning));
    assert_eq!(h.reason, "2 OMMs not connected: Site 1, Site 2");
    for id in &ids[..2] {
        store
            .write(R::SetOmmHealth {
                id: *id,
                health: OmmHealth {
                    link: LinkState::Up,
                    healthy: true,
                    ..OmmHealth::default()
                },
                cloud_id: None,
            })
            .unwrap();
    }
    assert_eq!(well(&store).severity, None, "a disabled OMM does not count");
    store
        .write(R::SetOmmHealth {
            id: ids[1],
            health: OmmHealth {
                link: LinkState::Down,
                last_error: "authentication failed".into(),
                ..OmmHealth::default()
            },
            cloud_id: None,
        })
        .unwrap();
    assert_eq!(well(&store).reason, "OMM not connected: Site 2");
    // Many down: the first five by name, then how many more.
    for i in 4..=9 {
        store
            .write(R::PutOmm(Omm {
                name: format!("Site {i}"),
                enabled: true,
                omm1: format!("127.0.0.1:{i}"),
                ..Omm::default()
            }))
            .unwrap();
    }
    assert_eq!(
        well(&store).reason,
        "7 OMMs not connected: Site 2, Site 4, Site 5, Site 6, Site 7 and 2 more"
    );
}

#[test]
fn event_log_counts_repeats_and_keeps_100_entries() {
    let (_dir, store) = open();
    for _ in 0..3 {
        store
            .write(R::LogEvent {
                severity: Severity::Warning,
                subsystem: "axi".into(),
                text: "OMM 1 link lost".into(),
            })
            .unwrap();
    }
    for i in 0..150 {
        store
            .write(R::LogEvent {
                severity: Severity::Info,
                subsystem: "t".into(),
                text: format!("event {i}"),
            })
            .unwrap();
    }
    let S::Events(events) = store.read(&R::ListEvents).unwrap() else {
        panic!()
    };
    assert_eq!(events.len(), 100);
    assert_eq!(events[0].text, "event 149");
    assert!(
        events.iter().all(|e| e.text != "OMM 1 link lost"),
        "oldest entries are dropped"
    );
    store
        .write(R::LogEvent {
            severity: Severity::Warning,
            subsystem: "axi".into(),
            text: "again".into(),
        })
        .unwrap();
    store
        .write(R::LogEvent {
            severity: Severity::Warning,
            subsystem: "axi".into(),
            text: "again".into(),
        })
        .unwrap();
    let S::Events(events) = store.read(&R::ListEvents).unwrap() else {
        panic!()
    };
    assert_eq!((events[0].text.as_str(), events[0].count), ("again", 2));
}

#[test]
fn counters_keep_a_history() {
    let (_dir, store) = open();
    store
        .write(R::AddToCounter {
            name: "axi.records_synced".into(),
            delta: 5,
        })
        .unwrap();
    store.write_with(|tx| tx.sample_counters()).unwrap();
    store
        .write(R::AddToCounter {
            name: "axi.records_synced".into(),
            delta: 2,
        })
        .unwrap();
    store.write_with(|tx| tx.sample_counters()).unwrap();
    let S::Counters(c) = store.read(&R::ListCounters).unwrap() else {
        panic!()
    };
    assert_eq!(c[0].value, 7);
    assert_eq!(c[0].history.iter().map(|h| h.1).collect::<Vec<_>>(), [5, 7]);
}

#[test]
fn a_full_database_refuses_writes_clearly_loses_nothing_and_says_so_in_health() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_with_map_size(&dir.path().join("db"), 1 << 20)
        .unwrap()
        .store;
    let mut saved = 0u64;
    let error = loop {
        let mut u = user(&format!("{}", 100_000 + saved));
        u.name = "x".repeat(120);
        match store.write(R::PutUser(u)) {
            Ok(_) => saved += 1,
            Err(e) => break e,
        }
        assert!(saved < 100_000, "the map never filled");
    };
    assert!(matches!(error, StoreError::Storage(_)), "{error}");
    assert!(error.to_string().contains("database error"), "{error}");
    // Nothing saved is lost, and reads go on.
    assert_eq!(user_count(&store), saved);
    let S::Health(states) = store.read(&R::GetHealth).unwrap() else {
        panic!()
    };
    let database = states
        .iter()
        .find(|s| s.check == HealthCheck::Database)
        .expect("a Database health state");
    assert_eq!(database.severity, Some(Severity::Error));
    assert!(
        database.reason.contains("Database writes fail"),
        "{}",
        database.reason
    );
}

fn conflict(omm: u32, record: u32, key: &str) -> model::Conflict {
    model::Conflict {
        kind: model::ConflictKind::SameNumber,
        omm,
        entity: Entity::User,
        omm_record: record,
        key: key.into(),
        other_omm: 1,
        reason: format!("user {key} is on OMM 1 and on OMM {omm}"),
        first_seen: 100,
        last_seen: 100,
        count: 1,
    }
}

fn conflicts(store: &Store) -> Vec<model::Conflict> {
    match store.read(&R::ListConflicts).unwrap() {
        S::Conflicts(c) => c,
        other => panic!("{other:?}"),
    }
}

fn events(store: &Store) -> Vec<model::EventEntry> {
    match store.read(&R::ListEvents).unwrap() {
        S::Events(e) => e,
        other => panic!("{other:?}"),
    }
}

#[test]
fn conflicts_are_kept_per_omm_logged_without_a_flood_and_dropped_with_the_omm() {
    let (_dir, store) = open();
    let mut ids = Vec::new();
    for i in 1..=2 {
        ids.push(created(
            store
                .write(R::PutOmm(Omm {
                    name: format!("Site {i}"),
                    enabled: false,
                    omm1: format!("127.0.0.1:{i}"),
                    ..Omm::default()
                }))
                .unwrap(),
        ));
    }
    let site2 = ids[1];
    // A hostile or careless site with 1,000 duplicates: listed in full, a few event-log
    // entries, not a thousand.
    let many: Vec<_> = (0..1000)
        .map(|i| conflict(site2, i, &format!("{}", 5000 + i)))
        .collect();
    store
        .write(R::SetConflicts {
            omm: site2,
            conflicts: many,
        })
        .unwrap();
    assert_eq!(conflicts(&store).len(), 1000);
    let logged: Vec<_> = events(&store)
        .into_iter()
        .filter(|e| e.text.contains("onflict"))
        .collect();
    assert_eq!(logged.len(), 4, "{logged:?}");
    assert!(logged
        .iter()
        .any(|e| e.text.contains("997 more conflicts at OMM")));
    let h = health(&store)[1].clone();
    assert_eq!(h.severity, Some(Severity::Warning));
    assert!(
        h.reason
            .contains("1000 conflicting records held back at: Site 2"),
        "{}",
        h.reason
    );
    // The same list again is no news; a shorter one clears the rest; the first sighting
    // stays.
    let again = vec![conflict(site2, 7, "5007")];
    store
        .write(R::SetConflicts {
            omm: site2,
            conflicts: again,
        })
        .unwrap();
    assert_eq!(conflicts(&store).len(), 1);
    assert_eq!(conflicts(&store)[0].first_seen, 100);
    assert_eq!(
        events(&store)
            .iter()
            .filter(|e| e.text.contains("onflict"))
            .count(),
        4
    );
    // Control characters in what a link reports never reach a terminal.
    let mut nasty = conflict(site2, 8, "5008");
    nasty.reason = "evil\u{1b}[2J".into();
    store
        .write(R::SetConflicts {
            omm: site2,
            conflicts: vec![nasty],
        })
        .unwrap();
    assert!(!conflicts(&store)[0].reason.contains('\u{1b}'));
    // Deleting the OMM record drops its conflicts.
    store.write(R::DeleteOmm(site2)).unwrap();
    assert!(conflicts(&store).is_empty());
    assert_eq!(health(&store)[1].severity, None);
}

#[test]
fn at_most_max_conflicts_are_kept_for_all_omms_together() {
    let (_dir, store) = open();
    let max = svc_store::conflicts::MAX_CONFLICTS;
    let per_omm = max / 4 + 1000;
    for omm in 1..=4u32 {
        let list = (0..u32::try_from(per_omm).unwrap())
            .map(|i| conflict(omm, i, &format!("{}", 100_000 + i)))
            .collect();
        store
            .write(R::SetConflicts {
                omm,
                conflicts: list,
            })
            .unwrap();
    }
    assert_eq!(conflicts(&store).len(), max);
}
