//! Conformance of the OMM simulator to axi-profile.md, driven through the `axi` crate as a
//! client over real TLS on loopback: every message, every error path, the events the
//! control interface triggers, provisioning, and every misbehaviour mode.

use axi::message::*;
use axi::record::AxiRecord;
use axi::value::{DectSubscriptionMode, Hex10, SubscribeCmd};
use axi::{ErrCode, Frame, Message, PpDev, PpUser, Room, SubscribeEntry};
use model::{Ipei, RelType, SubscriptionState};
use omm_sim::client::{AxiClient, ClientError};
use omm_sim::{Behaviour, Fleet, FleetOptions};
use std::time::Duration;

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

#[tokio::test]
async fn session_rules() {
    let fleet = fleet(1).await;
    let mut c = AxiClient::connect_tls(fleet.omm(1).addr).await.unwrap();
    // Before Open: EAuth on any request.
    let r = c.request(GetPARK {}).await.unwrap();
    assert_eq!(
        (r.message.name(), code(&r)),
        ("GetPARKResp", Some(&ErrCode::EAuth))
    );
    // Wrong password: EAuth with the version attributes; the link stays open.
    let r = c.open(USER, "wrong", true).await.unwrap();
    assert_eq!(code(&r), Some(&ErrCode::EAuth));
    assert!(matches!(&r.message, Message::OpenResp(o) if o.protocol_version == Some(45)));
    let r = c.open(USER, PASSWORD, true).await.unwrap();
    let Message::OpenResp(open) = &r.message else {
        panic!("{r:?}")
    };
    let key = open.public_key.as_ref().expect("publicKey child");
    assert!(
        axi::secret::public_key(key.raw("modulus").unwrap(), key.raw("exponent").unwrap()).is_ok()
    );
    assert_eq!(open.omm_stb_state.as_deref(), Some("OK"));
    // A second Open: EFailed. Ping answers with the time. seq="0" is echoed.
    assert_eq!(
        code(
            &c.request(Open {
                username: USER.into(),
                password: PASSWORD.into(),
                protocol_version: None,
                user_device_sync_client: None,
                mom_extensions: None,
            })
            .await
            .unwrap()
        ),
        Some(&ErrCode::EFailed)
    );
    c.send(&Frame::new(Some("0".into()), Ping { time_stamp: None }))
        .await
        .unwrap();
    let pong = c.recv().await.unwrap();
    assert_eq!(pong.seq.as_deref(), Some("0"));
    assert!(matches!(
        pong.message,
        Message::PingResp(PingResp {
            time_stamp: Some(_)
        })
    ));
    // A request without seq is answered without seq.
    c.send(&Frame::new(None, GetSARI {})).await.unwrap();
    assert_eq!(c.recv().await.unwrap().seq, None);
    // Unknown requests: EFailed, and the link stays up.
    let r = c
        .request(Message::Unknown(axi::Element::new("GetVersions")))
        .await
        .unwrap();
    assert_eq!(
        (r.message.name(), code(&r)),
        ("GetVersionsResp", Some(&ErrCode::EFailed))
    );
    assert!(c
        .request(Ping { time_stamp: None })
        .await
        .unwrap()
        .error
        .is_none());
}

