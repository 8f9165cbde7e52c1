//! Databases of earlier schemas migrated with their records; provisioning's template and
//! placeholder files.

use super::*;
use ipc::api::store::{StoreRequest as R, StoreResponse as S};
use model::Settings;
use svc_store::engine::Backlog;
use svc_store::Store;

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
