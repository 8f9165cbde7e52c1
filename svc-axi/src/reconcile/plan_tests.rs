//! The reconciliation rules of axi-profile.md §4 and §10, each on plain values.

use super::*;
use axi::record::AxiRecord;

const HERE: u32 = 1;
const THERE: u32 = 2;

fn omm_user(uid: u32, num: &str, stamp: u64) -> PpUser {
    let mut u = PpUser::default();
    u.set(PpUser::UID, uid)
        .set(PpUser::NUM, num.to_owned())
        .set(PpUser::NAME, format!("OMM {num}"))
        .set(PpUser::TIME_STAMP, stamp);
    u
}

fn mom_user(uid: u32, num: &str, stamp: u64, home: u32, omm_uid: u32) -> User {
    User {
        uid,
        num: num.into(),
        name: format!("MOM {num}"),
        timestamp: stamp,
        home_omm: home,
        omm_uid,
        ..User::default()
    }
}

/// The plan of kind `K` at OMM [`HERE`].
fn planned<'a, K: Kind>(
    matched: Vec<(&'a K::Omm, Option<K::Mom>)>,
    at_omm: Vec<K::Mom>,
    everywhere: Vec<K::Mom>,
    tombstones: &'a Tombstones,
) -> Plan<K> {
    plan(Input::<K> {
        omm: HERE,
        matched,
        at_omm,
        everywhere,
        tombstones,
        key: None,
    })
}

fn users<'a>(
    matched: Vec<(&'a PpUser, Option<User>)>,
    at_omm: Vec<User>,
    everywhere: Vec<User>,
    tombstones: &'a Tombstones,
) -> Plan<Users> {
    planned(matched, at_omm, everywhere, tombstones)
}

fn none() -> Tombstones {
    Tombstones::new()
}

#[test]
fn a_record_only_the_omm_has_is_imported_at_that_omm() {
    let theirs = omm_user(7, "100", 50);
    let plan = users(vec![(&theirs, None)], vec![], vec![], &none());
    assert_eq!(plan.take.len(), 1);
    let (user, omm_id) = &plan.take[0];
    assert_eq!((user.num.as_str(), user.name.as_str()), ("100", "OMM 100"));
    assert_eq!((user.home_omm, user.omm_uid, *omm_id), (HERE, 7, 7));
    assert!(plan.omm.is_empty() && plan.agreed.is_empty() && plan.clashes.is_empty());
}

#[test]
fn a_tombstone_newer_than_the_omm_record_deletes_it_there() {
    let theirs = omm_user(7, "100", 50);
    let mut t = none();
    t.insert((Entity::User, "100".into()), 60);
    let plan = users(vec![(&theirs, None)], vec![], vec![], &t);
    assert!(plan.take.is_empty());
    assert_eq!(
        plan.omm,
        vec![OmmWrite::Delete {
            omm_id: 7,
            why: Gone::Tombstone
        }]
    );
}

#[test]
fn a_tombstone_as_new_as_the_omm_record_deletes_it_too() {
    let theirs = omm_user(7, "100", 60);
    let mut t = none();
    t.insert((Entity::User, "100".into()), 60);
    let plan = users(vec![(&theirs, None)], vec![], vec![], &t);
    assert!(matches!(plan.omm[..], [OmmWrite::Delete { omm_id: 7, .. }]));
}

#[test]
fn a_tombstone_older_than_the_omm_record_loses_and_the_record_is_imported() {
    let theirs = omm_user(7, "100", 70);
    let mut t = none();
    t.insert((Entity::User, "100".into()), 60);
    let plan = users(vec![(&theirs, None)], vec![], vec![], &t);
    assert_eq!(plan.take.len(), 1);
    assert!(plan.omm.is_empty());
}

#[test]
fn the_omm_newer_wins_and_the_mom_record_keeps_its_id() {
    let theirs = omm_user(7, "100", 80);
    let mine = mom_user(3, "100", 50, HERE, 7);
    let plan = users(
        vec![(&theirs, Some(mine.clone()))],
        vec![mine],
        vec![],
        &none(),
    );
    assert_eq!(plan.take.len(), 1);
    assert_eq!(plan.take[0].0.uid, 3);
    assert_eq!(plan.take[0].0.name, "OMM 100");
    assert!(plan.omm.is_empty(), "nothing is written to the OMM");
}

#[test]
fn the_mom_newer_wins_and_is_written_to_the_omm_record() {
    let theirs = omm_user(7, "100", 50);
    let mine = mom_user(3, "100", 80, HERE, 7);
    let plan = users(
        vec![(&theirs, Some(mine.clone()))],
        vec![mine.clone()],
        vec![],
        &none(),
    );
    assert!(plan.take.is_empty());
    let [OmmWrite::Set {
        omm_id: 7, record, ..
    }] = &plan.omm[..]
    else {
        panic!("one set: {:?}", plan.omm);
    };
    assert_eq!(record.raw("name"), Some("MOM 100"));
    assert_eq!(record.get(PpUser::UID), Some(7));
    assert_eq!(
        plan.agreed,
        vec![Agreed {
            mom: mine,
            omm_id: 7,
            copy: false
        }]
    );
}

