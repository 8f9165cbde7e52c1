//! Record writes with their errors and events, conference rooms, messages and data, and
//! events made through the control interface.

use super::*;
use axi::record::AxiRecord;
use axi::value::DectSubscriptionMode;
use axi::{ErrCode, Message, PpDev, PpUser, Room};
use model::{Ipei, RelType, SubscriptionState};
use omm_sim::client::{AxiClient, ClientError};
use std::time::Duration;

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
