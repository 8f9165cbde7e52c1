//! The store's integrity rules, queries, change feed and import checks, driven in-process
//! through the same engine the IPC server uses, on a real LMDB file.

use ipc::api::store::{
    AccountUpdate, NewAccount, StoreError, StoreRequest as R, StoreResponse as S,
};
use model::{
    ConferenceRoom, Device, Entity, Filter, FilterOp, HealthCheck, HealthState, Ipei, License,
    LinkState, Omm, OmmHealth, Query, RelType, Settings, Severity, SortDirection, Source,
    SubscriptionState, User,
};
use svc_store::engine::Backlog;
use svc_store::transfer::Transfers;
use svc_store::Store;

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let opened = Store::open(&dir.path().join("db")).unwrap();
    assert!(opened.created);
    (dir, opened.store)
}

fn user(num: &str) -> User {
    User {
        num: num.into(),
        name: format!("User {num}"),
        ..User::default()
    }
}

fn ipei(psn: u32) -> Ipei {
    Ipei::new(3074, psn).unwrap()
}

fn created(resp: S) -> u32 {
    match resp {
        S::Created(id) => id,
        other => panic!("expected Created, got {other:?}"),
    }
}

fn err(result: Result<S, StoreError>) -> StoreError {
    result.expect_err("the store accepted a write that breaks a rule")
}

#[test]
fn default_account_exists_checks_its_password_and_cannot_be_deleted() {
    let (_dir, store) = open();
    let S::Account(account) = store
        .read(&R::CheckLogin {
            name: "mom".into(),
            password: "mom".into(),
        })
        .unwrap()
    else {
        panic!()
    };
    assert!(account.must_change_password && account.write && account.read);
    assert_eq!(
        err(store.read(&R::CheckLogin {
            name: "mom".into(),
            password: "wrong".into()
        })),
        StoreError::WrongPassword
    );
    assert_eq!(
        err(store.write(R::DeleteAccount(0))),
        StoreError::DefaultAccountUndeletable
    );
    // A weak new password is refused with the rule that failed; a good one clears the flag.
    let weak = err(store.write(R::UpdateAccount(AccountUpdate {
        id: 0,
        password: Some("momom".into()),
        ..Default::default()
    })));
    assert!(
        matches!(weak, StoreError::Invalid(ref m) if m.contains("five")),
        "{weak}"
    );
    store
        .write(R::UpdateAccount(AccountUpdate {
            id: 0,
            password: Some("Str0ng!pass".into()),
            ..Default::default()
        }))
        .unwrap();
    let S::Account(account) = store
        .read(&R::CheckLogin {
            name: "mom".into(),
            password: "Str0ng!pass".into(),
        })
        .unwrap()
    else {
        panic!()
    };
    assert!(!account.must_change_password);
}

#[test]
fn account_names_are_unique_and_disabled_accounts_cannot_log_in() {
    let (_dir, store) = open();
    let new = |name: &str| {
        R::CreateAccount(NewAccount {
            name: name.into(),
            password: "Adm1n!strator".into(),
            enabled: false,
            write: false,
            must_change_password: false,
        })
    };
    let id = created(store.write(new("admin-1")).unwrap());
    assert_eq!(
        err(store.write(new("admin-1"))),
        StoreError::DuplicateAccountName("admin-1".into())
    );
    assert_eq!(
        err(store.write(new("mom"))),
        StoreError::DuplicateAccountName("mom".into())
    );
    assert_eq!(
        err(store.read(&R::CheckLogin {
            name: "admin-1".into(),
            password: "Adm1n!strator".into()
        })),
        StoreError::AccountDisabled
    );
    store.write(R::DeleteAccount(id)).unwrap();
    // The name is free again after the delete.
    store.write(new("admin-1")).unwrap();
}

#[test]
fn numbers_and_ipeis_are_unique_and_ipeis_valid() {
    let (_dir, store) = open();
    let uid = created(store.write(R::PutUser(user("100"))).unwrap());
    assert_eq!(
        err(store.write(R::PutUser(user("100")))),
        StoreError::DuplicateNumber("100".into())
    );
    // Editing a user keeps its own number.
    let mut edited = user("100");
    edited.uid = uid;
    edited.name = "Renamed".into();
    store.write(R::PutUser(edited)).unwrap();
    assert!(matches!(
        err(store.write(R::PutUser(user("  ")))),
        StoreError::Invalid(_)
    ));

    created(store.write(R::PutDevice(Device::new(ipei(1)))).unwrap());
    assert_eq!(
        err(store.write(R::PutDevice(Device::new(ipei(1))))),
        StoreError::DuplicateIpei(ipei(1).to_string())
    );
    let bad = Device::new(Ipei {
        emc: 70_000,
        psn: 1,
    });
    assert!(matches!(
        err(store.write(R::PutDevice(bad))),
        StoreError::InvalidIpei(_)
    ));
}

#[test]
fn at_most_512_permanent_users_and_never_external() {
    let (_dir, store) = open();
    let users: Vec<User> = (0..512)
        .map(|i| User {
            permanent: true,
            ..user(&format!("{}", 1000 + i))
        })
        .collect();
    store
        .write(R::BulkPut {
            users,
            devices: vec![],
        })
        .unwrap();
    let extra = User {
        permanent: true,
        ..user("9999")
    };
    assert_eq!(
        err(store.write(R::PutUser(extra))),
        StoreError::TooManyPermanentUsers(512)
    );
    // The refused write left nothing behind.
    assert!(matches!(
        store.read(&R::GetUser(513)),
        Err(StoreError::NotFound { .. })
    ));
    let external = User {
        source: Source::External,
        ..user("8888")
    };
    let uid = created(store.write(R::PutUser(external.clone())).unwrap());
    let (_d2, store2) = open();
    let perm_ext = User {
        permanent: true,
        ..external
    };
    assert_eq!(
        err(store2.write(R::PutUser(perm_ext))),
        StoreError::PermanentMustBeInternal
    );
    assert!(uid > 0);
}

