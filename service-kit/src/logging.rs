//! Log set-up: journald when stderr is the journal (`JOURNAL_STREAM`), else stderr.

use tracing_subscriber::{fmt, prelude::*, EnvFilter};

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
                .with_target(false),
        )
        .try_init();
}
