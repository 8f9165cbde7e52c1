//! The AXI codec against captured message shapes, every limit, malformed input, and
//! round trips of every message of the profile.

use axi::message::{MESSAGE_SCHEMAS, *};
use axi::record::{record_schema, AxiRecord};
use axi::value::{DectSubscriptionMode, Hex10};
use axi::xml::{self, Element};
use axi::{decode, encode, DecodeError, ErrCode, Frame, Limits, Message, PpDev, PpUser, Splitter};
use model::{Ipei, RelType, SubscriptionState};
use proptest::prelude::*;

fn limits() -> Limits {
    Limits::default()
}

fn frame(text: &str) -> Result<Frame, DecodeError> {
    decode(text.as_bytes(), &limits())
}

#[test]
fn the_open_of_mitel_ommclient2_decodes_exactly() {
    let f = frame(r#"<Open username="omm" password="pw" UserDeviceSyncClient="true" seq="0"/>"#)
        .unwrap();
    assert_eq!(f.seq.as_deref(), Some("0"));
    let Message::Open(open) = f.message else {
        panic!("{f:?}")
    };
    assert_eq!(
        (open.username.as_str(), open.password.as_str()),
        ("omm", "pw")
    );
    assert_eq!(
        (open.protocol_version, open.user_device_sync_client),
        (None, Some(true))
    );
}

#[test]
fn an_open_resp_refusing_the_login_keeps_its_version_attributes() {
    let f = frame(r#"<OpenResp seq="1" errCode="EAuth" ommStbState="OK" ommVersion="OpenMobility Manager SIP-DECT 7.1-CK14" axiVersion="171101" ommAxiSpecVersion="7.1.1" protocolVersion="45"/>"#).unwrap();
    assert_eq!(f.error.unwrap().code, ErrCode::EAuth);
    let Message::OpenResp(resp) = f.message else {
        panic!()
    };
    assert_eq!(resp.protocol_version, Some(45));
}

#[test]
fn a_71_sync_session_device_record_keeps_every_attribute() {
    let text = format!(
        r#"<EventPPDevCnf><pp ppn="12" timeStamp="1520000000" relType="Dynamic" uid="25" ipei="{}" ac="" s="Yes" uak="00112233445566778899AABBCCDDEEFF" encrypt="1" capMessaging="1" hwType="632d" subscribeToPARIOnly="0" ppnSec="0" ommId="102A7C82" ommIdAck="102A7C82" timeStampAdmin="1520000000" timeStampRelation="1520000000" timeStampRoaming="1500000000" timeStampSubscription="1500000000" autoCreate="0" roaming="RoamingComplete" modicType="01" locationData="000001000000" dectIeFixedId="06A0A0102A7C8200" subscriptionId="0500C0235C630000" vendorOnly="kept"/></EventPPDevCnf>"#,
        Ipei::new(3074, 220_259).unwrap()
    );
    let f = frame(&text).unwrap();
    let Message::EventPPDevCnf(EventPPDevCnf { pp: Some(pp) }) = &f.message else {
        panic!()
    };
    assert_eq!(pp.get(PpDev::S), Some(SubscriptionState::Yes));
    assert_eq!(pp.get(PpDev::ENCRYPT), Some(true), "1 is true");
    assert_eq!(
        pp.get(PpDev::SUBSCRIBE_TO_PARI_ONLY),
        Some(false),
        "0 is false"
    );
    assert_eq!(pp.raw("vendorOnly"), Some("kept"));
    assert_eq!(
        axi::ipui::ipui_n(pp.get(PpDev::IPEI).unwrap()),
        "00C0235C63"
    );
    // Written back, every attribute is still there, in order.
    let again = frame(
        std::str::from_utf8(&encode(&f)[..])
            .unwrap()
            .trim_end_matches('\0'),
    )
    .unwrap();
    assert_eq!(again, f);
}

#[test]
fn set_pp_binds_with_crossed_ids() {
    let f = frame(r#"<SetPP seq="7"><user uid="25" ppn="12" relType="Dynamic" timeStamp="1"/><pp ppn="12" uid="25" relType="Dynamic" timeStamp="1"/></SetPP>"#).unwrap();
    let Message::SetPP(set) = f.message else {
        panic!()
    };
    assert_eq!(set.user.unwrap().get(PpUser::PPN), Some(12));
    assert_eq!(set.pp.unwrap().get(PpDev::REL_TYPE), Some(RelType::Dynamic));
}

#[test]
fn unknown_messages_are_kept_and_answerable() {
    let f = frame(r#"<GetVersions seq="3"/>"#).unwrap();
    assert!(matches!(&f.message, Message::Unknown(e) if e.name == "GetVersions"));
    let answer = Frame::error_response(
        "GetVersions",
        f.seq,
        ErrorInfo::new(ErrCode::EFailed).info("not supported"),
    );
    assert_eq!(
        String::from_utf8(encode(&answer)).unwrap(),
        "<GetVersionsResp seq=\"3\" errCode=\"EFailed\" info=\"not supported\"/>\0"
    );
    let f =
        frame(r#"<EventPPCnf deletedUser="1"><user uid="25" uidSec="0"/></EventPPCnf>"#).unwrap();
    assert_eq!(f.message.name(), "EventPPCnf");
}

#[test]
fn writer_output_is_compact_escaped_and_echoes_seq() {
    let mut user = PpUser::default();
    user.set(PpUser::UID, 1)
        .set(PpUser::NAME, "A & \"B\" <C>\n".to_owned())
        .set(PpUser::VIP, true);
    let f = Frame::new(Some("0".into()), SetPPUserResp { user: Some(user) });
    let text = String::from_utf8(encode(&f)).unwrap();
    assert_eq!(text, "<SetPPUserResp seq=\"0\"><user uid=\"1\" name=\"A &amp; &quot;B&quot; &lt;C&gt;&#10;\" vip=\"true\"/></SetPPUserResp>\0");
    assert_eq!(text.matches('\0').count(), 1);
}

#[test]
fn tolerant_reading() {
    // Whitespace between elements and around the root, both boolean spellings.
    let f =
        frame("\n <SetDevAutoCreate enable=\"1\" seq=\"2\" >\n</SetDevAutoCreate>\r\n").unwrap();
    assert_eq!(
        f.message,
        Message::SetDevAutoCreate(SetDevAutoCreate { enable: true })
    );
    let f = frame(
        "<GetPPUserResp seq=\"1\">\n  <user uid=\"1\"/>\n  <user uid=\"2\"/>\n</GetPPUserResp>",
    )
    .unwrap();
    assert!(matches!(f.message, Message::GetPPUserResp(r) if r.users.len() == 2));
    // Invalid characters, invalid references and invalid UTF-8 become U+FFFD.
    let mut bytes = b"<SetFACPrefix prefix=\"a".to_vec();
    bytes.extend([0x01, 0xff]);
    bytes.extend(b"&#0;&#xD800;\"/>");
    let f = decode(&bytes, &limits()).unwrap();
    let Message::SetFACPrefix(p) = f.message else {
        panic!()
    };
    assert_eq!(p.prefix, "a\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}");
    // A declaration and comments are ignored.
    assert!(frame("<?xml version=\"1.0\"?><!-- x --><Ping/>").is_ok());
}

#[test]
fn every_limit_is_a_clear_error() {
    let deep = format!("{}{}", "<a>".repeat(17), "</a>".repeat(17));
    assert_eq!(frame(&deep), Err(DecodeError::TooDeep(16)));
    let ok_deep = format!("{}{}", "<a>".repeat(16), "</a>".repeat(16));
    assert!(frame(&ok_deep).is_ok());
    let attrs: String = (0..257).map(|i| format!(" a{i}=\"x\"")).collect();
    assert_eq!(
        frame(&format!("<Ping{attrs}/>")),
        Err(DecodeError::TooManyAttributes(256))
    );
    let records = format!("<GetPPUserResp>{}</GetPPUserResp>", "<user/>".repeat(101));
    assert_eq!(frame(&records), Err(DecodeError::TooManyRecords(100)));
    let mut splitter = Splitter::new(&Limits {
        frame_size: 1024,
        ..limits()
    });
    splitter.push(&vec![b'a'; 2000]);
    assert!(splitter.next_frame().is_err());
}

#[test]
fn attribute_syntax_is_read_as_xml_allows_it() {
    // Either quote, spaces around `=`, line breaks between attributes.
    let e = axi::xml::parse(b"<Ping a = '1'\n\tb=\"x'y\"  />", &limits()).unwrap();
    assert_eq!(e.attr("a"), Some("1"));
    assert_eq!(e.attr("b"), Some("x'y"));
}

#[test]
fn malformed_input_is_an_error_never_a_panic() {
    for bad in [
        "<Ping",
        "<Ping>",
        "<Ping></Pong>",
        "<Ping/><Ping/>",
        "just text",
        "<Ping a=\"1\" a=\"2\"/>",
        "<Ping a=1/>",
        "<Ping a=\"&unknown;\"/>",
        "<!DOCTYPE x><Ping/>",
        "",
        "</Ping>",
        "<GetPPUser seq=\"1\"/>",
        "<GetPPUser uid=\"minus one\"/>",
        "<SetSARI sari=\"12\"/>",
        "<CreatePPUser/>",
        "<EventDECTLocate ipei=\"03074 0220259 9\" rfpId=\"1\"/>",
        "<SetDECTSubscriptionMode mode=\"Sometimes\"/>",
        "<\t/>",
        "<1a/>",
        "<Ping timeStamp=\"1\" timeStamp=\"2\"/>",
        "<SetFACPrefix prefix=\"\u{FFFF}\"/>x",
        "<Ping 1a=\"x\"/>",
        "<Ping a/>",
        "<Ping a=/>",
        "<Ping a=\"1/>",
        "<Ping a='1\"/>",
        "<Ping a b=\"1\"/>",
        "<Ping =\"1\"/>",
    ] {
        assert!(frame(bad).is_err(), "{bad:?} was accepted");
    }
    let garbage: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    assert!(decode(&garbage, &limits()).is_err());
}

#[test]
fn huge_attributes_are_bounded_by_the_frame_limit() {
    let value = "x".repeat(2 << 20);
    let text = format!("<SetFACPrefix prefix=\"{value}\"/>\0");
    let mut s = Splitter::new(&limits());
    s.push(text.as_bytes());
    assert!(s.next_frame().is_err());
}

/// A tiny deterministic generator for arbitrary valid frames.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
    fn text(&mut self) -> String {
        let pool = [
            "",
            "a",
            "Ünïcödé ✓",
            "<&>\"'",
            "tab\there",
            "line\nbreak\r",
            "  spaced  ",
            "tel:4711",
            "日本語",
        ];
        let mut s = String::new();
        for _ in 0..(self.next() % 3) {
            s.push_str(self.pick(&pool));
        }
        s
    }
    /// A value that passes `check`, from typical values of every attribute type.
    fn value(&mut self, check: fn(&str) -> bool) -> Option<String> {
        let ipei = Ipei::new(
            (self.next() % 65_536) as u32,
            (self.next() % 1_048_576) as u32,
        )
        .unwrap()
        .to_string();
        let number = (self.next() % 100_000).to_string();
        let candidates = [
            number.as_str(),
            "0",
            "-1",
            "true",
            "false",
            "Dynamic",
            "Fixed",
            "Unbound",
            "Yes",
            "No",
            "Unconfirmed",
            "Configured",
            "Wildcard",
            "Off",
            "On",
            "1F1028D085",
            ipei.as_str(),
            "42",
        ];
        let start = self.next() as usize;
        for i in 0..candidates.len() {
            let c = candidates[(start + i) % candidates.len()];
            if check(c) {
                return Some(c.to_owned());
            }
        }
        let t = self.text();
        check(&t).then_some(t)
    }
    fn record(&mut self, tag: &str) -> Element {
        let mut el = Element::new(tag);
        for (name, check) in record_schema(tag) {
            if self.next() % 3 == 0 {
                if let Some(v) = self.value(*check) {
                    el.push_attr(name, v);
                }
            }
        }
        for i in 0..(self.next() % 3) {
            el.push_attr(&format!("unknownAttr{i}"), self.text());
        }
        el
    }
}

fn arbitrary_frame(index: usize, seed: u64) -> Element {
    let mut g = Gen(seed | 1);
    let (name, attrs, children) = MESSAGE_SCHEMAS[index];
    let mut el = Element::new(name);
    if g.next() % 4 != 0 {
        el.push_attr("seq", g.next().to_string());
    }
    for attr in attrs.iter() {
        if g.next() % 2 == 0 || (attr.required)() {
            if let Some(v) = g.value(attr.check) {
                el.push_attr(attr.name, v);
            }
        }
    }
    for tag in children.iter() {
        for _ in 0..=(g.next() % 3) {
            el.children.push(g.record(tag));
        }
    }
    el
}

#[test]
fn every_message_kind_is_in_the_schema_table() {
    let names: Vec<&str> = MESSAGE_SCHEMAS.iter().map(|m| m.0).collect();
    for name in [
        "Open",
        "OpenResp",
        "SetMOMKey",
        "GetPARKResp",
        "SetSARI",
        "SetConfigURL",
        "Subscribe",
        "GetPPUserResp",
        "SetPP",
        "SetPPUserDevRelation",
        "CreateConferenceRoom",
        "EventDECTSubscribe",
        "EventDECTLocate",
        "DECTLocateReject",
        "SendMessage",
        "EventMessageSend",
        "ApplicationDataChannel",
        "EventApplicationDataChannel",
        "SoftwareUpdate",
        "GetSystemName",
        "Ping",
    ] {
        assert!(names.contains(&name), "{name} missing");
    }
    assert!(names.len() >= 80, "{} messages", names.len());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn every_message_round_trips(index in 0..MESSAGE_SCHEMAS.len(), seed in any::<u64>()) {
        let element = arbitrary_frame(index, seed);
        let Ok(first) = Frame::from_element(&element) else {
            // Only a message whose generated required child failed its own checks may refuse.
            return Ok(());
        };
        let bytes = encode(&first);
        prop_assert_eq!(bytes.iter().filter(|b| **b == 0).count(), 1);
        let again = decode(&bytes[..bytes.len() - 1], &limits()).unwrap();
        prop_assert_eq!(&again, &first);
        prop_assert_eq!(encode(&again), bytes);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut s = Splitter::new(&Limits { frame_size: 256, ..limits() });
        s.push(&bytes);
        while let Ok(Some(f)) = s.next_frame() {
            let _ = decode(&f, &limits());
        }
        let _ = decode(&bytes, &limits());
    }

    #[test]
    fn split_reads_give_the_same_frames(cut in 1usize..64) {
        let frames = [
            encode(&Frame::new(Some("1".into()), Ping { time_stamp: Some(5) })),
            encode(&Frame::new(Some("2".into()), SetSARI { sari: Hex10("1F1028D085".into()) })),
            encode(&Frame::event(EventDECTSubscriptionMode { mode: Some(DectSubscriptionMode::Wildcard) })),
        ];
        let all: Vec<u8> = frames.concat();
        let mut s = Splitter::new(&limits());
        let mut got = Vec::new();
        for chunk in all.chunks(cut) {
            s.push(chunk);
            while let Some(f) = s.next_frame().unwrap() {
                got.push(decode(&f, &limits()).unwrap());
            }
        }
        prop_assert_eq!(got.len(), 3);
        prop_assert_eq!(got[1].message.name(), "SetSARI");
    }
}

#[test]
fn xml_parse_and_write_are_inverse_for_the_generator() {
    for seed in 1..200u64 {
        let el = arbitrary_frame((seed as usize) % MESSAGE_SCHEMAS.len(), seed * 7919);
        let bytes = xml::to_frame(&el);
        let back = xml::parse(&bytes[..bytes.len() - 1], &limits()).unwrap();
        assert_eq!(back, el);
    }
}

#[test]
fn the_generator_makes_decodable_frames_of_every_kind() {
    for (index, schema) in MESSAGE_SCHEMAS.iter().enumerate() {
        let ok = (1..50u64)
            .filter(|seed| Frame::from_element(&arbitrary_frame(index, seed * 104_729)).is_ok())
            .count();
        assert!(
            ok >= 40,
            "{}: only {ok} of 49 generated frames decode",
            schema.0
        );
    }
}