#[test]
fn relation_and_source_changes_follow_the_admin_guide() {
    let (_dir, store) = open();
    let mut device = Device::new(ipei(7));
    device.s = SubscriptionState::Yes;
    let S::CreatedFixed { uid, ppn } = store
        .write(R::CreateFixed {
            user: user("200"),
            device,
        })
        .unwrap()
    else {
        panic!()
    };
    let S::User(u) = store.read(&R::GetUser(uid)).unwrap() else {
        panic!()
    };
    assert_eq!((u.ppn, u.rel_type), (ppn, RelType::Fixed));
    store
        .write(R::ChangeRelationType {
            uid,
            rel_type: RelType::Dynamic,
        })
        .unwrap();
    assert!(matches!(
        err(store.write(R::ChangeRelationType {
            uid,
            rel_type: RelType::Unbound
        })),
        StoreError::RelationChange(_)
    ));

    // Source: Internal -> External never; External -> Internal only when Dynamic.
    assert!(matches!(
        err(store.write(R::ChangeSource {
            uid,
            source: Source::External
        })),
        StoreError::SourceChange(_)
    ));
    let ext = created(
        store
            .write(R::PutUser(User {
                source: Source::External,
                ..user("201")
            }))
            .unwrap(),
    );
    assert!(matches!(
        err(store.write(R::ChangeSource {
            uid: ext,
            source: Source::Internal
        })),
        StoreError::SourceChange(_)
    ));

    // An unsubscribed pair cannot change relation type.
    let S::CreatedFixed { uid: u2, .. } = store
        .write(R::CreateFixed {
            user: user("202"),
            device: Device::new(ipei(8)),
        })
        .unwrap()
    else {
        panic!()
    };
    assert!(matches!(
        err(store.write(R::ChangeRelationType {
            uid: u2,
            rel_type: RelType::Dynamic
        })),
        StoreError::RelationChange(_)
    ));

    // A plain edit cannot smuggle in a relation change.
    let mut sneaky = user("202");
    sneaky.uid = u2;
    sneaky.ppn = 0;
    sneaky.rel_type = RelType::Unbound;
    store.write(R::PutUser(sneaky)).unwrap();
    let S::User(u) = store.read(&R::GetUser(u2)).unwrap() else {
        panic!()
    };
    assert_eq!(u.rel_type, RelType::Fixed);

    // Deleting the user unbinds the device and leaves a tombstone.
    store.write(R::DeleteUser(uid)).unwrap();
    let S::Device(d) = store.read(&R::GetDevice(ppn)).unwrap() else {
        panic!()
    };
    assert_eq!((d.uid, d.rel_type), (0, RelType::Unbound));
    let S::Tombstones(t) = store.read(&R::TombstonesSince(0)).unwrap() else {
        panic!()
    };
    assert_eq!(
        (t[0].entity, t[0].id, t[0].key.as_str()),
        (Entity::User, uid, "200")
    );
}

#[test]
fn conference_rooms_allow_omm_zero_and_move_home_when_their_omm_goes() {
    let (_dir, store) = open();
    let room = |number: &str, omm_id| ConferenceRoom {
        name: "Room".into(),
        number: number.into(),
        omm_id,
        ..ConferenceRoom::default()
    };
    created(store.write(R::PutConferenceRoom(room("700", 0))).unwrap());
    assert!(matches!(
        err(store.write(R::PutConferenceRoom(room("701", 5)))),
        StoreError::Invalid(_)
    ));
    assert_eq!(
        err(store.write(R::PutConferenceRoom(room("700", 0)))),
        StoreError::DuplicateRoomNumber("700".into())
    );
    let omm = created(
        store
            .write(R::PutOmm(Omm {
                name: "Site A".into(),
                omm1: "127.0.0.1".into(),
                enabled: true,
                ..Omm::default()
            }))
            .unwrap(),
    );
    let id = created(store.write(R::PutConferenceRoom(room("702", omm))).unwrap());
    store.write(R::DeleteOmm(omm)).unwrap();
    let S::Rooms(rooms) = store.read(&R::ListConferenceRooms).unwrap() else {
        panic!()
    };
    assert_eq!(rooms.iter().find(|r| r.id == id).unwrap().omm_id, 0);
}

fn sample_license(installation_id: &str, sari: &str) -> License {
    License {
        installation_id: installation_id.into(),
        customer_name: "TES3".into(),
        country: "GERMANY".into(),
        system_license: "2MBSR-ZD5T8-SELNP-SAAGW-ZZV21".into(),
        licensed_version: "10.1".into(),
        sari: sari.into(),
    }
}

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
fn queries_sort_filter_and_page_inside_the_store() {
    let (_dir, store) = open();
    let users: Vec<User> = (0..300)
        .map(|i| User {
            name: format!("n{:03}", (i * 7) % 300),
            ..user(&format!("{}", 5000 + i))
        })
        .collect();
    store
        .write(R::BulkPut {
            users,
            devices: vec![],
        })
        .unwrap();
    let query = Query {
        filters: vec![Filter {
            column: "name".into(),
            op: FilterOp::StartsWith,
            value: "N1".into(),
        }],
        sort_column: "name".into(),
        sort: SortDirection::Descending,
        offset: 10,
        limit: 5,
    };
    let S::Users(page) = store.read(&R::QueryUsers(query.clone())).unwrap() else {
        panic!()
    };
    assert_eq!(page.total, 100);
    let names: Vec<_> = page.items.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["n189", "n188", "n187", "n186", "n185"]);

    // Columns are built on first use and then follow every write: a rename, a delete and a
    // new user show up in the next query, and in one sorted on a column built later.
    let mut renamed = page.items[0].clone();
    renamed.name = "n1999".into();
    store.write(R::PutUser(renamed.clone())).unwrap();
    store.write(R::DeleteUser(page.items[1].uid)).unwrap();
    store
        .write(R::PutUser(User {
            name: "n1500".into(),
            ..user("9999")
        }))
        .unwrap();
    let top = |store: &Store, column: &str| {
        let S::Users(page) = store
            .read(&R::QueryUsers(Query {
                sort_column: column.into(),
                sort: SortDirection::Descending,
                offset: 0,
                limit: 3,
                ..query.clone()
            }))
            .unwrap()
        else {
            panic!()
        };
        (page.total, page.items)
    };
    let (total, items) = top(&store, "name");
    assert_eq!(total, 100, "one deleted, one added");
    assert_eq!(items[0].name, "n1999");
    let count = |name: &str| {
        let S::Users(page) = store
            .read(&R::QueryUsers(Query {
                filters: vec![Filter {
                    column: "name".into(),
                    op: FilterOp::Equals,
                    value: name.into(),
                }],
                ..Query::default()
            }))
            .unwrap()
        else {
            panic!()
        };
        page.total
    };
    assert_eq!(count("n188"), 0, "deleted");
    assert_eq!(count("n1500"), 1, "added");
    let (total, items) = top(&store, "num");
    assert_eq!(total, 100);
    assert_eq!(items[0].num, "9999");

    let bad = Query {
        sort_column: "nope".into(),
        sort: SortDirection::Ascending,
        ..Query::default()
    };
    assert!(matches!(
        err(store.read(&R::QueryUsers(bad))),
        StoreError::Query(_)
    ));
}

