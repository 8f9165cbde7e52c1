//! svc-store: the only process that opens the MOM's database.
//!
//! - [`storage`]: the LMDB environment (the only module that uses lmdb-rkv), [`databases`]:
//!   its named databases;
//! - [`ops`]: every write with the integrity rules, [`rules`]: the rules that need no
//!   database;
//! - [`columns`]: in-memory column copies of the user and device tables for fast queries;
//! - [`engine`]: durable writes, the change feed with its global revision, reads and queries;
//! - [`licensing`]: the signed license and the SARI it grants; [`health`]: the health
//!   states;
//! - [`maintenance`]: the offline password reset the admin CLI runs with the MOM stopped;
//! - [`conflicts`]: the open conflicts between sites that svc-axi finds;
//! - [`transfer`]: export and import of the whole database, [`dump`]: their logical
//!   format, checked record by record;
//! - [`password_checks`]: Argon2 checks on two threads with a bounded queue;
//! - [`fields`]: the lengths and characters of every field;
//! - [`secrets`]: the fields sealed at rest and the key that seals them; [`entropy`]: the
//!   randomness of a write (salts, nonces), the same on every node of a cluster;
//! - [`write_health`]: whether the database takes writes (a full disk), for the journal,
//!   the health states and the event log;
//! - [`server`]: the IPC server on `store.sock`.
#![forbid(unsafe_code)]

pub mod audit;
pub mod cluster;
pub mod columns;
pub mod conflicts;
pub mod databases;
pub mod dump;
pub mod engine;
pub mod entropy;
pub mod fields;
pub mod health;
pub mod licensing;
pub mod maintenance;
pub mod migrate;
pub mod ops;
pub mod password_checks;
pub mod rules;
pub mod secrets;
pub mod server;
pub mod storage;
pub mod transfer;
pub mod write_health;

use clap::Parser;
use ipc::api::store::{StoreApi, StoreError, StoreRequest};
use ipc::{Hello, Listener};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use engine::Store;

/// Command line of svc-store (set by the supervisor).
#[derive(Debug, Parser)]
#[command(name = "svc-store", about = "The MOM's database service")]
pub struct Args {
    /// Directory of the database files.
    #[arg(long)]
    pub db_dir: PathBuf,
    /// Directory for export and import files.
    #[arg(long)]
    pub transfer_dir: PathBuf,
    /// Socket to listen on.
    #[arg(long)]
    pub socket: PathBuf,
    /// Uids allowed to connect (repeatable).
    #[arg(long = "allow-uid")]
    pub allow_uids: Vec<u32>,
    /// Seconds between statistics samples.
    #[arg(long, default_value_t = 60)]
    pub sample_secs: u64,
    /// Public key (64 hex digits) of a license issuer the MOM trusts (repeatable).
    #[arg(long = "license-issuer")]
    pub license_issuers: Vec<String>,
    /// Development mode: no sandbox check.
    #[arg(long)]
    pub dev: bool,
    /// This node's id in a cluster; without it the store runs alone.
    #[arg(long)]
    pub cluster_node_id: Option<u64>,
    /// The peer address to listen on (`host:port`), in a cluster, when the supervisor hands
    /// over no `cluster` listener.
    #[arg(long, requires = "cluster_node_id")]
    pub cluster_listen: Option<String>,
    /// The folder of the cluster's certificates, in a cluster.
    #[arg(long, requires = "cluster_node_id")]
    pub cluster_tls_dir: Option<PathBuf>,
    /// A member of a new cluster as `ID=HOST:PORT` (repeatable; every node of a new cluster
    /// is given the same list, and the cluster is made once when none of them has a log).
    #[arg(long = "cluster-member", requires = "cluster_node_id")]
    pub cluster_members: Vec<String>,
    /// Heartbeat interval in milliseconds, in a cluster.
    #[arg(long, default_value_t = 500)]
    pub cluster_heartbeat_ms: u64,
    /// Shortest election timeout in milliseconds, in a cluster (the longest is twice that).
    #[arg(long, default_value_t = 2000)]
    pub cluster_election_ms: u64,
}

/// The cluster settings of `args`, if it makes this store a cluster node.
///
/// # Errors
/// A message naming the argument that is missing or wrong.
pub fn cluster_settings(
    args: &Args,
) -> Result<Option<(cluster::ClusterSettings, Option<String>)>, String> {
    let Some(node_id) = args.cluster_node_id else {
        return Ok(None);
    };
    let tls_dir = args
        .cluster_tls_dir
        .clone()
        .ok_or("--cluster-tls-dir is needed with --cluster-node-id")?;
    let mut settings = cluster::ClusterSettings::new(
        node_id,
        tls_dir,
        Duration::from_millis(args.cluster_heartbeat_ms.max(10)),
        Duration::from_millis(args.cluster_election_ms.max(50)),
    );
    for member in &args.cluster_members {
        let (id, address) = member
            .split_once('=')
            .ok_or_else(|| format!("--cluster-member {member:?}: give ID=HOST:PORT"))?;
        let id: u64 = id
            .parse()
            .map_err(|_| format!("--cluster-member {member:?}: the id is no number"))?;
        settings.initial_members.insert(
            id,
            cluster::Peer {
                address: address.to_owned(),
            },
        );
    }
    Ok(Some((settings, args.cluster_listen.clone())))
}

