//! One MAXI client's session, sans-IO (profile §9; §10 "Session"). Frames from the client go
//! in; what to do with each comes out:
//!
//! - before a successful `Open`, every request is answered `EAuth` (`…Resp errCode="EAuth"`);
//! - `Open` asks the service to check the account ([`Step::Login`]); its outcome comes back
//!   through [`Session::logged_in`] or [`Session::refused`], which give the `OpenResp`; after
//!   a refusal the client may try again on the same link;
//! - a second `Open` is answered `EFailed`;
//! - `Ping` is answered at once, with the client's `timeStamp`;
//! - a supported read or `Subscribe` is handed to the service ([`Step::Serve`]);
//! - a supported write is handed on only with write permission, else answered `EPerm`;
//! - anything else is answered `EFailed info="not supported"` with the request's name, and
//!   the session goes on.
//!
//! Every answer carries the request's `seq`, or none when the request had none.

use axi::message::{OpenResp, PingResp};
use axi::{ErrCode, ErrorInfo, Frame, Message};

/// What an account may do over MAXI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read records, subscribe to events.
    Read,
    /// Also create, change and delete records, send messages and application data.
    ReadWrite,
}

/// How MAXI treats a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `Open`.
    Open,
    /// `Ping`: answered by the session itself.
    Ping,
    /// Reads a record or a system value.
    Read,
    /// Event subscription (read permission is enough).
    Subscribe,
    /// Changes records or sends something to the OMMs: needs write permission.
    Write,
    /// Not part of MAXI.
    Unsupported,
}

/// How MAXI treats `message` (profile §9's list).
#[must_use]
pub fn kind(message: &Message) -> Kind {
    match message {
        Message::Open(_) => Kind::Open,
        Message::Ping(_) => Kind::Ping,
        Message::GetPublicKey(_)
        | Message::GetSARI(_)
        | Message::GetSystemName(_)
        | Message::GetPPUser(_)
        | Message::GetPPDev(_)
        | Message::GetPPUserByNumber(_)
        | Message::GetPPDevByIPEI(_) => Kind::Read,
        Message::Subscribe(_) => Kind::Subscribe,
        // Messages and application data reach handsets and OMMs: they are writes too.
        Message::CreatePPUser(_)
        | Message::SetPPUser(_)
        | Message::DeletePPUser(_)
        | Message::CreatePPDev(_)
        | Message::SetPPDev(_)
        | Message::DeletePPDev(_)
        | Message::SetPP(_)
        | Message::SetPPUserDevRelation(_)
        | Message::SendMessage(_)
        | Message::ApplicationDataChannel(_)
        // The client's key for the secrets it reads: only accounts that may change records
        // read their PINs and passwords.
        | Message::SetMOMKey(_) => Kind::Write,
        _ => Kind::Unsupported,
    }
}

/// What to do with one frame from the client.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Send this frame to the client; nothing else to do.
    Answer(Frame),
    /// Check these credentials against the MOM accounts (with the login throttle), then
    /// call [`Session::logged_in`] or [`Session::refused`].
    Login {
        /// The request's `seq`.
        seq: Option<String>,
        /// Account name.
        username: String,
        /// Password, as sent.
        password: String,
        /// Whether the client asked for the MOM's extensions (`momExtensions="1"`).
        extensions: bool,
    },
    /// Carry out this request; its permission has been checked.
    Serve {
        /// The request's `seq`.
        seq: Option<String>,
        /// The request.
        request: Message,
        /// Whether it changes something ([`Kind::Write`]).
        write: bool,
    },
}

/// The session's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not logged in.
    New,
    /// `Open` handed to the service, its outcome not back yet.
    LoggingIn,
    /// Logged in with this access.
    Open(Access),
}

/// One client's session.
#[derive(Debug, Clone)]
pub struct Session {
    state: State,
    /// The MOM's `protocolVersion` in `OpenResp`.
    protocol_version: u32,
    /// The MOM's version in `OpenResp` (`ommVersion`).
    version: String,
}

fn refuse(request: &str, seq: Option<String>, error: ErrorInfo) -> Step {
    Step::Answer(Frame::error_response(request, seq, error))
}

impl Session {
    /// A new session of a server speaking `protocol_version`, at software version `version`.
    #[must_use]
    pub fn new(protocol_version: u32, version: &str) -> Self {
        Self {
            state: State::New,
            protocol_version,
            version: version.to_owned(),
        }
    }

    /// The access of the logged-in account, `None` before a successful `Open`.
    #[must_use]
    pub fn access(&self) -> Option<Access> {
        match self.state {
            State::Open(access) => Some(access),
            State::New | State::LoggingIn => None,
        }
    }