#[test]
fn change_feed_resumes_or_asks_for_a_resync() {
    let (_dir, store) = open();
    let rev0 = store.revision().unwrap();
    store.write(R::PutUser(user("1"))).unwrap();
    store.write(R::PutUser(user("2"))).unwrap();
    let Backlog::Changes(changes) = store.backlog(rev0).unwrap() else {
        panic!()
    };
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[1].rev, rev0 + 2);
    assert_eq!(store.backlog(rev0 + 2).unwrap(), Backlog::Changes(vec![]));
    // A revision from the future (another database) must resync.
    assert!(matches!(
        store.backlog(rev0 + 100).unwrap(),
        Backlog::ResyncNeeded(_)
    ));
    // A refused write changes no revision.
    let _ = store.write(R::PutUser(user("1")));
    assert_eq!(store.revision().unwrap(), rev0 + 2);
}

#[test]
fn changes_carry_the_omm_link_that_made_them() {
    let (_dir, store) = open();
    let rev0 = store.revision().unwrap();
    store
        .write(R::FromOmm {
            omm: 7,
            request: Box::new(R::PutUser(user("1"))),
        })
        .unwrap();
    store.write(R::PutUser(user("2"))).unwrap();
    let Backlog::Changes(changes) = store.backlog(rev0).unwrap() else {
        panic!()
    };
    assert_eq!(changes.iter().map(|c| c.origin).collect::<Vec<_>>(), [7, 0]);
    let wrapped = R::FromOmm {
        omm: 7,
        request: Box::new(R::GetSettings),
    };
    assert!(!wrapped.is_read(), "the server unwraps it first");
    assert!(R::GetSettings.is_read());
}

#[test]
fn a_link_writing_back_a_record_deleted_at_the_mom_does_not_bring_it_back() {
    // svc-axi creates a MOM-made user on its OMM, then writes the OMM's uid back; an
    // administrator may delete the user in between.
    let (_dir, store) = open();
    let uid = created(store.write(R::PutUser(user("99001"))).unwrap());
    let S::User(mut written_back) = store.read(&R::GetUser(uid)).unwrap() else {
        panic!("no user {uid}")
    };
    written_back.omm_uid = 17;
    store.write(R::DeleteUser(uid)).unwrap();
    let from_link = |request| R::FromOmm {
        omm: 3,
        request: Box::new(request),
    };
    assert!(matches!(
        err(store.write(from_link(R::PutUser(written_back.clone())))),
        StoreError::NotFound { id, .. } if id == uid
    ));
    assert!(matches!(
        store.read(&R::GetUser(uid)),
        Err(StoreError::NotFound { .. })
    ));
    // The same for a handset.
    let ppn = created(store.write(R::PutDevice(Device::new(ipei(4242)))).unwrap());
    let mut device = Device::new(ipei(4242));
    device.ppn = ppn;
    device.omm_ppn = 5;
    store.write(R::DeleteDevice(ppn)).unwrap();
    assert!(matches!(
        err(store.write(from_link(R::PutDevice(device)))),
        StoreError::NotFound { id, .. } if id == ppn
    ));
    // A link's new records (id 0) are still created.
    let mut fresh = user("99002");
    fresh.omm_uid = 18;
    created(store.write(from_link(R::PutUser(fresh))).unwrap());
}

#[test]
fn a_schema_2_database_is_migrated_keeping_its_records() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let rev = {
        let store = Store::open(&db).unwrap().store;
        store.write(R::PutUser(user("1"))).unwrap();
        store.revision().unwrap()
    };
    {
        // Make it look like version 2: the schema number, the settings of schema 3 and
        // a change log in the old shape.
        let storage = svc_store::storage::Storage::open(
            &db,
            std::sync::Arc::new(svc_store::secrets::load_key(&db).unwrap()),
        )
        .unwrap();
        let mut view = storage.write().unwrap();
        view.put(svc_store::storage::Db::Meta, b"schema", &2u32)
            .unwrap();
        view.put(svc_store::storage::Db::Meta, b"settings", &settings_v3())
            .unwrap();
        view.put(
            svc_store::storage::Db::Changes,
            &svc_store::storage::seq_key(rev + 1),
            &(1u64, 2u8),
        )
        .unwrap();
        view.commit().unwrap();
    }
    let store = Store::open(&db).unwrap().store;
    assert_eq!(store.revision().unwrap(), rev);
    assert!(matches!(
        store.read(&R::GetUserByNumber("1".into())).unwrap(),
        S::User(_)
    ));
    assert!(matches!(
        store.backlog(0).unwrap(),
        Backlog::ResyncNeeded(_)
    ));
    store.write(R::PutUser(user("2"))).unwrap();
    let Backlog::Changes(changes) = store.backlog(rev).unwrap() else {
        panic!()
    };
    assert_eq!(changes.len(), 1);
}

