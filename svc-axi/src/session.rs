//! One OMM link's life (axi-profile.md §2–§4): connect, log in, the on-connect sequence,
//! import and reconciliation by timestamp, then the steady state driven by the OMM's events
//! and the store's change feed.

use crate::convert::{device_from_axi, device_to_axi, user_from_axi, user_to_axi};
use crate::link::{AxiLink, LinkError};
use crate::store::Store;
use axi::message::*;
use axi::record::AxiRecord;
use axi::value::{DectSubscriptionMode, Hex10, SubscribeCmd};
use axi::{ErrCode, Frame, Limits, Message, PpDev, PpUser, SubscribeEntry};
use ipc::api::store::{Change, ChangeOp, StoreRequest};
use model::{Device, Entity, Omm, Settings, User};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// What every link shares.
pub struct Shared {
    /// The store.
    pub store: Store,
    /// The MOM's key for secrets the OMMs send back.
    pub mom_key: rsa::RsaPrivateKey,
    /// The MOM's AXI protocol version.
    pub protocol_version: u32,
    /// Retry interval after a lost link or a refused login.
    pub retry: Duration,
    /// Keep-alive interval.
    pub ping: Duration,
    /// How long an OMM may take to answer a request before its link is closed.
    pub request_timeout: Duration,
    /// The store's change feed, routed to the links.
    pub feed: crate::feed::Feed,
    /// Application data from every OMM, for the API's subscribers.
    pub data: tokio::sync::broadcast::Sender<crate::api::DataEvent>,
    /// Reconciliations that may run at once (see `reconcile`).
    pub reconcile_slots: tokio::sync::Semaphore,
    /// Links that are up now; `publish_links_up` in `lib.rs` writes it to the store's
    /// `axi.links_up` gauge, latest value last.
    pub links_up: tokio::sync::watch::Sender<u64>,
    /// The links that are up, by OMM id, for requests routed from another link.
    pub routes: std::sync::Mutex<HashMap<u32, tokio::sync::mpsc::Sender<Routed>>>,
}

/// A request another link routes through this one.
#[derive(Debug)]
pub enum Routed {
    /// Deliver a text message; answers whether the OMM accepted it.
    Message(
        axi::TextMessage,
        tokio::sync::oneshot::Sender<Result<(), String>>,
    ),
    /// Send application data `(channel, base64 data)`; answers whether the OMM accepted it.
    Data(
        String,
        String,
        tokio::sync::oneshot::Sender<Result<(), String>>,
    ),
}

impl Shared {
    /// The sender to the link of OMM `omm`, while it is up.
    pub fn route(&self, omm: u32) -> Option<tokio::sync::mpsc::Sender<Routed>> {
        self.routes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&omm)
            .cloned()
    }
}

/// How a session ended.
#[derive(Debug)]
pub enum End {
    /// The OMM restarts after its SARI was set: reconnect soon.
    SariRestart,
    /// The link failed; the text is for the health state and the event log.
    Failed(String),
}

impl From<LinkError> for End {
    fn from(e: LinkError) -> Self {
        End::Failed(e.to_string())
    }
}

fn refused(frame: &Frame) -> Option<String> {
    frame.error.as_ref().map(|e| {
        format!(
            "{} {}{}",
            frame.message.name(),
            e.code.as_str(),
            e.info
                .as_ref()
                .map(|i| format!(" ({i})"))
                .unwrap_or_default()
        )
    })
}

/// Sends a setting request and expects a bare success.
async fn setting(link: &AxiLink, message: impl Into<Message>) -> Result<(), End> {
    let frame = link.request(message).await?;
    match refused(&frame) {
        Some(why) => Err(End::Failed(format!("the OMM refused {why}"))),
        None => Ok(()),
    }
}

/// Splits `host[:port]`; the default port is the OMM's TLS port 12622.
fn host_port(address: &str) -> (String, u16) {
    match address.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h.to_owned(), p.parse().unwrap_or(12622)),
        _ => (address.to_owned(), 12622),
    }
}

/// Ids of this OMM's records, both ways.
#[derive(Default)]
struct Ids {
    /// MOM uid → OMM uid.
    users: HashMap<u32, u32>,
    /// MOM ppn → OMM ppn.
    devices: HashMap<u32, u32>,
    /// Fingerprints of the records last agreed with the OMM, to recognise the store's echo
    /// of our own writes (timestamps have one-second resolution, so they cannot).
    user_agreed: HashMap<u32, u64>,
    device_agreed: HashMap<u32, u64>,
    /// MOM room id → OMM room id.
    rooms: HashMap<u32, u32>,
    /// The OMM's key for the secrets the MOM writes to it.
    omm_key: Option<rsa::RsaPublicKey>,
    /// Permanent users whose home is another OMM, held here as copies.
    perm: std::collections::HashSet<u32>,
    /// Handsets of permanent users located at another OMM, held here as copies.
    perm_devices: std::collections::HashSet<u32>,
    /// Bindings (MOM uid → MOM ppn, relation) the OMM is known to have.
    binding: HashMap<u32, (u32, model::RelType)>,
}

/// An OMM event may carry only the id, `timeStamp` and the changed attributes (profile
/// §10): they are laid over the record as the MOM knows it, so absent attributes keep their
/// values instead of being reset.
fn merged<R: AxiRecord>(mut known: R, event: &R) -> R {
    for (name, value) in event.attrs() {
        known.set_raw(name, value.clone());
    }
    known
}

/// A fingerprint of a record's attributes, timestamps left out.
fn fingerprint<R: AxiRecord>(record: &R) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for (k, v) in record.attrs() {
        if !k.starts_with("timeStamp") {
            k.hash(&mut h);
            v.hash(&mut h);
        }
    }
    h.finish()
}

fn user_print(user: &User) -> u64 {
    fingerprint(&user_to_axi(user))
}

fn device_print(device: &Device) -> u64 {
    fingerprint(&device_to_axi(device))
}

impl Ids {
    fn mom_user(&self, omm_uid: u32) -> Option<u32> {
        self.users
            .iter()
            .find(|(_, o)| **o == omm_uid)
            .map(|(m, _)| *m)
    }
    fn mom_device(&self, omm_ppn: u32) -> Option<u32> {
        self.devices
            .iter()
            .find(|(_, o)| **o == omm_ppn)
            .map(|(m, _)| *m)
    }
}

/// One session; returns how it ended.
pub async fn run(shared: &Arc<Shared>, omm: &Omm, changes: &mut crate::feed::LinkFeed) -> End {
    let tls = match crate::tls::client_config(&omm.cert_validation) {
        Ok(t) => t,
        Err(e) => return End::Failed(format!("certificate settings: {e}")),
    };
    let mut last_error = String::new();
    let mut connected = None;
    for address in [&omm.omm1, &omm.omm2].into_iter().filter(|a| !a.is_empty()) {
        let (host, port) = host_port(address);
        let connecting = AxiLink::connect(
            &host,
            port,
            Arc::clone(&tls),
            shared.request_timeout,
            Limits::default(),
        );
        match connecting.await {
            Ok(l) => {
                connected = Some(l);
                break;
            }
            Err(e) => last_error = format!("{address}: {e}"),
        }
    }
    let Some((link, mut events)) = connected else {
        return End::Failed(last_error);
    };
    match session(shared, omm, &link, &mut events, changes).await {
        Ok(end) | Err(end) => end,
    }
}

