//! What lives on more than one OMM or between them: subscription and auto-create,
//! permanent users, conference rooms, the data channel.

use super::*;
use axi::record::AxiRecord;
use ipc::api::store::{StoreRequest, StoreResponse};
use model::{LinkState, Omm, User};
use mom_tests::sim::{add_omm, omms, runtime, wait};
use omm_sim::{Fleet, FleetOptions};
use std::time::Duration;

#[test]
fn subscription_with_auto_create_on_and_off() {
    let rt = runtime();
    let fleet = fleet(&rt, 1);
    let mom = mom();
    add_omm(&mom, &fleet, 1);
    wait("links up", Duration::from_secs(20), || {
        omms(&mom).iter().all(|o| o.health.link == LinkState::Up)
    });
    let set = |auto_create: bool| {
        ok(mom.store(StoreRequest::PutSettings(model::Settings {
            auto_create,
            subscription_mode: model::SubscriptionMode::Subscription,
            ..model::Settings::default()
        })));
    };
    set(false);
    wait(
        "subscription mode on the OMM",
        Duration::from_secs(10),
        || {
            fleet.omm(1).lock().state.subscription_mode
                == axi::value::DectSubscriptionMode::Configured
        },
    );
    let refused = model::Ipei::new(5000, 1).unwrap();
    fleet.subscribe_handset(1, refused, None, None).unwrap();
    wait(
        "rejected without auto-create",
        Duration::from_secs(10),
        || fleet.omm(1).lock().state.rejected.contains(&refused),
    );
    assert!(device_location(&mom, refused).is_none());
    set(true);
    std::thread::sleep(Duration::from_millis(300));
    let welcome = model::Ipei::new(5000, 2).unwrap();
    fleet.subscribe_handset(1, welcome, None, None).unwrap();

    wait(
        "auto-created and subscribed",
        Duration::from_secs(10),
        || {
            fleet
                .device(1, welcome)
                .is_some_and(|d| d.get(axi::PpDev::S) == Some(model::SubscriptionState::Yes))
                && device_location(&mom, welcome).is_some()
        },
    );
    // And it stays subscribed: the store learnt s="Yes" from the OMM.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        fleet.device(1, welcome).and_then(|d| d.get(axi::PpDev::S)),
        Some(model::SubscriptionState::Yes)
    );
    let StoreResponse::Device(d) = mom.store(StoreRequest::GetDeviceByIpei(welcome)) else {
        panic!()
    };
    assert_eq!((d.s, d.auto_create), (model::SubscriptionState::Yes, true));
    // Every write the MOM made carried its timeStamp (the auto-create's CreatePPDev too).
    assert_eq!(fleet.omm(1).lock().state.unstamped, Vec::<String>::new());
}

