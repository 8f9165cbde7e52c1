//! Secrets sealed at rest, in the database and its exports, and opened only with their key.

use super::*;
use ipc::api::store::{StoreError, StoreRequest as R, StoreResponse as S};
use model::{Query, User};
use svc_store::transfer::Transfers;
use svc_store::Store;

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
