//! Roaming: a handset's records move to the OMM it roams to, and messages follow its user.

use super::*;
use axi::record::AxiRecord;
use ipc::api::store::{StoreRequest, StoreResponse};
use model::LinkState;
use mom_tests::sim::{add_omm, omms, runtime, wait};
use std::time::Duration;

#[test]
fn roaming_moves_the_records_and_messages_follow_the_user() {
    let rt = runtime();
    let fleet = fleet(&rt, 3);
    let mom = mom();
    let ids: Vec<u32> = (1..=3).map(|i| add_omm(&mom, &fleet, i)).collect();
    wait("every record imported", Duration::from_secs(30), || {
        device_total(&mom) == 3 * u64::from(USERS)
    });
    wait("every link up", Duration::from_secs(10), || {
        omms(&mom).iter().all(|o| o.health.link == LinkState::Up)
    });

    // Handset 4 of OMM 1 (bound to user 4) registers at OMM 2.
    let (ipei, num) = {
        let inner = fleet.omm(1).lock();
        let d = &inner.state.devices[&4];
        let uid = d.get(axi::PpDev::UID).unwrap();
        (
            d.get(axi::PpDev::IPEI).unwrap(),
            inner.state.users[&uid].raw("num").unwrap().to_owned(),
        )
    };
    fleet.roam(ipei, 2, 7).unwrap();
    wait("handset moved to OMM 2", Duration::from_secs(10), || {
        fleet.device(2, ipei).is_some()
            && fleet.device(1, ipei).is_none()
            && device_location(&mom, ipei) == Some(ids[1])
    });
    let on = |i: u32| {
        fleet
            .omm(i)
            .lock()
            .state
            .users
            .values()
            .any(|u| u.raw("num") == Some(num.as_str()))
    };
    wait("user moved to OMM 2", Duration::from_secs(10), || {
        on(2) && !on(1)
    });
    let moved = fleet.device(2, ipei).unwrap();
    assert_eq!(
        moved.get(axi::PpDev::S),
        Some(model::SubscriptionState::Yes)
    );
    assert_ne!(moved.get(axi::PpDev::UID), Some(0), "bound on the new OMM");
    assert_eq!(user_by_number(&mom, &num).unwrap().home_omm, ids[1]);
    assert!(mom.counter("axi.roaming_handovers") >= 1);

    // A message from OMM 3 to that user is delivered at OMM 2, where the user now is.
    fleet
        .handset_message(3, "30001", &num, "where are you?")
        .unwrap();
    wait(
        "message delivered at OMM 2",
        Duration::from_secs(10),
        || fleet.omm(2).lock().state.delivered_messages.len() == 1,
    );
    assert_eq!(
        fleet.omm(2).lock().state.delivered_messages[0].raw("content"),
        Some("where are you?")
    );
    fleet
        .handset_message(3, "30001", "00000", "nobody")
        .unwrap();
    wait(
        "unknown number counted as failed",
        Duration::from_secs(10),
        || mom.counter("axi.messages_failed") == 1,
    );
    // The administrator sees it in the event log, a repeat counted in the same entry.
    fleet
        .handset_message(3, "30001", "00000", "nobody")
        .unwrap();
    wait(
        "the repeat counted in one event-log entry",
        Duration::from_secs(10),
        || {
            let StoreResponse::Events(events) = mom.store(StoreRequest::ListEvents) else {
                return false;
            };
            let entries: Vec<_> = events
                .iter()
                .filter(|e| e.text.contains("to tel:00000 not delivered"))
                .collect();
            entries.len() == 1 && entries[0].count == 2
        },
    );

    // A PARI-only handset does not roam.
    let pari_ipei = fleet.omm(1).lock().state.devices[&6]
        .get(axi::PpDev::IPEI)
        .unwrap();
    let StoreResponse::Device(mut d) = mom.store(StoreRequest::GetDeviceByIpei(pari_ipei)) else {
        panic!()
    };
    d.subscribe_to_pari_only = true;
    d.timestamp = model::now();
    ok(mom.store(StoreRequest::PutDevice(d)));
    wait("PARI-only reaches OMM 1", Duration::from_secs(10), || {
        fleet
            .device(1, pari_ipei)
            .and_then(|d| d.get(axi::PpDev::SUBSCRIBE_TO_PARI_ONLY))
            == Some(true)
    });
    fleet.roam(pari_ipei, 3, 1).unwrap();
    wait("OMM 3 told to reject", Duration::from_secs(10), || {
        fleet.omm(3).lock().state.rejected.contains(&pari_ipei)
    });
    assert_eq!(device_location(&mom, pari_ipei), Some(ids[0]));

    // The old OMM is away during a handover: the new one is served at once, the old copy
    // goes when it is back.
    let site1 = take_away(&mom, &fleet, 1, ids[0]);
    let away = fleet.omm(1).lock().state.devices[&8]
        .get(axi::PpDev::IPEI)
        .unwrap();
    fleet.roam(away, 3, 2).unwrap();
    wait(
        "served at OMM 3 while OMM 1 is away",
        Duration::from_secs(10),
        || fleet.device(3, away).is_some() && device_location(&mom, away) == Some(ids[2]),
    );
    assert!(
        fleet.device(1, away).is_some(),
        "OMM 1 is away and still has its copy"
    );
    bring_back(&mom, site1);
    wait(
        "stale copy removed when OMM 1 is back",
        Duration::from_secs(15),
        || fleet.device(1, away).is_none(),
    );
    assert_eq!(
        device_total(&mom),
        3 * u64::from(USERS),
        "nothing duplicated"
    );
    assert_eq!(user_total(&mom), 3 * u64::from(USERS));
}
