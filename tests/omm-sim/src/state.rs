//! One simulated OMM: its database and settings, and how it answers each AXI request
//! (axi-profile.md §2–§10). Pure state: the server feeds it frames and carries out the
//! [`Action`]s it returns, so the behaviour is testable without sockets.

use axi::message::*;
use axi::record::AxiRecord;
use axi::secret;
use axi::value::{DectSubscriptionMode, Hex10};
use axi::{ErrCode, ErrorInfo, Frame, Message, PpDev, PpUser, Room};
use model::{Ipei, RelType, SubscriptionState};
use rsa::{RsaPrivateKey, RsaPublicKey};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

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
            Message::GetPPUser(g) => {
                let users: Vec<PpUser> = self
                    .users
                    .range(g.uid..)
                    .take(page(g.max_records))
                    .map(|(_, u)| self.outgoing_user(session, u))
                    .collect();
                if users.is_empty() {
                    fail(err(ErrCode::ENoEnt))
                } else {
                    reply(GetPPUserResp { users }.into())
                }
            }
            Message::GetPPDev(g) => {
                let devices: Vec<PpDev> = self
                    .devices
                    .range(g.ppn..)
                    .take(page(g.max_records))
                    .map(|(_, d)| d.clone())
                    .collect();
                if devices.is_empty() {
                    fail(err(ErrCode::ENoEnt))
                } else {
                    reply(GetPPDevResp { devices }.into())
                }
            }
            Message::GetPPUserByNumber(g) => match self
                .users
                .values()
                .find(|u| u.raw("num") == Some(g.num.as_str()))
            {
                Some(u) => reply(
                    GetPPUserByNumberResp {
                        user: Some(self.outgoing_user(session, u)),
                    }
                    .into(),
                ),
                None => fail(err(ErrCode::ENoEnt).bad("num")),
            },
            Message::GetPPDevByIPEI(g) => match self.device_by_ipei(g.ipei) {
                Some(ppn) => reply(
                    GetPPDevByIPEIResp {
                        pp: self.devices.get(&ppn).cloned(),
                    }
                    .into(),
                ),
                None => fail(err(ErrCode::ENoEnt).bad("ipei")),
            },
            Message::CreatePPUser(c) => match self.create_user(c.user) {
                Ok(uid) => {
                    let user = self.outgoing_user(session, &self.users[&uid]);
                    self.with_event(
                        reply(CreatePPUserResp { user: Some(user) }.into()),
                        axi::EventType::PPUserCnf,
                        uid,
                        true,
                    )
                }
                Err(e) => fail(e),
            },
            Message::SetPPUser(s) => match self.set_user(s.user) {
                Ok(uid) => {
                    let user = self.outgoing_user(session, &self.users[&uid]);
                    self.with_event(
                        reply(SetPPUserResp { user: Some(user) }.into()),
                        axi::EventType::PPUserCnf,
                        uid,
                        true,
                    )
                }
                Err(e) => fail(e),
            },
            Message::DeletePPUser(d) => match self.delete_user(d.uid) {
                Ok(events) => {
                    let mut out = reply(DeletePPUserResp { uid: Some(d.uid) }.into());
                    out.extend(events);
                    out
                }
                Err(e) => fail(e),
            },
            Message::CreatePPDev(c) => match self.create_device(c.pp) {
                Ok(ppn) => {
                    let pp = self.devices[&ppn].clone();
                    self.with_event(
                        reply(CreatePPDevResp { pp: Some(pp) }.into()),
                        axi::EventType::PPDevCnf,
                        ppn,
                        false,
                    )
                }
                Err(e) => fail(e),
            },
            Message::SetPPDev(s) => match self.set_device(s.pp) {
                Ok(ppn) => {
                    let pp = self.devices[&ppn].clone();
                    self.with_event(
                        reply(SetPPDevResp { pp: Some(pp) }.into()),
                        axi::EventType::PPDevCnf,
                        ppn,
                        false,
                    )
                }
                Err(e) => fail(e),
            },
            Message::DeletePPDev(d) => match self.delete_device(d.ppn) {
                Ok(events) => {
                    let mut out = reply(DeletePPDevResp { ppn: Some(d.ppn) }.into());
                    out.extend(events);
                    out
                }
                Err(e) => fail(e),
            },
            Message::SetPP(s) => {
                if !session.sync_client {
                    return fail(err(ErrCode::EPerm).info("SetPP needs a user/device sync client"));
                }
                match self.set_pp(s) {
                    Ok((uid, ppn)) => {
                        let user = self.users.get(&uid).map(|u| self.outgoing_user(session, u));
                        let pp = self.devices.get(&ppn).cloned();
                        reply(SetPPResp { user, pp }.into())
                    }
                    Err(e) => fail(e),
                }
            }
            Message::SetPPUserDevRelation(r) => {
                match self.set_relation(r.uid, r.rel_type, r.time_stamp) {
                    Ok(()) => reply(
                        SetPPUserDevRelationResp {
                            uid: Some(r.uid),
                            rel_type: Some(r.rel_type),
                        }
                        .into(),
                    ),
                    Err(e) => fail(e),
                }
            }
            Message::GetConferenceRoom(g) => {
                let rooms: Vec<Room> = self
                    .rooms
                    .range(g.id..)
                    .take(page(g.max_records))
                    .map(|(_, r)| self.outgoing_room(session, r))
                    .collect();
                if rooms.is_empty() {
                    fail(err(ErrCode::ENoEnt))
                } else {
                    reply(GetConferenceRoomResp { rooms }.into())
                }
            }
            Message::CreateConferenceRoom(c) => match self.put_room(c.room, true) {
                Ok(id) => reply(
                    CreateConferenceRoomResp {
                        room: Some(self.outgoing_room(session, &self.rooms[&id])),
                    }
                    .into(),
                ),
                Err(e) => fail(e),
            },
            Message::SetConferenceRoom(c) => match self.put_room(c.room, false) {
                Ok(id) => reply(
                    SetConferenceRoomResp {
                        room: Some(self.outgoing_room(session, &self.rooms[&id])),
                    }
                    .into(),
                ),
                Err(e) => fail(e),
            },
            Message::DeleteConferenceRoom(d) => {
                if self.rooms.remove(&d.id).is_some() {
                    reply(DeleteConferenceRoomResp { id: Some(d.id) }.into())
                } else {
                    fail(err(ErrCode::ENoEnt).bad("id"))
                }
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

    fn subscribe(
        &mut self,
        session: &mut Session,
        s: &Subscribe,
        seq: &Option<String>,
    ) -> Vec<Action> {
        for e in &s.entries {
            let event_type = e.raw("eventType").unwrap_or("");
            if axi::EventType::parse(event_type).is_none() {
                let mut f = Frame::error_response(
                    "Subscribe",
                    seq.clone(),
                    err(ErrCode::EInval).bad("eventType"),
                );
                f.message = SubscribeResp {
                    event_type: Some(event_type.to_owned()),
                }
                .into();
                return vec![Action::Reply(f)];
            }
        }
        for e in &s.entries {
            let Some(event_type) = axi::EventType::parse(e.raw("eventType").unwrap_or("")) else {
                continue;
            };
            if e.get(axi::SubscribeEntry::CMD) == Some(axi::value::SubscribeCmd::Off) {
                session.subscriptions.retain(|t| *t != event_type);
            } else if !session.subscriptions.contains(&event_type) {
                session.subscriptions.push(event_type);
            }
        }
        vec![Action::Reply(Frame::new(
            seq.clone(),
            SubscribeResp { event_type: None },
        ))]
    }

    /// A user as sent on `session`: secrets encrypted with the MOM's key, or left out.
    fn outgoing_user(&self, session: &Session, user: &PpUser) -> PpUser {
        let mut out = user.clone();
        for name in USER_SECRETS {
            if let Some(plain) = user.raw(name).map(str::to_owned) {
                match (&session.mom_key, plain.is_empty()) {
                    (_, true) => {}
                    (Some(key), false) => {
                        out.set_raw(name, secret::encrypt(key, &plain).unwrap_or_default())
                    }
                    (None, false) => out.attrs.retain(|(k, _)| k != name),
                }
            }
        }
        out
    }

    fn outgoing_room(&self, session: &Session, room: &Room) -> Room {
        let mut out = room.clone();
        if let Some(plain) = room
            .raw("sipPw")
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
        {
            match &session.mom_key {
                Some(key) => out.set_raw("sipPw", secret::encrypt(key, &plain).unwrap_or_default()),
                None => out.attrs.retain(|(k, _)| k != "sipPw"),
            }
        }
        out
    }

    /// Decrypts the secrets of an incoming record in place.
    fn decrypt_secrets(
        &self,
        attrs: &mut [(axi::xml::Name, axi::xml::Text)],
        names: &[&str],
    ) -> Result<(), ErrorInfo> {
        for (k, v) in attrs.iter_mut() {
            if names.contains(&k.as_ref()) && !v.is_empty() {
                let plain = secret::decrypt(&self.key, v).map_err(|_| {
                    err(ErrCode::EInval)
                        .bad(k.to_string())
                        .info("secret does not decrypt")
                })?;
                *v = plain.into();
            }
        }
        Ok(())
    }

    fn with_event(
        &self,
        mut out: Vec<Action>,
        event_type: axi::EventType,
        id: u32,
        user: bool,
    ) -> Vec<Action> {
        out.push(self.record_event(event_type, id, user));
        out
    }

    /// The change event of a record (for links other than the one that made the change).
    fn record_event(&self, event_type: axi::EventType, id: u32, user: bool) -> Action {
        let frame = if user {
            Frame::event(EventPPUserCnf {
                user: self.users.get(&id).map(|u| strip_secrets(u.clone())),
            })
        } else {
            Frame::event(EventPPDevCnf {
                pp: self.devices.get(&id).cloned(),
            })
        };
        Action::Event { event_type, frame }
    }

    fn deleted_event(user: bool, id: u32) -> Action {
        if user {
            let mut u = PpUser::default();
            u.set(PpUser::UID, id).set(PpUser::DELETED, true);
            Action::Event {
                event_type: axi::EventType::PPUserCnf,
                frame: Frame::event(EventPPUserCnf { user: Some(u) }),
            }
        } else {
            let mut d = PpDev::default();
            d.set(PpDev::PPN, id).set(PpDev::DELETED, true);
            Action::Event {
                event_type: axi::EventType::PPDevCnf,
                frame: Frame::event(EventPPDevCnf { pp: Some(d) }),
            }
        }
    }

    fn number_owner(&self, num: &str) -> Option<u32> {
        self.users
            .iter()
            .find(|(_, u)| u.raw("num") == Some(num))
            .map(|(id, _)| *id)
    }

    /// The ppn of the device with `ipei`.
    #[must_use]
    pub fn device_by_ipei(&self, ipei: Ipei) -> Option<u32> {
        self.devices
            .iter()
            .find(|(_, d)| d.get(PpDev::IPEI) == Some(ipei))
            .map(|(id, _)| *id)
    }

    /// Creates a user record from a client's record.
    ///
    /// # Errors
    /// `EExist bad="num"` for a duplicate number; `EInval` for a secret that does not decrypt.
    pub fn create_user(&mut self, mut user: PpUser) -> Result<u32, ErrorInfo> {
        if let Some(num) = user.raw("num") {
            if self.number_owner(num).is_some() {
                return Err(err(ErrCode::EExist).bad("num"));
            }
        }
        self.decrypt_secrets(&mut user.attrs, &USER_SECRETS)?;
        let uid = self.next_uid;
        self.next_uid += 1;
        user.set(PpUser::UID, uid);
        if user.raw("ppn").is_none() {
            user.set(PpUser::PPN, 0);
        }
        if user.raw("relType").is_none() {
            user.set(PpUser::REL_TYPE, RelType::Unbound);
        }
        if user.raw("timeStamp").is_none() {
            user.set(PpUser::TIME_STAMP, now());
        }
        self.users.insert(uid, user);
        Ok(uid)
    }

    fn set_user(&mut self, change: PpUser) -> Result<u32, ErrorInfo> {
        let uid = change
            .get(PpUser::UID)
            .ok_or_else(|| err(ErrCode::EMissing).bad("uid"))?;
        let existing = self
            .users
            .get(&uid)
            .ok_or_else(|| err(ErrCode::ENoEnt).bad("uid"))?;
        for (binding, current) in [
            ("ppn", existing.raw("ppn")),
            ("relType", existing.raw("relType")),
        ] {
            if change.raw(binding).is_some() && change.raw(binding) != current {
                return Err(err(ErrCode::EInval)
                    .bad(binding)
                    .info("bindings change only with SetPP"));
            }
        }
        if let Some(num) = change.raw("num") {
            if self.number_owner(num).is_some_and(|owner| owner != uid) {
                return Err(err(ErrCode::EExist).bad("num"));
            }
        }
        let mut change = change;
        self.decrypt_secrets(&mut change.attrs, &USER_SECRETS)?;
        let stamped = change.raw("timeStamp").is_some();
        let user = self
            .users
            .get_mut(&uid)
            .ok_or_else(|| err(ErrCode::ENoEnt))?;
        let before = user.clone();
        for (k, v) in change.attrs {
            user.set_raw(&k, v);
        }
        // Without a supplied stamp the OMM bumps it, and only when something changed.
        if !stamped && *user != before {
            user.set(PpUser::TIME_STAMP, now());
        }
        Ok(uid)
    }

    fn delete_user(&mut self, uid: u32) -> Result<Vec<Action>, ErrorInfo> {
        let user = self
            .users
            .remove(&uid)
            .ok_or_else(|| err(ErrCode::ENoEnt).bad("uid"))?;
        let mut events = vec![Self::deleted_event(true, uid)];
        if let Some(ppn) = user.get(PpUser::PPN).filter(|p| *p != 0) {
            if let Some(d) = self.devices.get_mut(&ppn) {
                d.set(PpDev::UID, 0)
                    .set(PpDev::REL_TYPE, RelType::Unbound)
                    .set(PpDev::TIME_STAMP, now());
                events.push(self.record_event(axi::EventType::PPDevCnf, ppn, false));
            }
        }
        Ok(events)
    }

    /// Creates a device record; completes a waiting subscription when it has one.
    ///
    /// # Errors
    /// `EMissing bad="ipei"`, `EExist bad="ipei"`.
    pub fn create_device(&mut self, mut pp: PpDev) -> Result<u32, ErrorInfo> {
        let ipei = pp
            .get(PpDev::IPEI)
            .ok_or_else(|| err(ErrCode::EMissing).bad("ipei"))?;
        if self.device_by_ipei(ipei).is_some() {
            return Err(err(ErrCode::EExist).bad("ipei"));
        }
        let ppn = self.next_ppn;
        self.next_ppn += 1;
        pp.set(PpDev::PPN, ppn).set(PpDev::IPEI, ipei);
        for (attr, value) in [("uid", "0"), ("relType", "Unbound"), ("s", "No")] {
            if pp.raw(attr).is_none() {
                pp.set_raw(attr, value.to_owned());
            }
        }
        if pp.raw("timeStamp").is_none() {
            pp.set(PpDev::TIME_STAMP, now());
        }
        // An auto-created record completes the subscription that waited for it.
        if let Some(p) = self.pending.remove(&ipei) {
            if p.since.elapsed() < Duration::from_secs(60) {
                pp.set(PpDev::S, SubscriptionState::Yes)
                    .set(PpDev::TIME_STAMP_SUBSCRIPTION, now());
                if let Some(ac) = p.ac {
                    pp.set(PpDev::AC, ac);
                }
            }
        }
        self.devices.insert(ppn, pp);
        Ok(ppn)
    }

    fn set_device(&mut self, change: PpDev) -> Result<u32, ErrorInfo> {
        let ppn = change
            .get(PpDev::PPN)
            .ok_or_else(|| err(ErrCode::EMissing).bad("ppn"))?;
        let existing = self
            .devices
            .get(&ppn)
            .ok_or_else(|| err(ErrCode::ENoEnt).bad("ppn"))?;
        for (binding, current) in [
            ("uid", existing.raw("uid")),
            ("relType", existing.raw("relType")),
        ] {
            if change.raw(binding).is_some() && change.raw(binding) != current {
                return Err(err(ErrCode::EInval)
                    .bad(binding)
                    .info("bindings change only with SetPP"));
            }
        }
        if let Some(ipei) = change.get(PpDev::IPEI) {
            if self.device_by_ipei(ipei).is_some_and(|owner| owner != ppn) {
                return Err(err(ErrCode::EExist).bad("ipei"));
            }
        }
        let device = self
            .devices
            .get_mut(&ppn)
            .ok_or_else(|| err(ErrCode::ENoEnt))?;
        for (k, v) in change.attrs {
            device.set_raw(&k, v);
        }
        Ok(ppn)
    }

    fn delete_device(&mut self, ppn: u32) -> Result<Vec<Action>, ErrorInfo> {
        let device = self
            .devices
            .remove(&ppn)
            .ok_or_else(|| err(ErrCode::ENoEnt).bad("ppn"))?;
        let mut events = vec![Self::deleted_event(false, ppn)];
        if let Some(uid) = device.get(PpDev::UID).filter(|u| *u != 0) {
            if let Some(u) = self.users.get_mut(&uid) {
                u.set(PpUser::PPN, 0)
                    .set(PpUser::REL_TYPE, RelType::Unbound)
                    .set(PpUser::TIME_STAMP, now());
                events.push(self.record_event(axi::EventType::PPUserCnf, uid, true));
            }
        }
        Ok(events)
    }

    /// Binds (crossed ids, same Dynamic/Fixed) or unbinds (0 and Unbound) a pair.
    fn set_pp(&mut self, s: SetPP) -> Result<(u32, u32), ErrorInfo> {
        let (Some(user), Some(pp)) = (s.user, s.pp) else {
            return Err(err(ErrCode::EMissing).bad("user"));
        };
        let uid = user
            .get(PpUser::UID)
            .ok_or_else(|| err(ErrCode::EMissing).bad("uid"))?;
        let ppn = pp
            .get(PpDev::PPN)
            .ok_or_else(|| err(ErrCode::EMissing).bad("ppn"))?;
        let (u_ppn, u_rel) = (
            user.get(PpUser::PPN).unwrap_or(0),
            user.get(PpUser::REL_TYPE).unwrap_or(RelType::Unbound),
        );
        let (d_uid, d_rel) = (
            pp.get(PpDev::UID).unwrap_or(0),
            pp.get(PpDev::REL_TYPE).unwrap_or(RelType::Unbound),
        );
        if !self.users.contains_key(&uid) {
            return Err(err(ErrCode::ENoEnt).bad("uid"));
        }
        if !self.devices.contains_key(&ppn) {
            return Err(err(ErrCode::ENoEnt).bad("ppn"));
        }
        let bind = u_ppn == ppn && d_uid == uid && u_rel == d_rel && u_rel != RelType::Unbound;
        let unbind =
            u_ppn == 0 && d_uid == 0 && u_rel == RelType::Unbound && d_rel == RelType::Unbound;
        if !bind && !unbind {
            return Err(err(ErrCode::EInval)
                .bad("relType")
                .info("a bind needs crossed ids and one relation type"));
        }
        let t_user = user.get(PpUser::TIME_STAMP).unwrap_or_else(now);
        let t_dev = pp.get(PpDev::TIME_STAMP).unwrap_or_else(now);
        if bind {
            // The old partners of either side are unbound.
            let old_dev = self.users[&uid]
                .get(PpUser::PPN)
                .filter(|p| *p != 0 && *p != ppn);
            let old_user = self.devices[&ppn]
                .get(PpDev::UID)
                .filter(|u| *u != 0 && *u != uid);
            if let Some(p) = old_dev.and_then(|p| self.devices.get_mut(&p)) {
                p.set(PpDev::UID, 0).set(PpDev::REL_TYPE, RelType::Unbound);
            }
            if let Some(u) = old_user.and_then(|u| self.users.get_mut(&u)) {
                u.set(PpUser::PPN, 0)
                    .set(PpUser::REL_TYPE, RelType::Unbound);
            }
        } else {
            let partner = self.users[&uid].get(PpUser::PPN).unwrap_or(0);
            if partner != 0 && partner != ppn {
                return Err(err(ErrCode::EInval)
                    .bad("ppn")
                    .info("the user is bound to another device"));
            }
        }
        let user_rec = self
            .users
            .get_mut(&uid)
            .ok_or_else(|| err(ErrCode::ENoEnt))?;
        user_rec
            .set(PpUser::PPN, u_ppn)
            .set(PpUser::REL_TYPE, u_rel)
            .set(PpUser::TIME_STAMP, t_user);
        for stamp in ["timeStampAdmin", "timeStampRelation"] {
            if let Some(v) = user.raw(stamp) {
                user_rec.set_raw(stamp, v.to_owned());
            }
        }
        let dev_rec = self
            .devices
            .get_mut(&ppn)
            .ok_or_else(|| err(ErrCode::ENoEnt))?;
        dev_rec
            .set(PpDev::UID, d_uid)
            .set(PpDev::REL_TYPE, d_rel)
            .set(PpDev::TIME_STAMP, t_dev);
        for stamp in ["timeStampAdmin", "timeStampRelation"] {
            if let Some(v) = pp.raw(stamp) {
                dev_rec.set_raw(stamp, v.to_owned());
            }
        }
        Ok((uid, ppn))
    }

    fn set_relation(
        &mut self,
        uid: u32,
        rel: RelType,
        stamp: Option<u64>,
    ) -> Result<(), ErrorInfo> {
        if rel == RelType::Unbound {
            return Err(err(ErrCode::EInval).bad("relType"));
        }
        let user = self
            .users
            .get(&uid)
            .ok_or_else(|| err(ErrCode::ENoEnt).bad("uid"))?;
        let ppn = user.get(PpUser::PPN).filter(|p| *p != 0).ok_or_else(|| {
            err(ErrCode::EInval)
                .bad("uid")
                .info("the user is not bound")
        })?;
        let t = stamp.unwrap_or_else(now);
        if let Some(u) = self.users.get_mut(&uid) {
            u.set(PpUser::REL_TYPE, rel).set(PpUser::TIME_STAMP, t);
        }
        if let Some(d) = self.devices.get_mut(&ppn) {
            d.set(PpDev::REL_TYPE, rel).set(PpDev::TIME_STAMP, t);
        }
        Ok(())
    }

    fn put_room(&mut self, mut room: Room, create: bool) -> Result<u32, ErrorInfo> {
        self.decrypt_secrets(&mut room.attrs, &["sipPw"])?;
        let id = if create {
            let id = self.next_room;
            self.next_room += 1;
            room.set(Room::ID, id);
            self.rooms.insert(id, room);
            id
        } else {
            let id = room
                .get(Room::ID)
                .ok_or_else(|| err(ErrCode::EMissing).bad("id"))?;
            let existing = self
                .rooms
                .get_mut(&id)
                .ok_or_else(|| err(ErrCode::ENoEnt).bad("id"))?;
            for (k, v) in room.attrs {
                existing.set_raw(&k, v);
            }
            id
        };
        Ok(id)
    }

    /// A handset tries to subscribe over the air; returns the events for the MOM, or the
    /// reason it was refused.
    ///
    /// # Errors
    /// A text when the OMM refuses the subscription.
    pub fn air_subscribe(
        &mut self,
        ipei: Ipei,
        ac: Option<String>,
        add_id: Option<&str>,
    ) -> Result<Vec<Action>, String> {
        match self.subscription_mode {
            DectSubscriptionMode::Off => return Err("subscription is off".into()),
            DectSubscriptionMode::Wildcard if self.device_by_ipei(ipei).is_none() => {
                let add_id = add_id.ok_or("a wildcard subscription needs an additional ID")?;
                let uid = self
                    .users
                    .iter()
                    .find(|(_, u)| u.raw("addId") == Some(add_id))
                    .map(|(id, _)| *id)
                    .ok_or("no local user has that additional ID")?;
                let mut pp = PpDev::default();
                pp.set(PpDev::IPEI, ipei)
                    .set(PpDev::S, SubscriptionState::Yes)
                    .set(PpDev::TIME_STAMP_SUBSCRIPTION, now());
                let ppn = self.create_device(pp).map_err(|e| format!("{e:?}"))?;
                let rel = RelType::Dynamic;
                if let Some(d) = self.devices.get_mut(&ppn) {
                    d.set(PpDev::UID, uid).set(PpDev::REL_TYPE, rel);
                }
                if let Some(u) = self.users.get_mut(&uid) {
                    u.set(PpUser::PPN, ppn).set(PpUser::REL_TYPE, rel);
                }
                return Ok(vec![
                    self.record_event(axi::EventType::PPDevCnf, ppn, false),
                    self.record_event(axi::EventType::PPUserCnf, uid, true),
                ]);
            }
            _ => {}
        }
        if let Some(ppn) = self.device_by_ipei(ipei) {
            if let Some(d) = self.devices.get_mut(&ppn) {
                d.set(PpDev::S, SubscriptionState::Yes)
                    .set(PpDev::TIME_STAMP_SUBSCRIPTION, now());
                if let Some(ac) = ac {
                    d.set(PpDev::AC, ac);
                }
            }
            return Ok(vec![self.record_event(
                axi::EventType::PPDevCnf,
                ppn,
                false,
            )]);
        }
        if self.auto_create {
            // The OMM's own auto-create (off whenever a MOM manages the OMM).
            let mut pp = PpDev::default();
            pp.set(PpDev::IPEI, ipei)
                .set(PpDev::S, SubscriptionState::Yes)
                .set(PpDev::AUTO_CREATE, true);
            pp.set(PpDev::TIME_STAMP_SUBSCRIPTION, now());
            let ppn = self.create_device(pp).map_err(|e| format!("{e:?}"))?;
            return Ok(vec![self.record_event(
                axi::EventType::PPDevCnf,
                ppn,
                false,
            )]);
        }
        self.pending.insert(
            ipei,
            Pending {
                since: Instant::now(),
                ac: ac.clone(),
            },
        );
        Ok(vec![Action::Event {
            event_type: axi::EventType::DECTSubscribe,
            frame: Frame::event(EventDECTSubscribe { ipei, ac }),
        }])
    }
}

fn strip_secrets(mut user: PpUser) -> PpUser {
    user.attrs
        .retain(|(k, _)| !USER_SECRETS.contains(&k.as_ref()));
    user
}

fn page(max: Option<u32>) -> usize {
    max.unwrap_or(1).clamp(1, PAGE) as usize
}
