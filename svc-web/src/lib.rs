//! svc-web: the MOM's HTTPS server (DESIGN.md §7). It serves the admin REST API with its
//! OpenAPI document, cookie sessions and API tokens, the monitoring endpoints, and redirects
//! plain HTTP to HTTPS, and serves the OMMs their provisioning files. It runs as its own user without capabilities, on the listening
//! sockets the supervisor bound, and keeps only its certificate and session files itself;
//! every record lives in the store.
//!
//! One module per job:
//! - [`server`]: the listeners, their limits and the redirect;
//! - [`tls`] and [`certificate`]: the TLS configuration and the MOM's certificate (the
//!   security levels are the `tls-policy` crate);
//! - [`router`]: the application with its security headers and limits;
//! - [`api`]: the REST API, a module per pane;
//! - [`provisioning`]: what the OMMs fetch (`ipdect.cfg`, resources, their own folders);
//! - [`auth`], [`sessions`], [`login_throttle`], [`second_factor`],
//!   [`api_tokens`]: who is calling and how they logged in; [`database_identity`]: that
//!   state dropped when the database is replaced by an import;
//! - [`live_events`]: the WebSocket of store changes;
//! - [`json`] and [`error`]: request bodies and error answers;
//! - [`monitoring`] and [`metrics`]: `/healthz`, `/readyz`, `/metrics`;
//! - [`audit`]: the audit trail of changes;
//! - [`persist`]: svc-web's small state files;
//! - [`web_api`]: `web.sock`, the certificate and second factors for svc-maxi;
//! - [`ui`]: the browser UI embedded in the binary;
//! - [`app`]: what the handlers share.
#![forbid(unsafe_code)]

pub mod api;
pub mod api_tokens;
pub mod app;
pub mod audit;
pub mod auth;
pub mod certificate;
pub mod database_identity;
pub mod error;
pub mod json;
pub mod known_records;
pub mod live_events;
pub use ::login_throttle;
pub mod metrics;
pub mod monitoring;
pub mod persist;
pub mod provisioning;
pub mod router;
pub mod second_factor;
pub mod server;
pub mod sessions;
pub mod tls;
pub mod ui;
pub mod web_api;

use app::{unix_now, App};
use clap::Parser;
use ipc::api::store::{Change, StoreApi};
use ipc::store_client::Store;
use ipc::store_feed::FeedEvent;
use ipc::{Client, ClientOptions, Hello};
use persist::StateFile;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Command line of svc-web (set by the supervisor).
#[derive(Debug, Parser)]
#[command(name = "svc-web", about = "The MOM's HTTPS server and admin API")]
pub struct Args {
    /// The store's socket.
    #[arg(long)]
    pub store_socket: PathBuf,
    /// svc-web's state folder (certificate, sessions, tokens).
    #[arg(long)]
    pub state_dir: PathBuf,
    /// A session without a request for this long ends.
    #[arg(long, default_value_t = 1800)]
    pub session_idle_secs: u64,
    /// A session ends this long after login.
    #[arg(long, default_value_t = 43_200)]
    pub session_max_secs: u64,
    /// Request headers must arrive within this; idle keep-alive connections close after it.
    #[arg(long, default_value_t = 30)]
    pub header_timeout_secs: u64,
    /// Connections served at once per listener.
    #[arg(long, default_value_t = 512)]
    pub max_connections: usize,
    /// `/metrics` answers loopback clients without the metrics token.
    #[arg(long)]
    pub metrics_loopback: bool,
    /// Extra host names or addresses for the self-signed certificate and the password rules.
    #[arg(long = "host-name")]
    pub host_names: Vec<String>,
    /// svc-axi's socket, for "Update OMM".
    #[arg(long)]
    pub axi_socket: Option<PathBuf>,
    /// The supervisor's control socket, for the log level.
    #[arg(long)]
    pub control_socket: Option<PathBuf>,
    /// Largest file an OMM may write into its folder, in MiB.
    #[arg(long, default_value_t = 64)]
    pub omm_upload_max_mib: u64,
    /// Largest provisioning file an administrator may upload, in MiB.
    #[arg(long, default_value_t = 256)]
    pub upload_max_mib: u64,
    /// Socket of svc-web's own API (the certificate for svc-maxi); none when absent.
    #[arg(long)]
    pub socket: Option<PathBuf>,
    /// Uids allowed on that socket (repeatable).
    #[arg(long = "allow-uid")]
    pub allow_uids: Vec<u32>,
    /// Development mode: no sandbox check.
    #[arg(long)]
    pub dev: bool,
}

/// Entry point of the binary; returns the exit code.
#[must_use]
pub fn main_with_args() -> i32 {
    service_kit::logging::init("svc-web");
    let args = Args::parse();
    // The listeners are taken before the runtime starts: they are plain inherited fds.
    let https = match service_kit::listeners::take("https") {
        Ok(l) => l,
        Err(e) => {
            tracing::error!("{e}");
            return service_kit::EXIT_CONFIG;
        }
    };
    let http = service_kit::listeners::take("http").unwrap_or(None);
    let Some(https) = https else {
        tracing::error!("no HTTPS listener was handed to svc-web (listen.https in mom.toml)");
        return service_kit::EXIT_CONFIG;
    };
    service_kit::run(args.dev, || run(args, https, http))
}