#[tokio::test]
async fn secrets_travel_encrypted_both_ways() {
    let fleet = fleet(1).await;
    let mut c = login(&fleet, 1).await;
    let omm_key = {
        let r = c.request(GetPublicKey {}).await.unwrap();
        let Message::GetPublicKeyResp(k) = r.message else {
            panic!()
        };
        axi::secret::public_key(&k.modulus.unwrap(), &k.exponent.unwrap()).unwrap()
    };
    let mut user = PpUser::default();
    user.set(PpUser::NUM, "777".to_owned())
        .set(PpUser::PIN, axi::secret::encrypt(&omm_key, "4321").unwrap());
    let r = c.request(CreatePPUser { user }).await.unwrap();
    let Message::CreatePPUserResp(CreatePPUserResp {
        user: Some(created),
    }) = r.message
    else {
        panic!("{r:?}")
    };
    assert_eq!(
        created.raw("pin"),
        None,
        "before SetMOMKey secrets are left out"
    );
    let uid = created.get(PpUser::UID).unwrap();
    // A secret that does not decrypt is refused with bad="pin".
    let mut garbled = PpUser::default();
    garbled
        .set(PpUser::UID, uid)
        .set(PpUser::PIN, "AAAA".to_owned());
    let r = c.request(SetPPUser { user: garbled }).await.unwrap();
    assert_eq!((code(&r), bad(&r)), (Some(&ErrCode::EInval), Some("pin")));
    // A MOM key under 1024 bits is refused; a 1024-bit one is used for what comes back.
    let small = axi::secret::generate(512).unwrap();
    let (m, e) = axi::secret::key_hex(&small.to_public_key());
    assert_eq!(
        code(
            &c.request(SetMOMKey {
                modulus: m,
                exponent: e
            })
            .await
            .unwrap()
        ),
        Some(&ErrCode::EInval)
    );
    let mom = axi::secret::generate(1024).unwrap();
    let (m, e) = axi::secret::key_hex(&mom.to_public_key());
    assert!(c
        .request(SetMOMKey {
            modulus: m,
            exponent: e
        })
        .await
        .unwrap()
        .error
        .is_none());
    let r = c
        .request(GetPPUserByNumber { num: "777".into() })
        .await
        .unwrap();
    let Message::GetPPUserByNumberResp(GetPPUserByNumberResp { user: Some(u) }) = r.message else {
        panic!()
    };
    assert_eq!(
        axi::secret::decrypt(&mom, u.raw("pin").unwrap()).unwrap(),
        "4321"
    );
}