async fn session(
    shared: &Arc<Shared>,
    omm: &Omm,
    link: &AxiLink,
    events: &mut tokio::sync::mpsc::Receiver<Frame>,
    changes: &mut crate::feed::LinkFeed,
) -> Result<End, End> {
    let store = &shared.store.for_omm(omm.id);
    // 1. Log in as a user/device sync client.
    let open = link
        .request(Open {
            username: omm.user.clone(),
            password: omm.password.clone(),
            protocol_version: Some(shared.protocol_version),
            user_device_sync_client: Some(true),
        })
        .await?;
    if let Some(e) = &open.error {
        return Err(End::Failed(if e.code == ErrCode::EAuth {
            "authentication failed".into()
        } else {
            format!("login refused: {}", e.code.as_str())
        }));
    }
    let Message::OpenResp(resp) = &open.message else {
        return Err(End::Failed("no OpenResp".into()));
    };
    if let Some(theirs) = resp
        .protocol_version
        .filter(|v| *v != shared.protocol_version)
    {
        return Err(End::Failed(format!(
            "protocol version mismatch: OMM {theirs}, MOM {}",
            shared.protocol_version
        )));
    }
    let version = resp.omm_version.clone().unwrap_or_default();
    let omm_key = resp
        .public_key
        .as_ref()
        .and_then(|k| axi::secret::public_key(k.raw("modulus")?, k.raw("exponent")?).ok());
    let (modulus, exponent) = axi::secret::key_hex(&shared.mom_key.to_public_key());
    setting(link, SetMOMKey { modulus, exponent }).await?;
    // 2. PARK → Cloud-ID; SARI.
    let park = match link.request(GetPARK {}).await?.message {
        Message::GetPARKResp(GetPARKResp { park: Some(p) }) => p.0,
        _ => return Err(End::Failed("the OMM has no PARK".into())),
    };
    let cloud_id = format!("00{park}");
    store
        .health(
            omm.id,
            model::OmmHealth {
                link: model::LinkState::Connecting,
                healthy: false,
                last_error: String::new(),
                since: model::now(),
                software_version: version.clone(),
            },
            Some(cloud_id),
        )
        .await;
    let settings = store.settings().await.map_err(End::Failed)?;
    if !settings.sari.is_empty() {
        let current = match link.request(GetSARI {}).await?.message {
            Message::GetSARIResp(GetSARIResp { sari }) => sari.map(|s| s.0),
            _ => None,
        };
        if current.as_deref() != Some(settings.sari.to_ascii_uppercase().as_str()) {
            let sari = Hex10(settings.sari.to_ascii_uppercase());
            setting(link, SetSARI { sari }).await?;
            store
                .log(
                    model::Severity::Info,
                    format!("SARI set on OMM {} ({}); it restarts", omm.id, omm.name),
                )
                .await;
            return Ok(End::SariRestart);
        }
    }
    // 3.–6. Settings the MOM decides.
    push_settings(link, &settings, omm).await?;
    // 7. Events.
    let entries = [
        "PPUserCnf",
        "PPDevCnf",
        "DECTSubscriptionMode",
        "DECTSubscribe",
        "DECTLocate",
        "MessageSend",
        "ApplicationDataChannel",
        "ConferenceRoomCnf",
    ]
    .iter()
    .map(|t| {
        let mut e = SubscribeEntry::default();
        e.set(SubscribeEntry::CMD, SubscribeCmd::On)
            .set(SubscribeEntry::EVENT_TYPE, (*t).to_owned());
        match *t {
            "PPUserCnf" => {
                e.set(SubscribeEntry::UID, -1);
            }
            "PPDevCnf" => {
                e.set(SubscribeEntry::PPN, -1);
            }
            _ => {}
        }
        e
    })
    .collect();
    setting(link, Subscribe { entries }).await?;
    // 8.–9. Import and reconcile.
    let mut ids = Ids {
        omm_key,
        ..Ids::default()
    };
    let started = std::time::Instant::now();
    let synced = reconcile(shared, omm, link, &mut ids).await?;
    store.count("axi.records_synced", synced).await;
    store
        .health(
            omm.id,
            model::OmmHealth {
                link: model::LinkState::Up,
                healthy: true,
                last_error: String::new(),
                since: model::now(),
                software_version: version.clone(),
            },
            None,
        )
        .await;
    tracing::info!(omm = omm.id, name = %omm.name, records = synced, ms = started.elapsed().as_millis() as u64, "OMM link up and synchronised");
    let _up = LinkUp::new(shared);
    // Steady state: this link now takes routed requests.
    let (route_tx, mut routed) = tokio::sync::mpsc::channel::<Routed>(256);
    shared
        .routes
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(omm.id, route_tx);
    let _unregister = Unregister(Arc::clone(shared), omm.id);
    let mut ping = tokio::time::interval(shared.ping);
    ping.tick().await;
    loop {
        tokio::select! {
            Some(request) = routed.recv() => match request {
                Routed::Message(msg, answer) => {
                    let frame = link.request(SendMessage { always_indirect: None, msg }).await?;
                    let _ = answer.send(refused(&frame).map_or(Ok(()), Err));
                }
                Routed::Data(channel, data, answer) => {
                    let frame = link.request(ApplicationDataChannel { omm_id: None, channel, data }).await?;
                    let _ = answer.send(refused(&frame).map_or(Ok(()), Err));
                }
            },
            event = events.recv() => match event {
                Some(frame) => handle_event(shared, omm, link, &mut ids, frame).await?,
                None => return Err(End::Failed(link.closed_reason().unwrap_or_else(|| "link closed".into()))),
            },
            change = changes.changes.recv() => match change {
                Some(change) if change.entity == Entity::Database => {
                    reconcile(shared, omm, link, &mut ids).await?;
                }
                Some(change) if concerns(omm, &ids, &change) => handle_change(shared, omm, link, &mut ids, change).await?,
                Some(_) => {}
                None => return Err(End::Failed("svc-axi is stopping".into())),
            },
            () = changes.overflow.notified() => {
                // Changes were dropped: reconcile everything again.
                reconcile(shared, omm, link, &mut ids).await?;
            }
            _ = ping.tick() => {
                link.request(Ping { time_stamp: Some(model::now()) }).await?;
            }
        }
    }
}

/// Whether a store change concerns this OMM's link: its records, records that are now at
/// this OMM, and settings. Everything else is skipped without a store lookup.
fn concerns(omm: &Omm, ids: &Ids, change: &Change) -> bool {
    if change.origin == omm.id {
        // Its own write: what it wrote came from the OMM or was done on the OMM already.
        return false;
    }
    match change.entity {
        Entity::User => {
            change.omm == omm.id || change.omm == 0 || ids.users.contains_key(&change.id)
        }
        Entity::Device => {
            change.omm == omm.id || change.omm == 0 || ids.devices.contains_key(&change.id)
        }
        Entity::ConferenceRoom => change.omm == omm.id || ids.rooms.contains_key(&change.id),
        Entity::Settings => true,
        _ => false,
    }
}

/// Counts a link in the `axi.links_up` gauge while it is up.
struct LinkUp(Arc<Shared>);

impl LinkUp {
    fn new(shared: &Arc<Shared>) -> Self {
        shared.links_up.send_modify(|up| *up += 1);
        Self(Arc::clone(shared))
    }
}

impl Drop for LinkUp {
    fn drop(&mut self) {
        self.0.links_up.send_modify(|up| *up = up.saturating_sub(1));
    }
}

/// Removes a link from the routes when its session ends.
struct Unregister(Arc<Shared>, u32);

impl Drop for Unregister {
    fn drop(&mut self) {
        self.0
            .routes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&self.1);
    }
}

/// Subscription mode, auto-create off, FAC prefix and provisioning settings.
async fn push_settings(link: &AxiLink, settings: &Settings, omm: &Omm) -> Result<(), End> {
    setting(link, SetDevAutoCreate { enable: false }).await?;
    setting(
        link,
        SetDECTSubscriptionMode {
            mode: DectSubscriptionMode::from(settings.subscription_mode),
            timeout: None,
        },
    )
    .await?;
    setting(
        link,
        SetFACPrefix {
            prefix: settings.fac_prefix.clone(),
        },
    )
    .await?;
    // Provisioning needs svc-web's URL, which does not exist yet: the URL stays disabled.
    let mut url = axi::ConfigUrl::default();
    url.set(axi::ConfigUrl::ENABLE, false);
    setting(link, SetConfigURL { url }).await?;
    let minute = (omm.id * 7) % 51;
    setting(
        link,
        SetSystemProvUpdTrig {
            enable: false,
            hour: Some(0),
            minute: Some(minute),
        },
    )
    .await
}

async fn page_users(link: &AxiLink) -> Result<Vec<PpUser>, End> {
    let mut out = Vec::new();
    let mut next = 0;
    loop {
        let frame = link
            .request(GetPPUser {
                uid: next,
                max_records: Some(20),
            })
            .await?;
        match frame.message {
            Message::GetPPUserResp(page) if frame.error.is_none() && !page.users.is_empty() => {
                next = page
                    .users
                    .iter()
                    .filter_map(|u| u.get(PpUser::UID))
                    .max()
                    .unwrap_or(next)
                    + 1;
                out.extend(page.users);
            }
            _ => return Ok(out),
        }
    }
}