#[test]
fn on_equal_stamps_the_mom_copy_stands_and_nothing_is_written() {
    let theirs = omm_user(7, "100", 50);
    let mine = mom_user(3, "100", 50, HERE, 7);
    let plan = users(
        vec![(&theirs, Some(mine.clone()))],
        vec![mine],
        vec![],
        &none(),
    );
    assert!(plan.take.is_empty() && plan.omm.is_empty());
    assert_eq!(plan.agreed.len(), 1);
}

#[test]
fn on_equal_stamps_a_changed_omm_id_or_home_is_brought_up_to_date() {
    let theirs = omm_user(9, "100", 50);
    let mine = mom_user(3, "100", 50, 0, 0);
    let plan = users(vec![(&theirs, Some(mine))], vec![], vec![], &none());
    let [(user, 9)] = &plan.take[..] else {
        panic!("one take: {:?}", plan.take);
    };
    assert_eq!((user.home_omm, user.omm_uid), (HERE, 9));
    assert_eq!(user.name, "MOM 100", "the MOM's content stands");
    assert!(plan.omm.is_empty());
}

#[test]
fn records_made_at_the_mom_while_the_omm_was_away_are_created_there() {
    let theirs = omm_user(7, "100", 50);
    let known = mom_user(3, "100", 50, HERE, 7);
    let new = mom_user(4, "101", 60, HERE, 0);
    let plan = users(
        vec![(&theirs, Some(known.clone()))],
        vec![known, new.clone()],
        vec![],
        &none(),
    );
    assert_eq!(
        plan.omm,
        vec![OmmWrite::Create {
            mom: new,
            copy: false
        }]
    );
}

#[test]
fn a_user_renumbered_on_the_omm_while_it_was_away_is_the_same_user() {
    // The MOM has uid 3 at this OMM as OMM uid 7 with number 100; the OMM now calls uid 7
    // number 200 (a newer edit there).
    let theirs = omm_user(7, "200", 80);
    let mine = mom_user(3, "100", 50, HERE, 7);
    let plan = users(vec![(&theirs, None)], vec![mine.clone()], vec![], &none());
    assert_eq!(plan.take.len(), 1, "{plan:?}");
    assert_eq!(
        (plan.take[0].0.uid, plan.take[0].0.num.as_str()),
        (3, "200")
    );
    assert!(plan.omm.is_empty(), "not created again: {:?}", plan.omm);
    // But when another OMM record has number 100, that one is the user: uid 7 is new.
    let other = omm_user(9, "100", 50);
    let plan = users(
        vec![(&theirs, None), (&other, Some(mine.clone()))],
        vec![mine],
        vec![],
        &none(),
    );
    let took: Vec<(u32, &str, u32)> = plan
        .take
        .iter()
        .map(|(u, _)| (u.uid, u.num.as_str(), u.omm_uid))
        .collect();
    assert_eq!(
        took,
        vec![(0, "200", 7), (3, "100", 9)],
        "a new user, and uid 3 under its new OMM id"
    );
}

#[test]
fn a_permanent_copy_the_omm_holds_is_kept_and_gets_the_newer_mom_version() {
    let theirs = omm_user(7, "100", 50);
    let mine = User {
        permanent: true,
        ..mom_user(3, "100", 80, THERE, 12)
    };
    let plan = users(
        vec![(&theirs, Some(mine.clone()))],
        vec![],
        vec![mine],
        &none(),
    );
    assert!(plan.take.is_empty(), "a copy never re-homes the record");
    assert!(matches!(plan.omm[..], [OmmWrite::Set { omm_id: 7, .. }]));
    assert!(plan.agreed[0].copy);
    assert!(plan.clashes.is_empty());
}

#[test]
fn a_permanent_copy_the_omm_lacks_is_created_as_a_copy() {
    let mine = User {
        permanent: true,
        ..mom_user(3, "100", 80, THERE, 12)
    };
    let plan = users(vec![], vec![], vec![mine.clone()], &none());
    assert_eq!(
        plan.omm,
        vec![OmmWrite::Create {
            mom: mine,
            copy: true
        }]
    );
}

#[test]
fn a_permanent_user_at_this_omm_that_it_lacks_is_created_once_not_as_a_copy() {
    let mine = User {
        permanent: true,
        ..mom_user(3, "100", 80, HERE, 0)
    };
    let plan = users(vec![], vec![mine.clone()], vec![mine.clone()], &none());
    assert_eq!(
        plan.omm,
        vec![OmmWrite::Create {
            mom: mine,
            copy: false
        }]
    );
}