#[tokio::test]
async fn on_connect_settings_and_a_sari_restart() {
    let fleet = fleet(1).await;
    let mut c = login(&fleet, 1).await;
    let Message::GetPARKResp(GetPARKResp { park: Some(park) }) =
        c.request(GetPARK {}).await.unwrap().message
    else {
        panic!()
    };
    assert_eq!(park.0.len(), 10);
    assert!(matches!(
        c.request(GetSARI {}).await.unwrap().message,
        Message::GetSARIResp(GetSARIResp { sari: None })
    ));
    for (msg, name) in [
        (
            Message::from(SetDevAutoCreate { enable: false }),
            "SetDevAutoCreateResp",
        ),
        (
            SetDECTSubscriptionMode {
                mode: DectSubscriptionMode::Configured,
                timeout: None,
            }
            .into(),
            "SetDECTSubscriptionModeResp",
        ),
        (
            SetFACPrefix {
                prefix: "*9".into(),
            }
            .into(),
            "SetFACPrefixResp",
        ),
        (
            SetSystemProvUpdTrig {
                enable: true,
                hour: Some(0),
                minute: Some(7),
            }
            .into(),
            "SetSystemProvUpdTrigResp",
        ),
    ] {
        let r = c.request(msg).await.unwrap();
        assert_eq!((r.message.name(), r.error.clone()), (name, None));
    }
    assert!(
        matches!(c.request(GetFACPrefix {}).await.unwrap().message, Message::GetFACPrefixResp(GetFACPrefixResp { prefix: Some(p) }) if p == "*9")
    );
    let mut url = axi::ConfigUrl::default();
    url.set(axi::ConfigUrl::ENABLE, true)
        .set(axi::ConfigUrl::HOST, "127.0.0.1".to_owned())
        .set(axi::ConfigUrl::PORT, 8443);
    assert!(c
        .request(SetConfigURL { url: url.clone() })
        .await
        .unwrap()
        .error
        .is_none());
    assert!(
        matches!(c.request(GetConfigURL {}).await.unwrap().message, Message::GetConfigURLResp(GetConfigURLResp { url: Some(u) }) if u == url)
    );
    {
        let inner = fleet.omm(1).lock();
        assert!(!inner.state.auto_create);
        assert_eq!(
            inner.state.subscription_mode,
            DectSubscriptionMode::Configured
        );
        assert_eq!(inner.state.update_trigger, (true, 0, 7));
    }
    // Setting the same SARI twice: the first restarts the OMM, the second does not.
    let sari = Hex10("1F1028D085".into());
    let r = c.request(SetSARI { sari: sari.clone() }).await.unwrap();
    assert!(matches!(&r.message, Message::SetSARIResp(s) if s.sari.as_ref() == Some(&sari)));
    assert!(
        matches!(
            c.recv().await,
            Err(ClientError::Closed | ClientError::Io(_))
        ),
        "the link closes after a SARI change"
    );
    assert!(fleet.omm(1).is_down());
    assert!(
        login_fails(&fleet).await,
        "connections are refused during the restart"
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    let mut c = login(&fleet, 1).await;
    assert!(
        matches!(c.request(GetSARI {}).await.unwrap().message, Message::GetSARIResp(GetSARIResp { sari: Some(s) }) if s == sari)
    );
    assert!(c.request(SetSARI { sari }).await.unwrap().error.is_none());
    assert!(
        c.request(Ping { time_stamp: None })
            .await
            .unwrap()
            .error
            .is_none(),
        "same SARI: no restart"
    );
    // A malformed SARI is a decode error on the OMM side: the link closes.
    c.send_raw(b"<SetSARI seq=\"9\" sari=\"12\"/>\0")
        .await
        .unwrap();
    assert!(c.recv().await.is_err());
}

async fn login_fails(fleet: &Fleet) -> bool {
    match AxiClient::connect_tls(fleet.omm(1).addr).await {
        Err(_) => true,
        Ok(mut c) => {
            c.timeout = Duration::from_millis(300);
            c.open(USER, PASSWORD, true).await.is_err()
        }
    }
}

#[tokio::test]
async fn subscribe_rules() {
    let fleet = fleet(1).await;
    let mut c = login(&fleet, 1).await;
    let mut e = SubscribeEntry::default();
    e.set(SubscribeEntry::CMD, SubscribeCmd::On)
        .set(SubscribeEntry::EVENT_TYPE, "NoSuchEvent".to_owned());
    let r = c.request(Subscribe { entries: vec![e] }).await.unwrap();
    assert_eq!(code(&r), Some(&ErrCode::EInval));
    assert!(
        matches!(r.message, Message::SubscribeResp(SubscribeResp { event_type: Some(t) }) if t == "NoSuchEvent")
    );
    subscribe(&mut c, &["PPUserCnf"]).await;
    fleet.admin_edit_user(1, 1, "name", "Renamed").unwrap();
    let ev = c.next_event(Duration::from_secs(2)).await.unwrap();
    assert!(
        matches!(&ev.message, Message::EventPPUserCnf(EventPPUserCnf { user: Some(u) }) if u.raw("name") == Some("Renamed"))
    );
    let mut off = SubscribeEntry::default();
    off.set(SubscribeEntry::CMD, SubscribeCmd::Off)
        .set(SubscribeEntry::EVENT_TYPE, "PPUserCnf".to_owned());
    c.request(Subscribe { entries: vec![off] }).await.unwrap();
    fleet.admin_edit_user(1, 1, "name", "Again").unwrap();
    assert!(matches!(
        c.next_event(Duration::from_millis(300)).await,
        Err(ClientError::Timeout)
    ));
}

#[tokio::test]
async fn paging_ends_with_enoent() {
    let fleet = fleet(1).await;
    let mut c = login(&fleet, 1).await;
    let mut next = 0;
    let mut users = Vec::new();
    loop {
        let r = c
            .request(GetPPUser {
                uid: next,
                max_records: Some(50),
            })
            .await
            .unwrap();
        if code(&r) == Some(&ErrCode::ENoEnt) {
            break;
        }
        let Message::GetPPUserResp(page) = r.message else {
            panic!()
        };
        assert!(page.users.len() <= 20, "pages are capped at 20");
        next = page.users.last().unwrap().get(PpUser::UID).unwrap() + 1;
        users.extend(page.users);
    }
    assert_eq!(users.len(), 30);
    let r = c
        .request(GetPPDev {
            ppn: 0,
            max_records: None,
        })
        .await
        .unwrap();
    assert!(
        matches!(r.message, Message::GetPPDevResp(p) if p.devices.len() == 1),
        "missing maxRecords means 1"
    );
    let r = c
        .request(GetConferenceRoom {
            id: 0,
            max_records: Some(20),
        })
        .await
        .unwrap();
    assert_eq!(code(&r), Some(&ErrCode::ENoEnt));
}

#[tokio::test]
async fn record_writes_and_their_errors_and_events() {
    let fleet = fleet(1).await;
    let mut c = login(&fleet, 1).await;
    let mut other = login(&fleet, 1).await;
    subscribe(&mut c, &["PPUserCnf", "PPDevCnf"]).await;
    subscribe(&mut other, &["PPUserCnf", "PPDevCnf"]).await;
    let taken = fleet.omm(1).lock().state.users[&1]
        .raw("num")
        .unwrap()
        .to_owned();
    let mut dup = PpUser::default();
    dup.set(PpUser::NUM, taken);
    let r = c.request(CreatePPUser { user: dup }).await.unwrap();
    assert_eq!((code(&r), bad(&r)), (Some(&ErrCode::EExist), Some("num")));
    let mut user = PpUser::default();
    user.set(PpUser::NUM, "5555".to_owned())
        .set(PpUser::TIME_STAMP, 1_000)
        .set_raw("futureAttr", "kept");
    let r = c.request(CreatePPUser { user }).await.unwrap();
    let Message::CreatePPUserResp(CreatePPUserResp { user: Some(u) }) = r.message else {
        panic!()
    };
    assert_eq!(
        (u.get(PpUser::TIME_STAMP), u.raw("futureAttr")),
        (Some(1_000), Some("kept")),
        "a supplied stamp and unknown attributes are kept"
    );
    let uid = u.get(PpUser::UID).unwrap();
    // The other link hears of it; the link that made the change does not.
    let ev = other.next_event(Duration::from_secs(2)).await.unwrap();
    assert!(
        matches!(&ev.message, Message::EventPPUserCnf(e) if e.user.as_ref().and_then(|u| u.get(PpUser::UID)) == Some(uid))
    );
    assert!(matches!(
        c.next_event(Duration::from_millis(200)).await,
        Err(ClientError::Timeout)
    ));
    // A binding cannot change through SetPPUser.
    let mut sneaky = PpUser::default();
    sneaky.set(PpUser::UID, uid).set(PpUser::PPN, 3);
    let r = c.request(SetPPUser { user: sneaky }).await.unwrap();
    assert_eq!((code(&r), bad(&r)), (Some(&ErrCode::EInval), Some("ppn")));
    // Devices: ipei required and unique.
    assert_eq!(
        bad(&c
            .request(CreatePPDev {
                pp: PpDev::default()
            })
            .await
            .unwrap()),
        Some("ipei")
    );
    let existing = fleet.omm(1).lock().state.devices[&1]
        .get(PpDev::IPEI)
        .unwrap();
    let mut pp = PpDev::default();
    pp.set(PpDev::IPEI, existing);
    assert_eq!(
        code(&c.request(CreatePPDev { pp }).await.unwrap()),
        Some(&ErrCode::EExist)
    );
    let fresh = Ipei::new(9, 9).unwrap();
    let mut pp = PpDev::default();
    pp.set(PpDev::IPEI, fresh)
        .set(PpDev::S, SubscriptionState::Yes);
    let Message::CreatePPDevResp(CreatePPDevResp { pp: Some(d) }) =
        c.request(CreatePPDev { pp }).await.unwrap().message
    else {
        panic!()
    };
    let ppn = d.get(PpDev::PPN).unwrap();
    assert!(
        matches!(c.request(GetPPDevByIPEI { ipei: fresh }).await.unwrap().message, Message::GetPPDevByIPEIResp(r) if r.pp.is_some())
    );
    // Bind with SetPP, switch the relation, unbind.
    let mut u = PpUser::default();
    u.set(PpUser::UID, uid)
        .set(PpUser::PPN, ppn)
        .set(PpUser::REL_TYPE, RelType::Dynamic)
        .set(PpUser::TIME_STAMP, 2_000);
    let mut d = PpDev::default();
    d.set(PpDev::PPN, ppn)
        .set(PpDev::UID, uid)
        .set(PpDev::REL_TYPE, RelType::Dynamic)
        .set(PpDev::TIME_STAMP, 2_000);
    let r = c
        .request(SetPP {
            user: Some(u.clone()),
            pp: Some(d.clone()),
        })
        .await
        .unwrap();
    let Message::SetPPResp(SetPPResp {
        user: Some(bu),
        pp: Some(bd),
    }) = r.message
    else {
        panic!("{r:?}")
    };
    assert_eq!(
        (
            bu.get(PpUser::PPN),
            bd.get(PpDev::UID),
            bu.get(PpUser::TIME_STAMP)
        ),
        (Some(ppn), Some(uid), Some(2_000))
    );
    let r = c
        .request(SetPPUserDevRelation {
            uid,
            rel_type: RelType::Fixed,
            time_stamp: Some(3_000),
        })
        .await
        .unwrap();
    assert!(
        matches!(r.message, Message::SetPPUserDevRelationResp(s) if s.rel_type == Some(RelType::Fixed))
    );
    let mut mismatched = d.clone();
    mismatched.set(PpDev::REL_TYPE, RelType::Fixed);
    assert_eq!(
        code(
            &c.request(SetPP {
                user: Some(u),
                pp: Some(mismatched)
            })
            .await
            .unwrap()
        ),
        Some(&ErrCode::EInval)
    );
    // A client that is not a sync client may not use SetPP.
    let mut plain = AxiClient::connect_tls(fleet.omm(1).addr).await.unwrap();
    plain.open(USER, PASSWORD, false).await.unwrap();
    assert_eq!(
        code(
            &plain
                .request(SetPP {
                    user: None,
                    pp: None
                })
                .await
                .unwrap()
        ),
        Some(&ErrCode::EPerm)
    );
    // Deleting one half of a pair unbinds the other, reported as events.
    assert!(c
        .request(DeletePPDev { ppn })
        .await
        .unwrap()
        .error
        .is_none());
    let mut saw_delete = false;
    let mut saw_unbind = false;
    while let Ok(ev) = other.next_event(Duration::from_millis(500)).await {
        match &ev.message {
            Message::EventPPDevCnf(EventPPDevCnf { pp: Some(p) })
                if p.get(PpDev::DELETED) == Some(true) =>
            {
                saw_delete = true
            }
            Message::EventPPUserCnf(EventPPUserCnf { user: Some(u) })
                if u.get(PpUser::UID) == Some(uid) && u.get(PpUser::PPN) == Some(0) =>
            {
                saw_unbind = true
            }
            _ => {}
        }
    }
    assert!(saw_delete && saw_unbind);
    assert_eq!(
        code(&c.request(DeletePPUser { uid: 9999 }).await.unwrap()),
        Some(&ErrCode::ENoEnt)
    );
    assert!(c
        .request(DeletePPUser { uid })
        .await
        .unwrap()
        .error
        .is_none());
}

#[tokio::test]
async fn conference_rooms_messages_and_data() {
    let fleet = fleet(1).await;
    let mut c = login(&fleet, 1).await;
    let mut room = Room::default();
    room.set(Room::NAME, "Board".to_owned())
        .set(Room::CONFERENCE_ID, "800".to_owned())
        .set(Room::FIXED_SIP_PORT, 0);
    let Message::CreateConferenceRoomResp(CreateConferenceRoomResp { room: Some(r) }) = c
        .request(CreateConferenceRoom { room })
        .await
        .unwrap()
        .message
    else {
        panic!()
    };
    let id = r.get(Room::ID).unwrap();
    let mut change = Room::default();
    change
        .set(Room::ID, id)
        .set(Room::NAME, "Board 2".to_owned());
    assert!(c
        .request(SetConferenceRoom { room: change })
        .await
        .unwrap()
        .error
        .is_none());
    assert!(
        matches!(c.request(GetConferenceRoom { id: 0, max_records: Some(20) }).await.unwrap().message, Message::GetConferenceRoomResp(p) if p.rooms[0].raw("name") == Some("Board 2"))
    );
    assert!(c
        .request(DeleteConferenceRoom { id })
        .await
        .unwrap()
        .error
        .is_none());
    assert_eq!(
        code(&c.request(DeleteConferenceRoom { id }).await.unwrap()),
        Some(&ErrCode::ENoEnt)
    );
    // Messages to a local number are delivered; to an unknown one: ENoEnt bad="toAddr".
    let local = fleet.omm(1).lock().state.users[&2]
        .raw("num")
        .unwrap()
        .to_owned();
    let mut msg = axi::TextMessage::default();
    msg.set(axi::TextMessage::TO_ADDR, format!("tel:{local}"))
        .set(axi::TextMessage::CONTENT, "hello".to_owned());
    assert!(c
        .request(SendMessage {
            always_indirect: None,
            msg: msg.clone()
        })
        .await
        .unwrap()
        .error
        .is_none());
    assert_eq!(fleet.omm(1).lock().state.delivered_messages.len(), 1);
    msg.set(axi::TextMessage::TO_ADDR, "tel:000".to_owned());
    let r = c
        .request(SendMessage {
            always_indirect: None,
            msg,
        })
        .await
        .unwrap();
    assert_eq!(
        (code(&r), bad(&r)),
        (Some(&ErrCode::ENoEnt), Some("toAddr"))
    );
    // Data channel: base64 or EInval.
    assert!(c
        .request(ApplicationDataChannel {
            omm_id: None,
            channel: "nurse-call".into(),
            data: "aGk=".into()
        })
        .await
        .unwrap()
        .error
        .is_none());
    let r = c
        .request(ApplicationDataChannel {
            omm_id: None,
            channel: "x".into(),
            data: "not base64!".into(),
        })
        .await
        .unwrap();
    assert_eq!(bad(&r), Some("data"));
    assert!(matches!(
        c.request(GetSystemName {}).await.unwrap().message,
        Message::GetSystemNameResp(GetSystemNameResp { name: Some(_) })
    ));
}

#[tokio::test]
async fn events_from_the_control_interface() {
    let fleet = fleet(2).await;
    let mut a = login(&fleet, 1).await;
    let mut b = login(&fleet, 2).await;
    subscribe(
        &mut a,
        &[
            "PPDevCnf",
            "DECTSubscribe",
            "MessageSend",
            "ApplicationDataChannel",
            "DECTSubscriptionMode",
        ],
    )
    .await;
    subscribe(&mut b, &["DECTLocate", "PPDevCnf"]).await;
    // Subscription with mode Off is refused; with Configured an unknown handset asks the MOM.
    let new = Ipei::new(4000, 1).unwrap();
    assert!(fleet.subscribe_handset(1, new, None, None).is_err());
    a.request(SetDECTSubscriptionMode {
        mode: DectSubscriptionMode::Configured,
        timeout: None,
    })
    .await
    .unwrap();
    // With its own auto-create on, the OMM creates the record itself.
    let own = Ipei::new(4000, 9).unwrap();
    fleet.subscribe_handset(1, own, None, None).unwrap();
    let ev = a.next_event(Duration::from_secs(2)).await.unwrap();
    assert!(
        matches!(&ev.message, Message::EventPPDevCnf(e) if e.pp.as_ref().and_then(|p| p.get(PpDev::IPEI)) == Some(own)),
        "{ev:?}"
    );
    // A MOM switches it off; then an unknown handset is reported to the MOM instead.
    a.request(SetDevAutoCreate { enable: false }).await.unwrap();
    fleet
        .subscribe_handset(1, new, Some("1234".into()), None)
        .unwrap();
    let ev = a.next_event(Duration::from_secs(2)).await.unwrap();
    assert!(
        matches!(&ev.message, Message::EventDECTSubscribe(e) if e.ipei == new && e.ac.as_deref() == Some("1234")),
        "{ev:?}"
    );
    // The MOM's auto-create completes the waiting subscription.
    let mut pp = PpDev::default();
    pp.set(PpDev::IPEI, new)
        .set(PpDev::REL_TYPE, RelType::Unbound)
        .set(PpDev::AUTO_CREATE, true);
    let r = a.request(CreatePPDev { pp }).await.unwrap();
    assert!(
        matches!(&r.message, Message::CreatePPDevResp(c) if c.pp.as_ref().and_then(|p| p.get(PpDev::S)) == Some(SubscriptionState::Yes))
    );
    // Reject is answered.
    assert!(a
        .request(DECTSubscribeReject {
            ipei: Ipei::new(4000, 2).unwrap()
        })
        .await
        .unwrap()
        .error
        .is_none());
    // Roaming: the handset of OMM 1 registers at OMM 2, which has no record: no ppn.
    let roamer = fleet.omm(1).lock().state.devices[&1]
        .get(PpDev::IPEI)
        .unwrap();
    fleet.roam(roamer, 2, 17).unwrap();
    let ev = b.next_event(Duration::from_secs(2)).await.unwrap();
    assert!(
        matches!(&ev.message, Message::EventDECTLocate(l) if l.ipei == roamer && l.rfp_id == 17 && l.ppn.is_none())
    );
    assert!(b
        .request(DECTLocateReject { ipei: roamer })
        .await
        .unwrap()
        .error
        .is_none());
    assert_eq!(fleet.omm(2).lock().state.rejected, [roamer]);
    // A handset message to a number elsewhere, and application data.
    fleet
        .handset_message(1, "10000", "20001", "hi there")
        .unwrap();
    let ev = a.next_event(Duration::from_secs(2)).await.unwrap();
    assert!(
        matches!(&ev.message, Message::EventMessageSend(m) if m.msg.as_ref().and_then(|m| m.raw("toAddr")) == Some("tel:20001"))
    );
    fleet.application_data(1, "alarm", b"\x00\x01").unwrap();
    let ev = a.next_event(Duration::from_secs(2)).await.unwrap();
    assert!(matches!(&ev.message, Message::EventApplicationDataChannel(d) if d.data == "AAE="));
    // Wildcard: the OMM binds a new handset to the user with the given additional ID.
    a.request(SetDECTSubscriptionMode {
        mode: DectSubscriptionMode::Wildcard,
        timeout: None,
    })
    .await
    .unwrap();
    let wild = Ipei::new(4000, 3).unwrap();
    assert!(
        fleet.subscribe_handset(1, wild, None, None).is_err(),
        "wildcard needs an additional ID"
    );
    fleet
        .subscribe_handset(1, wild, None, Some("login1x3"))
        .unwrap();
    assert_eq!(
        fleet.device(1, wild).unwrap().get(PpDev::REL_TYPE),
        Some(RelType::Dynamic)
    );
}

/// A tiny HTTPS server answering one `GET` with `body` when the Basic credentials match.
async fn provisioning_server(
    body: &'static str,
    user: &'static str,
    password: &'static str,
) -> (std::net::SocketAddr, Vec<u8>) {
    use base64::Engine;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let der = cert.cert.der().to_vec();
    let key = rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![rustls::pki_types::CertificateDer::from(der.clone())],
        key,
    )
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    );
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let Ok(mut tls) = acceptor.accept(tcp).await else {
                continue;
            };
            let mut request = vec![0u8; 4096];
            let n = tls.read(&mut request).await.unwrap();
            let request = String::from_utf8_lossy(&request[..n]).into_owned();
            let authorised = request
                .lines()
                .any(|l| l.trim() == format!("Authorization: {expected}"));
            let path_ok = request.starts_with("GET /prov/ipdect.cfg ");
            let answer = if authorised && path_ok {
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
            } else {
                "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_owned()
            };
            let _ = tls.write_all(answer.as_bytes()).await;
            let _ = tls.shutdown().await;
        }
    });
    (addr, der)
}

