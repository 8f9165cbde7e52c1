//! `sip-dect-mom`: the supervisor of the MOM's services, and the administrator's CLI.
//!
//! Start-up order, all in synchronous `main` before any runtime thread exists:
//! read and check the configuration → resolve users → create directories with their owners
//! → bind the listening sockets → drop the supervisor's own privileges → build the runtime
//! → start the services, each in its own sandbox (see [`sys`]).

pub mod activation;
pub mod config;
pub mod control;
pub mod dev;
pub mod eventlog;
pub mod maintenance;
pub mod monitor;
pub mod notify;
pub mod restart;
pub mod services;
pub mod spawn;
pub mod sys;

use clap::{Parser, Subcommand};
use config::Config;
use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Command line.
#[derive(Debug, Parser)]
#[command(name = "sip-dect-mom", version, about = "SIP-DECT Multi-OMM Manager")]
pub struct Cli {
    /// Configuration file [default: /etc/sip-dect-mom/mom.toml; built in with --dev].
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Development mode: run as the current user, everything under --dev-dir.
    #[arg(long, global = true)]
    pub dev: bool,
    /// Folder of development mode.
    #[arg(long, global = true, default_value = "dev-state")]
    pub dev_dir: PathBuf,
    /// Check the configuration and exit (as the `check` subcommand).
    #[arg(long)]
    pub check: bool,
    /// Development mode without the demo fleet of simulated OMMs and without a license.
    #[arg(long)]
    pub no_fleet: bool,
    /// Subcommand; without one, run the MOM.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Administrator subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The administrator's commands on the running MOM (the `admin-cli` crate).
    #[command(flatten)]
    Admin(admin_cli::Command),
    /// Give ACCOUNT a new temporary password (printed), enable it and make it change the
    /// password at its next login. Root only; works whether the MOM runs or not.
    ResetPassword {
        /// The account's name (the default account is `mom`).
        account: String,
        /// Read the new password from the first line of standard input instead.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Show the version, the database schema and the IPC protocol.
    Version,
    /// Development mode: run the demo fleet for the MOM of --dev-dir, which runs with
    /// --no-fleet, until Ctrl-C. A development cluster runs it beside its nodes, so that the
    /// fleet outlives whichever node is killed.
    DemoFleet,
    /// Check the configuration, the service users, the programs and the folders (exit 78
    /// when something is wrong), without starting anything.
    Check,
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

fn load_config(cli: &Cli) -> Result<Config, config::ConfigError> {
    let root = nix::unistd::geteuid().is_root();
    let exe_dir = || {
        std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(Path::to_owned))
            .unwrap_or_default()
    };
    match (&cli.config, cli.dev) {
        (Some(path), true) => Config::load_development(path, &absolute(&cli.dev_dir), exe_dir()),
        (Some(path), false) => Config::load(path, root),
        (None, true) => Ok(Config::development(&absolute(&cli.dev_dir), exe_dir())),
        (None, false) => Config::load(Path::new(config::DEFAULT_CONFIG), root),
    }
}

/// Entry point; returns the exit code.
#[must_use]
pub fn main() -> i32 {
    let cli = Cli::parse();
    service_kit::logging::init("supervisor");
    // The version needs no configuration (a broken one is what an administrator may be
    // looking into); issuing licenses happens on the issuer's machine, which need not have
    // a MOM.
    if let Some(Command::Version) = &cli.command {
        return maintenance::version();
    }
    if let Some(Command::Admin(command)) = &cli.command {
        if command.is_offline() {
            return admin_cli::run_offline(command);
        }
    }
    let mut config = match load_config(&cli) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sip-dect-mom: {e}");
            return service_kit::EXIT_CONFIG;
        }
    };
    if cli.dev && cli.command.is_none() {
        if let Err(e) = dev::trust_development_issuer(&mut config) {
            eprintln!("sip-dect-mom: {e}");
            return service_kit::EXIT_CONFIG;
        }
    }
    if std::env::var_os("RUST_LOG").is_none() {
        if let Err(e) = service_kit::logging::set_level(&config.log.level) {
            eprintln!("sip-dect-mom: {e}");
        }
    }
    let config_path = cli.config.as_ref().map_or_else(
        || {
            if cli.dev {
                "(built in, development mode)".to_owned()
            } else {
                config::DEFAULT_CONFIG.to_owned()
            }
        },
        |p| p.display().to_string(),
    );
    match &cli.command {
        Some(Command::ResetPassword {
            account,
            password_stdin,
        }) => {
            let source = if *password_stdin {
                maintenance::NewPassword::Stdin
            } else {
                maintenance::NewPassword::Generated
            };
            return maintenance::reset_password(&config, cli.dev, account, &source);
        }
        Some(Command::Check) => return maintenance::check(&config, &config_path, cli.dev),
        Some(Command::Admin(command)) => {
            return admin_cli::run(command, &sockets(&config, cli.dev))
        }
        Some(Command::Version) => return maintenance::version(),
        Some(Command::DemoFleet) => return demo_fleet(&config, cli.dev),
        None => {}
    }
    if cli.check {
        return maintenance::check(&config, &config_path, cli.dev);
    }
    match daemon(&cli, &config) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("{e}");
            service_kit::EXIT_CONFIG
        }
    }
}

