//! svc-maxi end to end: the real MOM (supervisor, store, svc-axi, svc-web, svc-maxi), real
//! TLS with the MOM's own certificate, simulated OMMs, and MAXI clients that behave well and
//! badly.

use axi::record::AxiRecord;
use ipc::api::store::{NewAccount, StoreRequest, StoreResponse};
use model::LinkState;
use mom_tests::maxi::{attr, Maxi};
use mom_tests::sim::{add_omm, omms, runtime, wait};
use mom_tests::{Mom, Options};
use omm_sim::{Fleet, FleetOptions};
use std::time::{Duration, Instant};

mod clients;

const WRITER: (&str, &str) = ("app", "Blue.Whale-2024");
const READER: (&str, &str) = ("viewer", "Green.Frog-2024");

fn mom() -> Mom {
    Mom::start(&Options {
        extra: "[axi]\nretry-secs = 1\nping-secs = 5\n[maxi]\nhandshake-timeout-secs = 2\n".into(),
        ..Options::default()
    })
}

fn account(mom: &Mom, (name, password): (&str, &str), write: bool, enabled: bool) {
    let answer = mom.store(StoreRequest::CreateAccount(NewAccount {
        name: name.into(),
        password: password.into(),
        enabled,
        write,
        must_change_password: false,
    }));
    assert!(matches!(answer, StoreResponse::Created(_)), "{answer:?}");
}

