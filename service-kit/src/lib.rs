//! What every MOM service does at start, in one place:
//!
//! - [`logging`]: `tracing` to journald under systemd, to stderr otherwise, and to the
//!   trace file ([`trace_file`]), at a level that can change at run time;
//! - [`sandbox`]: make the process non-dumpable and verify the sandbox the supervisor built
//!   (no capabilities, `no_new_privs`, not root) before serving anything;
//! - [`confine`]: a seccomp filter and Landlock write rules, best effort;
//! - [`supervision`]: the link to the supervisor: hello, `Ready`, and shutdown on request or
//!   when the supervisor goes away;
//! - [`listeners`]: the listening sockets the supervisor bound for the service;
//! - [`tally`]: amounts held per key (connections per address, bytes per folder), given
//!   back on drop.

pub mod confine;
pub mod listeners;
pub mod logging;
pub mod sandbox;
pub mod supervision;
pub mod tally;
pub mod trace_file;

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

/// Why a service ended, with the exit code the supervisor sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// For the log.
    pub message: String,
    /// The exit code: 1 for a failure a restart may cure, [`EXIT_CONFIG`] for one it cannot.
    pub code: i32,
}

impl Failure {
    /// A failure no restart cures (a newer database, a bad configuration): the supervisor
    /// does not restart the service.
    #[must_use]
    pub fn permanent(message: String) -> Self {
        Self {
            message,
            code: EXIT_CONFIG,
        }
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Self { message, code: 1 }
    }
}

/// The common start of a service after logging and argument parsing: enter and verify the
/// sandbox, confine the process, build a two-thread runtime, run `service` to its end;
/// returns the exit code.
pub fn run<E: Into<Failure>, F: std::future::Future<Output = Result<(), E>>>(
    dev: bool,
    service: impl FnOnce() -> F,
) -> i32 {
    if let Err(e) = sandbox::enter(dev_mode(dev)) {
        tracing::error!("{e}");
        return EXIT_NOPERM;
    }
    confine::apply(confine::Role::Service);
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
            let failure = e.into();
            tracing::error!("{}", failure.message);
            failure.code
        }
    }
}
