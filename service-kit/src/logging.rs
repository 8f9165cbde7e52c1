//! Log set-up for every MOM process.
//!
//! - To the journal (native protocol, structured fields, syslog priorities) when stderr *is*
//!   the journal stream systemd set up (`JOURNAL_STREAM` names stderr's device and inode);
//!   to stderr otherwise.
//! - To the admin guide's trace file (`mom_trace_<date>.log`, see [`crate::trace_file`]) once
//!   the process knows its log folder.
//! - At a level that can change at run time ([`set_level`]): the supervisor passes the level
//!   in force to each service it starts (`MOM_LOG_LEVEL`) and sends every change to the
//!   running ones.

use crate::trace_file::{self, TraceFile};
use std::os::unix::fs::MetadataExt;
use std::sync::{Mutex, OnceLock};
use tracing_subscriber::fmt::{format::Writer, time::FormatTime, time::SystemTime};
use tracing_subscriber::{fmt, prelude::*, reload, EnvFilter, Registry};

/// The environment variable that carries the level a service starts with.
pub const LEVEL_ENV: &str = "MOM_LOG_LEVEL";

/// The level when nothing else is said.
pub const DEFAULT_LEVEL: &str = "info";

/// The level names a directive may end with.
const LEVELS: &[&str] = &["off", "error", "warn", "info", "debug", "trace"];

/// Longest level specification accepted (it is stored and sent to every service).
const MAX_LEVEL_LEN: usize = 200;

/// The handle that swaps the filter, and the text of the filter in force.
struct Level {
    handle: reload::Handle<EnvFilter, Registry>,
    text: Mutex<String>,
}

static LEVEL: OnceLock<Level> = OnceLock::new();

/// Time stamp followed by the service name, so the lines of every process on one stderr (or
/// in the one trace file) say whose they are.
struct TimeAndService(&'static str);

impl FormatTime for TimeAndService {
    fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
        SystemTime.format_time(w)?;
        write!(w, " {:<10}", self.0)
    }
}

/// Checks a level specification and builds its filter: a level (`error`, `warn`, `info`,
/// `debug`, `trace`, `off`) or `tracing` directives such as `info,svc_axi=debug`.
///
/// # Errors
/// A message saying what is wrong, for the administrator who typed it.
pub fn parse_level(spec: &str) -> Result<EnvFilter, String> {
    let spec = spec.trim();
    if spec.is_empty() {
        return Err("the log level is empty (use error, warn, info, debug or trace)".into());
    }
    if spec.len() > MAX_LEVEL_LEN {
        return Err(format!(
            "the log level is longer than {MAX_LEVEL_LEN} characters"
        ));
    }
    if let Some(c) = spec
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "_=,:-".contains(*c)))
    {
        return Err(format!(
            "the log level has the character {c:?}; use a level (error, warn, info, debug, trace) or directives like info,svc_axi=debug"
        ));
    }
    for directive in spec.split(',') {
        let level = directive.rsplit_once('=').map_or(directive, |(_, l)| l);
        if !LEVELS.contains(&level.to_ascii_lowercase().as_str()) {
            return Err(format!(
                "{directive:?} is not a log level: use error, warn, info, debug, trace or off, optionally after a module and = (svc_axi=debug)"
            ));
        }
    }
    // Libraries that log routine steps as warnings and errors (openraft: each lost vote
    // race, each retry of a peer that is down) are silent unless the level names them; the
    // cluster's own lines say what an administrator can act on (svc-store's `cluster`).
    let mut full = spec.to_owned();
    for (module, level) in QUIET {
        if !spec.contains(module) {
            full.push_str(&format!(",{module}={level}"));
        }
    }
    EnvFilter::builder()
        .with_regex(false)
        .parse(&full)
        .map_err(|e| format!("the log level {spec:?} is not valid: {e}"))
}

/// Modules held to a level unless a directive names them.
const QUIET: [(&str, &str); 1] = [("openraft", "off")];

