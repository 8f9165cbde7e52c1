//! Conformance of the OMM simulator to axi-profile.md, driven through the `axi` crate as a
//! client over real TLS on loopback: every message, every error path, the events the
//! control interface triggers, provisioning, and every misbehaviour mode.

use axi::message::*;
use axi::record::AxiRecord;
use axi::value::SubscribeCmd;
use axi::{ErrCode, Frame, SubscribeEntry};
use omm_sim::client::AxiClient;
use omm_sim::{Fleet, FleetOptions};
use std::time::Duration;

mod behaviour;
mod records;
mod session;

const USER: &str = "omm";
const PASSWORD: &str = "omm-password";

async fn fleet(omms: u32) -> Fleet {
    let mut options = FleetOptions {
        omms,
        users: 30,
        devices: 25,
        ..FleetOptions::default()
    };
    options.omm.restart_time = Duration::from_millis(600);
    Fleet::start(options).await.expect("fleet")
}

async fn login(fleet: &Fleet, omm: u32) -> AxiClient {
    let mut c = AxiClient::connect_tls(fleet.omm(omm).addr)
        .await
        .expect("connect");
    let resp = c.open(USER, PASSWORD, true).await.expect("open");
    assert!(resp.error.is_none(), "{resp:?}");
    c
}

fn code(frame: &Frame) -> Option<&ErrCode> {
    frame.error.as_ref().map(|e| &e.code)
}

fn bad(frame: &Frame) -> Option<&str> {
    frame.error.as_ref().and_then(|e| e.bad.as_deref())
}

async fn subscribe(c: &mut AxiClient, types: &[&str]) {
    let entries = types
        .iter()
        .map(|t| {
            let mut e = SubscribeEntry::default();
            e.set(SubscribeEntry::CMD, SubscribeCmd::On)
                .set(SubscribeEntry::EVENT_TYPE, (*t).to_owned());
            e
        })
        .collect();
    let r = c.request(Subscribe { entries }).await.unwrap();
    assert!(r.error.is_none(), "{r:?}");
}