#[tokio::test]
async fn software_update_fetches_the_file_and_honours_cloud_ids() {
    const FILE: &str = "<?xml version=\"1.0\"?>\n<SetSystemName name=\"All\"/>\n<SetSystemName cloudId=\"001F10000001\" name=\"Only OMM 1\"/>\n<SetSystemName cloudId=\"001F10000002\" name=\"Only OMM 2\"/>\n";
    let (addr, _der) = provisioning_server(FILE, "omm1", "secret").await;
    let fleet = fleet(1).await;
    let mut c = login(&fleet, 1).await;
    assert_eq!(
        code(&c.request(SoftwareUpdate {}).await.unwrap()),
        Some(&ErrCode::EFailed),
        "no URL yet"
    );
    let mut url = axi::ConfigUrl::default();
    url.set(axi::ConfigUrl::ENABLE, true)
        .set(axi::ConfigUrl::PROTOCOL, "HTTPS".to_owned())
        .set(axi::ConfigUrl::HOST, "127.0.0.1".to_owned())
        .set(axi::ConfigUrl::PORT, addr.port())
        .set(axi::ConfigUrl::PATH, "prov".to_owned())
        .set(axi::ConfigUrl::USERNAME, "omm1".to_owned())
        .set(axi::ConfigUrl::PASSWORD, "secret".to_owned())
        .set(axi::ConfigUrl::VALIDATE_CERTS, false);
    c.request(SetConfigURL { url }).await.unwrap();
    assert!(c.request(SoftwareUpdate {}).await.unwrap().error.is_none());
    let mut commands = Vec::new();
    for _ in 0..100 {
        commands = fleet.omm(1).lock().state.provisioning_commands.clone();
        if !commands.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        commands,
        [
            "<SetSystemName name=\"All\"/>",
            "<SetSystemName name=\"Only OMM 1\"/>"
        ]
    );
}

