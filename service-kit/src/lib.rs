//! What every MOM service does at start, in one place:
//!
//! - [`logging`]: `tracing` to journald under systemd, to stderr otherwise;
//! - [`sandbox`]: make the process non-dumpable and verify the sandbox the supervisor built
//!   (no capabilities, `no_new_privs`, not root) before serving anything;
//! - [`supervision`]: the link to the supervisor: hello, `Ready`, and shutdown on request or
//!   when the supervisor goes away.

pub mod logging;
pub mod sandbox;
pub mod supervision;

/// Exit code for a sandbox or configuration problem: the supervisor must not restart-loop
/// on it (sysexits `EX_CONFIG`).
pub const EXIT_CONFIG: i32 = 78;
/// Exit code for missing permissions (sysexits `EX_NOPERM`).
pub const EXIT_NOPERM: i32 = 77;