/// `sip-dect-mom --dev demo-fleet`: the fleet of development mode, outside the supervisor.
fn demo_fleet(config: &Config, dev: bool) -> i32 {
    if !dev {
        eprintln!("sip-dect-mom: demo-fleet is for development mode (--dev) only");
        return 1;
    }
    let store_socket = services::store_socket(&config.paths.runtime_dir);
    let issuer_key = dev::issuer_key_path(config);
    println!(
        "Demo fleet for the MOM of {}:",
        config.paths.state_dir.display()
    );
    runtime().block_on(async {
        tokio::select! {
            () = dev::run(store_socket, issuer_key) => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    });
    0
}

fn runtime() -> tokio::runtime::Runtime {
    // One thread: children are spawned from it, so PR_SET_PDEATHSIG fires only when the
    // supervisor itself dies.
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| {
            eprintln!("sip-dect-mom: cannot start the runtime: {e}");
            std::process::exit(1)
        })
}

/// Where the running MOM listens, for the admin CLI.
fn sockets(config: &Config, dev: bool) -> admin_cli::Sockets {
    let runtime_dir = &config.paths.runtime_dir;
    // Development mode keeps every file owned by whoever runs it.
    let owner_of = |user: &str| if dev { None } else { owner(config, user) };
    let store_owner = owner_of(&config.users.store);
    admin_cli::Sockets {
        store: services::store_socket(runtime_dir),
        axi: services::axi_socket(runtime_dir),
        control: services::control_socket(runtime_dir),
        https_port: config.listen.https.map_or(443, |a| a.port()),
        cluster_dir: services::store_cluster_dir(&config.paths.state_dir),
        store_owner,
        secrets_keys: vec![
            admin_cli::SecretsKeyFile {
                service: "store",
                // Beside the database folder (svc-store's `secrets::key_path`).
                path: services::store_db_dir(&config.paths.state_dir).with_file_name("secrets.key"),
                owner: store_owner,
            },
            admin_cli::SecretsKeyFile {
                service: "web",
                path: services::web_state(&config.paths.state_dir).join("secrets.key"),
                owner: owner_of(&config.users.web),
            },
        ],
    }
}

/// A service's user and the services' group, when they exist (not in development mode).
fn owner(config: &Config, name: &str) -> Option<(u32, u32)> {
    if !nix::unistd::geteuid().is_root() {
        return None;
    }
    let user = nix::unistd::User::from_name(name).ok()??;
    let group = nix::unistd::Group::from_name(&config.users.group).ok()??;
    Some((user.uid.as_raw(), group.gid.as_raw()))
}

fn bind_listeners(
    config: &Config,
    mut passed: Vec<TcpListener>,
) -> Result<BTreeMap<String, TcpListener>, String> {
    let mut out = BTreeMap::new();
    for (name, addr) in config.listeners() {
        let listener = match activation::claim(&mut passed, addr) {
            Some(listener) => listener,
            None => TcpListener::bind(addr)
                .map_err(|e| format!("cannot listen on {addr} ({name}): {e}"))?,
        };
        out.insert(name.to_owned(), listener);
    }
    if let Some(why) = activation::unclaimed(&passed) {
        return Err(why);
    }
    Ok(out)
}

