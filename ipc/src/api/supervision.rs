//! The link between the supervisor and each service it started (a socketpair, fd passed at
//! spawn). A service exits when this link reaches EOF.

use serde::{Deserialize, Serialize};

/// Largest frame on the supervision link.
pub const MAX_FRAME: u32 = 64 * 1024;

/// Name of the environment variable that carries the supervision fd number.
pub const FD_ENV: &str = "MOM_SUPERVISION_FD";

/// Name of the environment variable that carries the service's generation.
pub const GENERATION_ENV: &str = "MOM_GENERATION";

/// Name of the environment variable that lists inherited listening fds (`name=fd,...`).
pub const LISTEN_FDS_ENV: &str = "MOM_LISTEN_FDS";

/// From a service to the supervisor. Append-only; bump `PROTO_VERSION` on any change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServiceMsg {
    /// The service is serving.
    Ready,
    /// The service is stopping by itself, with a reason for the log.
    Stopping(String),
}

/// From the supervisor to a service. Append-only; bump `PROTO_VERSION` on any change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SupervisorMsg {
    /// Finish in-flight work and exit 0.
    Shutdown,
    /// Log at this level from now on (a level or `tracing` directives, already checked).
    LogLevel(String),
}