async fn page_devices(link: &AxiLink) -> Result<Vec<PpDev>, End> {
    let mut out = Vec::new();
    let mut next = 0;
    loop {
        let frame = link
            .request(GetPPDev {
                ppn: next,
                max_records: Some(20),
            })
            .await?;
        match frame.message {
            Message::GetPPDevResp(page) if frame.error.is_none() && !page.devices.is_empty() => {
                next = page
                    .devices
                    .iter()
                    .filter_map(|d| d.get(PpDev::PPN))
                    .max()
                    .unwrap_or(next)
                    + 1;
                out.extend(page.devices);
            }
            _ => return Ok(out),
        }
    }
}

/// Imports and reconciles every user and device of this OMM (profile §4); returns how many
/// records were written on either side. Store lookups and writes go in batches (one
/// transaction for all the records of this OMM), so 500 OMMs import in seconds.
async fn reconcile(
    shared: &Arc<Shared>,
    omm: &Omm,
    link: &AxiLink,
    ids: &mut Ids,
) -> Result<u64, End> {
    let store = &shared.store.for_omm(omm.id);
    // An OMM's whole population is in memory while it is reconciled; after a MOM restart
    // with hundreds of OMMs, all of them at once would be a peak of hundreds of MB that the
    // allocator keeps. A bounded number at a time costs no time: the work is CPU-bound.
    let _slot = shared
        .reconcile_slots
        .acquire()
        .await
        .map_err(|_| End::Failed("svc-axi is stopping".into()))?;
    let (omm_users, omm_devices) = tokio::try_join!(page_users(link), page_devices(link))?;
    let tombstones: HashMap<(Entity, String), u64> = match store
        .call(StoreRequest::TombstonesSince(0))
        .await
        .map_err(End::Failed)?
    {
        ipc::api::store::StoreResponse::Tombstones(t) => t
            .into_iter()
            .map(|t| ((t.entity, t.key), t.deleted))
            .collect(),
        _ => HashMap::new(),
    };
    let mut written = 0;

    // Users, matched by number.
    let users: Vec<(u32, String, u64, &PpUser)> = omm_users
        .iter()
        .filter_map(|u| {
            Some((
                u.get(PpUser::UID)?,
                u.raw("num")?.to_owned(),
                u.get(PpUser::TIME_STAMP).unwrap_or(0),
                u,
            ))
        })
        .collect();
    let found = store
        .users_by_number(users.iter().map(|u| u.1.clone()).collect())
        .await
        .map_err(End::Failed)?;
    let mut writes: Vec<User> = Vec::new();
    let mut seen_users = std::collections::HashSet::new();
    for ((omm_uid, num, stamp, u), mine) in users.into_iter().zip(found) {
        match mine {
            None => {
                if tombstones
                    .get(&(Entity::User, num.clone()))
                    .is_some_and(|deleted| *deleted >= stamp)
                {
                    setting(link, DeletePPUser { uid: omm_uid }).await?;
                    written += 1;
                    continue;
                }
                let mut user = User {
                    home_omm: omm.id,
                    omm_uid,
                    ..User::default()
                };
                user_from_axi(&mut user, u);
                writes.push(user);
            }
            Some(mut mine) if mine.home_omm == omm.id || mine.home_omm == 0 => {
                ids.users.insert(mine.uid, omm_uid);
                seen_users.insert(mine.uid);
                if stamp > mine.timestamp {
                    user_from_axi(&mut mine, u);
                    mine.home_omm = omm.id;
                    mine.omm_uid = omm_uid;
                    writes.push(mine.clone());
                } else if mine.timestamp > stamp {
                    let mut rec = user_to_axi(&mine);
                    rec.set(PpUser::UID, omm_uid);
                    setting(link, SetPPUser { user: rec }).await?;
                    written += 1;
                } else if mine.omm_uid != omm_uid || mine.home_omm != omm.id {
                    mine.home_omm = omm.id;
                    mine.omm_uid = omm_uid;
                    writes.push(mine.clone());
                }
                ids.user_agreed.insert(mine.uid, user_print(&mine));
            }
            Some(other) if other.permanent => {
                // A permanent user's copy: it belongs here too.
                ids.users.insert(other.uid, omm_uid);
                ids.perm.insert(other.uid);
                seen_users.insert(other.uid);
                if other.timestamp > stamp {
                    let mut rec = user_to_axi(&other);
                    rec.set(PpUser::UID, omm_uid);
                    setting(link, SetPPUser { user: rec }).await?;
                    written += 1;
                }
                ids.user_agreed.insert(other.uid, user_print(&other));
            }
            Some(other) if other.timestamp >= stamp => {
                // The user lives elsewhere now (it roamed while this OMM was away): the copy
                // here is stale.
                setting(link, DeletePPUser { uid: omm_uid }).await?;
                written += 1;
            }
            Some(other) => {
                store.log(model::Severity::Warning, format!("number {num} is on OMM {} and on OMM {}; the copy on OMM {} is left alone", other.home_omm, omm.id, omm.id)).await;
            }
        }
    }
    let labels: Vec<(u32, u64, String)> = writes
        .iter()
        .map(|u| (u.omm_uid, user_print(u), format!("user {}", u.num)))
        .collect();
    let results = store.put_users(writes).await.map_err(End::Failed)?;
    written += record_imports(
        store,
        omm,
        results,
        labels,
        (&mut ids.users, &mut ids.user_agreed),
        &mut seen_users,
    )
    .await;
    // Users made at the MOM while the OMM was away.
    for mine in store.users_at(omm.id).await.map_err(End::Failed)? {
        if seen_users.contains(&mine.uid) {
            continue;
        }
        let frame = link
            .request(CreatePPUser {
                user: user_to_axi(&mine),
            })
            .await?;
        if let Message::CreatePPUserResp(CreatePPUserResp {
            user: Some(created),
        }) = &frame.message
        {
            if let Some(omm_uid) = created.get(PpUser::UID) {
                ids.users.insert(mine.uid, omm_uid);
                ids.user_agreed.insert(mine.uid, user_print(&mine));
                let mut updated = mine.clone();
                updated.omm_uid = omm_uid;
                store.put_user(updated).await.map_err(End::Failed)?;
                written += 1;
            }
        } else if let Some(why) = refused(&frame) {
            store
                .log(
                    model::Severity::Warning,
                    format!("OMM {} refused user {}: {why}", omm.id, mine.num),
                )
                .await;
        }
    }

    // Permanent users of other OMMs that this OMM does not have yet.
    let permanent = store.permanent_users().await.map_err(End::Failed)?;
    for user in &permanent {
        if user.home_omm == omm.id || ids.users.contains_key(&user.uid) {
            continue;
        }
        let frame = link
            .request(CreatePPUser {
                user: user_to_axi(user),
            })
            .await?;
        if let Message::CreatePPUserResp(CreatePPUserResp {
            user: Some(created),
        }) = &frame.message
        {
            if let Some(omm_uid) = created.get(PpUser::UID) {
                ids.users.insert(user.uid, omm_uid);
                ids.perm.insert(user.uid);
                ids.user_agreed.insert(user.uid, user_print(user));
                written += 1;
            }
        }
    }

    // Devices, matched by IPEI.
    let devices: Vec<(u32, model::Ipei, u64, &PpDev)> = omm_devices
        .iter()
        .filter_map(|d| {
            Some((
                d.get(PpDev::PPN)?,
                d.get(PpDev::IPEI)?,
                d.get(PpDev::TIME_STAMP).unwrap_or(0),
                d,
            ))
        })
        .collect();
    let found = store
        .devices_by_ipei(devices.iter().map(|d| d.1).collect())
        .await
        .map_err(End::Failed)?;
    let permanent_uids: std::collections::HashSet<u32> = permanent.iter().map(|u| u.uid).collect();
    let mut writes: Vec<Device> = Vec::new();
    let mut seen_devices = std::collections::HashSet::new();
    for ((omm_ppn, ipei, stamp, d), mine) in devices.into_iter().zip(found) {
        match mine {
            None => {
                if tombstones
                    .get(&(Entity::Device, ipei.to_string()))
                    .is_some_and(|deleted| *deleted >= stamp)
                {
                    setting(link, DeletePPDev { ppn: omm_ppn }).await?;
                    written += 1;
                    continue;
                }
                let mut device = Device {
                    location: omm.id,
                    omm_ppn,
                    ..Device::new(ipei)
                };
                device_from_axi(&mut device, d);
                writes.push(device);
            }
            Some(mut mine) if mine.location == omm.id || mine.location == 0 => {
                ids.devices.insert(mine.ppn, omm_ppn);
                seen_devices.insert(mine.ppn);
                if stamp > mine.timestamp {
                    device_from_axi(&mut mine, d);
                    mine.location = omm.id;
                    mine.omm_ppn = omm_ppn;
                    writes.push(mine.clone());
                } else if mine.timestamp > stamp {
                    let mut rec = device_to_axi(&mine);
                    rec.set(PpDev::PPN, omm_ppn);
                    rec.remove(PpDev::IPEI);
                    setting(link, SetPPDev { pp: rec }).await?;
                    written += 1;
                } else if mine.omm_ppn != omm_ppn || mine.location != omm.id {
                    mine.location = omm.id;
                    mine.omm_ppn = omm_ppn;
                    writes.push(mine.clone());
                }
                ids.device_agreed.insert(mine.ppn, device_print(&mine));
            }
            Some(other) if permanent_uids.contains(&other.uid) => {
                // A permanent user's handset located elsewhere: every OMM holds a copy.
                ids.devices.insert(other.ppn, omm_ppn);
                ids.perm_devices.insert(other.ppn);
                if other.timestamp > stamp {
                    let mut rec = device_to_axi(&other);
                    rec.set(PpDev::PPN, omm_ppn);
                    rec.remove(PpDev::IPEI);
                    setting(link, SetPPDev { pp: rec }).await?;
                    written += 1;
                }
                ids.device_agreed.insert(other.ppn, device_print(&other));
            }
            Some(other) if other.timestamp >= stamp => {
                setting(link, DeletePPDev { ppn: omm_ppn }).await?;
                written += 1;
            }
            Some(other) => {
                store
                    .log(
                        model::Severity::Warning,
                        format!(
                            "handset {ipei} is on OMM {} and on OMM {}",
                            other.location, omm.id
                        ),
                    )
                    .await;
            }
        }
    }
    let labels: Vec<(u32, u64, String)> = writes
        .iter()
        .map(|d| (d.omm_ppn, device_print(d), format!("handset {}", d.ipei)))
        .collect();
    let results = store.put_devices(writes).await.map_err(End::Failed)?;
    written += record_imports(
        store,
        omm,
        results,
        labels,
        (&mut ids.devices, &mut ids.device_agreed),
        &mut seen_devices,
    )
    .await;
    for mine in store.devices_at(omm.id).await.map_err(End::Failed)? {
        if seen_devices.contains(&mine.ppn) {
            continue;
        }
        let frame = link
            .request(CreatePPDev {
                pp: device_to_axi(&mine),
            })
            .await?;
        if let Message::CreatePPDevResp(CreatePPDevResp { pp: Some(created) }) = &frame.message {
            if let Some(omm_ppn) = created.get(PpDev::PPN) {
                ids.devices.insert(mine.ppn, omm_ppn);
                ids.device_agreed.insert(mine.ppn, device_print(&mine));
                let mut updated = mine.clone();
                updated.omm_ppn = omm_ppn;
                store.put_device(updated).await.map_err(End::Failed)?;
                written += 1;
            }
        }
    }
    written += reconcile_relations(shared, omm, link, ids, &omm_users).await?;
    // Permanent users' handsets located elsewhere that this OMM does not hold yet, bound.
    for user in permanent.iter().filter(|u| u.ppn != 0) {
        if !ids.devices.contains_key(&user.ppn) {
            if let Some(device) = store.device(user.ppn).await.map_err(End::Failed)? {
                if device.location != omm.id && create_device_copy(link, ids, &device).await? {
                    written += 1;
                }
            }
        }
        sync_binding(link, ids, Binding::of_user(user)).await?;
    }
    written += reconcile_rooms(shared, omm, link, ids).await?;
    Ok(written)
}