/// The default settings as schema 3 encoded them (before the provisioning fields).
fn settings_v3() -> impl serde::Serialize {
    let d = Settings::default();
    (
        d.system_name,
        d.suppress_table_updates,
        d.sari,
        d.auto_create,
        d.subscription_mode,
        d.fac_prefix,
        (d.banner_text, d.banner_enabled, d.tls_level),
        (d.ciphers_high, d.ciphers_medium, d.ciphers_legacy),
        d.accepted_eula_version,
    )
}

#[test]
fn a_schema_3_database_gains_provisioning_and_keeps_its_omms_and_settings() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    drop(Store::open(&db).unwrap().store);
    {
        let storage = svc_store::storage::Storage::open(
            &db,
            std::sync::Arc::new(svc_store::secrets::load_key(&db).unwrap()),
        )
        .unwrap();
        let mut view = storage.write().unwrap();
        view.put(svc_store::storage::Db::Meta, b"schema", &3u32)
            .unwrap();
        view.put(svc_store::storage::Db::Meta, b"settings", &settings_v3())
            .unwrap();
        view.delete(svc_store::storage::Db::Meta, b"template")
            .unwrap();
        // An OMM record of schema 3: placeholders were pairs, nothing after `health`.
        let omm = (
            5u32,
            true,
            "Site",
            "",
            "10.0.0.1",
            "",
            "",
            ("omm", "pw", true),
            vec![("SystemName_name", "Ward 5")],
            model::CertValidation::AcceptSelfSigned,
            model::OmmHealth::default(),
        );
        view.put_raw(
            svc_store::storage::Db::Omms,
            &svc_store::storage::id_key(5),
            &postcard::to_stdvec(&omm).unwrap(),
        )
        .unwrap();
        view.commit().unwrap();
    }
    let store = Store::open(&db).unwrap().store;
    let S::Omm(omm) = store.read(&R::GetOmm(5)).unwrap() else {
        panic!()
    };
    assert_eq!((omm.name.as_str(), omm.password.as_str()), ("Site", "pw"));
    assert!(omm.provisioning);
    assert_eq!(omm.placeholders, "SystemName_name=Ward 5\n");
    let S::Settings(settings) = store.read(&R::GetSettings).unwrap() else {
        panic!()
    };
    assert_eq!(
        settings.provisioning_fetch_timeout_secs,
        model::DEFAULT_FETCH_TIMEOUT_SECS
    );
    let S::Template(t) = store.read(&R::GetTemplate).unwrap() else {
        panic!()
    };
    assert_eq!(
        t.text,
        svc_store::ops::DEFAULT_TEMPLATE,
        "a missing template gets the default"
    );
}

#[test]
fn a_new_database_has_the_default_template_and_an_edited_one_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    {
        let store = Store::open(&db).unwrap().store;
        let S::Template(t) = store.read(&R::GetTemplate).unwrap() else {
            panic!()
        };
        assert!(t.text.contains("SetBasicSIP") && t.text.contains("SetAutoDBBackup"));
        store
            .write(R::PutTemplate("<SetRemoteAccess enable=\"true\" />".into()))
            .unwrap();
    }
    let store = Store::open(&db).unwrap().store;
    let S::Template(t) = store.read(&R::GetTemplate).unwrap() else {
        panic!()
    };
    assert_eq!(t.text, "<SetRemoteAccess enable=\"true\" />");
    let too_big = "x".repeat(svc_store::ops::MAX_TEMPLATE + 1);
    assert!(matches!(
        store.write(R::PutTemplate(too_big)),
        Err(ipc::api::store::StoreError::Invalid(_))
    ));
    let Err(ipc::api::store::StoreError::Invalid(why)) =
        store.write(R::PutTemplate("<A/>\r\n<B n=\"\u{1b}[2J\"/>".into()))
    else {
        panic!("a control character passed")
    };
    assert!(why.contains("line 2"), "{why}");
    let S::Template(t) = store.read(&R::GetTemplate).unwrap() else {
        panic!()
    };
    assert_eq!(t.text, "<SetRemoteAccess enable=\"true\" />", "unchanged");
}

#[test]
fn placeholder_files_with_bad_lines_and_crafted_cloud_ids_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).unwrap().store;
    let omm = |placeholders: &str, cloud_id: &str| model::Omm {
        name: "A".into(),
        omm1: "10.0.0.1".into(),
        placeholders: placeholders.into(),
        cloud_id: cloud_id.into(),
        ..model::Omm::default()
    };
    let err = store
        .write(R::PutOmm(omm("# c\r\na=1\r\nno equals\r\n", "")))
        .unwrap_err();
    assert!(err.to_string().contains("line 3"), "{err}");
    let err = store.write(R::PutOmm(omm("", "../../etc"))).unwrap_err();
    assert!(err.to_string().contains("Cloud-ID"), "{err}");
    assert!(matches!(
        store
            .write(R::PutOmm(omm("a=b=c\nBeginComment=\n", "001F10000001")))
            .unwrap(),
        S::Created(_)
    ));
}

fn export(store: &Store, transfers: &Transfers) -> Vec<u8> {
    let (id, size) = transfers.export_begin(store).unwrap();
    let mut out = Vec::new();
    loop {
        let chunk = transfers.export_chunk(id, out.len() as u64).unwrap();
        if chunk.is_empty() {
            break;
        }
        out.extend(chunk);
    }
    assert_eq!(out.len() as u64, size);
    out
}

fn import(store: &Store, transfers: &Transfers, bytes: &[u8]) -> Result<u64, StoreError> {
    let id = transfers.import_begin(bytes.len() as u64)?;
    for chunk in bytes.chunks(4096) {
        transfers.import_chunk(id, chunk)?;
    }
    transfers.import_commit(id, store, false)
}

fn user_count(store: &Store) -> u64 {
    let S::Users(page) = store
        .read(&R::QueryUsers(Query {
            limit: 1,
            ..Query::default()
        }))
        .unwrap()
    else {
        panic!()
    };
    page.total
}