#[test]
fn permanent_users_reach_every_omm_and_follow_edits() {
    let rt = runtime();
    let fleet = fleet(&rt, 3);
    let mom = mom();
    let ids: Vec<u32> = (1..=3).map(|i| add_omm(&mom, &fleet, i)).collect();
    wait("links up", Duration::from_secs(20), || {
        omms(&mom).len() == 3 && omms(&mom).iter().all(|o| o.health.link == LinkState::Up)
    });
    let on = |i: u32, name: &str| {
        fleet
            .omm(i)
            .lock()
            .state
            .users
            .values()
            .any(|u| u.raw("num") == Some("88001") && u.raw("name") == Some(name))
    };
    let handset = model::Ipei::new(3074, 880_001).unwrap();
    // Its handset is on the OMM too, bound to the user's copy there.
    let bound_on = |f: &Fleet, i: u32| {
        let Some(d) = f.device(i, handset) else {
            return false;
        };
        let inner = f.omm(i).lock();
        d.get(axi::PpDev::UID)
            .and_then(|uid| inner.state.users.get(&uid))
            .is_some_and(|u| u.raw("num") == Some("88001"))
    };
    let out = mom.cli(&[
        "user",
        "add",
        "--num",
        "88001",
        "--name",
        "Everywhere",
        "--omm",
        &ids[0].to_string(),
        "--permanent",
        "--ipei",
        &handset.to_string(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait(
        "permanent user on every OMM",
        Duration::from_secs(10),
        || (1..=3).all(|i| on(i, "Everywhere")),
    );
    wait(
        "its handset on every OMM, bound",
        Duration::from_secs(10),
        || (1..=3).all(|i| bound_on(&fleet, i)),
    );
    let mut user = user_by_number(&mom, "88001").unwrap();
    assert_eq!(user.home_omm, ids[0], "its home stays");
    user.name = "Renamed everywhere".into();
    user.timestamp = model::now();
    ok(mom.store(StoreRequest::PutUser(user.clone())));
    wait("edit on every OMM", Duration::from_secs(10), || {
        (1..=3).all(|i| on(i, "Renamed everywhere"))
    });
    // A newly connected OMM gets it too, and no user is duplicated anywhere.
    let late = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let fleet4 = late
        .block_on(Fleet::start(FleetOptions {
            omms: 1,
            users: 5,
            devices: 5,
            seed: 9,
            ..FleetOptions::default()
        }))
        .unwrap();
    let omm = Omm {
        enabled: true,
        name: "Late".into(),
        omm1: format!("127.0.0.1:{}", fleet4.omm(1).addr.port()),
        user: "omm".into(),
        password: "omm-password".into(),
        ..Omm::default()
    };
    ok(mom.store(StoreRequest::PutOmm(omm)));
    wait("late OMM has it", Duration::from_secs(15), || {
        fleet4
            .omm(1)
            .lock()
            .state
            .users
            .values()
            .any(|u| u.raw("num") == Some("88001"))
    });
    assert_eq!(user_by_number(&mom, "88001").unwrap().home_omm, ids[0]);
    wait(
        "late OMM has the handset, bound",
        Duration::from_secs(15),
        || bound_on(&fleet4, 1),
    );
    // The permanent handset registers at OMM 2: only its location changes, every OMM keeps
    // its copy.
    fleet.roam(handset, 2, 5).unwrap();
    wait("location recorded", Duration::from_secs(10), || {
        device_location(&mom, handset) == Some(ids[1])
    });
    std::thread::sleep(Duration::from_millis(500));
    assert!((1..=3).all(|i| bound_on(&fleet, i)), "every copy kept");
    for i in 1..=3 {
        assert_eq!(
            fleet
                .omm(i)
                .lock()
                .state
                .users
                .values()
                .filter(|u| u.raw("num") == Some("88001"))
                .count(),
            1
        );
    }
    // No longer permanent: the copies go, the home keeps it.
    user.permanent = false;
    user.timestamp = model::now();
    ok(mom.store(StoreRequest::PutUser(user)));
    wait("copies removed", Duration::from_secs(10), || {
        !on(2, "Renamed everywhere") && !on(3, "Renamed everywhere") && on(1, "Renamed everywhere")
    });
    wait(
        "handset copy removed where it is not located",
        Duration::from_secs(10),
        || fleet.device(3, handset).is_none() && fleet.device(2, handset).is_some(),
    );
}

#[test]
fn the_513th_permanent_user_is_refused_and_512_reach_the_omm() {
    let rt = runtime();
    let (fleet, mom, ids) = linked(&rt, 1);
    let id = ids[0];
    let users: Vec<User> = (0..512)
        .map(|i| User {
            num: format!("6{i:04}"),
            name: format!("Permanent {i}"),
            home_omm: id,
            permanent: true,
            timestamp: model::now(),
            ..User::default()
        })
        .collect();
    match mom.store(StoreRequest::PutUsers(users)) {
        StoreResponse::CreatedMany(results) => {
            assert!(results.iter().all(Result::is_ok), "{results:?}");
        }
        other => panic!("{other:?}"),
    }
    let out = mom.cli(&[
        "user",
        "add",
        "--num",
        "69999",
        "--name",
        "One too many",
        "--omm",
        &id.to_string(),
        "--permanent",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("at most 512 permanent users"),
        "{out:?}"
    );
    assert!(user_by_number(&mom, "69999").is_none());
    wait(
        "512 permanent users on the OMM",
        Duration::from_secs(30),
        || {
            fleet
                .omm(1)
                .lock()
                .state
                .users
                .values()
                .filter(|u| {
                    u.raw("num")
                        .is_some_and(|n| n.starts_with('6') && n.len() == 5)
                })
                .count()
                == 512
        },
    );
}

#[test]
fn conference_rooms_live_on_their_omm_and_move_with_its_id() {
    let rt = runtime();
    let fleet = fleet(&rt, 2);
    let mom = mom();
    let ids: Vec<u32> = (1..=2).map(|i| add_omm(&mom, &fleet, i)).collect();
    wait("links up", Duration::from_secs(20), || {
        omms(&mom).len() == 2 && omms(&mom).iter().all(|o| o.health.link == LinkState::Up)
    });
    let room_on = |i: u32| {
        fleet
            .omm(i)
            .lock()
            .state
            .rooms
            .values()
            .find(|r| r.raw("conferenceId") == Some("7000"))
            .cloned()
    };
    let mut room = model::ConferenceRoom {
        name: "Board".into(),
        number: "7000".into(),
        omm_id: ids[0],
        sip_user: "board".into(),
        sip_password: "s3cret".into(),
        ..Default::default()
    };
    let StoreResponse::Created(id) = mom.store(StoreRequest::PutConferenceRoom(room.clone()))
    else {
        panic!()
    };
    room.id = id;
    wait("room on OMM 1", Duration::from_secs(10), || {
        room_on(1).is_some()
    });
    let on1 = room_on(1).unwrap();
    assert_eq!(
        (on1.raw("name"), on1.raw("sipAuthId"), on1.raw("sipPw")),
        (Some("Board"), Some("board"), Some("s3cret")),
        "the password was encrypted for the OMM and decrypted there"
    );
    // A new OMM id moves it.
    room.omm_id = ids[1];
    ok(mom.store(StoreRequest::PutConferenceRoom(room.clone())));
    wait("room moved to OMM 2", Duration::from_secs(10), || {
        room_on(2).is_some() && room_on(1).is_none()
    });
    // OMM id 0 keeps it at the MOM only.
    room.omm_id = 0;
    ok(mom.store(StoreRequest::PutConferenceRoom(room)));
    wait("room gone from every OMM", Duration::from_secs(10), || {
        room_on(1).is_none() && room_on(2).is_none()
    });
    let StoreResponse::Rooms(rooms) = mom.store(StoreRequest::ListConferenceRooms) else {
        panic!()
    };
    assert_eq!(
        rooms
            .iter()
            .filter(|r| r.number == "7000" && r.omm_id == 0)
            .count(),
        1
    );
}

#[test]
fn the_data_channel_reaches_subscribers_and_one_omm() {
    use ipc::api::axi::{AxiApi, AxiRequest, AxiResponse};
    let rt = runtime();
    let fleet = fleet(&rt, 2);
    let mom = mom();
    let ids: Vec<u32> = (1..=2).map(|i| add_omm(&mom, &fleet, i)).collect();
    wait("links up", Duration::from_secs(20), || {
        omms(&mom).len() == 2 && omms(&mom).iter().all(|o| o.health.link == LinkState::Up)
    });
    let socket = mom.runtime_dir.join("axi").join("axi.sock");
    let (client, mut events) = rt.block_on(async {
        ipc::Client::<AxiApi>::start(
            socket,
            ipc::Hello::new("test", 0),
            ipc::ClientOptions::default(),
        )
    });
    let answer = rt
        .block_on(client.request(AxiRequest::SubscribeData))
        .unwrap();
    assert_eq!(answer, AxiResponse::Done);
    fleet.application_data(1, "nurse-call", b"bed 12").unwrap();
    let event = rt.block_on(async {
        loop {
            let next = tokio::time::timeout(Duration::from_secs(10), events.recv())
                .await
                .expect("data event")
                .expect("events");
            if let ipc::ClientEvent::Event(e) = next {
                return e;
            }
        }
    });
    assert_eq!(
        event,
        AxiResponse::Data {
            omm: ids[0],
            channel: "nurse-call".into(),
            data: "YmVkIDEy".into()
        }
    );
    let sent = rt
        .block_on(client.request(AxiRequest::SendData {
            omm: ids[1],
            channel: "pager".into(),
            data: "aGk=".into(),
        }))
        .unwrap();
    assert_eq!(sent, AxiResponse::Done);
    assert_eq!(
        fleet.omm(2).lock().state.data_received,
        [("pager".to_owned(), "aGk=".to_owned())]
    );
    let refused = rt
        .block_on(client.request(AxiRequest::SendData {
            omm: ids[1],
            channel: "pager".into(),
            data: "not base64!".into(),
        }))
        .unwrap();
    assert!(
        matches!(refused, AxiResponse::Error(ref e) if e.contains("EInval")),
        "{refused:?}"
    );
    let unknown = rt
        .block_on(client.request(AxiRequest::SendData {
            omm: 99,
            channel: "x".into(),
            data: "aGk=".into(),
        }))
        .unwrap();
    assert!(
        matches!(unknown, AxiResponse::Error(ref e) if e.contains("not connected")),
        "{unknown:?}"
    );
}