/// Records a batch write of records imported from `omm`: each written one is mapped to its
/// OMM id (`labels`: OMM id, fingerprint, name for the log, in write order), agreed and seen;
/// each refused one is an event-log warning. Returns how many were written.
async fn record_imports(
    store: &Store,
    omm: &Omm,
    results: Vec<Result<u32, ipc::api::store::StoreError>>,
    labels: Vec<(u32, u64, String)>,
    (to_omm, agreed): (&mut HashMap<u32, u32>, &mut HashMap<u32, u64>),
    seen: &mut std::collections::HashSet<u32>,
) -> u64 {
    let mut written = 0;
    for (result, (omm_id, print, label)) in results.into_iter().zip(labels) {
        match result {
            Ok(id) => {
                to_omm.insert(id, omm_id);
                agreed.insert(id, print);
                seen.insert(id);
                written += 1;
            }
            Err(e) => {
                store
                    .log(
                        model::Severity::Warning,
                        format!("{label} of OMM {} not imported: {e}", omm.id),
                    )
                    .await
            }
        }
    }
    written
}

/// The `<room>` for a MOM conference room, its SIP password encrypted for the OMM.
fn room_to_axi(
    room: &model::ConferenceRoom,
    omm_key: Option<&rsa::RsaPublicKey>,
) -> Result<axi::Room, End> {
    let mut r = axi::Room::default();
    r.set(axi::Room::NAME, room.name.clone())
        .set(axi::Room::CONFERENCE_ID, room.number.clone())
        .set(axi::Room::SIP_AUTH_ID, room.sip_user.clone())
        .set(axi::Room::FIXED_SIP_PORT, room.fixed_port);
    if !room.sip_password.is_empty() {
        let key =
            omm_key.ok_or_else(|| End::Failed("the OMM sent no public key for secrets".into()))?;
        let cipher = axi::secret::encrypt(key, &room.sip_password)
            .map_err(|e| End::Failed(format!("room {}: {e}", room.number)))?;
        r.set(axi::Room::SIP_PW, cipher);
    }
    Ok(r)
}

async fn page_rooms(link: &AxiLink) -> Result<Vec<axi::Room>, End> {
    let mut out = Vec::new();
    let mut next = 0;
    loop {
        let frame = link
            .request(GetConferenceRoom {
                id: next,
                max_records: Some(20),
            })
            .await?;
        match frame.message {
            Message::GetConferenceRoomResp(page)
                if frame.error.is_none() && !page.rooms.is_empty() =>
            {
                next = page
                    .rooms
                    .iter()
                    .filter_map(|r| r.get(axi::Room::ID))
                    .max()
                    .unwrap_or(next)
                    + 1;
                out.extend(page.rooms);
            }
            _ => return Ok(out),
        }
    }
}

/// Conference rooms live on the OMM their OMM id names (profile §6): the MOM's rooms for
/// this OMM are created there, rooms only the OMM has are imported, rooms the MOM keeps
/// elsewhere are removed here.
async fn reconcile_rooms(
    shared: &Arc<Shared>,
    omm: &Omm,
    link: &AxiLink,
    ids: &mut Ids,
) -> Result<u64, End> {
    let store = &shared.store.for_omm(omm.id);
    let omm_rooms = page_rooms(link).await?;
    let mine = store.rooms().await.map_err(End::Failed)?;
    let mut written = 0;
    for r in &omm_rooms {
        let (Some(omm_id), Some(number)) = (r.get(axi::Room::ID), r.raw("conferenceId")) else {
            continue;
        };
        match mine.iter().find(|m| m.number == number) {
            Some(m) if m.omm_id == omm.id => {
                ids.rooms.insert(m.id, omm_id);
            }
            Some(_) => {
                setting(link, DeleteConferenceRoom { id: omm_id }).await?;
                written += 1;
            }
            None => {
                let sip_password = r
                    .raw("sipPw")
                    .and_then(|c| axi::secret::decrypt(&shared.mom_key, c).ok())
                    .unwrap_or_default();
                let room = model::ConferenceRoom {
                    name: r.raw("name").unwrap_or("").to_owned(),
                    number: number.to_owned(),
                    omm_id: omm.id,
                    sip_user: r.raw("sipAuthId").unwrap_or("").to_owned(),
                    sip_password,
                    fixed_port: r.get(axi::Room::FIXED_SIP_PORT).unwrap_or(0),
                    ..model::ConferenceRoom::default()
                };
                if let Ok(ipc::api::store::StoreResponse::Created(id)) =
                    store.call(StoreRequest::PutConferenceRoom(room)).await
                {
                    ids.rooms.insert(id, omm_id);
                    written += 1;
                }
            }
        }
    }
    let missing: Vec<&model::ConferenceRoom> = mine
        .iter()
        .filter(|m| m.omm_id == omm.id && !ids.rooms.contains_key(&m.id))
        .collect();
    for m in missing {
        written += u64::from(push_room(link, ids, m).await?);
    }
    Ok(written)
}