#[test]
fn export_import_round_trip_and_bad_files_change_nothing() {
    let (dir, store) = open();
    let transfers = Transfers::new(&dir.path().join("transfer")).unwrap();
    store.write(R::PutUser(user("10"))).unwrap();
    let good = export(&store, &transfers);
    store.write(R::PutUser(user("11"))).unwrap();
    store.write(R::PutUser(user("12"))).unwrap();
    assert_eq!(user_count(&store), 3);

    let mut corrupt = good.clone();
    let mid = corrupt.len() / 2;
    corrupt[mid] ^= 0xff;
    let truncated = &good[..good.len() - 100];
    let mut other_schema = good.clone();
    other_schema[11] = 99;
    for (what, bytes) in [
        ("corrupt", corrupt.as_slice()),
        ("truncated", truncated),
        ("schema", other_schema.as_slice()),
        (
            "garbage",
            b"hello world, not a database at all, really".as_slice(),
        ),
    ] {
        let e = import(&store, &transfers, bytes).expect_err(what);
        assert!(matches!(e, StoreError::Import(_)), "{what}: {e}");
        assert_eq!(user_count(&store), 3, "{what} import changed the data");
    }
    let rev_before = store.revision().unwrap();
    let rev = import(&store, &transfers, &good).unwrap();
    assert!(rev > rev_before);
    assert_eq!(user_count(&store), 1);
    assert!(matches!(
        store.backlog(rev_before).unwrap(),
        Backlog::ResyncNeeded(_)
    ));
    // The store keeps working after the swap.
    store.write(R::PutUser(user("13"))).unwrap();
    assert_eq!(user_count(&store), 2);
}

/// `export` with its body replaced by `body`, and its length and digest made to match:
/// a crafted file that a damaged-file check cannot tell from a good one.
fn resealed(export: &[u8], body: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    let mut out = export[..12].to_vec();
    out.extend_from_slice(&(body.len() as u64).to_be_bytes());
    out.extend_from_slice(&sha2::Sha256::digest(body));
    out.extend_from_slice(body);
    out
}

/// `haystack` with every `from` replaced by `to` (of the same length).
fn replaced(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = haystack.to_vec();
    let mut found = false;
    let mut at = 0;
    while let Some(pos) = out[at..].windows(from.len()).position(|w| w == from) {
        out[at + pos..at + pos + from.len()].copy_from_slice(to);
        at += pos + from.len();
        found = true;
    }
    assert!(found, "pattern in the export");
    out
}

fn by_number(store: &Store, num: &str) -> Option<User> {
    match store.read(&R::GetUserByNumber(num.into())) {
        Ok(S::User(u)) => Some(u),
        _ => None,
    }
}

#[test]
fn a_crafted_export_with_a_valid_digest_is_checked_record_by_record() {
    let (dir, store) = open();
    let transfers = Transfers::new(&dir.path().join("transfer")).unwrap();
    store.write(R::PutUser(user("555001"))).unwrap();
    store.write(R::PutUser(user("555002"))).unwrap();
    let good = export(&store, &transfers);
    let body = &good[52..];

    // Two users with one number: refused, nothing changed.
    let twice = resealed(&good, &replaced(body, b"555001", b"555002"));
    let e = import(&store, &transfers, &twice).unwrap_err();
    assert!(
        e.to_string().contains("duplicate user number 555002"),
        "{e}"
    );
    assert_eq!(user_count(&store), 2);

    // A number changed in the record only: the indexes are rebuilt from the records, so
    // the old number is free and the new one taken, as the records say.
    let moved = resealed(&good, &replaced(body, b"555001", b"555009"));
    import(&store, &transfers, &moved).unwrap();
    assert!(by_number(&store, "555009").is_some());
    assert!(by_number(&store, "555001").is_none());
    store.write(R::PutUser(user("555001"))).unwrap();
    assert!(matches!(
        store.write(R::PutUser(user("555009"))),
        Err(StoreError::DuplicateNumber(_))
    ));

    // Half a body, resealed: refused with a reason, and the store lives on.
    for cut in [body.len() / 2, 1, 0] {
        let half = resealed(&good, &body[..cut]);
        let e = import(&store, &transfers, &half).unwrap_err();
        assert!(matches!(e, StoreError::Import(_)), "{e}");
    }
    assert_eq!(user_count(&store), 3);

    // The first format (an LMDB copy) is refused by name.
    let mut old = good.clone();
    old[..8].copy_from_slice(b"SDMOMDB1");
    let e = import(&store, &transfers, &old).unwrap_err();
    assert!(e.to_string().contains("first format"), "{e}");
}

#[test]
fn a_binding_made_at_the_mom_puts_the_user_where_the_handset_lives() {
    let (_dir, store) = open();
    let get_user = |uid| match store.read(&R::GetUser(uid)).unwrap() {
        S::User(u) => u,
        other => panic!("{other:?}"),
    };
    // A handset subscribed at OMM 3 (auto-created there), a user made at the MOM.
    let ppn = created(
        store
            .write(R::PutDevice(Device {
                location: 3,
                omm_ppn: 17,
                ..Device::new(ipei(81))
            }))
            .unwrap(),
    );
    let uid = created(store.write(R::PutUser(user("8100"))).unwrap());
    assert_eq!(get_user(uid).home_omm, 0);
    store
        .write(R::Bind {
            uid,
            ppn,
            rel_type: RelType::Dynamic,
        })
        .unwrap();
    let bound = get_user(uid);
    assert_eq!(
        (bound.home_omm, bound.ppn, bound.omm_uid),
        (3, ppn, 0),
        "the user lives at the handset's OMM, under an id that OMM will give"
    );
    // The change reaches OMM 3's link (its owner).
    let Backlog::Changes(changes) = store.backlog(0).unwrap() else {
        panic!()
    };
    assert!(changes
        .iter()
        .any(|c| c.entity == Entity::User && c.id == uid && c.omm == 3));

    // A user living at OMM 2 bound to it moves to OMM 3 as well; a permanent user stays
    // on every OMM.
    store.write(R::Unbind(uid)).unwrap();
    let mut at_two = user("8101");
    at_two.home_omm = 2;
    let other = created(store.write(R::PutUser(at_two)).unwrap());
    store
        .write(R::Bind {
            uid: other,
            ppn,
            rel_type: RelType::Dynamic,
        })
        .unwrap();
    assert_eq!(get_user(other).home_omm, 3);
    store.write(R::Unbind(other)).unwrap();
    assert_eq!(
        get_user(other).home_omm,
        3,
        "unbinding does not move it back"
    );
    let mut permanent = user("8102");
    permanent.permanent = true;
    let perm = created(store.write(R::PutUser(permanent)).unwrap());
    store
        .write(R::Bind {
            uid: perm,
            ppn,
            rel_type: RelType::Dynamic,
        })
        .unwrap();
    assert_eq!(get_user(perm).home_omm, 0);
}

