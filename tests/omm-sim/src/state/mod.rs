//! One simulated OMM: its database and settings, and how it answers each AXI request
//! (axi-profile.md §2–§10). Pure state: the server feeds it frames and carries out the
//! [`Action`]s it returns, so the behaviour is testable without sockets.
//!
//! The login and the system settings are answered here; the users, DECT phones and rooms in
//! [`directory`], events and records as a session sees them in [`events`], a handset's
//! subscription over the air in [`subscription`].

use axi::message::*;
use axi::record::AxiRecord;
use axi::secret;
use axi::value::{DectSubscriptionMode, Hex10};
use axi::{ErrCode, ErrorInfo, Frame, Message, PpDev, PpUser, Room};
use model::Ipei;
use rsa::{RsaPrivateKey, RsaPublicKey};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

pub mod directory;
pub mod events;
pub mod subscription;

/// Secret attributes of users and rooms.
const USER_SECRETS: [&str; 4] = ["pin", "sipPw", "credentialPw", "serviceAuthPassword"];
/// Records per page at most.
const PAGE: u32 = 20;

/// What the server must do after a frame was handled.
#[derive(Debug)]
pub enum Action {
    /// Send this frame to the link that sent the request.
    Reply(Frame),
    /// Send this event to every other link subscribed to `event_type`.
    Event {
        /// Event type as `Subscribe` names it.
        event_type: axi::EventType,
        /// The event.
        frame: Frame,
    },
    /// The SARI changed: close every link and refuse connections for the restart time.
    Restart,
    /// Fetch the provisioning file from this URL (with these credentials).
    Fetch(axi::ConfigUrl),
}

/// One connected AXI session.
#[derive(Debug, Default)]
pub struct Session {
    /// Logged in.
    pub open: bool,
    /// Logged in as a user/device sync client.
    pub sync_client: bool,
    /// The MOM's key for secrets this OMM sends on this link.
    pub mom_key: Option<RsaPublicKey>,
    /// Subscribed event types.
    pub subscriptions: Vec<axi::EventType>,
}

/// A subscription attempt waiting for the MOM's auto-create.
#[derive(Debug, Clone)]
struct Pending {
    since: Instant,
    ac: Option<String>,
}

/// Settings and behaviour knobs of one simulated OMM.
#[derive(Debug, Clone)]
pub struct OmmConfig {
    /// Login name.
    pub username: String,
    /// Login password.
    pub password: String,
    /// AXI protocol version it speaks.
    pub protocol_version: u32,
    /// How long a SARI restart keeps it down.
    pub restart_time: Duration,
    /// Refuse an `Open` of another protocol version with `EFailed` (and its own version),
    /// as some OMMs do, instead of answering it without an error (profile §10: tolerate).
    pub refuse_other_version: bool,
}

impl Default for OmmConfig {
    fn default() -> Self {
        Self {
            username: "omm".into(),
            password: "omm-password".into(),
            protocol_version: 45,
            restart_time: Duration::from_secs(2),
            refuse_other_version: false,
        }
    }
}

/// The state of one simulated OMM.
pub struct OmmState {
    /// OMM number in the fleet (1-based).
    pub index: u32,
    /// Configuration.
    pub config: OmmConfig,
    /// PARK, 10 hex digits.
    pub park: String,
    /// SARI, if set.
    pub sari: Option<String>,
    key: RsaPrivateKey,
    /// Users by uid.
    pub users: BTreeMap<u32, PpUser>,
    /// Devices by ppn.
    pub devices: BTreeMap<u32, PpDev>,
    /// Conference rooms by id.
    pub rooms: BTreeMap<u32, Room>,
    next_uid: u32,
    next_ppn: u32,
    next_room: u32,
    /// OMM's own auto-create.
    pub auto_create: bool,
    /// Subscription mode.
    pub subscription_mode: DectSubscriptionMode,
    /// FAC prefix.
    pub fac_prefix: String,
    /// Configuration URL.
    pub config_url: Option<axi::ConfigUrl>,
    /// Daily update trigger `(enable, hour, minute)`.
    pub update_trigger: (bool, u32, u32),
    pending: HashMap<Ipei, Pending>,
    /// Messages delivered to local handsets.
    pub delivered_messages: Vec<axi::TextMessage>,
    /// Application data received from the MOM: `(channel, data)`.
    pub data_received: Vec<(String, String)>,
    /// IPEIs whose subscription or location registration the MOM rejected.
    pub rejected: Vec<Ipei>,
    /// Commands of the last provisioning file this OMM would execute.
    pub provisioning_commands: Vec<String>,
    /// Each command of the last provisioning file as executed: its name and the error the
    /// OMM answered it with, if any.
    pub provisioning_results: Vec<(String, Option<String>)>,
    /// Provisioning fetches made, successful or not.
    pub fetches: u32,
    /// Why the last fetch failed (empty after a successful one).
    pub last_fetch_error: String,
    /// System name.
    pub system_name: String,
    /// Writes of a user or device the MOM sent without `timeStamp` (profile §10 wants one on
    /// every create and set, each `SetPP` child and `SetPPUserDevRelation`), by message name.
    pub unstamped: Vec<String>,
}

