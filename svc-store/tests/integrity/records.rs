//! The records' own rules: accounts, numbers and IPEIs, permanent users, relations and
//! sources, conference rooms, bindings made at the MOM, links writing back deleted records,
//! lookups by odd keys and dry runs.

use super::*;
use ipc::api::store::{
    AccountUpdate, NewAccount, StoreError, StoreRequest as R, StoreResponse as S,
};
use model::{ConferenceRoom, Device, Entity, Ipei, Omm, RelType, Source, SubscriptionState, User};
use svc_store::engine::Backlog;

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