fn daemon(cli: &Cli, config: &Config) -> Result<i32, String> {
    let passed = activation::take();
    let root = nix::unistd::geteuid().is_root();
    if !cli.dev && !root {
        return Err("sip-dect-mom must start as root (it drops privileges itself); use --dev to run as yourself".into());
    }
    let plan = services::plan(config, cli.dev)?;
    services::create_dirs(&plan.dirs)?;
    let trace = config.log.trace_options(&config.paths.log_dir);
    if let Some(trace) = &trace {
        service_kit::trace_file::enable(trace.clone());
    }
    let listeners = bind_listeners(config, passed)?;
    let mut plan = plan;
    if let Some(https) = listeners.get("https").and_then(|l| l.local_addr().ok()) {
        services::tell_web_port(&mut plan, https.port());
    }
    if root && !cli.dev {
        sys::drop_supervisor_privileges(plan.group_gid)?;
    } else {
        sys::harden_unprivileged()?;
    }
    // Whatever others may read gets its mode explicitly (folders, sockets, the trace file).
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    match service_kit::confine::seccomp(service_kit::confine::Role::Supervisor) {
        Ok(refused) => tracing::info!(refused, "supervisor confined: seccomp filter installed"),
        Err(e) => tracing::warn!(error = %e, "supervisor's seccomp filter not enforced"),
    }
    if cli.dev {
        print_dev_banner(config, &listeners);
        if root {
            // Development mode keeps every file owned by whoever runs it, so it cannot drop
            // to the service users; as root that means no privilege separation at all.
            println!("  WARNING: running as root in development mode: every service runs as root, with no user of its own");
            println!("           (seccomp and Landlock still confine each one).");
            println!(
                "           Production mode (without --dev) runs each service as its own user."
            );
            tracing::warn!(
                "development mode as root: every service runs as root, with no user of its own (seccomp and Landlock still confine each one)"
            );
        }
    }
    let rt = runtime();
    let outcome = rt.block_on(async {
        let board = Arc::new(Mutex::new(Vec::new()));
        let control = ipc::Listener::<ipc::api::control::ControlApi>::bind(
            &plan.control_socket,
            0o660,
            plan.control_uids.clone(),
        )
        .map_err(|e| format!("cannot listen on {}: {e}", plan.control_socket.display()))?;
        let addresses = listeners
            .iter()
            .filter_map(|(name, l)| Some((name.clone(), l.local_addr().ok()?.to_string())))
            .collect();
        let (level_tx, level_rx) = tokio::sync::watch::channel(service_kit::logging::level());
        let control = tokio::spawn(control::serve(
            control,
            Arc::clone(&board),
            addresses,
            level_tx,
        ));
        let fleet = (cli.dev && !cli.no_fleet).then(|| {
            tokio::spawn(dev::run(
                plan.store_socket.clone(),
                dev::issuer_key_path(config),
            ))
        });
        let monitor = monitor::Monitor::new(
            &plan,
            &config.restart.policy(),
            std::time::Duration::from_millis(config.restart.grace_period_ms),
            listeners,
            board,
            trace.as_ref(),
            level_rx,
        );
        let outcome = monitor.run().await;
        control.abort();
        if let Some(fleet) = fleet {
            fleet.abort();
            let _ = fleet.await;
        }
        let _ = std::fs::remove_file(&plan.control_socket);
        Ok::<_, String>(outcome)
    })?;
    Ok(match outcome {
        monitor::Outcome::Stopped => {
            tracing::info!("stopped");
            0
        }
        monitor::Outcome::EssentialRefused => {
            tracing::error!("svc-store refuses to start (its message above says why); ending the daemon without a restart");
            service_kit::EXIT_CONFIG
        }
        monitor::Outcome::EssentialFailed => {
            tracing::error!(
                "svc-store cannot stay up; ending the daemon so systemd can restart it"
            );
            1
        }
    })
}

fn print_dev_banner(config: &Config, listeners: &BTreeMap<String, TcpListener>) {
    let p = &config.paths;
    println!(
        "sip-dect-mom {} in development mode",
        env!("CARGO_PKG_VERSION")
    );
    println!("  state:   {}", p.state_dir.display());
    println!("  sockets: {}", p.runtime_dir.display());
    for (name, l) in listeners {
        if let Ok(addr) = l.local_addr() {
            let served = match name.as_str() {
                "https" => format!("https://{addr}/ (svc-web)"),
                "http" => format!("{addr} (redirects to HTTPS)"),
                "maxi" => format!("{addr} (MAXI over TLS, svc-maxi)"),
                "maxi-debug" => format!("{addr} (plain MAXI for debugging, svc-maxi)"),
                "cluster" => format!("{addr} (the cluster's peer port, svc-store)"),
                other => format!("{addr} (for the extra service {other})"),
            };
            println!("  {name:<7}  {served}");
        }
    }
    println!(
        "  status:  sip-dect-mom --dev --dev-dir {} status",
        p.state_dir.parent().unwrap_or(Path::new(".")).display()
    );
    println!("Stop with Ctrl-C.");
}
