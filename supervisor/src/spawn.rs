//! Starting one service process: its socketpair to the supervisor, the fds it inherits at
//! fixed numbers, a clean environment, and the sandbox of [`crate::sys::ChildSandbox`].

use crate::services::ServiceSpec;
use crate::sys::{self, ChildSandbox};
use ipc::api::supervision::{
    ServiceMsg, SupervisorMsg, FD_ENV, GENERATION_ENV, LISTEN_FDS_ENV, MAX_FRAME,
};
use ipc::{Channel, Hello};
use std::collections::BTreeMap;
use std::net::TcpListener;
use std::process::{ExitStatus, Stdio};
use tokio::sync::mpsc;

/// The fd number of the supervision link in every service.
pub const SUPERVISION_FD: i32 = 3;

/// What happens to a service process, reported to the supervisor's loop.
#[derive(Debug)]
pub enum ProcessEvent {
    /// It reported ready.
    Ready {
        /// Service index.
        slot: usize,
        /// Its generation.
        generation: u64,
    },
    /// It exited.
    Exited {
        /// Service index.
        slot: usize,
        /// Its generation.
        generation: u64,
        /// How it ended.
        status: std::io::Result<ExitStatus>,
    },
    /// It broke the supervision protocol; the supervisor kills it.
    Misbehaved {
        /// Service index.
        slot: usize,
        /// Its generation.
        generation: u64,
        /// What it did.
        error: String,
    },
}

/// A started process.
pub struct Running {
    /// Process id.
    pub pid: u32,
    /// Sends messages to it over the supervision link.
    pub link: mpsc::Sender<SupervisorMsg>,
}

/// Environment variables passed through to services; everything else is removed.
const ENV_ALLOWLIST: &[&str] = &["RUST_LOG", "RUST_BACKTRACE", "JOURNAL_STREAM", "LANG", "TZ"];

/// Starts service `slot` as generation `generation`.
///
/// # Errors
/// A message when the process cannot be started.
pub fn start(
    slot: usize,
    spec: &ServiceSpec,
    generation: u64,
    listeners: &BTreeMap<String, TcpListener>,
    dev: bool,
    env: &[(&str, String)],
    events: &mpsc::Sender<ProcessEvent>,
) -> Result<Running, String> {
    let (ours, theirs) =
        std::os::unix::net::UnixStream::pair().map_err(|e| format!("socketpair: {e}"))?;
    let mut keep_alive = vec![sys::dup_high(&theirs).map_err(|e| format!("dup: {e}"))?];
    drop(theirs);
    let mut listen_env = Vec::new();
    for (i, name) in spec.listeners.iter().enumerate() {
        let listener = listeners
            .get(name)
            .ok_or_else(|| format!("listener {name} is not configured"))?;
        keep_alive.push(sys::dup_high(listener).map_err(|e| format!("dup: {e}"))?);
        listen_env.push(format!(
            "{name}={}",
            SUPERVISION_FD + 1 + i32::try_from(i).unwrap_or(0)
        ));
    }
    let fds = keep_alive
        .iter()
        .zip(SUPERVISION_FD..)
        .map(|(fd, target)| (std::os::fd::AsRawFd::as_raw_fd(fd), target))
        .collect();

    let mut command = tokio::process::Command::new(&spec.binary);
    command
        .args(&spec.args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env(FD_ENV, SUPERVISION_FD.to_string())
        .env(GENERATION_ENV, generation.to_string())
        .env(LISTEN_FDS_ENV, listen_env.join(","))
        // Two glibc malloc arenas instead of up to 8 per core: the services' blocking
        // threads otherwise each keep freed memory in an arena of their own (BENCHMARKS.md).
        .env("MALLOC_ARENA_MAX", "2")
        .stdin(Stdio::null())
        .kill_on_drop(false);
    for key in ENV_ALLOWLIST {
        if let Some(value) = std::env::var_os(key) {
            command.env(key, value);
        }
    }
    if dev {
        command.env("MOM_DEV", "1");
    }
    for (key, value) in env {
        command.env(key, value);
    }
    if !spec.write_dirs.is_empty() {
        let dirs = std::env::join_paths(&spec.write_dirs)
            .map_err(|e| format!("write folders of {}: {e}", spec.name))?;
        command.env(service_kit::confine::WRITE_DIRS_ENV, dirs);
    }
    sys::install(
        &mut command,
        ChildSandbox {
            fds,
            identity: spec.identity,
        },
    );
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", spec.binary.display()))?;
    drop(keep_alive);
    let pid = child.id().unwrap_or(0);

    let exited = events.clone();
    tokio::spawn(async move {
        let status = child.wait().await;
        let _ = exited
            .send(ProcessEvent::Exited {
                slot,
                generation,
                status,
            })
            .await;
    });

    let (link, link_rx) = mpsc::channel(4);
    let name = spec.name.clone();
    let events = events.clone();
    tokio::spawn(async move {
        if let Err(error) = run_link(ours, &name, generation, slot, link_rx, &events).await {
            let _ = events
                .send(ProcessEvent::Misbehaved {
                    slot,
                    generation,
                    error,
                })
                .await;
        }
    });
    Ok(Running { pid, link })
}

/// Speaks the supervision protocol with one process until its link closes.
async fn run_link(
    stream: std::os::unix::net::UnixStream,
    name: &str,
    generation: u64,
    slot: usize,
    mut outgoing: mpsc::Receiver<SupervisorMsg>,
    events: &mpsc::Sender<ProcessEvent>,
) -> Result<(), String> {
    stream.set_nonblocking(true).map_err(|e| e.to_string())?;
    let stream = tokio::net::UnixStream::from_std(stream).map_err(|e| e.to_string())?;
    let channel: Channel<ServiceMsg, SupervisorMsg> =
        match Channel::handshake(stream, &Hello::new("supervisor", generation), MAX_FRAME).await {
            Ok(ch) => ch,
            // The process died before its hello; its exit is reported by the waiter.
            Err(ipc::IpcError::ClosedBeforeHello) => return Ok(()),
            Err(e) => return Err(e.to_string()),
        };
    if channel.peer.service != name || channel.peer.generation != generation {
        return Err(format!(
            "hello from {:?} generation {}, expected {name:?} generation {generation}",
            channel.peer.service, channel.peer.generation
        ));
    }
    let Channel { mut rx, mut tx, .. } = channel;
    loop {
        tokio::select! {
            msg = rx.recv() => match msg {
                Ok(Some(ServiceMsg::Ready)) => {
                    let _ = events.send(ProcessEvent::Ready { slot, generation }).await;
                }
                Ok(Some(ServiceMsg::Stopping(reason))) => {
                    tracing::info!(service = name, %reason, "service is stopping by itself");
                }
                Ok(None) => return Ok(()),
                Err(e) => return Err(e.to_string()),
            },
            out = outgoing.recv() => match out {
                Some(msg) => {
                    if tx.send(&msg).await.is_err() {
                        return Ok(());
                    }
                }
                // The supervisor dropped the link: closing it tells the service to stop.
                None => return Ok(()),
            },
        }
    }
}