/// Creates or updates a MOM room on this OMM; true when something was written.
async fn push_room(
    link: &AxiLink,
    ids: &mut Ids,
    room: &model::ConferenceRoom,
) -> Result<bool, End> {
    let mut rec = room_to_axi(room, ids.omm_key.as_ref())?;
    match ids.rooms.get(&room.id) {
        Some(&omm_id) => {
            rec.set(axi::Room::ID, omm_id);
            setting(link, SetConferenceRoom { room: rec }).await?;
            Ok(true)
        }
        None => {
            let frame = link.request(CreateConferenceRoom { room: rec }).await?;
            match frame.message {
                Message::CreateConferenceRoomResp(CreateConferenceRoomResp {
                    room: Some(created),
                }) => {
                    if let Some(omm_id) = created.get(axi::Room::ID) {
                        ids.rooms.insert(room.id, omm_id);
                    }
                    Ok(true)
                }
                _ => Err(End::Failed(format!(
                    "the OMM refused conference room {}: {}",
                    room.number,
                    refused(&frame).unwrap_or_default()
                ))),
            }
        }
    }
}

/// A user's binding as an OMM record states it.
#[derive(Debug, Clone, Copy)]
struct OmmRelation {
    /// The OMM's id of the handset, 0 when unbound.
    ppn: u32,
    rel: model::RelType,
    stamp: u64,
}

impl OmmRelation {
    fn of(u: &PpUser) -> Self {
        Self {
            ppn: u.get(PpUser::PPN).unwrap_or(0),
            rel: u.get(PpUser::REL_TYPE).unwrap_or_default(),
            stamp: u.get(PpUser::TIME_STAMP_RELATION).unwrap_or(0),
        }
    }
}

/// How a binding the MOM and an OMM disagree on is settled.
enum Settle {
    /// They agree.
    Agreed,
    /// The OMM's is newer: unbind the MOM's user first if it is bound, then bind it to the
    /// MOM's handset `(ppn, relation, stamp)` if the OMM has one the MOM knows.
    TakeOmm {
        unbind: bool,
        bind: Option<(u32, model::RelType, u64)>,
    },
    /// The MOM's is newer: the OMM gets it.
    PushMom,
}

/// The relation is an aspect of its own: its stamps decide, not the records'. On a tie the
/// MOM's binding wins, but an unbound MOM record does not undo the OMM's binding (an imported
/// record is unbound until its binding is taken over).
fn settle_relation(mine: &User, theirs: OmmRelation, ids: &Ids) -> Settle {
    // The OMM's partner as the MOM knows it.
    let partner = if theirs.ppn == 0 {
        None
    } else {
        ids.mom_device(theirs.ppn)
    };
    let agreed = (mine.ppn == 0 && theirs.ppn == 0)
        || (mine.ppn != 0 && partner == Some(mine.ppn) && theirs.rel == mine.rel_type);
    if agreed {
        return Settle::Agreed;
    }
    let omm_newer = theirs.stamp > mine.timestamp_relation
        || (theirs.stamp == mine.timestamp_relation && mine.ppn == 0);
    if !omm_newer {
        return Settle::PushMom;
    }
    match partner {
        Some(ppn) => Settle::TakeOmm {
            unbind: mine.ppn != 0,
            bind: Some((ppn, theirs.rel, theirs.stamp)),
        },
        None if theirs.ppn == 0 => Settle::TakeOmm {
            unbind: true,
            bind: None,
        },
        // Bound there to a handset the MOM does not know: nothing to take over.
        None => Settle::Agreed,
    }
}

/// Gives the OMM the MOM's binding of `mine` (or unbinds its user `omm_uid` from its handset
/// `omm_ppn`); returns whether anything was written.
async fn push_relation(
    link: &AxiLink,
    ids: &mut Ids,
    mine: &User,
    omm_uid: u32,
    omm_ppn: u32,
) -> Result<bool, End> {
    if mine.ppn == 0 {
        if omm_ppn == 0 {
            return Ok(false);
        }
        set_binding_on_omm(
            link,
            omm_uid,
            omm_ppn,
            model::RelType::Unbound,
            mine.timestamp_relation,
        )
        .await?;
        ids.binding.remove(&mine.uid);
        return Ok(true);
    }
    let Some(&target) = ids.devices.get(&mine.ppn) else {
        return Ok(false);
    };
    set_binding_on_omm(
        link,
        omm_uid,
        target,
        mine.rel_type,
        mine.timestamp_relation,
    )
    .await?;
    ids.binding.insert(mine.uid, (mine.ppn, mine.rel_type));
    Ok(true)
}

/// A binding an OMM reported in an event: taken over when newer, answered with the MOM's
/// when older (in one store transaction each, made as this OMM's link).
async fn take_relation(
    store: &crate::store::Store,
    link: &AxiLink,
    ids: &mut Ids,
    mine: &User,
    omm_uid: u32,
    theirs: OmmRelation,
) -> Result<(), End> {
    match settle_relation(mine, theirs, ids) {
        Settle::Agreed => {}
        Settle::PushMom => {
            push_relation(link, ids, mine, omm_uid, theirs.ppn).await?;
        }
        Settle::TakeOmm { unbind, bind } => {
            if unbind {
                store
                    .call(StoreRequest::Unbind(mine.uid))
                    .await
                    .map_err(End::Failed)?;
                ids.binding.remove(&mine.uid);
            }
            if let Some((ppn, rel, stamp)) = bind {
                store
                    .call(StoreRequest::BindMany(vec![(mine.uid, ppn, rel, stamp)]))
                    .await
                    .map_err(End::Failed)?;
                ids.binding.insert(mine.uid, (ppn, rel));
            }
        }
    }
    Ok(())
}

/// Bindings: the OMM's bindings are taken where the MOM has none (in one store transaction);
/// the MOM's are pushed where the OMM has none.
async fn reconcile_relations(
    shared: &Arc<Shared>,
    omm: &Omm,
    link: &AxiLink,
    ids: &mut Ids,
    omm_users: &[PpUser],
) -> Result<u64, End> {
    let store = &shared.store.for_omm(omm.id);
    let keyed: Vec<(&PpUser, String)> = omm_users
        .iter()
        .filter_map(|u| Some((u, u.raw("num")?.to_owned())))
        .collect();
    let mine = store
        .users_by_number(keyed.iter().map(|(_, n)| n.clone()).collect())
        .await
        .map_err(End::Failed)?;
    let mut binds = Vec::new();
    let mut unbinds = Vec::new();
    let mut written = 0;
    for ((u, _), user) in keyed.into_iter().zip(mine) {
        let (Some(user), Some(omm_uid)) = (user, u.get(PpUser::UID)) else {
            continue;
        };
        if ids.users.get(&user.uid) != Some(&omm_uid) {
            continue;
        }
        let theirs = OmmRelation::of(u);
        match settle_relation(&user, theirs, ids) {
            Settle::Agreed => {
                if user.ppn != 0 {
                    ids.binding.insert(user.uid, (user.ppn, user.rel_type));
                }
            }
            Settle::TakeOmm { unbind, bind } => {
                if unbind {
                    unbinds.push(user.uid);
                }
                if let Some((mom_ppn, rel, stamp)) = bind {
                    binds.push((user.uid, mom_ppn, rel, stamp));
                }
            }
            Settle::PushMom => {
                if push_relation(link, ids, &user, omm_uid, theirs.ppn).await? {
                    written += 1;
                }
            }
        }
    }
    for uid in unbinds {
        match store.call(StoreRequest::Unbind(uid)).await {
            Ok(_) => {
                ids.binding.remove(&uid);
                written += 1;
            }
            Err(e) => tracing::warn!(omm = omm.id, uid, error = %e, "taking over an unbind failed"),
        }
    }
    if !binds.is_empty() {
        let asked = binds.clone();
        if let ipc::api::store::StoreResponse::CreatedMany(results) = store
            .call(StoreRequest::BindMany(binds))
            .await
            .map_err(End::Failed)?
        {
            for ((uid, ppn, rel, _), result) in asked.into_iter().zip(results) {
                if result.is_ok() {
                    ids.binding.insert(uid, (ppn, rel));
                    written += 1;
                }
            }
        }
    }
    Ok(written)
}

