//! A small service for the supervisor's end-to-end tests: it speaks the supervision
//! protocol like the real services and misbehaves on request.

use clap::Parser;
use std::io::Write;
use std::os::fd::FromRawFd;
use std::time::Duration;

/// What to do.
#[derive(Debug, Parser)]
struct Args {
    /// Name in its hello (must match the supervisor's name for it).
    #[arg(long, default_value = "test")]
    name: String,
    /// Exit with code 3 this many milliseconds after reporting ready.
    #[arg(long)]
    crash_after_ms: Option<u64>,
    /// Ignore SIGTERM (the supervisor must SIGKILL it after the grace period).
    #[arg(long)]
    ignore_sigterm: bool,
    /// Answer every connection on the inherited listener NAME with "hello from <name>".
    #[arg(long)]
    serve_listener: Option<String>,
}

fn main() {
    service_kit::logging::init("test-service");
    let args = Args::parse();
    let dev = service_kit::dev_mode(false);
    if let Err(e) = service_kit::sandbox::enter(dev) {
        tracing::error!("{e}");
        std::process::exit(service_kit::EXIT_NOPERM);
    }
    if args.ignore_sigterm {
        // SAFETY: installing SIG_IGN for SIGTERM before any thread exists has no memory effects.
        unsafe {
            let _ = nix::sys::signal::signal(
                nix::sys::signal::Signal::SIGTERM,
                nix::sys::signal::SigHandler::SigIgn,
            );
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run(args));
}

fn inherited_listener(name: &str) -> Option<std::net::TcpListener> {
    let spec = std::env::var(ipc::api::supervision::LISTEN_FDS_ENV).ok()?;
    let fd: i32 = spec
        .split(',')
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))?
        .parse()
        .ok()?;
    // SAFETY: the supervisor passed this fd to this process as the listener `name`; nothing
    // else here takes ownership of it.
    Some(unsafe { std::net::TcpListener::from_raw_fd(fd) })
}

async fn run(args: Args) {
    let mut link = service_kit::supervision::Link::from_env(&args.name)
        .await
        .expect("supervision link");
    if let Some(name) = &args.serve_listener {
        let listener = inherited_listener(name).expect("inherited listener");
        let service = args.name.clone();
        std::thread::spawn(move || {
            for mut conn in listener.incoming().flatten() {
                let _ = writeln!(conn, "hello from {service}");
            }
        });
    }
    if let Some(link) = link.as_mut() {
        link.ready().await.expect("ready");
    }
    if let Some(ms) = args.crash_after_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        std::process::exit(3);
    }
    if args.ignore_sigterm {
        // Only the supervisor link or SIGKILL ends it; it even ignores a shutdown request.
        std::future::pending::<()>().await;
    }
    service_kit::supervision::stop_signal(link).await;
}