/// The level this process starts with: `MOM_LOG_LEVEL`, else `RUST_LOG`, else `info`; an
/// invalid one falls back to `info` with a note on stderr.
fn initial_level() -> (String, EnvFilter) {
    for var in [LEVEL_ENV, "RUST_LOG"] {
        if let Ok(spec) = std::env::var(var) {
            match parse_level(&spec) {
                Ok(filter) => return (spec.trim().to_owned(), filter),
                Err(e) => eprintln!("{var}: {e}; using {DEFAULT_LEVEL}"),
            }
        }
    }
    let filter = parse_level(DEFAULT_LEVEL).unwrap_or_else(|_| EnvFilter::new(DEFAULT_LEVEL));
    (DEFAULT_LEVEL.to_owned(), filter)
}

/// Whether stderr is the journal stream systemd connected (`JOURNAL_STREAM=<dev>:<inode>`
/// of stderr): a process started by hand from a unit's shell inherits the variable but not
/// the stream.
fn stderr_is_journal() -> bool {
    let Some(stream) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = stream.to_str().and_then(|s| s.split_once(':')) else {
        return false;
    };
    let Ok(meta) = std::fs::metadata("/proc/self/fd/2") else {
        return false;
    };
    dev.parse() == Ok(meta.dev()) && ino.parse() == Ok(meta.ino())
}

/// The journal's priorities: `info` is syslog's informational (6), not tracing-journald's
/// default notice (5), so `journalctl -p notice` shows warnings and worse only.
fn priorities() -> tracing_journald::PriorityMappings {
    tracing_journald::PriorityMappings {
        info: tracing_journald::Priority::Informational,
        ..tracing_journald::PriorityMappings::new()
    }
}

/// Installs the global subscriber for `service`. The trace file is written once
/// [`trace_file::enable`] names its folder; services get it from the supervisor's
/// environment ([`trace_file::DIR_ENV`]).
pub fn init(service: &'static str) {
    let (text, filter) = initial_level();
    let (filter, handle) = reload::Layer::new(filter);
    let _ = LEVEL.set(Level {
        handle,
        text: Mutex::new(text),
    });
    let trace = fmt::layer()
        .with_writer(TraceFile)
        .with_ansi(false)
        .with_timer(TimeAndService(service))
        .with_target(false);
    let journal = stderr_is_journal()
        .then(tracing_journald::layer)
        .and_then(Result::ok)
        .map(|layer| {
            layer
                .with_syslog_identifier("sip-dect-mom".into())
                .with_custom_fields([("MOM_SERVICE", service)])
                .with_priority_mappings(priorities())
        });
    let stderr = journal.is_none().then(|| {
        fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .with_timer(TimeAndService(service))
            .with_target(false)
    });
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(journal)
        .with(stderr)
        .with(trace)
        .try_init();
    trace_file::enable_from_env();
}

/// Changes the level of this process at run time.
///
/// # Errors
/// The message of [`parse_level`], or that logging was not set up.
pub fn set_level(spec: &str) -> Result<(), String> {
    let filter = parse_level(spec)?;
    let level = LEVEL.get().ok_or("logging is not set up")?;
    level
        .handle
        .reload(filter)
        .map_err(|e| format!("cannot change the log level: {e}"))?;
    if let Ok(mut text) = level.text.lock() {
        spec.trim().clone_into(&mut text);
    }
    Ok(())
}

/// The level specification in force.
#[must_use]
pub fn level() -> String {
    LEVEL
        .get()
        .and_then(|l| l.text.lock().ok().map(|t| t.clone()))
        .unwrap_or_else(|| DEFAULT_LEVEL.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_directives_are_accepted_and_junk_is_refused_with_a_reason() {
        for good in [
            "info",
            "debug",
            " warn ",
            "info,svc_axi=debug",
            "off",
            "svc_web=trace",
        ] {
            assert!(parse_level(good).is_ok(), "{good}");
        }
        for (bad, why) in [
            ("", "empty"),
            ("info\nerror", "character"),
            ("info;rm -rf", "character"),
            ("svc[span]=debug", "character"),
            (&"a".repeat(201), "longer"),
            ("loud", "not a log level"),
            ("info,svc_axi=", "not a log level"),
        ] {
            let e = parse_level(bad).unwrap_err();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
    }
}
