//! The control socket (`supervisor.sock`): answers `sip-dect-mom status` and `log-level`.

use crate::monitor::StatusBoard;
use ipc::api::control::{ControlApi, ControlRequest, ControlResponse, ServiceStatus};
use ipc::{Envelope, Hello, Listener};
use tokio::sync::watch;

/// The board as status rows, with uptimes computed now.
#[must_use]
pub fn snapshot(board: &StatusBoard) -> Vec<ServiceStatus> {
    let rows = board.lock().map(|b| b.clone()).unwrap_or_default();
    rows.into_iter()
        .map(|r| ServiceStatus {
            name: r.name,
            state: r.state,
            pid: r.pid,
            uptime_secs: r.started.map_or(0, |s| s.elapsed().as_secs()),
            restarts: r.restarts,
            generation: r.generation,
            last_exit: r.last_exit,
        })
        .collect()
}

/// Changes the log level of the supervisor, then (through `level`) of every service.
fn set_log_level(spec: &str, level: &watch::Sender<String>) -> ControlResponse {
    match service_kit::logging::set_level(spec) {
        Ok(()) => {
            let spec = spec.trim().to_owned();
            tracing::info!(level = %spec, "log level changed");
            level.send_replace(spec.clone());
            ControlResponse::LogLevel(spec)
        }
        Err(e) => ControlResponse::Refused(e),
    }
}

/// Serves the control API until the task is dropped.
pub async fn serve(
    listener: Listener<ControlApi>,
    board: StatusBoard,
    listeners: Vec<(String, String)>,
    level: watch::Sender<String>,
) {
    let hello = Hello::new("supervisor", 0);
    ipc::serve::serve(listener, hello, "control", move |mut channel, _| {
        let board = board.clone();
        let listeners = listeners.clone();
        let level = level.clone();
        async move {
            while let Ok(Some(Envelope { id, body })) = channel.rx.recv().await {
                let body = match body {
                    ControlRequest::Status => ControlResponse::Status(snapshot(&board)),
                    ControlRequest::Listeners => ControlResponse::Listeners(listeners.clone()),
                    ControlRequest::LogLevel => ControlResponse::LogLevel(level.borrow().clone()),
                    ControlRequest::SetLogLevel(spec) => set_log_level(&spec, &level),
                };
                if channel.tx.send(&Envelope { id, body }).await.is_err() {
                    break;
                }
            }
        }
    })
    .await;
}
