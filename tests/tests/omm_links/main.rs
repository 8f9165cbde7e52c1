//! svc-axi end to end: the real supervisor, svc-store and svc-axi against simulated OMMs
//! over real TLS on loopback.
//!
//! This file holds what the modules share: the fleet, the MOM and the store lookups. The
//! tests are in `sync`, `cli`, `roaming`, `everywhere` (what lives on several OMMs) and
//! `license`.

mod after_absence;
mod cli;
mod everywhere;
mod license;
mod roaming;
mod sync;

use ipc::api::store::{StoreRequest, StoreResponse};
use model::{LinkState, Omm, User};
use mom_tests::sim::{add_omm, omms, wait};
use mom_tests::{Mom, Options};
use omm_sim::{Fleet, FleetOptions};
use std::time::Duration;

const USERS: u32 = 20;

fn fleet(rt: &tokio::runtime::Runtime, omms: u32) -> Fleet {
    let mut options = FleetOptions {
        omms,
        users: USERS,
        devices: USERS,
        ..FleetOptions::default()
    };
    options.omm.restart_time = Duration::from_millis(500);
    rt.block_on(Fleet::start(options)).expect("fleet")
}

fn mom() -> Mom {
    mom_with("")
}

/// A MOM whose links retry every second, with further `[axi]` keys.
fn mom_with(axi: &str) -> Mom {
    Mom::start(&Options {
        extra: format!("[axi]\nretry-secs = 1\nping-secs = 5\n{axi}"),
        ..Options::default()
    })
}

/// A fleet of `count` simulated OMMs and a MOM linked to every one of them, each OMM's
/// records imported; returns the OMM record ids in fleet order.
fn linked(rt: &tokio::runtime::Runtime, count: u32) -> (Fleet, Mom, Vec<u32>) {
    let fleet = fleet(rt, count);
    let mom = mom();
    let ids: Vec<u32> = (1..=count).map(|i| add_omm(&mom, &fleet, i)).collect();
    wait(
        "every OMM linked and imported",
        Duration::from_secs(30),
        || {
            user_total(&mom) == u64::from(count * USERS)
                && omms(&mom).iter().all(|o| o.health.link == LinkState::Up)
        },
    );
    (fleet, mom, ids)
}

/// Disables OMM record `id` (fleet OMM `index`) and waits until its link is gone; returns
/// the record, for [`bring_back`].
fn take_away(mom: &Mom, fleet: &Fleet, index: u32, id: u32) -> Omm {
    let mut record = omms(mom).into_iter().find(|o| o.id == id).unwrap();
    record.enabled = false;
    ok(mom.store(StoreRequest::PutOmm(record.clone())));
    wait("link down", Duration::from_secs(10), || {
        fleet.omm(index).link_count() == 0
    });
    record
}

/// Enables an OMM record that [`take_away`] disabled.
fn bring_back(mom: &Mom, mut record: Omm) {
    record.enabled = true;
    ok(mom.store(StoreRequest::PutOmm(record)));
}

fn user_total(mom: &Mom) -> u64 {
    mom.totals().0
}

fn device_total(mom: &Mom) -> u64 {
    mom.totals().1
}

/// Asserts the store accepted a write.
fn ok(response: StoreResponse) {
    assert!(!matches!(response, StoreResponse::Error(_)), "{response:?}");
}

fn user_by_number(mom: &Mom, num: &str) -> Option<User> {
    match mom.store(StoreRequest::GetUserByNumber(num.into())) {
        StoreResponse::User(u) => Some(u),
        _ => None,
    }
}

fn device_location(mom: &Mom, ipei: model::Ipei) -> Option<u32> {
    match mom.store(StoreRequest::GetDeviceByIpei(ipei)) {
        StoreResponse::Device(d) => Some(d.location),
        _ => None,
    }
}

/// Asserts every write the MOM sent to the first `count` OMMs carried its `timeStamp`.
fn assert_stamped(fleet: &Fleet, count: u32) {
    for i in 1..=count {
        assert_eq!(
            fleet.omm(i).lock().state.unstamped,
            Vec::<String>::new(),
            "OMM {i}: writes without timeStamp"
        );
    }
}