/// Binds OMM user `omm_uid` and handset `omm_ppn` on the OMM with `rel` (`SetPP` with
/// crossed ids), or unbinds them when `rel` is `Unbound` (`0` and `Unbound` on both sides).
async fn set_binding_on_omm(
    link: &AxiLink,
    omm_uid: u32,
    omm_ppn: u32,
    rel: model::RelType,
    stamp: u64,
) -> Result<(), End> {
    let bound = rel != model::RelType::Unbound;
    let mut u = PpUser::default();
    u.set(PpUser::UID, omm_uid)
        .set(PpUser::PPN, if bound { omm_ppn } else { 0 })
        .set(PpUser::REL_TYPE, rel)
        .set(PpUser::TIME_STAMP, stamp)
        .set(PpUser::TIME_STAMP_RELATION, stamp);
    let mut d = PpDev::default();
    d.set(PpDev::PPN, omm_ppn)
        .set(PpDev::UID, if bound { omm_uid } else { 0 })
        .set(PpDev::REL_TYPE, rel)
        .set(PpDev::TIME_STAMP, stamp)
        .set(PpDev::TIME_STAMP_RELATION, stamp);
    setting(
        link,
        SetPP {
            user: Some(u),
            pp: Some(d),
        },
    )
    .await
}

/// An event from the OMM: its own changes go to the store (newer timestamp wins).
async fn handle_event(
    shared: &Arc<Shared>,
    omm: &Omm,
    link: &AxiLink,
    ids: &mut Ids,
    frame: Frame,
) -> Result<(), End> {
    let store = &shared.store.for_omm(omm.id);
    match frame.message {
        Message::EventPPUserCnf(EventPPUserCnf { user: Some(u) }) => {
            let Some(omm_uid) = u.get(PpUser::UID) else {
                return Ok(());
            };
            let mom_uid = ids.mom_user(omm_uid);
            if u.get(PpUser::DELETED) == Some(true) {
                if let Some(uid) = mom_uid {
                    ids.users.remove(&uid);
                    let _ = store.call(StoreRequest::DeleteUser(uid)).await;
                    store.count("axi.records_synced", 1).await;
                }
                return Ok(());
            }
            let stamp = u.get(PpUser::TIME_STAMP).unwrap_or(0);
            // The binding is judged on its own (and only when the event states it).
            let relation = u.raw("relType").map(|_| OmmRelation::of(&u));
            let existing = match mom_uid {
                Some(uid) => store.user(uid).await.map_err(End::Failed)?,
                None => match u.raw("num") {
                    Some(num) => store.user_by_number(num).await.map_err(End::Failed)?,
                    None => None,
                },
            };
            let mut user = existing.unwrap_or_else(|| User {
                home_omm: omm.id,
                omm_uid,
                ..User::default()
            });
            if user.uid != 0 && user.timestamp > stamp {
                if let Some(theirs) = relation {
                    take_relation(store, link, ids, &user, omm_uid, theirs).await?;
                }
                return Ok(());
            }
            // The store keeps a record's relation and its stamp when it writes the record; a
            // new one starts unbound. That is the MOM's side of the relation below.
            let kept = (user.ppn, user.rel_type, user.timestamp_relation);
            let known = user.uid != 0;
            let u = if known {
                merged(user_to_axi(&user), &u)
            } else {
                u
            };
            user_from_axi(&mut user, &u);
            if !ids.perm.contains(&user.uid) {
                // A permanent user's copy edited here keeps its home.
                user.home_omm = omm.id;
                user.omm_uid = omm_uid;
            }
            let print = user_print(&user);
            let mut mine = relation.map(|_| user.clone());
            let uid = store.put_user(user).await.map_err(End::Failed)?;
            ids.users.insert(uid, omm_uid);
            ids.user_agreed.insert(uid, print);
            store.count("axi.records_synced", 1).await;
            if let (Some(theirs), Some(mine)) = (relation, mine.as_mut()) {
                mine.uid = uid;
                if known {
                    (mine.ppn, mine.rel_type, mine.timestamp_relation) = kept;
                } else {
                    (mine.ppn, mine.rel_type) = (0, model::RelType::Unbound);
                }
                take_relation(store, link, ids, mine, omm_uid, theirs).await?;
            }
        }
        Message::EventPPDevCnf(EventPPDevCnf { pp: Some(d) }) => {
            let Some(omm_ppn) = d.get(PpDev::PPN) else {
                return Ok(());
            };
            let mom_ppn = ids.mom_device(omm_ppn);
            if d.get(PpDev::DELETED) == Some(true) {
                if let Some(ppn) = mom_ppn {
                    ids.devices.remove(&ppn);
                    let _ = store.call(StoreRequest::DeleteDevice(ppn)).await;
                    store.count("axi.records_synced", 1).await;
                }
                return Ok(());
            }
            let stamp = d.get(PpDev::TIME_STAMP).unwrap_or(0);
            let existing = match (mom_ppn, d.get(PpDev::IPEI)) {
                (Some(ppn), _) => store.device(ppn).await.map_err(End::Failed)?,
                (None, Some(ipei)) => store.device_by_ipei(ipei).await.map_err(End::Failed)?,
                (None, None) => None,
            };
            let Some(ipei) = existing
                .as_ref()
                .map(|e| e.ipei)
                .or_else(|| d.get(PpDev::IPEI))
            else {
                return Ok(());
            };
            let mut device = existing.unwrap_or_else(|| Device {
                location: omm.id,
                omm_ppn,
                ..Device::new(ipei)
            });
            if device.ppn != 0 && device.timestamp > stamp {
                return Ok(());
            }
            let d = if device.ppn == 0 {
                d
            } else {
                merged(device_to_axi(&device), &d)
            };
            device_from_axi(&mut device, &d);
            if !ids.perm_devices.contains(&device.ppn) {
                // A permanent user's handset edited here keeps its location.
                device.location = omm.id;
                device.omm_ppn = omm_ppn;
            }
            let print = device_print(&device);
            let ppn = store.put_device(device).await.map_err(End::Failed)?;
            ids.devices.insert(ppn, omm_ppn);
            ids.device_agreed.insert(ppn, print);
            store.count("axi.records_synced", 1).await;
        }
        Message::EventDECTLocate(e) => roam(shared, omm, link, ids, e).await?,
        Message::EventApplicationDataChannel(e) => {
            // No subscriber is not an error: the data has nowhere to go.
            let _ = shared.data.send(crate::api::DataEvent {
                omm: omm.id,
                channel: e.channel,
                data: e.data,
            });
        }
        Message::EventMessageSend(EventMessageSend { msg: Some(msg), .. }) => {
            route_message(shared, omm, msg).await
        }
        Message::EventDECTSubscribe(e) => {
            let settings = store.settings().await.map_err(End::Failed)?;
            if settings.auto_create {
                let device = Device {
                    location: omm.id,
                    auto_create: true,
                    ..Device::new(e.ipei)
                };
                match store.put_device(device).await {
                    Ok(ppn) => {
                        let mut pp = PpDev::default();
                        pp.set(PpDev::IPEI, e.ipei)
                            .set(PpDev::REL_TYPE, model::RelType::Unbound)
                            .set(PpDev::AUTO_CREATE, true);
                        let frame = link.request(CreatePPDev { pp }).await?;
                        if let Message::CreatePPDevResp(CreatePPDevResp { pp: Some(created) }) =
                            &frame.message
                        {
                            if let Some(omm_ppn) = created.get(PpDev::PPN) {
                                // The OMM completed the subscription: its record (s="Yes") is
                                // the truth, written back before the store's echo comes by.
                                if let Some(mut device) =
                                    store.device(ppn).await.map_err(End::Failed)?
                                {
                                    device_from_axi(&mut device, created);
                                    device.omm_ppn = omm_ppn;
                                    ids.devices.insert(ppn, omm_ppn);
                                    ids.device_agreed.insert(ppn, device_print(&device));
                                    store.put_device(device).await.map_err(End::Failed)?;
                                }
                            }
                        }
                    }
                    Err(why) => {
                        store
                            .log(
                                model::Severity::Warning,
                                format!("auto-create of {} failed: {why}", e.ipei),
                            )
                            .await
                    }
                }
            } else {
                setting(link, DECTSubscribeReject { ipei: e.ipei }).await?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// A change in the store: records whose home is this OMM go there (newer than what the OMM
/// has); settings go to every OMM.
async fn handle_change(
    shared: &Arc<Shared>,
    omm: &Omm,
    link: &AxiLink,
    ids: &mut Ids,
    change: Change,
) -> Result<(), End> {
    let store = &shared.store.for_omm(omm.id);

    match (change.entity, change.op) {
        (Entity::Settings, _) => {
            let settings = store.settings().await.map_err(End::Failed)?;
            if !settings.sari.is_empty() {
                let current = match link.request(GetSARI {}).await?.message {
                    Message::GetSARIResp(GetSARIResp { sari }) => sari.map(|s| s.0),
                    _ => None,
                };
                if current.as_deref() != Some(settings.sari.to_ascii_uppercase().as_str()) {
                    setting(
                        link,
                        SetSARI {
                            sari: Hex10(settings.sari.to_ascii_uppercase()),
                        },
                    )
                    .await?;
                    store
                        .log(
                            model::Severity::Info,
                            format!("SARI set on OMM {} ({}); it restarts", omm.id, omm.name),
                        )
                        .await;
                    return Err(End::SariRestart);
                }
            }
            push_settings(link, &settings, omm).await?;
        }
        (Entity::ConferenceRoom, ChangeOp::Delete) => {
            if let Some(omm_id) = ids.rooms.remove(&change.id) {
                setting(link, DeleteConferenceRoom { id: omm_id }).await?;
            }
        }
        (Entity::ConferenceRoom, ChangeOp::Put) => {
            let room = store
                .rooms()
                .await
                .map_err(End::Failed)?
                .into_iter()
                .find(|r| r.id == change.id);
            match room {
                Some(room) if room.omm_id == omm.id => {
                    push_room(link, ids, &room).await?;
                }
                // Moved to another OMM, or kept at the MOM only (OMM id 0): it goes from here.
                _ => {
                    if let Some(omm_id) = ids.rooms.remove(&change.id) {
                        setting(link, DeleteConferenceRoom { id: omm_id }).await?;
                    }
                }
            }
        }
        (Entity::User, ChangeOp::Delete) => {
            if let Some(omm_uid) = ids.users.remove(&change.id) {
                setting(link, DeletePPUser { uid: omm_uid }).await?;
            }
        }
        (Entity::User, ChangeOp::Put) => {
            let Some(user) = store.user(change.id).await.map_err(End::Failed)? else {
                return Ok(());
            };
            if user.home_omm != omm.id && !user.permanent {
                ids.perm.remove(&user.uid);
                // It moved to another OMM (roaming), or is no longer permanent: the copy here
                // goes (after the new one exists), with its handset's copy.
                if let Some(omm_uid) = ids.users.remove(&user.uid) {
                    setting(link, DeletePPUser { uid: omm_uid }).await?;
                }
                if ids.perm_devices.remove(&user.ppn) {
                    if let Some(omm_ppn) = ids.devices.remove(&user.ppn) {
                        setting(link, DeletePPDev { ppn: omm_ppn }).await?;
                    }
                }
                return Ok(());
            }
            if user.home_omm != omm.id {
                ids.perm.insert(user.uid);
            }
            if user.permanent && user.ppn != 0 && !ids.devices.contains_key(&user.ppn) {
                // Newly permanent: its handset goes here too (bound by `sync_binding` below).
                if let Some(device) = store.device(user.ppn).await.map_err(End::Failed)? {
                    if device.location != omm.id {
                        create_device_copy(link, ids, &device).await?;
                    }
                }
            }
            let unchanged = ids.users.contains_key(&user.uid)
                && ids.user_agreed.get(&user.uid) == Some(&user_print(&user));
            if unchanged {
                return sync_binding(link, ids, Binding::of_user(&user)).await;
            }
            let mut rec = user_to_axi(&user);
            match ids.users.get(&user.uid) {
                Some(&omm_uid) => {
                    rec.set(PpUser::UID, omm_uid);
                    setting(link, SetPPUser { user: rec }).await?;
                }
                None => {
                    let frame = link.request(CreatePPUser { user: rec }).await?;
                    let Message::CreatePPUserResp(CreatePPUserResp {
                        user: Some(created),
                    }) = &frame.message
                    else {
                        store
                            .log(
                                model::Severity::Warning,
                                format!(
                                    "OMM {} refused user {}: {}",
                                    omm.id,
                                    user.num,
                                    refused(&frame).unwrap_or_default()
                                ),
                            )
                            .await;
                        return Ok(());
                    };
                    let omm_uid = created.get(PpUser::UID).unwrap_or(0);
                    ids.users.insert(user.uid, omm_uid);
                    ids.user_agreed.insert(user.uid, user_print(&user));
                    if user.home_omm == omm.id {
                        let mut updated = user.clone();
                        updated.omm_uid = omm_uid;
                        store.put_user(updated).await.map_err(End::Failed)?;
                    }
                }
            }
            ids.user_agreed.insert(user.uid, user_print(&user));
            sync_binding(link, ids, Binding::of_user(&user)).await?;
        }
        (Entity::Device, ChangeOp::Delete) => {
            if let Some(omm_ppn) = ids.devices.remove(&change.id) {
                setting(link, DeletePPDev { ppn: omm_ppn }).await?;
            }
        }
        (Entity::Device, ChangeOp::Put) => {
            let Some(device) = store.device(change.id).await.map_err(End::Failed)? else {
                return Ok(());
            };
            if device.location == omm.id {
                ids.perm_devices.remove(&device.ppn);
            } else {
                let permanent = device.uid != 0
                    && store
                        .user(device.uid)
                        .await
                        .map_err(End::Failed)?
                        .is_some_and(|u| u.permanent);
                if !permanent {
                    // It roamed away (or is no longer a permanent user's): the copy goes.
                    ids.perm_devices.remove(&device.ppn);
                    if let Some(omm_ppn) = ids.devices.remove(&device.ppn) {
                        setting(link, DeletePPDev { ppn: omm_ppn }).await?;
                    }
                    return Ok(());
                }
                ids.perm_devices.insert(device.ppn);
            }
            let unchanged = ids.devices.contains_key(&device.ppn)
                && ids.device_agreed.get(&device.ppn) == Some(&device_print(&device));
            if unchanged {
                return sync_binding(link, ids, Binding::of_device(&device)).await;
            }
            let mut rec = device_to_axi(&device);
            match ids.devices.get(&device.ppn) {
                Some(&omm_ppn) => {
                    rec.set(PpDev::PPN, omm_ppn);
                    rec.remove(PpDev::IPEI);
                    setting(link, SetPPDev { pp: rec }).await?;
                }
                None => {
                    let frame = link.request(CreatePPDev { pp: rec }).await?;
                    let Message::CreatePPDevResp(CreatePPDevResp { pp: Some(created) }) =
                        &frame.message
                    else {
                        return Ok(());
                    };
                    let omm_ppn = created.get(PpDev::PPN).unwrap_or(0);
                    ids.devices.insert(device.ppn, omm_ppn);
                    ids.device_agreed.insert(device.ppn, device_print(&device));
                    if device.location == omm.id {
                        // The OMM's id for it, kept where the handset is located.
                        let mut updated = device.clone();
                        updated.omm_ppn = omm_ppn;
                        store.put_device(updated).await.map_err(End::Failed)?;
                    }
                }
            }
            ids.device_agreed.insert(device.ppn, device_print(&device));
            sync_binding(link, ids, Binding::of_device(&device)).await?;
        }
        _ => {}
    }
    Ok(())
}

/// Creates a copy of `device` (a permanent user's handset located at another OMM) on this
/// OMM; returns whether the OMM took it.
async fn create_device_copy(link: &AxiLink, ids: &mut Ids, device: &Device) -> Result<bool, End> {
    let frame = link
        .request(CreatePPDev {
            pp: device_to_axi(device),
        })
        .await?;
    if let Message::CreatePPDevResp(CreatePPDevResp { pp: Some(created) }) = &frame.message {
        if let Some(omm_ppn) = created.get(PpDev::PPN) {
            ids.devices.insert(device.ppn, omm_ppn);
            ids.device_agreed.insert(device.ppn, device_print(device));
            ids.perm_devices.insert(device.ppn);
            return Ok(true);
        }
    }
    Ok(false)
}

/// The MOM's binding of a user and a device, as both records carry it.
#[derive(Debug, Clone, Copy)]
struct Binding {
    uid: u32,
    ppn: u32,
    rel: model::RelType,
    stamp: u64,
}

impl Binding {
    fn of_user(user: &User) -> Self {
        Self {
            uid: user.uid,
            ppn: user.ppn,
            rel: user.rel_type,
            stamp: user.timestamp_relation,
        }
    }

    fn of_device(device: &Device) -> Self {
        Self {
            uid: device.uid,
            ppn: device.ppn,
            rel: device.rel_type,
            stamp: device.timestamp_relation,
        }
    }
}

/// Makes the OMM's binding of the user agree with the MOM's: a bind (`SetPP`), a relation
/// type change (`SetPPUserDevRelation`) or an unbind (`SetPP` with `0`/`Unbound`), when the
/// records are there and the OMM does not have it yet.
async fn sync_binding(link: &AxiLink, ids: &mut Ids, binding: Binding) -> Result<(), End> {
    let Binding {
        uid,
        ppn,
        rel,
        stamp,
    } = binding;
    if uid == 0 {
        return Ok(());
    }
    let known = ids.binding.get(&uid).copied();
    let Some(&omm_uid) = ids.users.get(&uid) else {
        return Ok(());
    };
    if ppn == 0 {
        // Unbound at the MOM: the OMM drops the binding it has.
        if let Some((old, _)) = known {
            if let Some(&omm_ppn) = ids.devices.get(&old) {
                set_binding_on_omm(link, omm_uid, omm_ppn, model::RelType::Unbound, stamp).await?;
            }
            ids.binding.remove(&uid);
        }
        return Ok(());
    }
    if known == Some((ppn, rel)) {
        return Ok(());
    }
    let Some(&omm_ppn) = ids.devices.get(&ppn) else {
        return Ok(());
    };
    if known.is_some_and(|(old, _)| old == ppn) {
        // Only the relation type changed (Dynamic ↔ Fixed).
        setting(
            link,
            SetPPUserDevRelation {
                uid: omm_uid,
                rel_type: rel,
                time_stamp: Some(stamp),
            },
        )
        .await?;
    } else {
        set_binding_on_omm(link, omm_uid, omm_ppn, rel, stamp).await?;
    }
    ids.binding.insert(uid, (ppn, rel));
    Ok(())
}

/// A handset registered its location at this OMM (profile §5): its records move here, the
/// new copies first; the old OMM's link deletes its copies when it sees the move.
async fn roam(
    shared: &Arc<Shared>,
    omm: &Omm,
    link: &AxiLink,
    ids: &mut Ids,
    e: EventDECTLocate,
) -> Result<(), End> {
    let store = &shared.store.for_omm(omm.id);
    let started = std::time::Instant::now();
    let Some(mut device) = store.device_by_ipei(e.ipei).await.map_err(End::Failed)? else {
        setting(link, DECTLocateReject { ipei: e.ipei }).await?;
        return Ok(());
    };
    if device.subscribe_to_pari_only {
        setting(link, DECTLocateReject { ipei: e.ipei }).await?;
        return Ok(());
    }
    if device.location == omm.id {
        return Ok(());
    }
    let user = if device.uid == 0 {
        None
    } else {
        store.user(device.uid).await.map_err(End::Failed)?
    };
    if e.ppn.is_some() || user.as_ref().is_some_and(|u| u.permanent) {
        // The records are here already (a permanent user): only the location changes.
        let here = e.ppn.or_else(|| ids.devices.get(&device.ppn).copied());
        device.location = omm.id;
        device.omm_ppn = here.unwrap_or(device.omm_ppn);
        device.timestamp_roaming = model::now();
        let print = device_print(&device);
        ids.perm_devices.remove(&device.ppn);
        let ppn = store.put_device(device).await.map_err(End::Failed)?;
        if let Some(omm_ppn) = here {
            ids.devices.insert(ppn, omm_ppn);
        }
        ids.device_agreed.insert(ppn, print);
        return Ok(());
    }
    let now = model::now();
    let mut pp = device_to_axi(&device);
    pp.set(PpDev::S, model::SubscriptionState::Yes)
        .set(PpDev::TIME_STAMP_ROAMING, now);
    let frame = link.request(CreatePPDev { pp }).await?;
    let Message::CreatePPDevResp(CreatePPDevResp { pp: Some(created) }) = frame.message else {
        return Err(End::Failed(format!(
            "roaming: the OMM refused the handset {}",
            e.ipei
        )));
    };
    let omm_ppn = created.get(PpDev::PPN).unwrap_or(0);
    let mut omm_uid = 0;
    if let Some(user) = &user {
        let frame = link
            .request(CreatePPUser {
                user: user_to_axi(user),
            })
            .await?;
        if let Message::CreatePPUserResp(CreatePPUserResp {
            user: Some(created),
        }) = frame.message
        {
            omm_uid = created.get(PpUser::UID).unwrap_or(0);
            set_binding_on_omm(link, omm_uid, omm_ppn, user.rel_type, now).await?;
        }
    }
    let latency = started.elapsed();
    device.location = omm.id;
    device.omm_ppn = omm_ppn;
    device.timestamp_roaming = now;
    device.timestamp = device.timestamp.max(now);
    ids.devices.insert(device.ppn, omm_ppn);
    ids.device_agreed.insert(device.ppn, device_print(&device));
    let from = store
        .device(device.ppn)
        .await
        .map_err(End::Failed)?
        .map_or(0, |d| d.location);
    store.put_device(device).await.map_err(End::Failed)?;
    if let Some(mut user) = user {
        user.home_omm = omm.id;
        user.omm_uid = omm_uid;
        user.timestamp = user.timestamp.max(now);
        ids.users.insert(user.uid, omm_uid);
        ids.user_agreed.insert(user.uid, user_print(&user));
        store.put_user(user).await.map_err(End::Failed)?;
    }
    store.count("axi.roaming_handovers", 1).await;
    tracing::debug!(ipei = %e.ipei, from, to = omm.id, latency_us = latency.as_micros() as u64, "handset roamed");
    Ok(())
}

/// A handset sent a message to a number that is not local: deliver it where that user is.
async fn route_message(shared: &Arc<Shared>, omm: &Omm, mut msg: axi::TextMessage) {
    let store = &shared.store.for_omm(omm.id);
    msg.attrs.retain(|(k, _)| k != "ppn");
    let to = msg.raw("toAddr").unwrap_or("").to_owned();
    let number = to.strip_prefix("tel:").unwrap_or(&to).to_owned();
    let target = match store.user_by_number(&number).await {
        Ok(Some(user)) if user.home_omm != 0 => shared.route(user.home_omm),
        _ => None,
    };
    let delivered = match target {
        Some(route) => {
            let (tx, rx) = tokio::sync::oneshot::channel();
            if route.send(Routed::Message(msg, tx)).await.is_ok() {
                rx.await
                    .unwrap_or_else(|_| Err("the target link closed".into()))
            } else {
                Err("the target link is down".into())
            }
        }
        None => Err(format!(
            "no user with number {number} is located at a connected OMM"
        )),
    };
    match delivered {
        Ok(()) => store.count("axi.messages_routed", 1).await,
        Err(why) => {
            store.count("axi.messages_failed", 1).await;
            // Driven by handsets: the event log counts repeats; the journal line is debug only.
            tracing::debug!(from_omm = omm.id, to = %to, %why, "message not delivered");
            store
                .log(
                    model::Severity::Warning,
                    format!("message from OMM {} to {to} not delivered: {why}", omm.id),
                )
                .await;
        }
    }
}