fn err(code: ErrCode) -> ErrorInfo {
    ErrorInfo::new(code)
}

fn now() -> u64 {
    model::now()
}

impl OmmState {
    /// The loopback address this OMM's HTTPS fetches come from (`127.1.x.y` by its index),
    /// so that a fleet looks like many hosts to the MOM, as real OMMs do.
    #[must_use]
    pub fn fetch_source(&self) -> std::net::IpAddr {
        let [_, _, hi, lo] = self.index.to_be_bytes();
        std::net::IpAddr::from([127, 1, hi, lo])
    }

    /// Runs the commands of a provisioning file as an OMM does after a fetch: each through
    /// the same handler as a request on a link (answers kept in `provisioning_results`;
    /// events it would raise are not sent).
    pub fn run_provisioning(&mut self, commands: Vec<String>) {
        let limits = axi::Limits::default();
        let mut session = Session {
            open: true,
            ..Session::default()
        };
        let mut results = Vec::new();
        for command in &commands {
            let outcome = match axi::decode(command.as_bytes(), &limits) {
                Ok(frame) => {
                    let name = frame.message.name().to_owned();
                    let error =
                        self.handle(&mut session, frame)
                            .into_iter()
                            .find_map(|a| match a {
                                Action::Reply(f) => f.error.map(|e| format!("{e:?}")),
                                _ => None,
                            });
                    (name, error)
                }
                Err(e) => (command.chars().take(40).collect(), Some(e.to_string())),
            };
            results.push(outcome);
        }
        self.provisioning_commands = commands;
        self.provisioning_results = results;
    }

    /// A fresh OMM with key `key`.
    #[must_use]
    pub fn new(index: u32, config: OmmConfig, key: RsaPrivateKey) -> Self {
        Self {
            index,
            config,
            park: format!("{:010X}", 0x1F_1000_0000u64 + u64::from(index)),
            sari: None,
            key,
            users: BTreeMap::new(),
            devices: BTreeMap::new(),
            rooms: BTreeMap::new(),
            next_uid: 1,
            next_ppn: 1,
            next_room: 1,
            auto_create: true,
            subscription_mode: DectSubscriptionMode::Off,
            fac_prefix: String::new(),
            config_url: None,
            update_trigger: (false, 0, 0),
            pending: HashMap::new(),
            delivered_messages: Vec::new(),
            data_received: Vec::new(),
            rejected: Vec::new(),
            provisioning_commands: Vec::new(),
            provisioning_results: Vec::new(),
            fetches: 0,
            last_fetch_error: String::new(),
            system_name: format!("OMM {index}"),
            unstamped: Vec::new(),
        }
    }

    /// The Cloud-ID: `00` and the PARK.
    #[must_use]
    pub fn cloud_id(&self) -> String {
        format!("00{}", self.park)
    }

    /// The OMM's public key as `(modulus, exponent)` hex.
    #[must_use]
    pub fn public_key_hex(&self) -> (String, String) {
        secret::key_hex(&self.key.to_public_key())
    }

