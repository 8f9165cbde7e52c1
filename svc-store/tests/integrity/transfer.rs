//! Export and import: round trips, crafted and mutated files refused whole, another
//! installation's export, the audit trail travelling with an export.

use super::*;
use ipc::api::store::{StoreError, StoreRequest as R, StoreResponse as S};
use model::{Device, Query, RelType, Severity, User};
use svc_store::engine::Backlog;
use svc_store::transfer::Transfers;
use svc_store::Store;

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
