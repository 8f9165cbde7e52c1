//! The supervisor's control API (`supervisor.sock`), used by `sip-dect-mom status`.

use crate::Api;
use serde::{Deserialize, Serialize};

/// Marker type for the control API.
pub struct ControlApi;

impl Api for ControlApi {
    const NAME: &'static str = "supervisor";
    const MAX_FRAME: u32 = 256 * 1024;
    type Request = ControlRequest;
    type Response = ControlResponse;
}

/// Control requests. Append-only; bump `PROTO_VERSION` on any change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ControlRequest {
    /// The state of every service.
    Status,
    /// The addresses the supervisor listens on for its services (`https`, `http`, `maxi`).
    Listeners,
    /// The log level in force.
    LogLevel,
    /// Change the log level of the supervisor and every service, now and for services
    /// started later, until the daemon stops (`[log] level` of `mom.toml` applies again at
    /// the next start).
    SetLogLevel(String),
}

/// Control responses. Append-only; bump `PROTO_VERSION` on any change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ControlResponse {
    /// Answer to [`ControlRequest::Status`].
    Status(Vec<ServiceStatus>),
    /// Answer to [`ControlRequest::Listeners`]: each listener's name and bound address.
    Listeners(Vec<(String, String)>),
    /// Answer to [`ControlRequest::LogLevel`] and [`ControlRequest::SetLogLevel`]: the
    /// level in force.
    LogLevel(String),
    /// The request was refused, with the reason for the administrator.
    Refused(String),
}

/// Life-cycle state of one supervised service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServiceState {
    /// Started, not yet ready.
    Starting,
    /// Ready and serving.
    Running,
    /// Exited; waiting for its restart delay.
    Backoff,
    /// Crashed too often; retried only at the slowest rate.
    Failed,
    /// Stopped on purpose (shutdown).
    Stopped,
}

impl std::fmt::Display for ServiceState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Starting => "starting",
            Self::Running => "running",
            Self::Backoff => "backoff",
            Self::Failed => "failed",
            Self::Stopped => "stopped",
        })
    }
}

/// One row of `sip-dect-mom status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceStatus {
    /// Service name.
    pub name: String,
    /// Current state.
    pub state: ServiceState,
    /// Process id while a process exists.
    pub pid: Option<u32>,
    /// Seconds since the current process started (0 when none).
    pub uptime_secs: u64,
    /// Restarts since the supervisor started.
    pub restarts: u32,
    /// Generation of the current process.
    pub generation: u64,
    /// How the last process ended, if one did.
    pub last_exit: String,
}
