//! What every MOM service does at start, in one place:
//!
//! - [`logging`]: `tracing` to journald under systemd, to stderr otherwise;
//! - [`sandbox`]: make the process non-dumpable and verify the sandbox the supervisor built
//!   (no capabilities, `no_new_privs`, not root) before serving anything;
//! - [`supervision`]: the link to the supervisor: hello, `Ready`, and shutdown on request or
//!   when the supervisor goes away;
//! - [`listeners`]: the listening sockets the supervisor bound for the service.

pub mod listeners;
pub mod logging;
pub mod sandbox;
pub mod supervision;

/// Exit code for a sandbox or configuration problem: the supervisor must not restart-loop
/// on it (sysexits `EX_CONFIG`).
pub const EXIT_CONFIG: i32 = 78;
/// Exit code for missing permissions (sysexits `EX_NOPERM`).
pub const EXIT_NOPERM: i32 = 77;

/// Whether this service runs in development mode (`--dev`, or `MOM_DEV=1` from the supervisor).
#[must_use]
pub fn dev_mode(flag: bool) -> bool {
    flag || std::env::var_os("MOM_DEV").is_some_and(|v| v == "1")
}

/// The common start of a service after logging and argument parsing: enter and verify the
/// sandbox, build a two-thread runtime, run `service` to its end; returns the exit code.
pub fn run<F: std::future::Future<Output = Result<(), String>>>(
    dev: bool,
    service: impl FnOnce() -> F,
) -> i32 {
    if let Err(e) = sandbox::enter(dev_mode(dev)) {
        tracing::error!("{e}");
        return EXIT_NOPERM;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the runtime");
            return 1;
        }
    };
    match runtime.block_on(service()) {
        Ok(()) => 0,
        Err(e) => {
            tracing::error!("{e}");
            1
        }
    }
}
