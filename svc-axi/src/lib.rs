//! svc-axi: one link per enabled OMM record, keeping every OMM and the store in agreement
//! (DESIGN.md §5: the store holds the desired state, svc-axi reconciles).
//!
//! One module per job, named as the admin guide names it:
//! - [`link`]: one AXI connection (requests by `seq`, events queued, limits enforced);
//! - [`tls`]: the certificate checks of an OMM record;
//! - [`session`]: one link's life: the on-connect sequence, the id maps, paging, the steady
//!   state loop;
//! - [`reconcile`]: import and reconciliation on connect, decided by a pure plan;
//! - [`relations`]: bindings between users and handsets;
//! - [`dect_settings`]: the SARI, auto-create, subscription mode and FAC prefix every OMM
//!   gets;
//! - [`omm_events`] and [`store_changes`]: the two live directions;
//! - [`roaming`], [`permanent`] (permanent users), [`rooms`] (conference rooms),
//!   [`messaging`] (system-wide DECT messaging), [`provisioning`] (the configuration URL
//!   and "Update OMM");
//! - [`secrets`]: a user's PIN and passwords, encrypted for each side's key;
//! - [`conflicts`]: records held back when two OMMs claim them or the store refuses them;
//! - [`shared`]: what every link shares, and the routes between links;
//! - [`leadership`]: whether this node may hold the links (alone always; in a cluster only
//!   while it leads under a lease);
//! - [`feed`]: the store's change feed routed to the links it concerns;
//! - [`api`]: `axi.sock`: the application data channel and messaging for svc-maxi, "Update
//!   OMM" for svc-web and the CLI, user attributes typed for the CLI;
//! - [`store`]: the store as svc-axi uses it (`ipc`'s typed client) and the link state;
//! - [`user_attributes`]: a user's attributes set by their AXI names, for the CLI's
//!   `user edit --set`.
#![forbid(unsafe_code)]

pub mod api;
pub mod conflicts;
pub mod dect_settings;
pub mod feed;
pub mod leadership;
pub mod link;
pub mod messaging;
pub mod omm_events;
pub mod permanent;
pub mod provisioning;
pub mod reconcile;
pub mod relations;
pub mod roaming;
pub mod rooms;
pub mod secrets;
pub mod session;
pub mod shared;
pub mod store;
pub mod store_changes;
pub mod tls;
pub mod user_attributes;

use clap::Parser;
use ipc::api::store::{Change, StoreApi};
use ipc::store_feed;
use ipc::{Client, ClientOptions, Hello};
use model::{Entity, Omm};
use session::End;
use shared::Shared;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// OMMs reconciled at the same time (each holds its whole population in memory meanwhile).
const RECONCILE_SLOTS: usize = 32;

/// Command line of svc-axi (set by the supervisor).
#[derive(Debug, Parser)]
#[command(name = "svc-axi", about = "The MOM's links to its OMMs")]
pub struct Args {
    /// The store's socket.
    #[arg(long)]
    pub store_socket: PathBuf,
    /// Seconds between retries of a link that is down.
    #[arg(long, default_value_t = 60)]
    pub retry_secs: u64,
    /// Seconds between keep-alive pings.
    #[arg(long, default_value_t = 60)]
    pub ping_secs: u64,
    /// Seconds an OMM may take to answer a request before its link is closed.
    #[arg(long, default_value_t = 20)]
    pub request_timeout_secs: u64,
    /// The MOM's AXI protocol version.
    #[arg(long, default_value_t = 45)]
    pub protocol_version: u32,
    /// Socket of the API (application data channel); none when absent.
    #[arg(long)]
    pub socket: Option<PathBuf>,
    /// Uids allowed on the API socket (repeatable).
    #[arg(long = "allow-uid")]
    pub allow_uids: Vec<u32>,
    /// svc-web's HTTPS port, for the OMMs' configuration URL; without it provisioning
    /// stays off.
    #[arg(long)]
    pub web_port: Option<u16>,
    /// Development mode: no sandbox check.
    #[arg(long)]
    pub dev: bool,
}

/// Entry point of the binary; returns the exit code.
#[must_use]
pub fn main_with_args() -> i32 {
    service_kit::logging::init("svc-axi");
    let args = Args::parse();
    service_kit::run(args.dev, || run(args))
}