/// A TLS client once svc-maxi has the MOM's certificate.
fn connect(mom: &Mom) -> Maxi {
    let addr = mom.listener("maxi");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(mut m) = Maxi::try_tls(addr) {
            if m.try_request("<Ping/>", Duration::from_secs(2)).is_some() {
                return m;
            }
        }
        assert!(
            Instant::now() < deadline,
            "svc-maxi does not answer on {addr}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn logged_in(mom: &Mom, who: (&str, &str)) -> Maxi {
    let mut m = connect(mom);
    let open = m.open(who.0, who.1);
    assert!(!open.contains("errCode"), "{open}");
    m
}

fn error_of(frame: &str) -> (Option<&str>, Option<&str>) {
    (attr(frame, "errCode"), attr(frame, "bad"))
}

fn users(mom: &Mom) -> u64 {
    mom.totals().0
}

fn fleet(rt: &tokio::runtime::Runtime, omms: u32) -> Fleet {
    rt.block_on(Fleet::start(FleetOptions {
        omms,
        users: 5,
        devices: 5,
        ..FleetOptions::default()
    }))
    .expect("fleet")
}

#[test]
fn logins_permissions_and_every_supported_request() {
    let mom = mom();
    account(&mom, WRITER, true, true);
    account(&mom, READER, false, true);
    account(&mom, ("gone", "Lost.Key-2024"), true, false);

    let mut m = connect(&mom);
    let early = m.request("<GetPPUser uid=\"0\"/>");
    assert_eq!(error_of(&early).0, Some("EAuth"), "{early}");
    for (user, password) in [("app", "wrong"), ("gone", "Lost.Key-2024"), ("nobody", "x")] {
        let refused = m.open(user, password);
        assert!(
            refused.starts_with("<OpenResp") && refused.contains("errCode=\"EAuth\""),
            "{refused}"
        );
    }
    // The link stays open after a refusal; the right password now works.
    let open = m.open(WRITER.0, WRITER.1);
    assert!(
        open.contains("protocolVersion=\"45\"") && !open.contains("errCode"),
        "{open}"
    );
    assert!(open.contains("<publicKey modulus=\""), "{open}");
    let again = m.open(WRITER.0, WRITER.1);
    assert_eq!(error_of(&again).0, Some("EFailed"), "{again}");

    assert!(m.request("<GetSystemName/>").contains("name=\"MOM\""));
    let key = m.request("<GetPublicKey/>");
    let modulus = attr(&key, "modulus").expect("modulus").to_owned();
    let exponent = attr(&key, "exponent").expect("exponent").to_owned();
    let public = axi::secret::public_key(&modulus, &exponent).expect("a key");
    assert!(m.request("<GetSARI/>").starts_with("<GetSARIResp seq="));

    // Create a user with an encrypted PIN, page, look it up, edit it.
    let pin = axi::secret::encrypt(&public, "4711").unwrap();
    let created = m.request(&format!(
        "<CreatePPUser><user num=\"2001\" name=\"Ward 1\" pin=\"{pin}\"/></CreatePPUser>"
    ));
    assert!(created.starts_with("<CreatePPUserResp seq="), "{created}");
    assert!(
        !created.contains("pin="),
        "no secrets without the client's key: {created}"
    );
    let uid: u32 = attr(&created, "uid").unwrap().parse().unwrap();
    for n in 2002..2025 {
        let c = m.request(&format!("<CreatePPUser><user num=\"{n}\"/></CreatePPUser>"));
        assert!(!c.contains("errCode"), "{c}");
    }
    let first = m.request("<GetPPUser uid=\"0\" maxRecords=\"50\"/>");
    assert_eq!(
        first.matches("<user ").count(),
        20,
        "pages hold 20: {first}"
    );
    let next = m.request("<GetPPUser uid=\"21\" maxRecords=\"20\"/>");
    assert_eq!(next.matches("<user ").count(), 4, "{next}");
    let end = m.request("<GetPPUser uid=\"1000\" maxRecords=\"20\"/>");
    assert_eq!(error_of(&end), (Some("ENoEnt"), Some("uid")), "{end}");
    let by_number = m.request("<GetPPUserByNumber num=\"2001\"/>");
    assert!(by_number.contains(&format!("uid=\"{uid}\"")), "{by_number}");
    let set = m.request(&format!(
        "<SetPPUser><user uid=\"{uid}\" name=\"Ward 2\"/></SetPPUser>"
    ));
    assert!(
        set.contains("name=\"Ward 2\"") && set.contains("num=\"2001\""),
        "{set}"
    );
    let stored = match mom.store(StoreRequest::GetUser(uid)) {
        StoreResponse::User(u) => u,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        (stored.pin.as_str(), stored.name.as_str()),
        ("4711", "Ward 2")
    );

    // With its own key announced, the client reads the PIN, encrypted for it.
    let mine = axi::secret::generate(1024).unwrap();
    let (n, e) = axi::secret::key_hex(&mine.to_public_key());
    let announced = m.request(&format!("<SetMOMKey modulus=\"{n}\" exponent=\"{e}\"/>"));
    assert!(!announced.contains("errCode"), "{announced}");
    let read = m.request(&format!("<GetPPUser uid=\"{uid}\"/>"));
    let cipher = attr(&read, "pin").expect("pin for a client with a key");
    assert_eq!(axi::secret::decrypt(&mine, cipher).unwrap(), "4711");

    // Bad writes are refused with AXI errors and change nothing.
    let before = users(&mom);
    let dup = m.request("<CreatePPUser><user num=\"2001\"/></CreatePPUser>");
    assert_eq!(error_of(&dup), (Some("EExist"), Some("num")), "{dup}");
    let plain_pin = m.request(&format!(
        "<SetPPUser><user uid=\"{uid}\" pin=\"1234\"/></SetPPUser>"
    ));
    assert_eq!(
        error_of(&plain_pin),
        (Some("EInval"), Some("pin")),
        "{plain_pin}"
    );
    let bad_num = m.request("<CreatePPUser><user num=\"20\u{7}01\"/></CreatePPUser>");
    assert_eq!(
        error_of(&bad_num),
        (Some("EInval"), Some("num")),
        "{bad_num}"
    );
    let rebind = m.request(&format!(
        "<SetPPUser><user uid=\"{uid}\" ppn=\"5\"/></SetPPUser>"
    ));
    assert_eq!(error_of(&rebind), (Some("EInval"), Some("ppn")), "{rebind}");
    let mistyped = m.request("<GetPPUser uid=\"x\"/>");
    assert_eq!(
        error_of(&mistyped),
        (Some("EInval"), Some("uid")),
        "{mistyped}"
    );
    assert_eq!(users(&mom), before);
    let stored_after = match mom.store(StoreRequest::GetUser(uid)) {
        StoreResponse::User(u) => u,
        other => panic!("{other:?}"),
    };
    assert_eq!(stored_after.pin, "4711", "a refused PIN changes nothing");

    // Devices, binding, relation, deletion.
    let ipei = model::Ipei::new(77, 123).unwrap().to_string();
    let dev = m.request(&format!(
        "<CreatePPDev><pp ipei=\"{ipei}\" s=\"Yes\"/></CreatePPDev>"
    ));
    assert!(!dev.contains("errCode"), "{dev}");
    let ppn: u32 = attr(&dev, "ppn").unwrap().parse().unwrap();
    let by_ipei = m.request(&format!("<GetPPDevByIPEI ipei=\"{ipei}\"/>"));
    assert!(by_ipei.contains(&format!("ppn=\"{ppn}\"")), "{by_ipei}");
    let bad_ipei = m.request(&format!("<CreatePPDev><pp ipei=\"{ipei}\"/></CreatePPDev>"));
    assert_eq!(
        error_of(&bad_ipei),
        (Some("EExist"), Some("ipei")),
        "{bad_ipei}"
    );
    let bind = m.request(&format!(
        "<SetPP><user uid=\"{uid}\" ppn=\"{ppn}\" relType=\"Dynamic\"/><pp ppn=\"{ppn}\" uid=\"{uid}\" relType=\"Dynamic\"/></SetPP>"
    ));
    assert!(
        bind.starts_with("<SetPPResp") && !bind.contains("errCode"),
        "{bind}"
    );
    assert!(bind.contains("relType=\"Dynamic\""), "{bind}");
    let fixed = m.request(&format!(
        "<SetPPUserDevRelation uid=\"{uid}\" relType=\"Fixed\"/>"
    ));
    assert_eq!(
        fixed,
        format!(
            "<SetPPUserDevRelationResp seq=\"{}\" uid=\"{uid}\" relType=\"Fixed\"/>",
            attr(&fixed, "seq").unwrap()
        )
    );
    let devices = m.request("<GetPPDev ppn=\"0\" maxRecords=\"20\"/>");
    assert!(devices.contains("relType=\"Fixed\""), "{devices}");
    let unbind = m.request(&format!(
        "<SetPP><user uid=\"{uid}\" ppn=\"0\" relType=\"Unbound\"/><pp ppn=\"{ppn}\" uid=\"0\" relType=\"Unbound\"/></SetPP>"
    ));
    assert!(
        !unbind.contains("errCode") && unbind.contains("relType=\"Unbound\""),
        "{unbind}"
    );
    let deleted = m.request(&format!("<DeletePPDev ppn=\"{ppn}\"/>"));
    assert!(!deleted.contains("errCode"), "{deleted}");
    let gone = m.request(&format!("<DeletePPDev ppn=\"{ppn}\"/>"));
    assert_eq!(error_of(&gone), (Some("ENoEnt"), Some("ppn")), "{gone}");

    // Unsupported requests and an unknown event type: answered, the link goes on.
    let unsupported = m.request("<SetSARI sari=\"1F10DE0000\"/>");
    assert_eq!(
        unsupported,
        format!(
            "<SetSARIResp seq=\"{}\" errCode=\"EFailed\" info=\"not supported\"/>",
            attr(&unsupported, "seq").unwrap()
        )
    );
    let sub = m.request("<Subscribe><e cmd=\"On\" eventType=\"DECTLocate\"/></Subscribe>");
    assert_eq!(error_of(&sub), (Some("EInval"), Some("eventType")), "{sub}");
    // A request without seq is answered without seq.
    m.send_raw(b"<Ping/>\0").unwrap();
    assert_eq!(
        m.next_frame(Duration::from_secs(5)).as_deref(),
        Some("<PingResp/>")
    );
    // A frame byte by byte.
    for b in b"<GetPPUserByNumber seq=\"77\" num=\"2001\"/>\0" {
        m.send_raw(&[*b]).unwrap();
    }
    let slow = m.next_frame(Duration::from_secs(5)).unwrap();
    assert!(
        slow.starts_with("<GetPPUserByNumberResp seq=\"77\""),
        "{slow}"
    );

    // The read-only account reads and subscribes but writes nothing.
    let mut viewer = logged_in(&mom, READER);
    assert!(!viewer
        .request("<GetPPUser uid=\"0\" maxRecords=\"5\"/>")
        .contains("errCode"));
    for write in [
        "<CreatePPUser><user num=\"3001\"/></CreatePPUser>".to_owned(),
        format!("<DeletePPUser uid=\"{uid}\"/>"),
        "<SendMessage><msg toAddr=\"tel:2001\" content=\"hi\"/></SendMessage>".to_owned(),
        format!("<SetMOMKey modulus=\"{n}\" exponent=\"{e}\"/>"),
    ] {
        assert_eq!(
            error_of(&viewer.request(&write)).0,
            Some("EPerm"),
            "{write}"
        );
    }
    assert!(!viewer
        .request("<Subscribe><e cmd=\"On\" eventType=\"PPUserCnf\" uid=\"-1\"/></Subscribe>")
        .contains("errCode"));
    // …and sees the writer's change as an event with the MOM's id.
    let del = m.request(&format!("<DeletePPUser uid=\"{uid}\"/>"));
    assert!(!del.contains("errCode"), "{del}");
    let event = viewer
        .event_with("EventPPUserCnf", Duration::from_secs(5))
        .expect("the deletion as an event");
    assert!(
        event.contains(&format!("uid=\"{uid}\"")) && event.contains("deleted=\"true\""),
        "{event}"
    );

    // Writes are in the audit trail with the account and the client's address.
    let trail = match mom.store(StoreRequest::ListAudit) {
        StoreResponse::Audit(t) => t,
        other => panic!("{other:?}"),
    };
    let mine: Vec<_> = trail.iter().filter(|a| a.actor == "app").collect();
    assert!(mine
        .iter()
        .any(|a| a.action == "users.create" && a.source == "maxi 127.0.0.1"));
    assert!(mine.iter().any(|a| a.action == "relations.bind"));
    assert!(
        mine.iter().all(|a| !a.after.contains("4711")),
        "secrets are redacted"
    );

    // Garbage closes only that link.
    let mut hostile = connect(&mom);
    hostile.send_raw(b"<<<not xml\0").unwrap();
    assert!(
        hostile.closed_within(Duration::from_secs(5)),
        "garbage closes the link"
    );
    let mut huge = connect(&mom);
    let _ = huge.send_raw(&vec![b'a'; 2 << 20]);
    assert!(
        huge.closed_within(Duration::from_secs(5)),
        "an oversize frame closes the link"
    );
    assert!(
        m.request("<Ping/>").starts_with("<PingResp"),
        "the others go on"
    );

    wait(
        "the counters reach the store",
        Duration::from_secs(5),
        || mom.counter("maxi.requests") > 50 && mom.counter("maxi.failed_requests") >= 10,
    );
}

#[test]
fn records_messages_and_data_reach_the_omms_and_come_back_as_events() {
    let rt = runtime();
    let fleet = fleet(&rt, 2);
    let mom = mom();
    account(&mom, WRITER, true, true);
    let ids: Vec<u32> = (1..=2).map(|i| add_omm(&mom, &fleet, i)).collect();
    wait(
        "both OMMs linked and imported",
        Duration::from_secs(30),
        || users(&mom) == 10 && omms(&mom).iter().all(|o| o.health.link == LinkState::Up),
    );
    let mut m = logged_in(&mom, WRITER);
    let sub = m.request(
        "<Subscribe><e cmd=\"On\" eventType=\"PPUserCnf\" uid=\"-1\"/><e cmd=\"On\" eventType=\"MessageSend\"/><e cmd=\"On\" eventType=\"ApplicationDataChannel\"/><e cmd=\"On\" eventType=\"MOMOMMCnf\"/></Subscribe>",
    );
    assert!(!sub.contains("errCode"), "{sub}");

    // A user created over MAXI for OMM 2 reaches OMM 2.
    let created = m.request(&format!(
        "<CreatePPUser><user num=\"7001\" name=\"From MAXI\" ommId=\"{}\"/></CreatePPUser>",
        ids[1]
    ));
    assert!(!created.contains("errCode"), "{created}");
    wait("the user on OMM 2", Duration::from_secs(10), || {
        fleet
            .omm(2)
            .lock()
            .state
            .users
            .values()
            .any(|u| u.raw("num") == Some("7001"))
    });
    // A strict reader that did not ask gets the reference's attributes only; a client that
    // asked for the MOM's extensions gets the OMM the user lives at (profile §9 1.2).
    let plain = m.request("<GetPPUserByNumber num=\"7001\"/>");
    assert!(
        plain.contains("num=\"7001\"") && !plain.contains("ommId"),
        "{plain}"
    );
    let mut extended = connect(&mom);
    let open = extended.request(&format!(
        "<Open username=\"{}\" password=\"{}\" momExtensions=\"1\"/>",
        WRITER.0, WRITER.1
    ));
    assert!(!open.contains("errCode"), "{open}");
    let with = extended.request("<GetPPUserByNumber num=\"7001\"/>");
    assert!(with.contains(&format!("ommId=\"{}\"", ids[1])), "{with}");
    let sub = extended
        .request("<Subscribe><e cmd=\"On\" eventType=\"PPUserCnf\" uid=\"-1\"/></Subscribe>");
    assert!(!sub.contains("errCode"), "{sub}");
    let no_omm = m.request("<CreatePPUser><user num=\"7002\" ommId=\"99\"/></CreatePPUser>");
    assert_eq!(
        error_of(&no_omm),
        (Some("ENoEnt"), Some("ommId")),
        "{no_omm}"
    );

    // An edit at OMM 1 reaches the subscribed client with the MOM's id.
    let (omm_uid, num) = {
        let inner = fleet.omm(1).lock();
        let (uid, u) = inner.state.users.iter().next().unwrap();
        (*uid, u.raw("num").unwrap().to_owned())
    };
    fleet
        .admin_edit_user(1, omm_uid, "name", "Edited at OMM")
        .unwrap();
    let mom_uid = match mom.store(StoreRequest::GetUserByNumber(num.clone())) {
        StoreResponse::User(u) => u.uid,
        other => panic!("{other:?}"),
    };
    let event = m
        .event_with("Edited at OMM", Duration::from_secs(10))
        .expect("the OMM-side edit as an event");
    assert!(event.starts_with("<EventPPUserCnf><user "), "{event}");
    assert!(
        event.contains(&format!("uid=\"{mom_uid}\"")) && !event.contains("ommId"),
        "MOM ids, no extension for a client that did not ask: {event}"
    );
    let event = extended
        .event_with("Edited at OMM", Duration::from_secs(10))
        .expect("the same event for the client with extensions");
    assert!(event.contains(&format!("ommId=\"{}\"", ids[0])), "{event}");

    // An application's message goes to the OMM where the user is, answered after it.
    let sent = m.request(&format!(
        "<SendMessage><msg toAddr=\"tel:{num}\" fromAddr=\"alarm\" content=\"Fire drill\" priority=\"High\"/></SendMessage>"
    ));
    assert!(
        sent.starts_with("<SendMessageResp") && !sent.contains("errCode"),
        "{sent}"
    );
    assert_eq!(
        fleet
            .omm(1)
            .lock()
            .state
            .delivered_messages
            .last()
            .and_then(|m| m.raw("content").map(str::to_owned))
            .as_deref(),
        Some("Fire drill"),
        "delivered before the answer"
    );
    let nobody = m.request("<SendMessage><msg toAddr=\"tel:999999\" content=\"x\"/></SendMessage>");
    assert_eq!(
        error_of(&nobody),
        (Some("ENoEnt"), Some("toAddr")),
        "{nobody}"
    );
    wait("counted", Duration::from_secs(5), || {
        mom.counter("maxi.send_message_requests") == 2
    });

    // A handset's message from OMM 2 to a user at OMM 1 reaches subscribed applications.
    let from = fleet
        .omm(2)
        .lock()
        .state
        .users
        .values()
        .next()
        .unwrap()
        .raw("num")
        .unwrap()
        .to_owned();
    fleet
        .handset_message(2, &from, &num, "Hello site 1")
        .unwrap();
    let message = m
        .event_with("Hello site 1", Duration::from_secs(10))
        .expect("EventMessageSend");
    assert!(message.starts_with("<EventMessageSend><msg "), "{message}");

    // The data channel both ways.
    fleet.application_data(2, "nurse-call", b"bed 12").unwrap();
    let data = m
        .event_with("nurse-call", Duration::from_secs(10))
        .expect("data event");
    assert!(
        data.contains(&format!("ommId=\"{}\"", ids[1])) && data.contains("data=\"YmVkIDEy\""),
        "{data}"
    );
    let to_omm = m.request(&format!(
        "<ApplicationDataChannel ommId=\"{}\" channel=\"display\" data=\"aGk=\"/>",
        ids[0]
    ));
    assert!(!to_omm.contains("errCode"), "{to_omm}");
    assert_eq!(
        fleet.omm(1).lock().state.data_received.last().cloned(),
        Some(("display".into(), "aGk=".into()))
    );
    let not_base64 = m.request(&format!(
        "<ApplicationDataChannel ommId=\"{}\" channel=\"display\" data=\"!!\"/>",
        ids[0]
    ));
    assert_eq!(
        error_of(&not_base64),
        (Some("EInval"), Some("data")),
        "{not_base64}"
    );

    // An OMM link going down is an event.
    let mut record = omms(&mom).into_iter().find(|o| o.id == ids[1]).unwrap();
    record.enabled = false;
    assert!(!matches!(
        mom.store(StoreRequest::PutOmm(record)),
        StoreResponse::Error(_)
    ));
    let down = m
        .event_with("link=\"Down\"", Duration::from_secs(10))
        .expect("the link change");
    assert!(
        down.contains(&format!("ommId=\"{}\"", ids[1])) && down.contains("link=\"Down\""),
        "{down}"
    );
}

#[test]
fn a_killed_svc_maxi_restarts_and_its_clients_reconnect_with_nothing_lost() {
    let mom = mom();
    account(&mom, WRITER, true, true);
    let mut m = logged_in(&mom, WRITER);
    for n in 0..10 {
        let c = m.request(&format!(
            "<CreatePPUser><user num=\"{}\"/></CreatePPUser>",
            8000 + n
        ));
        assert!(!c.contains("errCode"), "{c}");
    }
    let pid = mom
        .status()
        .into_iter()
        .find(|s| s.name == "maxi")
        .and_then(|s| s.pid)
        .expect("svc-maxi runs");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    assert!(
        m.closed_within(Duration::from_secs(5)),
        "the client sees its link go"
    );
    let mut again = logged_in(&mom, WRITER);
    let page = again.request("<GetPPUser uid=\"0\" maxRecords=\"20\"/>");
    assert_eq!(page.matches("<user ").count(), 10, "{page}");
    assert_eq!(users(&mom), 10);
}

#[test]
fn a_burst_of_changes_reaches_every_subscriber_while_requests_are_answered() {
    let mom = mom();
    account(&mom, WRITER, true, true);
    let mut subscribers: Vec<Maxi> = (0..3).map(|_| logged_in(&mom, WRITER)).collect();
    for s in &mut subscribers {
        let sub =
            s.request("<Subscribe><e cmd=\"On\" eventType=\"PPUserCnf\" uid=\"-1\"/></Subscribe>");
        assert!(!sub.contains("errCode"), "{sub}");
    }
    const BURST: u32 = 3000;
    let users: Vec<model::User> = (0..BURST).map(mom_tests::bench::user).collect();
    let created = mom.store(StoreRequest::PutUsers(users));
    assert!(
        matches!(created, StoreResponse::CreatedMany(_)),
        "{created:?}"
    );
    // Requests are answered while the events are still going out.
    let mut other = logged_in(&mom, WRITER);
    let answer = other.request("<GetPPUserByNumber num=\"100000\"/>");
    assert!(answer.contains("num=\"100000\""), "{answer}");
    for s in &mut subscribers {
        let mut seen = std::collections::HashSet::new();
        while seen.len() < BURST as usize {
            let e = s
                .event(Duration::from_secs(20))
                .unwrap_or_else(|| panic!("only {} of {BURST} events", seen.len()));
            if let Some(uid) = attr(&e, "uid") {
                seen.insert(uid.to_owned());
            }
        }
    }
}
