//! Audited writes (`StoreRequest::Audited`): the entry is written in the write's own
//! transaction, with the records as the write found and left them.

use ipc::api::store::{Audit, StoreError, StoreRequest as R, StoreResponse as S};
use model::{AuditEntry, User};
use svc_store::Store;

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).unwrap().store;
    (dir, store)
}

fn who(action: &str, target: String) -> Audit {
    Audit {
        actor: "admin".into(),
        source: "192.0.2.7".into(),
        action: action.into(),
        target,
    }
}

fn audited(store: &Store, action: &str, request: R) -> Result<S, StoreError> {
    store.write(R::Audited {
        audit: who(action, String::new()),
        request: Box::new(request),
    })
}

fn trail(store: &Store) -> Vec<AuditEntry> {
    match store.read(&R::ListAudit).unwrap() {
        S::Audit(t) => t,
        other => panic!("{other:?}"),
    }
}

fn user(store: &Store, uid: u32) -> User {
    match store.read(&R::GetUser(uid)).unwrap() {
        S::User(u) => u,
        other => panic!("{other:?}"),
    }
}

fn new_user(num: &str) -> User {
    User {
        num: num.into(),
        name: format!("User {num}"),
        pin: "4711".into(),
        sip_pw: "Sip-Secret-1".into(),
        ..User::default()
    }
}

#[test]
fn an_audited_create_edit_and_delete_record_who_and_the_records_before_and_after() {
    let (_dir, store) = open();
    let S::Created(uid) = audited(&store, "users.create", R::PutUser(new_user("7001"))).unwrap()
    else {
        panic!("a user id")
    };
    let mut edited = user(&store, uid);
    edited.name = "Renamed".into();
    audited(&store, "users.edit", R::PutUser(edited)).unwrap();
    audited(&store, "users.delete", R::DeleteUser(uid)).unwrap();
    let trail = trail(&store);
    let [create, edit, delete] = &trail[..] else {
        panic!("three entries: {trail:?}")
    };
    assert_eq!(
        (create.actor.as_str(), create.source.as_str()),
        ("admin", "192.0.2.7")
    );
    assert_eq!(create.action, "users.create");
    assert_eq!(
        create.target,
        format!("user {uid}"),
        "the store names the record"
    );
    assert!(create.before.is_empty(), "nothing before a create");
    assert!(create.after.contains("User 7001") && create.after.contains(&format!("\"uid\":{uid}")));
    assert!(edit.before.contains("User 7001") && edit.after.contains("Renamed"));
    assert!(delete.before.contains("Renamed") && delete.after.is_empty());
    for entry in &trail {
        for secret in ["4711", "Sip-Secret-1"] {
            assert!(!entry.before.contains(secret) && !entry.after.contains(secret));
        }
    }
    assert!(edit.after.contains("(redacted)"), "set secrets show as set");
}

#[test]
fn a_refused_write_leaves_no_entry_and_a_pair_shows_both_records() {
    let (_dir, store) = open();
    audited(&store, "users.create", R::PutUser(new_user("7001"))).unwrap();
    let refused = audited(&store, "users.create", R::PutUser(new_user("7001")));
    assert!(
        matches!(refused, Err(StoreError::DuplicateNumber(_))),
        "{refused:?}"
    );
    assert_eq!(
        trail(&store).len(),
        1,
        "the refused write is not in the trail"
    );
    let S::CreatedFixed { uid, ppn } = audited(
        &store,
        "fixed_pairs.create",
        R::CreateFixed {
            user: new_user("7002"),
            device: model::Device::new(model::Ipei::new(3074, 1).unwrap()),
        },
    )
    .unwrap() else {
        panic!("a pair")
    };
    audited(&store, "relations.unbind", R::Unbind(uid)).unwrap();
    let trail = trail(&store);
    let unbind = trail.last().unwrap();
    // The unbinding shows the user and the phone it was bound to, before and after.
    assert!(unbind.before.starts_with('['), "{}", unbind.before);
    assert!(unbind.before.contains(&format!("\"ppn\":{ppn}")));
    assert!(
        unbind.after.contains("\"rel_type\":\"Unbound\""),
        "{}",
        unbind.after
    );
    // Reads and entries of their own are no audited writes.
    for request in [R::GetUser(uid), R::AppendAudit(AuditEntry::default())] {
        assert!(matches!(
            audited(&store, "x", request),
            Err(StoreError::Invalid(_))
        ));
    }
}

#[test]
fn concurrent_edits_of_one_record_each_record_the_state_they_replaced() {
    let (_dir, store) = open();
    let S::Created(uid) = audited(&store, "users.create", R::PutUser(new_user("7001"))).unwrap()
    else {
        panic!()
    };
    let store = std::sync::Arc::new(store);
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let store = std::sync::Arc::clone(&store);
            std::thread::spawn(move || {
                for i in 0..25 {
                    let mut u = user(&store, uid);
                    u.name = format!("writer {w} edit {i}");
                    audited(&store, "users.edit", R::PutUser(u)).unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let name = |text: &str| -> String {
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        v["name"].as_str().unwrap().to_owned()
    };
    let trail = trail(&store);
    assert_eq!(trail.len(), 101);
    // Each entry's "before" is the previous entry's "after": no edit recorded a state that
    // another edit had already replaced.
    for pair in trail.windows(2) {
        assert_eq!(
            name(&pair[1].before),
            name(&pair[0].after),
            "entry {}",
            pair[1].seq
        );
    }
    assert_eq!(name(&trail[100].after), user(&store, uid).name);
}

#[test]
fn a_write_refused_for_a_full_database_leaves_neither_the_change_nor_an_entry() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_with_map_size(&dir.path().join("db"), 1 << 20)
        .unwrap()
        .store;
    let mut saved = 0usize;
    let (error, num) = loop {
        let num = format!("{}", 100_000 + saved);
        let mut u = new_user(&num);
        u.name = "x".repeat(120);
        match audited(&store, "users.create", R::PutUser(u)) {
            Ok(_) => saved += 1,
            Err(e) => break (e, num),
        }
        assert!(saved < model::AUDIT_CAPACITY, "the map never filled");
    };
    assert!(matches!(error, StoreError::Storage(_)), "{error}");
    assert!(matches!(
        store.read(&R::GetUserByNumber(num)),
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(
        trail(&store).len(),
        saved,
        "one entry per write made, none for the refused one"
    );
}

#[test]
fn the_default_account_id_0_is_a_real_record_and_a_creation_is_named_by_its_new_id() {
    let (_dir, store) = open();
    let change = ipc::api::store::AccountUpdate {
        id: model::DEFAULT_ACCOUNT_ID,
        password: Some("Blau.Wal42-x".into()),
        ..Default::default()
    };
    audited(&store, "session.change_password", R::UpdateAccount(change)).unwrap();
    let S::Created(uid) = audited(&store, "users.create", R::PutUser(new_user("7001"))).unwrap()
    else {
        panic!("a user id")
    };
    let trail = trail(&store);
    let [password, create] = &trail[..] else {
        panic!("two entries: {trail:?}")
    };
    assert_eq!(password.target, "account 0");
    for image in [&password.before, &password.after] {
        assert!(image.contains("\"name\":\"mom\""), "{image}");
        assert!(
            image.contains("\"password_hash\":\"(redacted)\""),
            "{image}"
        );
        assert!(!image.contains("argon2"), "{image}");
    }
    assert_eq!(create.target, format!("user {uid}"));
    assert!(create.before.is_empty());
}