/// The fields of an OMM record that need a new link when they change.
fn link_settings(omm: &Omm) -> (bool, String, String, String, String, model::CertValidation) {
    (
        omm.enabled,
        omm.omm1.clone(),
        omm.omm2.clone(),
        omm.user.clone(),
        omm.password.clone(),
        omm.cert_validation.clone(),
    )
}

/// Runs until a shutdown is requested.
///
/// # Errors
/// A message when the supervision link or the MOM key fails.
pub async fn run(args: Args) -> Result<(), String> {
    let mut supervision = service_kit::supervision::Link::from_env("axi")
        .await
        .map_err(|e| format!("supervision link: {e}"))?;
    let mom_key = tokio::task::spawn_blocking(|| axi::secret::generate(1024))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let hello = Hello::new("axi", service_kit::supervision::generation());
    let (client, events) =
        Client::<StoreApi>::start(args.store_socket.clone(), hello, ClientOptions::default());
    let store = store::Store::new(client);
    let changes = store_feed::follow(store.clone(), events, "axi");
    let shared = Arc::new(Shared {
        store,
        mom_key,
        protocol_version: args.protocol_version,
        retry: Duration::from_secs(args.retry_secs.max(1)),
        ping: Duration::from_secs(args.ping_secs.max(1)),
        request_timeout: Duration::from_secs(args.request_timeout_secs.max(1)),
        web_port: args.web_port,
        routes: std::sync::Mutex::default(),
        feed: feed::Feed::default(),
        links_up: tokio::sync::watch::channel(0).0,
        data: tokio::sync::broadcast::channel(1024).0,
        messages: tokio::sync::broadcast::channel(1024).0,
        reconcile_slots: tokio::sync::Semaphore::new(RECONCILE_SLOTS),
        elsewhere: std::sync::Mutex::default(),
    });
    if let Some(socket) = &args.socket {
        let listener =
            ipc::Listener::<ipc::api::axi::AxiApi>::bind(socket, 0o660, args.allow_uids.clone())
                .map_err(|e| format!("cannot listen on {}: {e}", socket.display()))?;
        tokio::spawn(api::serve(Arc::clone(&shared), listener));
    }
    tokio::spawn(follow_feed(changes, Arc::clone(&shared)));
    tokio::spawn(publish_links_up(Arc::clone(&shared)));
    if let Some(link) = supervision.as_mut() {
        link.ready()
            .await
            .map_err(|e| format!("supervision link: {e}"))?;
    }
    tracing::info!("svc-axi ready");
    let (may_link, may_link_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(leadership::watch(Arc::clone(&shared), may_link));
    tokio::select! {
        () = manage(Arc::clone(&shared), may_link_rx) => {}
        () = service_kit::supervision::stop_signal(supervision) => {}
    }
    tracing::info!("svc-axi stopped");
    Ok(())
}

/// Writes the number of links up to the store's `axi.links_up` gauge: one writer, so the
/// latest value is always the last written (separate tasks per change could reorder).
async fn publish_links_up(shared: Arc<Shared>) {
    let mut up = shared.links_up.subscribe();
    loop {
        let value = *up.borrow_and_update();
        let _ = shared.store.set_counter("axi.links_up".into(), value).await;
        if up.changed().await.is_err() {
            return;
        }
    }
}

/// Routes the store's change feed (followed by `ipc::store_feed`) to the links.
async fn follow_feed(
    mut changes: tokio::sync::mpsc::Receiver<store_feed::FeedEvent>,
    shared: Arc<Shared>,
) {
    while let Some(event) = changes.recv().await {
        match event {
            store_feed::FeedEvent::Change(change) => shared.feed.dispatch(change),
            // Everything may have changed (an import, or a gap): every link reconciles.
            store_feed::FeedEvent::Resync { rev } => shared.feed.dispatch(Change::database(rev)),
            store_feed::FeedEvent::Start { .. } => {}
        }
    }
}

/// Keeps one link task per enabled OMM record, restarting it when its record changes, while
/// this node may hold the links (see [`leadership`]); closes them all when it may not.
async fn manage(shared: Arc<Shared>, mut may_link: tokio::sync::watch::Receiver<bool>) {
    let mut running: HashMap<u32, (Omm, tokio::task::JoinHandle<()>)> = HashMap::new();
    let mut feed = shared.feed.manager();
    loop {
        if !*may_link.borrow_and_update() {
            for (id, (_, task)) in running.drain() {
                task.abort();
                shared.feed.unregister(id);
            }
            if may_link.changed().await.is_err() {
                return;
            }
            continue;
        }
        match shared.store.omms().await {
            Ok(omms) => {
                let wanted: HashMap<u32, Omm> = omms
                    .into_iter()
                    .filter(|o| o.enabled)
                    .map(|o| (o.id, o))
                    .collect();
                let mut disabled = Vec::new();
                running.retain(|id, (omm, task)| {
                    // A task that ended (its node lost the lead meanwhile) is started again.
                    let keep = !task.is_finished()
                        && wanted
                            .get(id)
                            .is_some_and(|w| link_settings(w) == link_settings(omm));
                    if !keep {
                        task.abort();
                        if wanted.contains_key(id) {
                            tracing::info!(omm = id, "OMM record changed; its link restarts");
                        } else {
                            disabled.push(*id);
                        }
                    }
                    keep
                });
                // A link that was stopped, not lost: its record says so, or it would show
                // the last state of a link that no longer exists.
                for id in disabled {
                    tracing::info!(
                        omm = id,
                        "OMM record disabled or deleted; its link is closed"
                    );
                    store::record_health(
                        &shared.store,
                        id,
                        model::OmmHealth {
                            link: model::LinkState::Down,
                            healthy: false,
                            last_error: "the OMM record is disabled".into(),
                            since: model::now(),
                            software_version: String::new(),
                        },
                        None,
                    )
                    .await;
                }
                for (id, omm) in wanted {
                    running.entry(id).or_insert_with(|| {
                        let task = tokio::spawn(link_task(
                            Arc::clone(&shared),
                            omm.clone(),
                            may_link.clone(),
                        ));
                        (omm, task)
                    });
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot read the OMM records"),
        }
        // Wait for a change of an OMM record (or the first connection to the store), or of
        // the leadership.
        loop {
            let next = tokio::select! {
                next = tokio::time::timeout(Duration::from_secs(5), feed.recv()) => next,
                changed = may_link.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    break;
                }
            };
            match next {
                Ok(Some(c)) if c.entity == Entity::Omm || c.entity == Entity::Database => {
                    // Coalesce a burst (every link's health update is an OMM change).
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    while feed.try_recv().is_ok() {}
                    break;
                }
                Ok(Some(_)) => {}
                Err(_) => break,
                Ok(None) => return,
            }
        }
    }
}

/// One OMM's link, retried for ever while this node may hold links; it ends, closing its
/// connection at once, when that ends (whatever the link or the manager is waiting for).
async fn link_task(
    shared: Arc<Shared>,
    omm: Omm,
    mut may_link: tokio::sync::watch::Receiver<bool>,
) {
    let mut fast_until: Option<Instant> = None;
    let mut last_error = String::new();
    loop {
        let mut feed = shared.feed.register(omm.id);
        let end = tokio::select! {
            end = session::run(&shared, &omm, &mut feed) => end,
            _ = may_link.wait_for(|may| !*may) => {
                shared.feed.unregister(omm.id);
                tracing::info!(omm = omm.id, name = %omm.name, "OMM link closed: this node no longer leads");
                return;
            }
        };
        shared.feed.unregister(omm.id);
        let (reason, delay) = match end {
            End::SariRestart => {
                fast_until = Some(Instant::now() + Duration::from_secs(120));
                (
                    "OMM restarting after its SARI was set".to_owned(),
                    Duration::from_secs(2),
                )
            }
            End::Failed(why) => {
                let delay = if fast_until.is_some_and(|t| Instant::now() < t) {
                    Duration::from_secs(2)
                } else {
                    shared.retry
                };
                (why, delay)
            }
        };
        store::record_health(
            &shared.store,
            omm.id,
            model::OmmHealth {
                link: model::LinkState::Down,
                healthy: false,
                last_error: reason.clone(),
                since: model::now(),
                software_version: String::new(),
            },
            None,
        )
        .await;
        if reason != last_error {
            tracing::warn!(omm = omm.id, name = %omm.name, %reason, retry_ms = delay.as_millis() as u64, "OMM link down");
            shared
                .store
                .log(
                    model::Severity::Warning,
                    "axi",
                    format!("OMM {} ({}): {reason}", omm.id, omm.name),
                )
                .await;
            last_error = reason;
        }
        tokio::time::sleep(delay).await;
    }
}