    /// What to do with `frame` from the client.
    pub fn on_frame(&mut self, frame: Frame) -> Step {
        let Frame { seq, message, .. } = frame;
        let name = message.name().to_owned();
        match (self.state, kind(&message), message) {
            (State::New, Kind::Open, Message::Open(open)) => {
                self.state = State::LoggingIn;
                Step::Login {
                    seq,
                    username: open.username,
                    password: open.password,
                    extensions: open.mom_extensions == Some(true),
                }
            }
            (State::New | State::LoggingIn, _, _) => refuse(
                &name,
                seq,
                ErrorInfo::new(ErrCode::EAuth).info("log in with Open first"),
            ),
            (State::Open(_), Kind::Open, _) => refuse(
                &name,
                seq,
                ErrorInfo::new(ErrCode::EFailed).info("already logged in"),
            ),
            (State::Open(_), Kind::Ping, Message::Ping(ping)) => Step::Answer(Frame::new(
                seq,
                PingResp {
                    time_stamp: ping.time_stamp,
                },
            )),
            (State::Open(_), Kind::Unsupported | Kind::Ping, _) => refuse(
                &name,
                seq,
                ErrorInfo::new(ErrCode::EFailed).info("not supported"),
            ),
            (State::Open(Access::Read), Kind::Write, _) => refuse(
                &name,
                seq,
                ErrorInfo::new(ErrCode::EPerm).info("the account has read permission only"),
            ),
            (State::Open(_), kind @ (Kind::Read | Kind::Subscribe | Kind::Write), request) => {
                Step::Serve {
                    seq,
                    request,
                    write: kind == Kind::Write,
                }
            }
        }
    }

    /// The account checked out with `access`: the session is open; the `OpenResp` to send.
    pub fn logged_in(&mut self, seq: Option<String>, access: Access) -> Frame {
        self.state = State::Open(access);
        Frame::new(
            seq,
            OpenResp {
                protocol_version: Some(self.protocol_version),
                omm_version: Some(self.version.clone()),
                omm_stb_state: None,
                public_key: None,
            },
        )
    }

