//! Prometheus metrics of svc-web (`/metrics`): requests by status class and their latency,
//! logins and lockouts, sessions and WebSocket clients; the store's statistics counters and
//! each OMM's link state are added at every scrape.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Labels of a request counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabel {
    /// `2xx`, `4xx`, …
    pub class: String,
}

/// Labels of a login counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    /// `ok`, `wrong_password`, `locked`, `second_factor`, `disabled`.
    pub result: String,
}

/// svc-web's own metrics.
pub struct Metrics {
    registry: Registry,
    /// Requests answered, by status class.
    pub requests: Family<StatusLabel, Counter>,
    /// Request latency.
    pub latency: Histogram,
    /// Login attempts by result.
    pub logins: Family<ResultLabel, Counter>,
    /// Lockouts started.
    pub lockouts: Counter,
    /// Open sessions.
    pub sessions: Gauge,
    /// Connected WebSocket clients.
    pub websockets: Gauge,
    /// TLS connections refused at the connection cap.
    pub refused_connections: Counter,
    /// OMM requests on the provisioning URLs, by result.
    pub provisioning: Family<ResultLabel, Counter>,
}

impl Metrics {
    /// Counts an OMM request on the provisioning URLs with `result`.
    pub fn provisioning(&self, result: &str) {
        self.provisioning
            .get_or_create(&ResultLabel {
                result: result.to_owned(),
            })
            .inc();
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("mom_web");
        let requests = Family::<StatusLabel, Counter>::default();
        let latency = Histogram::new([
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0,
        ]);
        let logins = Family::<ResultLabel, Counter>::default();
        let lockouts = Counter::default();
        let sessions = Gauge::default();
        let websockets = Gauge::default();
        let refused_connections = Counter::default();
        let provisioning = Family::<ResultLabel, Counter>::default();
        registry.register(
            "provisioning_requests",
            "OMM requests for ipdect.cfg and provisioning files, by result",
            provisioning.clone(),
        );
        registry.register("http_requests", "HTTP requests answered", requests.clone());
        registry.register(
            "http_request_duration_seconds",
            "Time to answer a request",
            latency.clone(),
        );
        registry.register("logins", "Login attempts by result", logins.clone());
        registry.register(
            "login_lockouts",
            "Temporary login lockouts started",
            lockouts.clone(),
        );
        registry.register("sessions", "Open sessions", sessions.clone());
        registry.register(
            "websocket_clients",
            "Connected live-event clients",
            websockets.clone(),
        );
        registry.register(
            "refused_connections",
            "Connections refused at the connection cap",
            refused_connections.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            logins,
            lockouts,
            sessions,
            websockets,
            refused_connections,
            provisioning,
        }
    }
}

impl Metrics {
    /// Counts a login attempt.
    pub fn login(&self, result: &str) {
        self.logins
            .get_or_create(&ResultLabel {
                result: result.to_owned(),
            })
            .inc();
    }

    /// The text exposition of svc-web's metrics followed by `extra` (built per scrape).
    #[must_use]
    pub fn render(&self, extra: &Registry) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode_registry(&mut out, &self.registry);
        let _ = prometheus_client::encoding::text::encode_registry(&mut out, extra);
        let _ = prometheus_client::encoding::text::encode_eof(&mut out);
        out
    }
}
