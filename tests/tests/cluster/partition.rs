//! A leader cut off from the other nodes by the network (root: a namespace per node), while
//! the OMM still reaches it: it ends its OMM link within its lease, before the majority's new
//! leader links; a write made on it meanwhile is refused; after the heal it follows
//! the new leader and every node holds the same records.

use super::{leader, linked, node_options};
use ipc::api::store::{StoreRequest, StoreResponse};
use mom_tests::netns::{Lab, OMM_SIDE};
use mom_tests::sim::{omms, runtime, wait};
use mom_tests::Mom;
use omm_sim::{Fleet, FleetOptions};
use std::time::{Duration, Instant};

fn user(num: &str) -> model::User {
    model::User {
        num: num.into(),
        name: format!("User {num}"),
        ..model::User::default()
    }
}

/// The users' numbers on `mom`, sorted.
fn numbers(mom: &Mom) -> Vec<String> {
    let query = model::Query {
        limit: model::MAX_PAGE,
        ..model::Query::default()
    };
    match mom.store(StoreRequest::QueryUsers(query)) {
        StoreResponse::Users(page) => {
            let mut nums: Vec<String> = page.items.into_iter().map(|u| u.num).collect();
            nums.sort();
            nums
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn as_root_a_cut_off_leader_ends_its_link_within_its_lease_and_follows_after_the_heal() {
    if !mom_tests::root_or_required() {
        return;
    }
    let lab = Lab::new(3);
    let rt = runtime();
    let fleet = rt
        .block_on(Fleet::start(FleetOptions {
            omms: 1,
            users: 5,
            devices: 5,
            address: OMM_SIDE,
            ..FleetOptions::default()
        }))
        .expect("fleet");
    let omm_port = fleet.omm(1).addr.port();
    let ca = mom_tests::cluster::Shared::create();
    let peers: Vec<String> = (0..3)
        .map(|i| format!("{}:7946", lab.peer_address(i)))
        .collect();
    let mut moms: Vec<Option<Mom>> = (0..3)
        .map(|i| {
            let mut options = node_options(&ca, i, &peers);
            options.netns = Some(lab.namespace(i));
            Some(Mom::start(&options))
        })
        .collect();
    let first = leader(&moms);

    let omm = model::Omm {
        enabled: true,
        name: "Site 1".into(),
        omm1: format!("{OMM_SIDE}:{omm_port}"),
        user: "omm".into(),
        password: "omm-password".into(),
        ..model::Omm::default()
    };
    let StoreResponse::Created(id) = moms[first]
        .as_ref()
        .unwrap()
        .store(StoreRequest::PutOmm(omm))
    else {
        panic!("the OMM record is written");
    };
    wait("the leader links the OMM", Duration::from_secs(30), || {
        omms(moms[first].as_ref().unwrap())
            .iter()
            .any(|o| o.id == id && o.health.link == model::LinkState::Up)
    });
    let linked = |moms: &[Option<Mom>]| linked(moms, omm_port);
    wait("the leader's link counted", Duration::from_secs(10), || {
        linked(&moms)[first] == 1
    });
    assert!(matches!(
        moms[first]
            .as_ref()
            .unwrap()
            .store(StoreRequest::PutUser(user("801"))),
        StoreResponse::Created(_)
    ));

    // The cut: the leader hears no node, the OMM still hears it.
    lab.cut(first);
    let cut = Instant::now();
    let stranded = {
        let socket = moms[first].as_ref().unwrap().store_socket();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let answer = mom_tests::block_on(mom_tests::request::<ipc::api::store::StoreApi>(
                &socket,
                StoreRequest::PutUser(user("802")),
            ));
            let _ = tx.send(answer);
        });
        rx
    };
    let mut closed_after = None;
    let mut taken = None;
    while cut.elapsed() < Duration::from_secs(20) && taken.is_none() {
        let now = linked(&moms);
        assert!(
            now.iter().sum::<usize>() <= 1,
            "two MOMs held the OMM at once: {now:?}"
        );
        if now[first] == 0 && closed_after.is_none() {
            closed_after = Some(cut.elapsed());
        }
        if let Some(other) = (0..3).find(|i| *i != first && now[*i] == 1) {
            taken = Some((other, cut.elapsed()));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let closed_after = closed_after.expect("the cut-off leader ended its link");
    let (second, taken_after) = taken.expect("the majority's leader linked the OMM");
    assert!(
        closed_after < taken_after,
        "closed {closed_after:?}, taken {taken_after:?}"
    );
    // The lease is half the shortest election timeout (300 ms here); svc-axi notices within
    // a quarter of it more. A second is room for a slow machine, not for a second leader.
    assert!(
        closed_after < Duration::from_secs(1),
        "the link outlived the lease: {closed_after:?}"
    );

    // The majority goes on: a write on its leader is acknowledged; the one on the cut-off
    // node is not, as long as it is cut off.
    let old = moms[first].take();
    assert_eq!(leader(&moms), second);
    moms[first] = old;
    assert!(matches!(
        moms[second]
            .as_ref()
            .unwrap()
            .store(StoreRequest::PutUser(user("803"))),
        StoreResponse::Created(_)
    ));
    // The write on the cut-off node is refused once it waited its time for a majority.
    let answer = stranded
        .recv_timeout(Duration::from_secs(15))
        .expect("the cut-off node answers the write before the heal");
    assert!(
        matches!(answer, StoreResponse::Error(_)),
        "a write on the cut-off node: {answer:?}"
    );
    eprintln!(
        "cut-off leader: its link ended after {closed_after:?}, the new leader linked after {taken_after:?}"
    );

    // The heal: the old leader follows, holds the majority's records, and nothing of its own
    // that the others lack; still one link, the new leader's.
    lab.heal(first);
    assert_eq!(leader(&moms), second, "the majority's leader stays");
    let expected = numbers(moms[second].as_ref().unwrap());
    assert!(expected.contains(&"801".into()) && expected.contains(&"803".into()));
    wait(
        "every node holds the same records",
        Duration::from_secs(30),
        || {
            (0..3).all(|i| {
                numbers(moms[i].as_ref().unwrap()) == numbers(moms[second].as_ref().unwrap())
            })
        },
    );
    std::thread::sleep(Duration::from_secs(1));
    let now = linked(&moms);
    assert_eq!(now.iter().sum::<usize>(), 1, "{now:?}");
    assert_eq!(now[second], 1, "{now:?}");
    for mom in moms.iter_mut().flatten() {
        mom.stop(Duration::from_secs(20));
    }
    drop(lab);
}