#[test]
fn mutated_exports_resealed_are_refused_or_imported_whole_never_half() {
    let (dir, store) = open();
    let transfers = Transfers::new(&dir.path().join("transfer")).unwrap();
    for i in 0..20 {
        store.write(R::PutUser(user(&format!("7{i:03}")))).unwrap();
    }
    let uid = created(store.write(R::PutUser(user("7999"))).unwrap());
    let ppn = created(store.write(R::PutDevice(Device::new(ipei(55)))).unwrap());
    store
        .write(R::Bind {
            uid,
            ppn,
            rel_type: RelType::Dynamic,
        })
        .unwrap();
    let good = export(&store, &transfers);
    let body = good[52..].to_vec();
    // A small deterministic generator (xorshift): the same cases on every run.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (mut refused, mut taken) = (0, 0);
    for _ in 0..400 {
        let mut b = body.clone();
        for _ in 0..=(next() % 3) {
            let at = (next() as usize) % b.len();
            match next() % 3 {
                0 => b[at] ^= 1 << (next() % 8),
                1 => b[at] = (next() & 0xff) as u8,
                _ => b.truncate(at.max(1)),
            }
        }
        match import(&store, &transfers, &resealed(&good, &b)) {
            Err(StoreError::Import(_)) => refused += 1,
            Err(other) => panic!("not an import refusal: {other}"),
            Ok(_) => {
                taken += 1;
                // Whatever got in is consistent: every user is found by its number, and
                // every binding is stated on both sides.
                let S::Users(page) = store
                    .read(&R::QueryUsers(Query {
                        limit: 1000,
                        ..Query::default()
                    }))
                    .unwrap()
                else {
                    panic!()
                };
                for u in &page.items {
                    assert_eq!(by_number(&store, &u.num).map(|f| f.uid), Some(u.uid));
                    if u.ppn != 0 {
                        let S::Device(d) = store.read(&R::GetDevice(u.ppn)).unwrap() else {
                            panic!()
                        };
                        assert_eq!(d.uid, u.uid);
                    }
                }
                // Back to the good state for the next case.
                import(&store, &transfers, &good).unwrap();
            }
        }
    }
    assert!(
        refused > 300,
        "most mutations are refused: {refused} refused, {taken} taken"
    );
    assert_eq!(user_count(&store), 21);
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

/// A store that trusts `issuer`, with its license for `installation` and one OMM linked.
fn licensed_and_linked(
    issuer: &license::IssuerKey,
    installation: &str,
    sari: &str,
) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("db")).unwrap().store;
    store.trust_license_issuers(vec![issuer.public()]);
    let file = issuer.issue(&sample_license(installation, sari)).unwrap();
    store.write(R::InstallLicense(file.into_bytes())).unwrap();
    let id = created(
        store
            .write(R::PutOmm(model::Omm {
                enabled: true,
                name: "Site".into(),
                omm1: "192.0.2.1".into(),
                ..model::Omm::default()
            }))
            .unwrap(),
    );
    store
        .write(R::SetOmmHealth {
            id,
            health: model::OmmHealth {
                link: model::LinkState::Up,
                healthy: true,
                ..model::OmmHealth::default()
            },
            cloud_id: None,
        })
        .unwrap();
    (dir, store)
}

#[test]
fn another_installations_export_onto_a_linked_mom_needs_confirmation() {
    let issuer = license::IssuerKey::generate();
    let (_a, ours) = licensed_and_linked(&issuer, "271110277", "1F1028D085");
    let (_b, theirs) = licensed_and_linked(&issuer, "999999999", "1F10290000");
    theirs.write(R::PutUser(user("77"))).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let transfers = Transfers::new(&dir.path().join("transfer")).unwrap();
    let foreign = export(&theirs, &transfers);
    let own = export(&ours, &transfers);

    match import(&ours, &transfers, &foreign).unwrap_err() {
        StoreError::ForeignIdentity { installed, offered } => {
            assert_eq!(installed, "installation 271110277");
            assert_eq!(offered, "installation 999999999");
        }
        other => panic!("{other}"),
    }
    assert_eq!(user_count(&ours), 0, "nothing replaced");
    // Its own export goes back in without a question; a confirmed foreign one too.
    import(&ours, &transfers, &own).unwrap();
    let id = transfers.import_begin(foreign.len() as u64).unwrap();
    transfers.import_chunk(id, &foreign).unwrap();
    transfers.import_commit(id, &ours, true).unwrap();
    assert_eq!(user_count(&ours), 1);
}