    /// The account was refused (unknown, disabled, wrong password, throttled): the
    /// `OpenResp` with `EAuth` and `info` to send; the client may try again.
    pub fn refused(&mut self, seq: Option<String>, info: &str) -> Frame {
        self.state = State::New;
        let mut frame = Frame::new(
            seq,
            OpenResp {
                protocol_version: Some(self.protocol_version),
                omm_version: None,
                omm_stb_state: None,
                public_key: None,
            },
        );
        frame.error = Some(ErrorInfo::new(ErrCode::EAuth).info(info));
        frame
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The frame that `xml` is on the wire.
    fn frame(xml: &str) -> Frame {
        axi::decode(xml.as_bytes(), &axi::Limits::default()).expect("a frame")
    }

    /// The answer of `step` as it goes on the wire.
    fn wire(step: &Step) -> String {
        match step {
            Step::Answer(f) => String::from_utf8(axi::encode(f))
                .unwrap()
                .trim_end_matches('\0')
                .to_owned(),
            other => panic!("not an answer: {other:?}"),
        }
    }

    fn open(session: &mut Session, access: Access) {
        let step = session.on_frame(frame(
            "<Open seq=\"1\" username=\"app\" password=\"pw\" protocolVersion=\"45\" momExtensions=\"1\"/>",
        ));
        let Step::Login {
            seq,
            username,
            password,
            extensions,
        } = step
        else {
            panic!("{step:?}")
        };
        assert_eq!((username.as_str(), password.as_str()), ("app", "pw"));
        assert!(
            extensions,
            "momExtensions=\"1\" asks for the MOM's extensions"
        );
        let answer = session.logged_in(seq, access);
        let text = String::from_utf8(axi::encode(&answer)).unwrap();
        assert!(
            text.starts_with("<OpenResp seq=\"1\" protocolVersion=\"45\""),
            "{text}"
        );
    }

    #[test]
    fn before_open_every_request_is_answered_eauth_with_its_seq() {
        let mut s = Session::new(45, "10.1");
        let answer = s.on_frame(frame("<GetPPUser seq=\"7\" uid=\"0\"/>"));
        assert_eq!(
            wire(&answer),
            "<GetPPUserResp seq=\"7\" errCode=\"EAuth\" info=\"log in with Open first\"/>"
        );
        let no_seq = s.on_frame(frame("<Ping/>"));
        assert_eq!(
            wire(&no_seq),
            "<PingResp errCode=\"EAuth\" info=\"log in with Open first\"/>"
        );
        assert_eq!(s.access(), None);
    }

    #[test]
    fn a_refused_open_may_be_tried_again_and_nothing_passes_meanwhile() {
        let mut s = Session::new(45, "10.1");
        let Step::Login { seq, .. } = s.on_frame(frame(
            "<Open seq=\"1\" username=\"app\" password=\"wrong\"/>",
        )) else {
            panic!()
        };
        // While the account is being checked, a pipelined request is not served.
        let early = s.on_frame(frame("<GetSARI seq=\"2\"/>"));
        assert!(wire(&early).contains("errCode=\"EAuth\""));
        let refused = s.refused(seq, "authentication failed");
        let text = String::from_utf8(axi::encode(&refused)).unwrap();
        assert!(
            text.contains("errCode=\"EAuth\"") && text.contains("info=\"authentication failed\""),
            "{text}"
        );
        assert_eq!(s.access(), None);
        open(&mut s, Access::Read);
        assert_eq!(s.access(), Some(Access::Read));
    }

    #[test]
    fn a_second_open_fails_and_ping_is_answered_with_its_time_stamp() {
        let mut s = Session::new(45, "10.1");
        open(&mut s, Access::ReadWrite);
        let again = s.on_frame(frame("<Open seq=\"3\" username=\"app\" password=\"pw\"/>"));
        assert_eq!(
            wire(&again),
            "<OpenResp seq=\"3\" errCode=\"EFailed\" info=\"already logged in\"/>"
        );
        let ping = s.on_frame(frame("<Ping seq=\"4\" timeStamp=\"1700000000\"/>"));
        assert_eq!(
            wire(&ping),
            "<PingResp seq=\"4\" timeStamp=\"1700000000\"/>"
        );
        assert_eq!(s.access(), Some(Access::ReadWrite), "still open");
    }

    #[test]
    fn writes_need_write_permission_and_reads_do_not() {
        let mut s = Session::new(45, "10.1");
        open(&mut s, Access::Read);
        let write = s.on_frame(frame(
            "<SetPPUser seq=\"5\"><user uid=\"3\" name=\"x\"/></SetPPUser>",
        ));
        assert_eq!(
            wire(&write),
            "<SetPPUserResp seq=\"5\" errCode=\"EPerm\" info=\"the account has read permission only\"/>"
        );
        let send = s.on_frame(frame(
            "<SendMessage seq=\"6\"><msg toAddr=\"1000\" content=\"hi\"/></SendMessage>",
        ));
        assert!(wire(&send).contains("errCode=\"EPerm\""));
        let read = s.on_frame(frame("<GetPPUserByNumber seq=\"7\" num=\"1000\"/>"));
        assert!(
            matches!(read, Step::Serve { ref seq, write: false, .. } if seq.as_deref() == Some("7")),
            "{read:?}"
        );
        let subscribe = s.on_frame(frame(
            "<Subscribe seq=\"8\"><e cmd=\"On\" eventType=\"PPUserCnf\"/></Subscribe>",
        ));
        assert!(
            matches!(subscribe, Step::Serve { write: false, .. }),
            "{subscribe:?}"
        );

        let mut w = Session::new(45, "10.1");
        open(&mut w, Access::ReadWrite);
        let write = w.on_frame(frame(
            "<SetPPUser seq=\"5\"><user uid=\"3\" name=\"x\"/></SetPPUser>",
        ));
        assert!(
            matches!(write, Step::Serve { write: true, .. }),
            "{write:?}"
        );
    }

    #[test]
    fn anything_else_is_not_supported_by_name_and_the_session_goes_on() {
        let mut s = Session::new(45, "10.1");
        open(&mut s, Access::ReadWrite);
        for (request, name) in [
            ("<SetSARI seq=\"9\" sari=\"1F10DE0000\"/>", "SetSARIResp"),
            ("<GetConfigURL seq=\"9\"/>", "GetConfigURLResp"),
            ("<FrobnicateRFP seq=\"9\" x=\"1\"/>", "FrobnicateRFPResp"),
            ("<PingResp seq=\"9\"/>", "PingRespResp"),
        ] {
            assert_eq!(
                wire(&s.on_frame(frame(request))),
                format!("<{name} seq=\"9\" errCode=\"EFailed\" info=\"not supported\"/>"),
                "{request}"
            );
        }
        assert_eq!(s.access(), Some(Access::ReadWrite));
    }

    #[test]
    fn every_supported_request_of_the_profile_is_classified() {
        let reads = [
            "<GetPublicKey/>",
            "<GetSARI/>",
            "<GetSystemName/>",
            "<GetPPUser uid=\"0\"/>",
            "<GetPPDev ppn=\"0\"/>",
            "<GetPPUserByNumber num=\"1\"/>",
            "<GetPPDevByIPEI ipei=\"00002 0000005 4\"/>",
        ];
        for r in reads {
            assert_eq!(kind(&frame(r).message), Kind::Read, "{r}");
        }
        let writes = [
            "<CreatePPUser><user num=\"1\"/></CreatePPUser>",
            "<SetPPUser><user uid=\"1\"/></SetPPUser>",
            "<DeletePPUser uid=\"1\"/>",
            "<CreatePPDev><pp ipei=\"00002 0000005 4\"/></CreatePPDev>",
            "<SetPPDev><pp ppn=\"1\"/></SetPPDev>",
            "<DeletePPDev ppn=\"1\"/>",
            "<SetPP><user uid=\"1\"/><pp ppn=\"1\"/></SetPP>",
            "<SetPPUserDevRelation uid=\"1\" relType=\"Fixed\"/>",
            "<SendMessage><msg toAddr=\"1\"/></SendMessage>",
            "<ApplicationDataChannel channel=\"c\" data=\"AA==\"/>",
        ];
        for w in writes {
            assert_eq!(kind(&frame(w).message), Kind::Write, "{w}");
        }
    }
}