    /// Handles one frame from a session; returns what to send.
    pub fn handle(&mut self, session: &mut Session, frame: Frame) -> Vec<Action> {
        let seq = frame.seq.clone();
        let name = frame.message.name().to_owned();
        let reply = |message: Message| {
            vec![Action::Reply(Frame {
                seq: seq.clone(),
                error: None,
                message,
            })]
        };
        let fail = |e: ErrorInfo| vec![Action::Reply(Frame::error_response(&name, seq.clone(), e))];
        if !session.open {
            return match frame.message {
                Message::Open(open) => {
                    if open.username != self.config.username
                        || open.password != self.config.password
                        || open.password.is_empty()
                    {
                        let mut f = Frame::new(seq.clone(), self.open_resp(false));
                        f.error = Some(err(ErrCode::EAuth).info("authentication failed"));
                        return vec![Action::Reply(f)];
                    }
                    if self.config.refuse_other_version
                        && open
                            .protocol_version
                            .is_some_and(|v| v != self.config.protocol_version)
                    {
                        let mut f = Frame::new(seq.clone(), self.open_resp(false));
                        f.error =
                            Some(err(ErrCode::EFailed).info("protocol version not supported"));
                        return vec![Action::Reply(f)];
                    }
                    session.open = true;
                    session.sync_client = open.user_device_sync_client == Some(true);
                    reply(self.open_resp(true).into())
                }
                _ => fail(err(ErrCode::EAuth).info("not logged in")),
            };
        }
        self.note_unstamped(&frame.message);
        match frame.message {
            Message::Open(_) => fail(err(ErrCode::EFailed).info("already logged in")),
            Message::Ping(_) => reply(
                PingResp {
                    time_stamp: Some(now()),
                }
                .into(),
            ),
            Message::GetPublicKey(_) => {
                let (modulus, exponent) = self.public_key_hex();
                reply(
                    GetPublicKeyResp {
                        modulus: Some(modulus),
                        exponent: Some(exponent),
                    }
                    .into(),
                )
            }
            Message::SetMOMKey(k) => match secret::public_key(&k.modulus, &k.exponent) {
                Ok(key) if rsa::traits::PublicKeyParts::size(&key) * 8 >= 1024 => {
                    session.mom_key = Some(key);
                    reply(SetMOMKeyResp {}.into())
                }
                Ok(_) => fail(
                    err(ErrCode::EInval)
                        .bad("modulus")
                        .info("a MOM key needs 1024 bits or more"),
                ),
                Err(e) => fail(err(ErrCode::EInval).bad("modulus").info(e.to_string())),
            },
            Message::GetPARK(_) => reply(
                GetPARKResp {
                    park: Some(Hex10(self.park.clone())),
                }
                .into(),
            ),
            Message::GetSARI(_) => reply(
                GetSARIResp {
                    sari: self.sari.clone().map(Hex10),
                }
                .into(),
            ),
            Message::SetSARI(s) => {
                let changed = self.sari.as_deref() != Some(s.sari.0.as_str());
                self.sari = Some(s.sari.0.clone());
                let mut out = reply(SetSARIResp { sari: Some(s.sari) }.into());
                if changed {
                    out.push(Action::Restart);
                }
                out
            }
            Message::SetDevAutoCreate(a) => {
                self.auto_create = a.enable;
                reply(SetDevAutoCreateResp {}.into())
            }
            Message::GetDECTSubscriptionMode(_) => reply(
                GetDECTSubscriptionModeResp {
                    mode: Some(self.subscription_mode),
                }
                .into(),
            ),
            Message::SetDECTSubscriptionMode(m) => {
                self.subscription_mode = m.mode;
                let mut out = reply(SetDECTSubscriptionModeResp {}.into());
                out.push(Action::Event {
                    event_type: axi::EventType::DECTSubscriptionMode,
                    frame: Frame::event(EventDECTSubscriptionMode { mode: Some(m.mode) }),
                });
                out
            }
            Message::GetFACPrefix(_) => reply(
                GetFACPrefixResp {
                    prefix: Some(self.fac_prefix.clone()),
                }
                .into(),
            ),
            Message::SetFACPrefix(p) => {
                self.fac_prefix = p.prefix;
                reply(SetFACPrefixResp {}.into())
            }
            Message::GetConfigURL(_) => reply(
                GetConfigURLResp {
                    url: self.config_url.clone(),
                }
                .into(),
            ),
            Message::SetConfigURL(u) => {
                self.config_url = Some(u.url);
                reply(SetConfigURLResp {}.into())
            }
            Message::SetSystemProvUpdTrig(t) => {
                self.update_trigger = (t.enable, t.hour.unwrap_or(0), t.minute.unwrap_or(0));
                reply(SetSystemProvUpdTrigResp {}.into())
            }
            Message::Subscribe(s) => self.subscribe(session, &s, &seq),
            message @ (Message::GetPPUser(_)
            | Message::GetPPDev(_)
            | Message::GetPPUserByNumber(_)
            | Message::GetPPDevByIPEI(_)
            | Message::CreatePPUser(_)
            | Message::SetPPUser(_)
            | Message::DeletePPUser(_)
            | Message::CreatePPDev(_)
            | Message::SetPPDev(_)
            | Message::DeletePPDev(_)
            | Message::SetPP(_)
            | Message::SetPPUserDevRelation(_)
            | Message::GetConferenceRoom(_)
            | Message::CreateConferenceRoom(_)
            | Message::SetConferenceRoom(_)
            | Message::DeleteConferenceRoom(_)) => {
                self.directory_request(session, message, reply, fail)
            }
            Message::DECTSubscribeReject(r) => {
                self.pending.remove(&r.ipei);
                self.rejected.push(r.ipei);
                reply(DECTSubscribeRejectResp {}.into())
            }
            Message::DECTLocateReject(r) => {
                self.rejected.push(r.ipei);
                reply(DECTLocateRejectResp {}.into())
            }
            Message::SendMessage(m) => {
                let to = m.msg.raw("toAddr").unwrap_or("").to_owned();
                let number = to.strip_prefix("tel:").unwrap_or(&to);
                if self.users.values().any(|u| u.raw("num") == Some(number)) {
                    self.delivered_messages.push(m.msg);
                    reply(SendMessageResp {}.into())
                } else {
                    fail(err(ErrCode::ENoEnt).bad("toAddr"))
                }
            }
            Message::ApplicationDataChannel(d) => {
                use base64::Engine;
                if base64::engine::general_purpose::STANDARD
                    .decode(&d.data)
                    .is_err()
                {
                    return fail(err(ErrCode::EInval).bad("data"));
                }
                self.data_received.push((d.channel, d.data));
                reply(ApplicationDataChannelResp {}.into())
            }
            Message::SoftwareUpdate(_) => match self
                .config_url
                .clone()
                .filter(|u| u.get(axi::ConfigUrl::ENABLE) == Some(true))
            {
                Some(url) => {
                    let mut out = reply(SoftwareUpdateResp {}.into());
                    out.push(Action::Fetch(url));
                    out
                }
                None => fail(err(ErrCode::EFailed).info("no configuration URL is enabled")),
            },
            Message::SetSystemName(n) => {
                self.system_name = n.name;
                reply(SetSystemNameResp {}.into())
            }
            Message::GetSystemName(_) => reply(
                GetSystemNameResp {
                    name: Some(self.system_name.clone()),
                }
                .into(),
            ),
            other => fail(err(ErrCode::EFailed).info(format!("{} not supported", other.name()))),
        }
    }