#[test]
fn the_audit_trail_is_bounded_cleaned_and_travels_with_an_export() {
    let (dir, store) = open();
    for i in 0..(model::AUDIT_CAPACITY + 5) {
        store
            .write(R::AppendAudit(model::AuditEntry {
                actor: "mom".into(),
                source: "192.0.2.9".into(),
                action: "users.edit".into(),
                target: format!("user {i}"),
                before: "x".repeat(5000),
                after: "a\u{1b}[31mb".into(),
                ..model::AuditEntry::default()
            }))
            .unwrap();
    }
    let S::Audit(trail) = store.read(&R::ListAudit).unwrap() else {
        panic!()
    };
    assert_eq!(trail.len(), model::AUDIT_CAPACITY);
    assert_eq!(trail[0].target, "user 5", "the oldest went first");
    assert!(trail[0].seq < trail[1].seq && trail[0].time > 0);
    assert_eq!(
        trail[0].before.chars().count(),
        svc_store::audit::MAX_TEXT + 1
    );
    assert_eq!(trail[0].after, "a[31mb", "control characters removed");

    let transfers = Transfers::new(&dir.path().join("transfer")).unwrap();
    let bytes = export(&store, &transfers);
    let (_other, fresh) = open();
    import(&fresh, &transfers, &bytes).unwrap();
    let S::Audit(copied) = fresh.read(&R::ListAudit).unwrap() else {
        panic!()
    };
    assert_eq!(copied, trail);
    store
        .write(R::LogEvent {
            severity: Severity::Info,
            subsystem: "t".into(),
            text: "x".into(),
        })
        .unwrap();
    store.write(R::ClearEvents).unwrap();
    assert_eq!(store.read(&R::ListEvents).unwrap(), S::Events(vec![]));
}

#[test]
fn lookups_by_an_empty_or_oversize_key_find_nothing_instead_of_failing() {
    let (_dir, store) = open();
    for name in [String::new(), "x".repeat(600), "   ".into()] {
        let e = err(store.read(&R::CheckLogin {
            name: name.clone(),
            password: "mom".into(),
        }));
        assert_eq!(e, StoreError::WrongPassword, "{name:?}");
        assert!(!matches!(
            store.read(&R::GetUserByNumber(name)),
            Err(StoreError::Storage(_))
        ));
    }
}

#[test]
fn a_dry_run_answers_like_the_write_and_changes_nothing() {
    let (_dir, store) = open();
    store.write(R::PutUser(user("500"))).unwrap();
    let rev = store.revision().unwrap();
    let answer = store
        .write(R::DryRun(Box::new(R::PutUsers(vec![
            user("501"),
            user("500"),
            user("a b"),
        ]))))
        .unwrap();
    let S::CreatedMany(results) = answer else {
        panic!("{answer:?}")
    };
    assert!(results[0].is_ok());
    assert!(matches!(results[1], Err(StoreError::DuplicateNumber(_))));
    assert!(results[2].is_err(), "a number with a space");
    assert_eq!(user_count(&store), 1, "nothing written");
    assert_eq!(store.revision().unwrap(), rev);
    assert!(matches!(
        store.write(R::DryRun(Box::new(R::GetSettings))),
        Err(StoreError::Invalid(_))
    ));
}

#[test]
fn an_update_without_a_served_fetch_warns_and_a_fetch_in_the_same_second_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).unwrap().store;
    let S::Created(id) = store
        .write(R::PutOmm(model::Omm {
            name: "A".into(),
            omm1: "10.0.0.1".into(),
            provisioning: true,
            ..model::Omm::default()
        }))
        .unwrap()
    else {
        panic!()
    };
    let served = |time| R::RecordFetch {
        id,
        fetch: model::ConfigFetch {
            time,
            size: 3,
            ..model::ConfigFetch::default()
        },
        served: Some("<a>".into()),
    };
    let warning = || {
        let S::Omm(o) = store.read(&R::GetOmm(id)).unwrap() else {
            panic!()
        };
        o.provisioning_state.warning
    };
    // A fetch in the same second as the update (timestamps have one-second steps).
    store.write(served(100)).unwrap();
    store.write(R::UpdateSent { id, at: 100 }).unwrap();
    store.write(served(100)).unwrap();
    store
        .write(R::FetchOverdue {
            id,
            sent: 100,
            reason: "late".into(),
        })
        .unwrap();
    assert_eq!(warning(), "", "it fetched");
    // No fetch after the update: the warning; a refused fetch does not count; a served one
    // clears it.
    store.write(R::UpdateSent { id, at: 200 }).unwrap();
    store
        .write(R::RecordFetch {
            id,
            fetch: model::ConfigFetch {
                time: 201,
                refused: "wrong credentials".into(),
                ..model::ConfigFetch::default()
            },
            served: None,
        })
        .unwrap();
    store
        .write(R::FetchOverdue {
            id,
            sent: 200,
            reason: "late".into(),
        })
        .unwrap();
    assert_eq!(warning(), "late");
    let S::Events(log) = store.read(&R::ListEvents).unwrap() else {
        panic!()
    };
    assert!(
        log.iter()
            .any(|e| e.text == "late" && e.subsystem == "provisioning"),
        "an event-log entry: {log:?}"
    );
    store.write(served(300)).unwrap();
    assert_eq!(warning(), "");
    let S::ServedConfig(text) = store.read(&R::GetServedConfig(id)).unwrap() else {
        panic!()
    };
    assert_eq!(text.as_deref(), Some("<a>"));
}

/// Every secret the secrets-at-rest test stores, each unlike anything else in a database.
const SECRETS: [&str; 6] = [
    "4711",
    "Sip-Secret-Xyz",
    "Credential-Qrs",
    "Svc-Pass-Abc",
    "Omm-Pass-Def",
    "Room-Pass-Ghi",
];

/// Whether `haystack` holds `needle` anywhere.
fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// Stores one user, OMM and room with the secrets of [`SECRETS`].
fn store_secrets(store: &Store) -> (u32, u32, u32) {
    let uid = created(
        store
            .write(R::PutUser(User {
                pin: SECRETS[0].into(),
                sip_pw: SECRETS[1].into(),
                credential_pw: SECRETS[2].into(),
                service_auth_password: SECRETS[3].into(),
                ..user("4242")
            }))
            .unwrap(),
    );
    let omm = created(
        store
            .write(R::PutOmm(model::Omm {
                name: "Ward".into(),
                omm1: "10.0.0.1".into(),
                user: "omm".into(),
                password: SECRETS[4].into(),
                ..model::Omm::default()
            }))
            .unwrap(),
    );
    let room = created(
        store
            .write(R::PutConferenceRoom(model::ConferenceRoom {
                name: "Board".into(),
                number: "5000".into(),
                sip_user: "5000".into(),
                sip_password: SECRETS[5].into(),
                ..model::ConferenceRoom::default()
            }))
            .unwrap(),
    );
    (uid, omm, room)
}