#[tokio::test]
async fn misbehaviour_modes() {
    let fleet = fleet(1).await;
    let omm = fleet.omm(1);
    // Slow: the answer comes after the delay.
    let mut c = login(&fleet, 1).await;
    omm.set_behaviour(Behaviour::Slow(Duration::from_millis(300)));
    let t = std::time::Instant::now();
    assert!(c
        .request(Ping { time_stamp: None })
        .await
        .unwrap()
        .error
        .is_none());
    assert!(t.elapsed() >= Duration::from_millis(300));
    // Byte by byte: the same answer, one byte per write.
    omm.set_behaviour(Behaviour::ByteByByte);
    let r = c
        .request(GetPPUser {
            uid: 0,
            max_records: Some(20),
        })
        .await
        .unwrap();
    assert!(matches!(r.message, Message::GetPPUserResp(p) if p.users.len() == 20));
    // Silent: no answer.
    omm.set_behaviour(Behaviour::Silent);
    c.timeout = Duration::from_millis(300);
    assert!(matches!(
        c.request(Ping { time_stamp: None }).await,
        Err(ClientError::Timeout)
    ));
    // Garbage: not a frame the client can decode.
    omm.set_behaviour(Behaviour::Garbage);
    let mut g = login_raw(&fleet).await;
    assert!(matches!(
        g.request(Ping { time_stamp: None }).await,
        Err(ClientError::Protocol(_))
    ));
    // Oversize: the client's splitter refuses it.
    omm.set_behaviour(Behaviour::Oversize);
    let mut o = login_raw(&fleet).await;
    assert!(matches!(
        o.request(Ping { time_stamp: None }).await,
        Err(ClientError::Protocol(_))
    ));
    // Dropped links are closed; the OMM stays reachable.
    omm.set_behaviour(Behaviour::Normal);
    let mut d = login(&fleet, 1).await;
    omm.drop_links();
    assert!(matches!(
        d.recv().await,
        Err(ClientError::Closed | ClientError::Io(_))
    ));
    let mut again = login(&fleet, 1).await;
    assert!(again
        .request(Ping { time_stamp: None })
        .await
        .unwrap()
        .error
        .is_none());
}