/// Entry point of the binary; returns the exit code.
#[must_use]
pub fn main_with_args() -> i32 {
    if std::env::args().nth(1).as_deref() == Some(maintenance::RESET_PASSWORD) {
        return maintenance::reset_password(std::env::args().skip(1));
    }
    service_kit::logging::init("svc-store");
    let args = Args::parse();
    // Database and transfer files are private to the store's user.
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    service_kit::run(args.dev, || run(args))
}

/// Runs the store until a shutdown is requested.
///
/// # Errors
/// A message for the log when the database or the socket cannot be opened; a permanent
/// [`service_kit::Failure`] for a database of a newer version, which no restart cures.
pub async fn run(args: Args) -> Result<(), service_kit::Failure> {
    // The hello first: the supervisor expects it promptly, whatever opening the database takes.
    let mut link = service_kit::supervision::Link::from_env("store")
        .await
        .map_err(|e| format!("supervision link: {e}"))?;
    let opened = Store::open(&args.db_dir).map_err(|e| {
        let message = format!("cannot open the database: {e}");
        if matches!(e, ipc::api::store::StoreError::NewerDatabase { .. }) {
            service_kit::Failure::permanent(message)
        } else {
            message.into()
        }
    })?;
    if opened.created {
        tracing::info!(dir = %args.db_dir.display(), "new database created with the default account");
    }
    let mut store = opened.store;
    store.trust_license_issuers(
        args.license_issuers
            .iter()
            .map(|k| license::IssuerPublicKey::from_hex(k))
            .collect::<Result<_, _>>()
            .map_err(|e| format!("--license-issuer: {e}"))?,
    );
    store
        .enforce_license()
        .map_err(|e| format!("cannot check the license: {e}"))?;
    let store = Arc::new(store);
    let transfers =
        Arc::new(transfer::Transfers::new(&args.transfer_dir).map_err(|e| e.to_string())?);
    let listener = Listener::<StoreApi>::bind(&args.socket, 0o660, args.allow_uids.clone())
        .map_err(|e| format!("cannot listen on {}: {e}", args.socket.display()))?;
    let hello = Hello::new("store", service_kit::supervision::generation());
    let cluster = match cluster_settings(&args)? {
        None => None,
        Some((settings, listen)) => {
            // The supervisor binds the peer port like every listener; a test or a manual
            // start may give an address instead.
            let peers = match (service_kit::listeners::take("cluster")?, listen) {
                (Some(inherited), _) => tokio::net::TcpListener::from_std(inherited)
                    .map_err(|e| format!("the cluster listener: {e}"))?,
                (None, Some(listen)) => tokio::net::TcpListener::bind(&listen)
                    .await
                    .map_err(|e| format!("cannot listen for peers on {listen}: {e}"))?,
                (None, None) => return Err("a cluster node needs its peer port: the supervisor hands over none (is [cluster] listen set?) and --cluster-listen is not given".to_owned().into()),
            };
            let listen = peers
                .local_addr()
                .map_or_else(|e| e.to_string(), |a| a.to_string());
            let node_id = settings.node_id;
            let node = cluster::ClusterNode::start(Arc::clone(&store), settings, peers).await?;
            tracing::info!(node = node_id, peers = %listen, "cluster node started");
            Some(node)
        }
    };
    let server = Arc::new(server::Server {
        store: Arc::clone(&store),
        transfers,
        hello,
        cluster,
    });
    let node = server.cluster.clone();
    let serving = tokio::spawn(server.serve(listener));
    let sampler = tokio::spawn(sample_counters(
        Arc::clone(&store),
        node,
        Duration::from_secs(args.sample_secs.max(1)),
    ));
    if let Some(link) = link.as_mut() {
        link.ready()
            .await
            .map_err(|e| format!("supervision link: {e}"))?;
    }
    tracing::info!(socket = %args.socket.display(), revision = store.revision().unwrap_or(0), "store ready");
    service_kit::supervision::stop_signal(link).await;
    serving.abort();
    sampler.abort();
    tracing::info!("store stopped");
    Ok(())
}

async fn sample_counters(
    store: Arc<Store>,
    cluster: Option<Arc<cluster::ClusterNode>>,
    every: Duration,
) {
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tick.tick().await;
        let done = match &cluster {
            // One sample for the whole cluster, taken by the leader through the log (with
            // its time), so every node holds the same history.
            Some(node) if node.leads() => node.write(StoreRequest::SampleCounters).await,
            Some(_) => continue,
            None => {
                let store = Arc::clone(&store);
                tokio::task::spawn_blocking(move || store.write(StoreRequest::SampleCounters))
                    .await
                    .unwrap_or_else(|e| Err(StoreError::Storage(e.to_string())))
            }
        };
        if let Err(e) = done {
            tracing::warn!(error = %e, "sampling statistics failed");
        }
    }
}
