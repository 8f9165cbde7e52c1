//! Sync after an absence: changes converge by timestamp, relations, fixed pairs and renumbered
//! users.

use crate::*;
use axi::record::AxiRecord;
use ipc::api::store::{StoreRequest, StoreResponse};
use model::{LinkState, User};
use mom_tests::sim::{omms, runtime, wait};
use std::time::{Duration, Instant};

#[test]
fn an_omm_away_during_changes_converges_by_timestamp_when_it_returns() {
    let rt = runtime();
    let (fleet, mom, ids) = linked(&rt, 1);
    let id = ids[0];
    let num_of = |uid: u32| {
        fleet.omm(1).lock().state.users[&uid]
            .raw("num")
            .unwrap()
            .to_owned()
    };
    let name_on_omm = |num: &str| {
        fleet
            .omm(1)
            .lock()
            .state
            .users
            .values()
            .find(|u| u.raw("num") == Some(num))
            .map(|u| u.raw("name").unwrap_or("").to_owned())
    };
    let (a, b, c, d, e) = (num_of(2), num_of(3), num_of(4), num_of(5), num_of(6));

    // The OMM goes away.
    let record = take_away(&mom, &fleet, 1, id);
    // Stamps have one-second resolution and equal stamps go to the MOM: let the OMM's edits
    // be a second newer than the import.
    std::thread::sleep(Duration::from_millis(1100));
    let now = model::now();
    let mom_edit = |num: &str, name: &str, stamp: u64| {
        let mut u = user_by_number(&mom, num).unwrap();
        u.name = name.into();
        u.timestamp = stamp;
        ok(mom.store(StoreRequest::PutUser(u)));
    };
    // a: edited at the MOM only. b: edited at the OMM only.
    mom_edit(&a, "A at the MOM", now);
    fleet.admin_edit_user(1, 3, "name", "B at the OMM").unwrap();
    // c: both, the MOM's edit newer. d: both, the OMM's edit newer.
    fleet.admin_edit_user(1, 4, "name", "C at the OMM").unwrap();
    mom_edit(&c, "C at the MOM, newer", now + 30);
    mom_edit(&d, "D at the MOM, older", now - 30);
    fleet
        .admin_edit_user(1, 5, "name", "D at the OMM, newer")
        .unwrap();
    // e: deleted at the MOM. f: created at the MOM for this OMM.
    let e_uid = user_by_number(&mom, &e).unwrap().uid;
    ok(mom.store(StoreRequest::DeleteUser(e_uid)));
    ok(mom.store(StoreRequest::PutUser(User {
        num: "77001".into(),
        name: "F made while away".into(),
        home_omm: id,
        timestamp: now,
        ..User::default()
    })));

    // It returns: both sides converge.
    bring_back(&mom, record);
    let converged = || {
        [
            name_on_omm(&a).as_deref() == Some("A at the MOM"),
            name_on_omm(&c).as_deref() == Some("C at the MOM, newer"),
            name_on_omm(&e).is_none(),
            name_on_omm("77001").as_deref() == Some("F made while away"),
            user_by_number(&mom, &b).is_some_and(|u| u.name == "B at the OMM"),
            user_by_number(&mom, &d).is_some_and(|u| u.name == "D at the OMM, newer"),
        ]
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while !converged().iter().all(|c| *c) {
        assert!(
            Instant::now() < deadline,
            "not converged (a, c, e, f, b, d): {:?}; OMM link {:?}",
            converged(),
            omms(&mom)[0].health
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(name_on_omm(&b).as_deref(), Some("B at the OMM"));
    assert_eq!(name_on_omm(&d).as_deref(), Some("D at the OMM, newer"));
    assert_eq!(
        user_by_number(&mom, &c).unwrap().name,
        "C at the MOM, newer"
    );
    assert!(user_by_number(&mom, &e).is_none(), "the deletion stands");
    // Nothing duplicated on either side: USERS - 1 deleted + 1 created.
    assert_eq!(user_total(&mom), u64::from(USERS));
    assert_eq!(fleet.omm(1).lock().state.users.len(), USERS as usize);
}

#[test]
fn relation_changes_reach_the_omm_and_the_newer_relation_wins_after_an_absence() {
    use axi::PpUser;
    use model::RelType;
    let rt = runtime();
    let (fleet, mom, _) = linked(&rt, 1);
    let (omm_uid, num) = {
        let inner = fleet.omm(1).lock();
        inner
            .state
            .users
            .iter()
            .find(|(_, u)| {
                u.get(PpUser::REL_TYPE) == Some(RelType::Dynamic)
                    && u.get(PpUser::PPN).unwrap_or(0) != 0
            })
            .map(|(id, u)| (*id, u.raw("num").unwrap().to_owned()))
            .expect("a Dynamic pair")
    };
    let on_omm = || {
        let inner = fleet.omm(1).lock();
        let u = &inner.state.users[&omm_uid];
        (
            u.get(PpUser::PPN).unwrap_or(0),
            u.get(PpUser::REL_TYPE).unwrap_or_default(),
        )
    };
    let user = user_by_number(&mom, &num).unwrap();
    assert_eq!(user.rel_type, RelType::Dynamic);
    let (uid, ppn) = (user.uid, user.ppn);

    // Dynamic → Fixed, unbind and bind again at the MOM each reach the OMM.
    ok(mom.store(StoreRequest::ChangeRelationType {
        uid,
        rel_type: RelType::Fixed,
    }));
    wait("Fixed on the OMM", Duration::from_secs(10), || {
        let (p, rel) = on_omm();
        p != 0 && rel == RelType::Fixed
    });
    ok(mom.store(StoreRequest::Unbind(uid)));
    wait("unbound on the OMM", Duration::from_secs(10), || {
        on_omm() == (0, RelType::Unbound)
    });
    ok(mom.store(StoreRequest::Bind {
        uid,
        ppn,
        rel_type: RelType::Dynamic,
    }));
    wait("bound again on the OMM", Duration::from_secs(10), || {
        let (p, rel) = on_omm();
        p != 0 && rel == RelType::Dynamic
    });

    // Unbound at the MOM while the OMM is away: the newer unbind wins when it returns (and
    // the OMM's older binding is not taken back).
    let record = take_away(&mom, &fleet, 1, omms(&mom)[0].id);
    std::thread::sleep(Duration::from_millis(1100)); // stamps have one-second resolution
    ok(mom.store(StoreRequest::Unbind(uid)));
    bring_back(&mom, record);
    wait(
        "the unbind applied on return",
        Duration::from_secs(15),
        || on_omm() == (0, RelType::Unbound),
    );
    wait("link up", Duration::from_secs(10), || {
        omms(&mom).iter().all(|o| o.health.link == LinkState::Up)
    });
    assert_eq!(user_by_number(&mom, &num).unwrap().ppn, 0, "still unbound");

    // Unsubscribe: refused for a handset that is not Fixed; a Fixed one is removed from its
    // OMM and the MOM, its user stays.
    let ipei = match mom.store(StoreRequest::GetDevice(ppn)) {
        StoreResponse::Device(d) => d.ipei,
        other => panic!("{other:?}"),
    };
    let refused = mom.cli(&["device", "unsubscribe", &ppn.to_string()]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr)
            .contains("only a handset with relation type Fixed"),
        "{refused:?}"
    );
    let bind_fixed = || {
        ok(mom.store(StoreRequest::Bind {
            uid,
            ppn,
            rel_type: RelType::Fixed,
        }));
        wait("bound Fixed on the OMM", Duration::from_secs(10), || {
            on_omm().1 == RelType::Fixed
        });
    };
    bind_fixed();
    // Unbound by a local administrator at the OMM: the MOM follows.
    std::thread::sleep(Duration::from_millis(1100)); // stamps have one-second resolution
    fleet.admin_unbind(1, omm_uid).unwrap();
    wait(
        "the OMM's unbind at the MOM",
        Duration::from_secs(10),
        || user_by_number(&mom, &num).is_some_and(|u| u.ppn == 0),
    );
    assert!(matches!(
        mom.store(StoreRequest::GetDevice(ppn)),
        StoreResponse::Device(d) if d.uid == 0
    ));
    bind_fixed();
    let out = mom.cli(&["device", "unsubscribe", &ppn.to_string()]);
    assert!(out.status.success(), "{out:?}");
    wait("handset gone from the OMM", Duration::from_secs(10), || {
        fleet.device(1, ipei).is_none()
    });
    assert!(matches!(
        mom.store(StoreRequest::GetDevice(ppn)),
        StoreResponse::Error(_)
    ));
    assert_eq!(on_omm(), (0, RelType::Unbound), "its user stays, unbound");
    assert_eq!(user_by_number(&mom, &num).unwrap().ppn, 0);
}

#[test]
fn a_fixed_pair_made_at_the_mom_while_its_omm_was_away_arrives_bound() {
    use axi::{PpDev, PpUser};
    let rt = runtime();
    let (fleet, mom, ids) = linked(&rt, 1);
    let away = take_away(&mom, &fleet, 1, ids[0]);
    let ipei = model::Ipei::new(4100, 77).unwrap();
    let out = mom.cli(&[
        "user",
        "add",
        "--num",
        "4711",
        "--name",
        "Pair",
        "--omm",
        &ids[0].to_string(),
        "--ipei",
        &ipei.to_string(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    bring_back(&mom, away);
    wait(
        "the pair on the OMM, bound Fixed",
        Duration::from_secs(20),
        || {
            let inner = fleet.omm(1).lock();
            let state = &inner.state;
            let Some((&uid, user)) = state
                .users
                .iter()
                .find(|(_, u)| u.raw("num") == Some("4711"))
            else {
                return false;
            };
            let Some(ppn) = state.device_by_ipei(ipei) else {
                return false;
            };
            let device = &state.devices[&ppn];
            user.get(PpUser::PPN) == Some(ppn)
                && device.get(PpDev::UID) == Some(uid)
                && user.get(PpUser::REL_TYPE) == Some(model::RelType::Fixed)
                && device.get(PpDev::REL_TYPE) == Some(model::RelType::Fixed)
        },
    );
    assert_stamped(&fleet, 1);
}

#[test]
fn a_user_renumbered_on_its_omm_while_it_was_away_stays_one_user() {
    let rt = runtime();
    let (fleet, mom, ids) = linked(&rt, 1);
    let (omm_uid, old) = {
        let inner = fleet.omm(1).lock();
        let (&uid, user) = inner.state.users.iter().nth(4).unwrap();
        (uid, user.raw("num").unwrap().to_owned())
    };
    let before = user_by_number(&mom, &old).unwrap();
    let away = take_away(&mom, &fleet, 1, ids[0]);
    std::thread::sleep(Duration::from_millis(1100)); // a newer stamp than the MOM's
    fleet.admin_edit_user(1, omm_uid, "num", "61234").unwrap();
    bring_back(&mom, away);
    wait("the new number at the MOM", Duration::from_secs(20), || {
        user_by_number(&mom, "61234").is_some()
    });
    let after = user_by_number(&mom, "61234").unwrap();
    assert_eq!(after.uid, before.uid, "the same user");
    assert!(user_by_number(&mom, &old).is_none());
    assert_eq!(user_total(&mom), u64::from(USERS));
    std::thread::sleep(Duration::from_millis(500));
    let on_omm: Vec<_> = fleet
        .omm(1)
        .lock()
        .state
        .users
        .values()
        .filter_map(|u| u.raw("num").map(str::to_owned))
        .filter(|n| *n == old || n == "61234")
        .collect();
    assert_eq!(
        on_omm,
        vec!["61234".to_owned()],
        "not created again under the old number"
    );
}