/// Logs in before a misbehaviour is set: the Open itself is answered normally.
async fn login_raw(fleet: &Fleet) -> AxiClient {
    let omm = fleet.omm(1);
    let mode = omm.lock_behaviour();
    omm.set_behaviour(Behaviour::Normal);
    let c = login(fleet, 1).await;
    omm.set_behaviour(mode);
    c
}

#[tokio::test]
async fn a_hostile_client_is_cut_off_and_the_omm_keeps_serving() {
    let fleet = fleet(1).await;
    let mut hostile = login(&fleet, 1).await;
    hostile.send_raw(&vec![b'<'; (1 << 20) + 10]).await.unwrap();
    assert!(hostile.recv().await.is_err());
    let mut garbage = login(&fleet, 1).await;
    garbage
        .send_raw(b"<Ping seq=\"1\"><unclosed></Ping>\0")
        .await
        .unwrap();
    assert!(garbage.recv().await.is_err());
    let mut ok = login(&fleet, 1).await;
    assert!(ok
        .request(Ping { time_stamp: None })
        .await
        .unwrap()
        .error
        .is_none());
}

#[tokio::test]
async fn plain_mode_and_the_control_socket() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let fleet = std::sync::Arc::new(
        Fleet::start(FleetOptions {
            omms: 2,
            users: 5,
            devices: 5,
            tls: false,
            ..FleetOptions::default()
        })
        .await
        .unwrap(),
    );
    let mut c = AxiClient::connect_plain(fleet.omm(2).addr).await.unwrap();
    assert!(c.open(USER, PASSWORD, true).await.unwrap().error.is_none());
    subscribe(&mut c, &["PPUserCnf"]).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(omm_sim::control::serve(
        std::sync::Arc::clone(&fleet),
        listener,
    ));
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"{\"cmd\":\"list\"}\n{\"cmd\":\"edit-user\",\"omm\":2,\"uid\":1,\"attr\":\"name\",\"value\":\"Scripted\"}\n{\"cmd\":\"fly\"}\nnot json\n").await.unwrap();
    let list: serde_json::Value =
        serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
    assert_eq!(list["result"].as_array().unwrap().len(), 2);
    assert_eq!(list["result"][1]["links"], 1);
    assert_eq!(lines.next_line().await.unwrap().unwrap(), "{\"ok\":true}");
    assert!(lines
        .next_line()
        .await
        .unwrap()
        .unwrap()
        .contains("unknown command"));
    assert!(lines
        .next_line()
        .await
        .unwrap()
        .unwrap()
        .contains("not JSON"));
    let ev = c.next_event(Duration::from_secs(2)).await.unwrap();
    assert!(
        matches!(&ev.message, Message::EventPPUserCnf(e) if e.user.as_ref().and_then(|u| u.raw("name")) == Some("Scripted"))
    );
}
