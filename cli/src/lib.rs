//! The administrator's command line: every `sip-dect-mom` subcommand that talks to a running
//! MOM (over the store's, svc-axi's and the supervisor's sockets), and the license issuer's
//! offline commands. One module per pane or command group, named as the admin guide names
//! it; [`client`] is what they share.
//!
//! This crate is a client only: it links no service code and parses no AXI (svc-axi types
//! `user edit --set`), so the privileged `sip-dect-mom` binary that links it keeps that rule.
#![forbid(unsafe_code)]

pub mod client;
pub mod cluster;
pub mod conflicts;
pub mod db;
pub mod devices;
pub mod health;
pub mod license;
pub mod log_level;
pub mod omms;
pub mod pages;
pub mod provisioning;
pub mod settings;
pub mod status;
pub mod users;

use clap::Subcommand;
use std::path::PathBuf;

pub use client::{EXIT_DEGRADED, EXIT_UNREACHABLE};

/// Where the running MOM listens, from its configuration.
#[derive(Debug, Clone)]
pub struct Sockets {
    /// The store's socket.
    pub store: PathBuf,
    /// svc-axi's socket.
    pub axi: PathBuf,
    /// The supervisor's control socket.
    pub control: PathBuf,
    /// The configured HTTPS port (for `%MOM_WEB_HTTPS_PORT%` when svc-web cannot be asked).
    pub https_port: u16,
    /// The store's cluster folder (the cluster's certificates).
    pub cluster_dir: PathBuf,
    /// The store's user and group, who own that folder (`None` in development mode).
    pub store_owner: Option<(u32, u32)>,
    /// The installation's secrets key files, which every node of a cluster shares.
    pub secrets_keys: Vec<SecretsKeyFile>,
}

/// Where one service keeps its secrets key, and who owns it.
#[derive(Debug, Clone)]
pub struct SecretsKeyFile {
    /// `store` or `web`.
    pub service: &'static str,
    /// The file.
    pub path: PathBuf,
    /// Its user and group (`None` in development mode).
    pub owner: Option<(u32, u32)>,
}

/// The administrator's subcommands that talk to a running MOM (and `license` offline).
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show every service's state, pid, uptime and restarts (exit 3 if one is not running),
    /// then the OMM links and the health states.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Export or import the database.
    Db {
        /// What to do.
        #[command(subcommand)]
        action: db::DbAction,
    },
    /// OMM records.
    Omm {
        /// What to do.
        #[command(subcommand)]
        action: omms::OmmAction,
    },
    /// Users.
    User {
        /// What to do.
        #[command(subcommand)]
        action: users::UserAction,
    },
    /// Handsets.
    Device {
        /// What to do.
        #[command(subcommand)]
        action: devices::DeviceAction,
    },
    /// System settings.
    Settings {
        /// What to do.
        #[command(subcommand)]
        action: settings::SettingsAction,
    },
    /// The MOM license: create an issuer key, issue, install, show.
    License {
        /// What to do.
        #[command(subcommand)]
        action: license::LicenseAction,
    },
    /// Centralized OMM provisioning: the template, placeholder files, show, check, preview.
    Provisioning {
        /// What to do.
        #[command(subcommand)]
        action: provisioning::ProvisioningAction,
    },
    /// The health states: license and OMM connections (exit 3 when one needs attention).
    Health {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Records held back because two OMMs claim them or the MOM refused them (exit 3 while
    /// there are any).
    Conflicts {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// A MOM cluster: init, add-node, join, remove-node, status.
    Cluster {
        /// What to do.
        #[command(subcommand)]
        action: cluster::ClusterAction,
    },
    /// Show the log level of the running MOM, or change it (error, warn, info, debug, trace,
    /// or directives such as info,svc_axi=debug) until its next start.
    LogLevel {
        /// The new level; without it, show the level in force.
        level: Option<String>,
    },
}

impl Command {
    /// Whether the command needs no MOM and no configuration (issuing licenses happens on
    /// the issuer's machine, which need not have a MOM).
    #[must_use]
    pub fn is_offline(&self) -> bool {
        matches!(self, Command::License { action } if action.is_offline())
    }
}

/// Runs an offline command (see [`Command::is_offline`]); returns the exit code.
#[must_use]
pub fn run_offline(command: &Command) -> i32 {
    match command {
        Command::License { action } => license::offline(action),
        _ => client::fail("this command needs the running MOM"),
    }
}

/// Runs `command` against the MOM at `sockets`; returns the exit code.
#[must_use]
pub fn run(command: &Command, sockets: &Sockets) -> i32 {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return client::fail(&format!("cannot start the runtime: {e}")),
    };
    let store = &sockets.store;
    rt.block_on(async {
        match command {
            Command::Status { json } => status::status(&sockets.control, store, *json).await,
            Command::Db { action } => db::db(store, action).await,
            Command::Omm {
                action: omms::OmmAction::Update { ids, all },
            } => provisioning::update(&sockets.axi, store, ids, *all).await,
            Command::Omm { action } => omms::omm(store, action).await,
            Command::Provisioning { action } => {
                let web = provisioning::Web::find(&sockets.control, sockets.https_port).await;
                provisioning::provisioning(store, &web, action).await
            }
            Command::User { action } => users::user(store, &sockets.axi, action).await,
            Command::Device { action } => devices::device(store, action).await,
            Command::Settings { action } => settings::settings(store, action).await,
            Command::License { action } => license::online(store, action).await,
            Command::Health { json } => health::health(store, *json).await,
            Command::Conflicts { json } => conflicts::conflicts(store, *json).await,
            Command::Cluster { action } => cluster::cluster(sockets, action).await,
            Command::LogLevel { level } => {
                log_level::log_level(&sockets.control, level.as_deref()).await
            }
        }
    })
}
