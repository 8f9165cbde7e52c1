//! The relation rules on plain values.

use super::*;

fn user(ppn: u32, rel: RelType, stamp: Timestamp) -> User {
    User {
        uid: 3,
        ppn,
        rel_type: rel,
        timestamp_relation: stamp,
        ..User::default()
    }
}

fn theirs(ppn: u32, rel: RelType, stamp: Timestamp) -> OmmRelation {
    OmmRelation { ppn, rel, stamp }
}

#[test]
fn the_same_binding_on_both_sides_is_agreed() {
    let mine = user(20, RelType::Dynamic, 5);
    assert_eq!(
        settle(&mine, theirs(7, RelType::Dynamic, 9), Some(20)),
        Settle::Agreed
    );
    assert_eq!(
        settle(
            &user(0, RelType::Unbound, 5),
            theirs(0, RelType::Unbound, 1),
            None
        ),
        Settle::Agreed
    );
}

#[test]
fn the_newer_omm_binding_is_taken_over() {
    let mine = user(0, RelType::Unbound, 5);
    assert_eq!(
        settle(&mine, theirs(7, RelType::Fixed, 9), Some(20)),
        Settle::TakeOmm {
            unbind: false,
            bind: Some((20, RelType::Fixed, 9))
        }
    );
    // Bound elsewhere at the MOM: unbound first.
    let mine = user(21, RelType::Dynamic, 5);
    assert_eq!(
        settle(&mine, theirs(7, RelType::Dynamic, 9), Some(20)),
        Settle::TakeOmm {
            unbind: true,
            bind: Some((20, RelType::Dynamic, 9))
        }
    );
}

#[test]
fn a_newer_unbind_on_the_omm_is_taken_over() {
    let mine = user(20, RelType::Dynamic, 5);
    assert_eq!(
        settle(&mine, theirs(0, RelType::Unbound, 9), None),
        Settle::TakeOmm {
            unbind: true,
            bind: None
        }
    );
}

#[test]
fn the_newer_mom_binding_goes_to_the_omm() {
    let mine = user(20, RelType::Fixed, 9);
    assert_eq!(
        settle(&mine, theirs(7, RelType::Dynamic, 5), Some(20)),
        Settle::PushMom
    );
    assert_eq!(
        settle(&mine, theirs(0, RelType::Unbound, 5), None),
        Settle::PushMom
    );
}

#[test]
fn on_a_tie_the_mom_wins_unless_it_is_unbound() {
    let bound = user(20, RelType::Fixed, 5);
    assert_eq!(
        settle(&bound, theirs(7, RelType::Dynamic, 5), Some(20)),
        Settle::PushMom
    );
    let unbound = user(0, RelType::Unbound, 5);
    assert_eq!(
        settle(&unbound, theirs(7, RelType::Dynamic, 5), Some(20)),
        Settle::TakeOmm {
            unbind: false,
            bind: Some((20, RelType::Dynamic, 5))
        }
    );
}

#[test]
fn a_binding_to_a_handset_the_mom_does_not_know_is_left_alone() {
    let mine = user(0, RelType::Unbound, 5);
    assert_eq!(
        settle(&mine, theirs(7, RelType::Dynamic, 9), None),
        Settle::Agreed
    );
}

#[test]
fn the_plan_sorts_every_pair() {
    let pairs = vec![
        (
            user(20, RelType::Dynamic, 5),
            theirs(7, RelType::Dynamic, 5),
        ),
        (
            User {
                uid: 4,
                ..user(0, RelType::Unbound, 5)
            },
            theirs(8, RelType::Fixed, 9),
        ),
        (
            User {
                uid: 5,
                ..user(22, RelType::Fixed, 9)
            },
            theirs(0, RelType::Unbound, 1),
        ),
        (
            User {
                uid: 6,
                ..user(23, RelType::Dynamic, 2)
            },
            theirs(0, RelType::Unbound, 8),
        ),
    ];
    let partner = |omm_ppn| match omm_ppn {
        7 => Some(20),
        8 => Some(21),
        _ => None,
    };
    let plan = plan(&pairs, partner);
    assert_eq!(plan.agreed, vec![(3, 20, RelType::Dynamic)]);
    assert_eq!(plan.bind, vec![(4, 21, RelType::Fixed, 9)]);
    assert_eq!(plan.push, vec![(2, 0)]);
    assert_eq!(plan.unbind, vec![6]);
}

fn ids() -> Ids {
    let mut ids = Ids::default();
    ids.users.insert(3, 30);
    ids.devices.insert(20, 70);
    ids.devices.insert(21, 71);
    ids
}

fn binding(ppn: u32, rel: RelType) -> Binding {
    Binding {
        uid: 3,
        ppn,
        rel,
        stamp: 9,
    }
}

#[test]
fn a_new_binding_is_a_set_pp_with_the_omm_ids() {
    assert_eq!(
        binding_step(&ids(), binding(20, RelType::Dynamic)),
        BindingStep::Bind {
            omm_uid: 30,
            omm_ppn: 70
        }
    );
}

#[test]
fn a_changed_relation_type_alone_is_a_relation_change() {
    let mut ids = ids();
    ids.binding.insert(3, (20, RelType::Dynamic));
    assert_eq!(
        binding_step(&ids, binding(20, RelType::Fixed)),
        BindingStep::Relation { omm_uid: 30 }
    );
    assert_eq!(
        binding_step(&ids, binding(20, RelType::Dynamic)),
        BindingStep::Nothing
    );
    // Another handset: a new SetPP (the OMM unbinds the old partner itself).
    assert_eq!(
        binding_step(&ids, binding(21, RelType::Dynamic)),
        BindingStep::Bind {
            omm_uid: 30,
            omm_ppn: 71
        }
    );
}

#[test]
fn an_unbind_names_the_handset_the_omm_has() {
    let mut ids = ids();
    ids.binding.insert(3, (21, RelType::Dynamic));
    assert_eq!(
        binding_step(&ids, binding(0, RelType::Unbound)),
        BindingStep::Unbind {
            omm_uid: 30,
            omm_ppn: 71
        }
    );
    ids.devices.remove(&21);
    assert_eq!(
        binding_step(&ids, binding(0, RelType::Unbound)),
        BindingStep::Forget
    );
}

#[test]
fn records_the_omm_does_not_hold_are_not_bound() {
    assert_eq!(
        binding_step(&ids(), binding(22, RelType::Dynamic)),
        BindingStep::Nothing
    );
    let mut ids = ids();
    ids.users.clear();
    assert_eq!(
        binding_step(&ids, binding(20, RelType::Dynamic)),
        BindingStep::Nothing
    );
}
