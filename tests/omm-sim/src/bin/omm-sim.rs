//! `omm-sim`: run a fleet of simulated OMMs on loopback until Ctrl-C.
//!
//! Prints one JSON line per OMM (`omm`, `port`, `park`, `username`, `password`) and the
//! control socket's address, so scripts can find them.

use clap::Parser;
use std::sync::Arc;

/// Command line.
#[derive(Debug, Parser)]
#[command(name = "omm-sim", about = "Simulated OMMs speaking AXI on loopback")]
struct Args {
    /// Number of OMMs.
    #[arg(long, default_value_t = 3)]
    omms: u32,
    /// Users per OMM.
    #[arg(long, default_value_t = 100)]
    users: u32,
    /// Handsets per OMM.
    #[arg(long, default_value_t = 100)]
    devices: u32,
    /// Seed of the population.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Plain TCP instead of TLS.
    #[arg(long)]
    plain: bool,
    /// Control socket address.
    #[arg(long, default_value = "127.0.0.1:0")]
    control: std::net::SocketAddr,
}

fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let started = std::time::Instant::now();
        let options = omm_sim::FleetOptions { omms: args.omms, users: args.users, devices: args.devices, seed: args.seed, tls: !args.plain, ..omm_sim::FleetOptions::default() };
        let fleet = match omm_sim::Fleet::start(options).await {
            Ok(f) => Arc::new(f),
            Err(e) => {
                eprintln!("omm-sim: {e}");
                std::process::exit(1);
            }
        };
        let control = tokio::net::TcpListener::bind(args.control).await.expect("control socket");
        let control_addr = control.local_addr().expect("address");
        for omm in &fleet.omms {
            let inner = omm.lock();
            println!(
                "{}",
                serde_json::json!({"omm": inner.state.index, "port": omm.addr.port(), "park": inner.state.park,
                    "username": inner.state.config.username, "password": inner.state.config.password})
            );
        }
        println!("{}", serde_json::json!({"control": control_addr.to_string(), "startup_ms": started.elapsed().as_millis() as u64}));
        eprintln!("omm-sim: {} OMMs ready in {} ms; control on {control_addr}; stop with Ctrl-C", fleet.omms.len(), started.elapsed().as_millis());
        tokio::spawn(omm_sim::control::serve(Arc::clone(&fleet), control));
        let _ = tokio::signal::ctrl_c().await;
    });
}
