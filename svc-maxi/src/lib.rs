//! svc-maxi, the MOM's application interface (admin guide "MAXI interface for applications
//! and provisioning", "System Wide DECT messaging", "Application data channel";
//! `axi-profile.md` §9 and §10; DESIGN.md §6). It runs as its own user without
//! capabilities, on the listening sockets the supervisor bound.
//!
//! One module per job:
//! - [`listener`]: the TLS listener and the plain debug one, the client limit;
//! - [`tls`]: the MOM's certificate (from svc-web) and the security level;
//! - [`connection`]: one client's frames, timeouts and bounded send queue;
//! - [`session`]: the session rules, sans-IO (login first, permissions, not supported);
//! - [`login`]: MOM accounts and the login throttle; [`caller`]: who sends a connection's
//!   requests;
//! - [`requests`]: a request carried out; [`directory`] (users and DECT phones),
//!   [`messaging`] (messages and the data channel), [`records`] (records as MAXI shows
//!   them), [`refusal`] (store refusals as AXI errors);
//! - [`events`]: subscriptions and the events from the store and svc-axi;
//! - [`statistics`]: the MAXI counters; [`audit`]: the audit trail of writes;
//! - [`service`]: what every client shares.
#![forbid(unsafe_code)]

pub mod audit;
pub mod caller;
pub mod connection;
pub mod directory;
pub mod events;
pub mod listener;
pub mod login;
pub mod messaging;
pub mod records;
pub mod refusal;
pub mod requests;
pub mod service;
pub mod session;
pub mod statistics;
pub mod tls;

use clap::Parser;
use ipc::api::store::StoreApi;
use ipc::{Client, ClientOptions, Hello};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Command line of svc-maxi (set by the supervisor).
#[derive(Debug, Parser)]
#[command(
    name = "svc-maxi",
    about = "The MOM's interface for applications (MAXI)"
)]
pub struct Args {
    /// The store's socket.
    #[arg(long)]
    pub store_socket: PathBuf,
    /// svc-axi's socket (messages, data channel).
    #[arg(long)]
    pub axi_socket: Option<PathBuf>,
    /// svc-web's socket (the MOM's certificate).
    #[arg(long)]
    pub web_socket: Option<PathBuf>,
    /// The MOM's AXI protocol version.
    #[arg(long, default_value_t = 45)]
    pub protocol_version: u32,
    /// TLS handshake and login within this many seconds.
    #[arg(long, default_value_t = 10)]
    pub handshake_timeout_secs: u64,
    /// A client silent this long is closed.
    #[arg(long, default_value_t = 300)]
    pub idle_timeout_secs: u64,
    /// Development mode: no sandbox check.
    #[arg(long)]
    pub dev: bool,
}

/// A client's events.
type Events<A> = tokio::sync::mpsc::Receiver<ipc::ClientEvent<<A as ipc::api::Api>::Response>>;

/// A client of the service at `socket`, when the supervisor named one, with its events.
fn optional_client<A: ipc::api::Api>(
    socket: &Option<PathBuf>,
    hello: &Hello,
) -> (Option<Client<A>>, Option<Events<A>>) {
    match socket {
        Some(path) => {
            let (client, events) =
                Client::<A>::start(path.clone(), hello.clone(), ClientOptions::default());
            (Some(client), Some(events))
        }
        None => (None, None),
    }
}

/// Entry point of the binary; returns the exit code.
#[must_use]
pub fn main_with_args() -> i32 {
    service_kit::logging::init("svc-maxi");
    let args = Args::parse();
    // The listeners are taken before the runtime starts: they are plain inherited fds.
    let tls = match service_kit::listeners::take("maxi") {
        Ok(l) => l,
        Err(e) => {
            tracing::error!("{e}");
            return service_kit::EXIT_CONFIG;
        }
    };
    let plain = match service_kit::listeners::take("maxi-debug") {
        Ok(l) => l,
        Err(e) => {
            tracing::error!("{e}");
            return service_kit::EXIT_CONFIG;
        }
    };
    if tls.is_none() && plain.is_none() {
        tracing::error!("no MAXI listener was handed to svc-maxi (listen.maxi in mom.toml)");
        return service_kit::EXIT_CONFIG;
    }
    service_kit::run(args.dev, || run(args, tls, plain))
}