/// The secrets of user `uid`, OMM `omm` and room `room` as the store answers them.
fn secrets_read(store: &Store, (uid, omm, room): (u32, u32, u32)) -> Vec<String> {
    let S::User(u) = store.read(&R::GetUser(uid)).unwrap() else {
        panic!()
    };
    let S::Omm(o) = store.read(&R::GetOmm(omm)).unwrap() else {
        panic!()
    };
    let S::Rooms(rooms) = store.read(&R::ListConferenceRooms).unwrap() else {
        panic!()
    };
    let r = rooms.into_iter().find(|r| r.id == room).unwrap();
    vec![
        u.pin,
        u.sip_pw,
        u.credential_pw,
        u.service_auth_password,
        o.password,
        r.sip_password,
    ]
}

#[test]
fn secrets_are_sealed_in_the_database_and_its_exports_and_travel_only_with_their_key() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, store) = open();
    let ids = store_secrets(&store);
    // Answers carry them in clear: every reader sees what was written.
    assert_eq!(secrets_read(&store, ids), SECRETS);
    let S::Users(page) = store.read(&R::QueryUsers(Query::default())).unwrap() else {
        panic!()
    };
    assert_eq!(page.items[0].sip_pw, SECRETS[1]);
    // At rest they are not: neither the database file nor an export holds one.
    let key_file = dir.path().join("secrets.key");
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the key file is private");
    let data = std::fs::read(dir.path().join("db").join("data.mdb")).unwrap();
    let transfers = Transfers::new(&dir.path().join("transfer")).unwrap();
    let exported = export(&store, &transfers);
    for secret in SECRETS {
        assert!(!holds(&data, secret), "{secret} is in the database file");
        assert!(!holds(&exported, secret), "{secret} is in the export");
    }
    // The same installation restores its own export.
    import(&store, &transfers, &exported).unwrap();
    assert_eq!(secrets_read(&store, ids), SECRETS);

    // Another installation refuses it without the key, naming both keys and the way out …
    let (other_dir, other) = open();
    let other_transfers = Transfers::new(&other_dir.path().join("transfer")).unwrap();
    let ours = secret_seal::Key::load(&key_file).unwrap();
    let theirs = secret_seal::Key::load(&other_dir.path().join("secrets.key")).unwrap();
    let Err(StoreError::Import(why)) = import(&other, &other_transfers, &exported) else {
        panic!("imported without the key")
    };
    assert!(
        why.contains(ours.id()) && why.contains(theirs.id()) && why.contains("secrets.key"),
        "{why}"
    );
    assert_eq!(user_count(&other), 0, "the refused import changed nothing");
    // … and a text that is no key is refused as such.
    let id = other_transfers.import_begin(exported.len() as u64).unwrap();
    let err = other_transfers
        .import_secrets_key(id, "not a key")
        .unwrap_err();
    assert!(err.to_string().contains("secrets key"), "{err}");
    // With the key it imports; the secrets are sealed again with its own key.
    let id = other_transfers.import_begin(exported.len() as u64).unwrap();
    for chunk in exported.chunks(4096) {
        other_transfers.import_chunk(id, chunk).unwrap();
    }
    other_transfers
        .import_secrets_key(id, &ours.file_text())
        .unwrap();
    other_transfers.import_commit(id, &other, false).unwrap();
    assert_eq!(secrets_read(&other, ids), SECRETS);
    let again = export(&other, &other_transfers);
    for secret in SECRETS {
        assert!(!holds(&again, secret), "{secret} is in the second export");
    }
    import(&other, &other_transfers, &again).expect("its own export needs no key");
    assert!(
        matches!(
            import(&store, &transfers, &again),
            Err(StoreError::Import(_))
        ),
        "the first installation cannot open the second one's export without its key"
    );
}

#[test]
fn a_schema_4_database_has_its_secrets_sealed_when_it_is_opened() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let ids = {
        let store = Store::open(&db).unwrap().store;
        store_secrets(&store)
    };
    {
        // As schema 4 kept them: every record in clear.
        let key = std::sync::Arc::new(svc_store::secrets::load_key(&db).unwrap());
        let storage = svc_store::storage::Storage::open(&db, key).unwrap();
        let mut view = storage.write().unwrap();
        let user: User = view.record(ids.0).unwrap().unwrap();
        let omm: model::Omm = view.record(ids.1).unwrap().unwrap();
        let room: model::ConferenceRoom = view.record(ids.2).unwrap().unwrap();
        let key = |id| svc_store::storage::id_key(id);
        use svc_store::storage::Db;
        view.put_raw(Db::Users, &key(ids.0), &postcard::to_stdvec(&user).unwrap())
            .unwrap();
        view.put_raw(Db::Omms, &key(ids.1), &postcard::to_stdvec(&omm).unwrap())
            .unwrap();
        view.put_raw(Db::Rooms, &key(ids.2), &postcard::to_stdvec(&room).unwrap())
            .unwrap();
        view.put(Db::Meta, b"schema", &4u32).unwrap();
        view.commit().unwrap();
    }
    let clear = std::fs::read(db.join("data.mdb")).unwrap();
    assert!(holds(&clear, SECRETS[1]), "the test wrote them in clear");
    let store = Store::open(&db).unwrap().store;
    assert_eq!(secrets_read(&store, ids), SECRETS);
    let key = std::sync::Arc::new(svc_store::secrets::load_key(&db).unwrap());
    drop(store);
    let storage = svc_store::storage::Storage::open(&db, key).unwrap();
    let view = storage.read().unwrap();
    for db in [
        svc_store::storage::Db::Users,
        svc_store::storage::Db::Omms,
        svc_store::storage::Db::Rooms,
    ] {
        view.scan(db, None, |_, raw| {
            for secret in SECRETS {
                assert!(!holds(raw, secret), "{secret} still in clear in {db:?}");
            }
            Ok(true)
        })
        .unwrap();
    }
}