/// The MOM's host names and addresses: the machine's name, the listener's address, and any
/// configured ones.
fn host_names(args: &Args, https: &std::net::TcpListener) -> Vec<String> {
    let mut names = Vec::new();
    if let Ok(name) = nix::unistd::gethostname() {
        if let Some(name) = name.to_str() {
            names.push(name.to_owned());
        }
    }
    names.extend(args.host_names.iter().cloned());
    if let Ok(addr) = https.local_addr() {
        if !addr.ip().is_unspecified() {
            names.push(addr.ip().to_string());
        }
    }
    names.push("localhost".into());
    names.push("127.0.0.1".into());
    names.dedup();
    names
}

/// The settings, waiting for the store while it starts.
async fn first_settings(store: &Store) -> model::Settings {
    loop {
        match store.settings().await {
            Ok(s) => return s,
            Err(e) => {
                tracing::debug!(error = %e, "store not ready; retrying");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// The metrics token: read from the state folder, or made there at first start.
fn metrics_token(dir: &std::path::Path) -> Result<String, String> {
    let path = dir.join("metrics-token");
    match std::fs::read_to_string(&path) {
        Ok(token) if !token.trim().is_empty() => Ok(token.trim().to_owned()),
        _ => {
            let token = sessions::random_token();
            certificate::write_private(&path, token.as_bytes())?;
            Ok(token)
        }
    }
}

/// svc-web's secrets key (`secrets.key` in its state folder), made at first start; it seals
/// the second factors' secrets.
fn secrets_key(dir: &std::path::Path) -> Result<secret_seal::Key, String> {
    let path = dir.join("secrets.key");
    let (key, created) = secret_seal::Key::load_or_create(&path)
        .map_err(|e| format!("secrets key {}: {e}", path.display()))?;
    if created {
        tracing::info!(file = %path.display(), key = key.id(), "new secrets key made for the second factors");
    }
    Ok(key)
}

/// Runs until a shutdown is requested.
///
/// # Errors
/// A message when the state folder, the certificate or the supervision link fails.
pub async fn run(
    args: Args,
    https: std::net::TcpListener,
    http: Option<std::net::TcpListener>,
) -> Result<(), String> {
    let mut supervision = service_kit::supervision::Link::from_env("web")
        .await
        .map_err(|e| format!("supervision link: {e}"))?;
    std::fs::create_dir_all(&args.state_dir)
        .map_err(|e| format!("cannot use {}: {e}", args.state_dir.display()))?;
    let hosts = host_names(&args, &https);
    let https_port = https.local_addr().map_or(443, |a| a.port());
    let hello = Hello::new("web", service_kit::supervision::generation());
    let (client, events) =
        Client::<StoreApi>::start(args.store_socket.clone(), hello, ClientOptions::default());
    let store = Store::new(client);
    let settings = first_settings(&store).await;
    let certificate_files = certificate::CertificateFiles::new(&args.state_dir);
    let now = i64::try_from(unix_now()).unwrap_or(i64::MAX);
    let (certified, note) = certificate_files.load_or_create(&hosts, now)?;
    if let Some(note) = note {
        tracing::warn!("{note}");
    }
    tracing::info!(
        sha256 = %certified.info.sha256_fingerprint,
        subject = %certified.info.subject,
        self_signed = certified.info.self_signed,
        "TLS certificate in use; compare its SHA-256 fingerprint with the browser's warning"
    );
    let (policy, error) = tls_policy::from_settings(&settings);
    if let Some(e) = error {
        tracing::warn!(error = %e, "stored cipher list unusable; using the level's defaults");
    }
    let timeouts = sessions::Timeouts {
        idle: Duration::from_secs(args.session_idle_secs.max(1)),
        absolute: Duration::from_secs(args.session_max_secs.max(1)),
    };
    let app = Arc::new(App {
        store: store.clone(),
        sessions: Mutex::new(sessions::Sessions::load(
            StateFile::new(&args.state_dir, "sessions.json"),
            timeouts,
            unix_now(),
        )),
        throttle: Mutex::default(),
        known: known_records::KnownRecords::default(),
        second_factors: Mutex::new(second_factor::SecondFactors::load(
            StateFile::new(&args.state_dir, "second-factor.json"),
            secrets_key(&args.state_dir)?,
        )),
        tokens: Mutex::new(api_tokens::ApiTokens::load(StateFile::new(
            &args.state_dir,
            "api-tokens.json",
        ))),
        database: database_identity::Known::load(StateFile::new(
            &args.state_dir,
            "database-id.json",
        )),
        tls: tls::TlsState::new(certified, policy)?,
        certificate_files,
        hosts,
        https_port,
        metrics: metrics::Metrics::default(),
        metrics_token: Some(metrics_token(&args.state_dir)?),
        metrics_loopback: args.metrics_loopback,
        changes: tokio::sync::broadcast::channel(1024).0,
        recent: Mutex::default(),
        suppress: tokio::sync::watch::channel(settings.suppress_table_updates).0,
        dev: service_kit::dev_mode(args.dev),
        files: provisioning::Files::open(
            &args.state_dir,
            args.omm_upload_max_mib.saturating_mul(1 << 20),
            args.upload_max_mib.saturating_mul(1 << 20),
        )?,
        axi: args.axi_socket.clone().map(|socket| {
            let hello = Hello::new("web", service_kit::supervision::generation());
            Client::<ipc::api::axi::AxiApi>::start(socket, hello, ClientOptions::default()).0
        }),
        control: args.control_socket.clone().map(|socket| {
            let hello = Hello::new("web", service_kit::supervision::generation());
            Client::<ipc::api::control::ControlApi>::start(socket, hello, ClientOptions::default())
                .0
        }),
    });
    // Before anything is served: state made under another database (imported while
    // svc-web was down) is dropped.
    database_identity::check(&app).await;
    let limits = server::Limits::new(
        args.max_connections,
        Duration::from_secs(args.header_timeout_secs.max(1)),
    );
    let https =
        tokio::net::TcpListener::from_std(https).map_err(|e| format!("HTTPS listener: {e}"))?;
    let address = https.local_addr().map_err(|e| e.to_string())?;
    tokio::spawn(server::serve_https(
        https,
        router::build(Arc::clone(&app)),
        Arc::clone(&app),
        limits,
    ));
    if let Some(http) = http {
        let http =
            tokio::net::TcpListener::from_std(http).map_err(|e| format!("HTTP listener: {e}"))?;
        tokio::spawn(server::serve_redirect(
            http,
            https_port,
            limits,
            Arc::new(app.hosts.clone()),
        ));
    }
    if let Some(socket) = &args.socket {
        let listener =
            ipc::Listener::<ipc::api::web::WebApi>::bind(socket, 0o660, args.allow_uids.clone())
                .map_err(|e| format!("cannot listen on {}: {e}", socket.display()))?;
        tokio::spawn(web_api::serve(Arc::clone(&app), listener));
    }
    let changes = ipc::store_feed::follow(store, events, "web");
    tokio::spawn(follow_feed(changes, Arc::clone(&app)));
    tokio::spawn(flush_sessions(Arc::clone(&app)));
    if let Some(link) = supervision.as_mut() {
        link.ready()
            .await
            .map_err(|e| format!("supervision link: {e}"))?;
    }
    tracing::info!(address = %address, "svc-web ready");
    service_kit::supervision::stop_signal(supervision).await;
    let _ = app
        .sessions
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .flush_if_dirty(unix_now());
    tracing::info!("svc-web stopped");
    Ok(())
}

/// Writes the sessions' idle clocks every few seconds.
async fn flush_sessions(app: Arc<App>) {
    let mut tick = tokio::time::interval(sessions::FLUSH_EVERY);
    loop {
        tick.tick().await;
        let mut sessions = app
            .sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Err(e) = sessions.flush_if_dirty(unix_now()) {
            tracing::warn!(error = %e, "cannot write the sessions");
        }
        app.metrics
            .sessions
            .set(i64::try_from(sessions.len()).unwrap_or(i64::MAX));
    }
}

/// Follows the store's change feed (`ipc::store_feed`): account and settings changes make
/// the session check read them again, settings changes put the security level in force,
/// and every change goes to the live-event clients.
async fn follow_feed(mut changes: tokio::sync::mpsc::Receiver<FeedEvent>, app: Arc<App>) {
    while let Some(event) = changes.recv().await {
        match event {
            FeedEvent::Change(change) => {
                if matches!(
                    change.entity,
                    model::Entity::Account | model::Entity::Settings | model::Entity::Database
                ) {
                    app.known.forget();
                }
                if change.entity == model::Entity::Settings {
                    refresh_settings(&app).await;
                }
                if change.entity == model::Entity::Database {
                    database_identity::check(&app).await;
                }
                publish(&app, change);
            }
            FeedEvent::Start { rev } => {
                app.known.forget();
                refresh_settings(&app).await;
                database_identity::check(&app).await;
                // Only where the stream starts.
                app.recent
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .last = rev;
            }
            FeedEvent::Resync { rev } => {
                app.known.forget();
                refresh_settings(&app).await;
                database_identity::check(&app).await;
                publish(&app, Change::database(rev));
            }
        }
    }
}

/// Hands a change to the live-event clients (held for resuming ones first).
fn publish(app: &App, change: Change) {
    app.recent
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(change);
    let _ = app.changes.send(change);
}

/// Puts changed settings in force: the security level, and the suppress mode for the
/// live-event clients (before they see the change).
async fn refresh_settings(app: &App) {
    if let Ok(settings) = app.settings().await {
        api::system::apply_tls_settings(app, &settings);
        app.suppress.send_replace(settings.suppress_table_updates);
    }
}
