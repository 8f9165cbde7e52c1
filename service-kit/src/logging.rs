//! Log set-up: journald when stderr is the journal (`JOURNAL_STREAM`), else stderr.

use tracing_subscriber::fmt::{format::Writer, time::FormatTime, time::SystemTime};
use tracing_subscriber::{fmt, prelude::*, EnvFilter};

/// Time stamp followed by the service name, so the lines of every process on one stderr
/// say whose they are.
struct TimeAndService(&'static str);

impl FormatTime for TimeAndService {
    fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
        SystemTime.format_time(w)?;
        write!(w, " {:<10}", self.0)
    }
}

/// Installs the global subscriber for `service`. `RUST_LOG` overrides the default `info`.
pub fn init(service: &'static str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    if std::env::var_os("JOURNAL_STREAM").is_some() {
        if let Ok(layer) = tracing_journald::layer() {
            let layer = layer
                .with_syslog_identifier("sip-dect-mom".into())
                .with_custom_fields([("MOM_SERVICE", service)]);
            let _ = tracing_subscriber::registry()
                .with(filter)
                .with(layer)
                .try_init();
            return;
        }
    }
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(
            fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(false)
                .with_timer(TimeAndService(service))
                .with_target(false),
        )
        .try_init();
}