    /// Records a user or device write that carries no `timeStamp`.
    fn note_unstamped(&mut self, message: &Message) {
        let stamped = match message {
            Message::CreatePPUser(c) => c.user.raw("timeStamp").is_some(),
            Message::SetPPUser(s) => s.user.raw("timeStamp").is_some(),
            Message::CreatePPDev(c) => c.pp.raw("timeStamp").is_some(),
            Message::SetPPDev(s) => s.pp.raw("timeStamp").is_some(),
            Message::SetPP(s) => {
                s.user.as_ref().is_none_or(|u| u.raw("timeStamp").is_some())
                    && s.pp.as_ref().is_none_or(|d| d.raw("timeStamp").is_some())
            }
            Message::SetPPUserDevRelation(r) => r.time_stamp.is_some(),
            _ => true,
        };
        if !stamped {
            self.unstamped.push(message.name().to_owned());
        }
    }

    fn open_resp(&self, with_key: bool) -> OpenResp {
        let public_key = with_key.then(|| {
            let (m, e) = self.public_key_hex();
            let mut k = axi::PublicKey::default();
            k.set(axi::PublicKey::MODULUS, m)
                .set(axi::PublicKey::EXPONENT, e);
            k
        });
        OpenResp {
            protocol_version: Some(self.config.protocol_version),
            omm_version: Some("omm-sim SIP-DECT 10.1".into()),
            omm_stb_state: Some("OK".into()),
            public_key,
        }
    }
}

pub(super) fn strip_secrets(mut user: PpUser) -> PpUser {
    user.attrs
        .retain(|(k, _)| !USER_SECRETS.contains(&k.as_ref()));
    user
}

pub(super) fn page(max: Option<u32>) -> usize {
    max.unwrap_or(1).clamp(1, PAGE) as usize
}
