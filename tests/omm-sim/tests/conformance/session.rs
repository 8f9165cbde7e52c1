//! The session rules, secrets both ways, the on-connect settings and a SARI restart,
//! subscriptions and paging.

use super::*;
use axi::record::AxiRecord;
use axi::value::{DectSubscriptionMode, Hex10, SubscribeCmd};
use axi::{ErrCode, Frame, Message, PpUser, SubscribeEntry};
use omm_sim::client::{AxiClient, ClientError};
use omm_sim::Fleet;
use std::time::Duration;

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