/// Runs until a shutdown is requested.
///
/// # Errors
/// A message when the key or the supervision link fails.
pub async fn run(
    args: Args,
    tls: Option<std::net::TcpListener>,
    plain: Option<std::net::TcpListener>,
) -> Result<(), String> {
    let mut supervision = service_kit::supervision::Link::from_env("maxi")
        .await
        .map_err(|e| format!("supervision link: {e}"))?;
    let key = tokio::task::spawn_blocking(|| axi::secret::generate(1024))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let hello = Hello::new("maxi", service_kit::supervision::generation());
    let (store, store_events) = Client::<StoreApi>::start(
        args.store_socket.clone(),
        hello.clone(),
        ClientOptions::default(),
    );
    let (axi, axi_events) = optional_client::<ipc::api::axi::AxiApi>(&args.axi_socket, &hello);
    let (web, web_events) = optional_client::<ipc::api::web::WebApi>(&args.web_socket, &hello);
    let store = ipc::store_client::Store::new(store);
    let service = Arc::new(service::Service::new(
        store.clone(),
        axi.clone(),
        web.clone(),
        key,
        args.protocol_version,
        Duration::from_secs(args.handshake_timeout_secs.max(1)),
        Duration::from_secs(args.idle_timeout_secs.max(1)),
    ));
    let identity = Arc::new(tls::Identity::default());
    {
        let (identity, service) = (Arc::clone(&identity), Arc::clone(&service));
        tokio::spawn(async move { identity.first_settings(&service).await });
    }
    // The change feed on a connection of its own (see `events::follow_store`); the request
    // connection has no events, its receiver is only kept open.
    let (feed, feed_events) = Client::<StoreApi>::start(
        args.store_socket.clone(),
        hello.clone(),
        ClientOptions::default(),
    );
    tokio::spawn(async move {
        let mut store_events = store_events;
        while store_events.recv().await.is_some() {}
    });
    let feed = ipc::store_feed::follow(ipc::store_client::Store::new(feed), feed_events, "maxi");
    tokio::spawn(events::follow_store(
        Arc::clone(&service),
        Arc::clone(&identity),
        feed,
    ));
    if let (Some(c), Some(e)) = (axi, axi_events) {
        tokio::spawn(events::follow_axi(Arc::clone(&service), c, e));
    }
    if let (Some(web), Some(web_events)) = (web, web_events) {
        tokio::spawn(Arc::clone(&identity).follow_certificate(
            Arc::clone(&service),
            web,
            web_events,
        ));
    }
    {
        let service = Arc::clone(&service);
        tokio::spawn(async move { service.stats.flush(store).await });
    }
    let mut addresses = Vec::new();
    for (listener, transport) in [
        (tls, listener::Transport::Tls),
        (plain, listener::Transport::Plain),
    ] {
        let Some(listener) = listener else { continue };
        let listener = tokio::net::TcpListener::from_std(listener)
            .map_err(|e| format!("MAXI listener: {e}"))?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        if transport == listener::Transport::Plain {
            tracing::warn!(%address, "plain MAXI debug listener open: passwords travel unencrypted; for debugging on this machine only");
        }
        addresses.push(address.to_string());
        tokio::spawn(listener::serve(Arc::clone(&service), listener, transport));
    }
    if let Some(link) = supervision.as_mut() {
        link.ready()
            .await
            .map_err(|e| format!("supervision link: {e}"))?;
    }
    tracing::info!(addresses = %addresses.join(" "), "svc-maxi ready");
    service_kit::supervision::stop_signal(supervision).await;
    tracing::info!("svc-maxi stopped");
    Ok(())
}