#[test]
fn a_stale_copy_of_a_record_that_moved_to_another_omm_is_deleted() {
    let theirs = omm_user(7, "100", 50);
    let moved = mom_user(3, "100", 90, THERE, 12);
    let plan = users(vec![(&theirs, Some(moved))], vec![], vec![], &none());
    assert_eq!(
        plan.omm,
        vec![OmmWrite::Delete {
            omm_id: 7,
            why: Gone::MovedTo(THERE)
        }]
    );
    assert!(plan.take.is_empty() && plan.clashes.is_empty());
}

#[test]
fn the_same_number_on_two_omms_is_a_clash_and_neither_side_is_touched() {
    for stamp in [90, 95] {
        let theirs = omm_user(7, "100", stamp);
        let other = mom_user(3, "100", 90, THERE, 12);
        let plan = users(vec![(&theirs, Some(other))], vec![], vec![], &none());
        assert_eq!(
            plan.clashes,
            vec![Clash {
                key: "100".into(),
                omm_id: 7,
                other_omm: THERE
            }],
            "stamp {stamp}"
        );
        assert!(plan.take.is_empty() && plan.omm.is_empty() && plan.agreed.is_empty());
    }
}

#[test]
fn a_record_without_its_key_is_left_alone() {
    let mut nameless = PpUser::default();
    nameless.set(PpUser::UID, 7);
    let plan = users(vec![(&nameless, None)], vec![], vec![], &none());
    assert!(plan.take.is_empty() && plan.omm.is_empty());
}

fn ipei(psn: u32) -> model::Ipei {
    model::Ipei::new(2, psn).unwrap()
}

fn omm_device(ppn: u32, psn: u32, stamp: u64) -> PpDev {
    let mut d = PpDev::default();
    d.set(PpDev::PPN, ppn)
        .set(PpDev::IPEI, ipei(psn))
        .set(PpDev::AC, "1111".to_owned())
        .set(PpDev::TIME_STAMP, stamp);
    d
}

fn mom_device(ppn: u32, psn: u32, stamp: u64, location: u32, omm_ppn: u32) -> Device {
    Device {
        ppn,
        timestamp: stamp,
        location,
        omm_ppn,
        ac: "2222".into(),
        ..Device::new(ipei(psn))
    }
}

fn devices<'a>(
    matched: Vec<(&'a PpDev, Option<Device>)>,
    at_omm: Vec<Device>,
    everywhere: Vec<Device>,
    tombstones: &'a Tombstones,
) -> Plan<Devices> {
    planned(matched, at_omm, everywhere, tombstones)
}

#[test]
fn devices_follow_the_same_rules_by_ipei() {
    // The OMM newer: imported into the MOM's record.
    let theirs = omm_device(5, 1, 80);
    let mine = mom_device(2, 1, 50, HERE, 5);
    let plan = devices(
        vec![(&theirs, Some(mine.clone()))],
        vec![mine],
        vec![],
        &none(),
    );
    assert_eq!(plan.take[0].0.ppn, 2);
    assert_eq!(plan.take[0].0.ac, "1111");
    // A tombstone by IPEI.
    let mut t = none();
    t.insert((Entity::Device, ipei(1).to_string()), 90);
    let plan = devices(vec![(&theirs, None)], vec![], vec![], &t);
    assert!(matches!(
        plan.omm[..],
        [OmmWrite::Delete {
            omm_id: 5,
            why: Gone::Tombstone
        }]
    ));
    // The same handset at another OMM with an equal stamp: a clash.
    let other = mom_device(2, 1, 80, THERE, 9);
    let plan = devices(vec![(&theirs, Some(other))], vec![], vec![], &none());
    assert_eq!(plan.clashes[0].other_omm, THERE);
}

#[test]
fn a_device_set_names_the_omm_record_and_never_changes_its_ipei() {
    let theirs = omm_device(5, 1, 50);
    let mine = mom_device(2, 1, 80, HERE, 5);
    let plan = devices(
        vec![(&theirs, Some(mine.clone()))],
        vec![mine],
        vec![],
        &none(),
    );
    let [OmmWrite::Set {
        omm_id: 5, record, ..
    }] = &plan.omm[..]
    else {
        panic!("one set: {:?}", plan.omm);
    };
    assert_eq!(record.get(PpDev::PPN), Some(5));
    assert_eq!(record.raw("ipei"), None);
    assert_eq!(record.raw("ac"), Some("2222"));
}

#[test]
fn a_permanent_users_handset_located_elsewhere_is_copied_to_every_omm() {
    let handset = mom_device(2, 1, 80, THERE, 9);
    let plan = devices(vec![], vec![], vec![handset.clone()], &none());
    assert_eq!(
        plan.omm,
        vec![OmmWrite::Create {
            mom: handset,
            copy: true
        }]
    );
}
