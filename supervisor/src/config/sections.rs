//! The sections of `mom.toml` beside the top level: `[log]`, `[paths]`, `[users]`, `[listen]`,
//! `[maxi]`, `[restart]`, `[statistics]`, `[web]`, `[axi]`, `[license]` and `[[extra-service]]`,
//! each with its defaults.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Logging.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Log {
    /// The level at start (`sip-dect-mom log-level` changes it until the next start).
    pub level: String,
    /// Write the trace file `mom_trace_<date>.log` into the log folder.
    pub trace_file: bool,
    /// Largest size of one day's trace file, in MiB.
    pub trace_max_mib: u64,
    /// Trace files of more than this many days ago are removed.
    pub trace_keep_days: u32,
}

impl Default for Log {
    fn default() -> Self {
        Self {
            level: service_kit::logging::DEFAULT_LEVEL.to_owned(),
            trace_file: true,
            trace_max_mib: 32,
            trace_keep_days: 14,
        }
    }
}

impl Log {
    /// The trace file's options for `log_dir`, if it is written.
    #[must_use]
    pub fn trace_options(&self, log_dir: &Path) -> Option<service_kit::trace_file::TraceOptions> {
        self.trace_file
            .then(|| service_kit::trace_file::TraceOptions {
                dir: log_dir.to_owned(),
                max_bytes: self.trace_max_mib << 20,
                keep_days: self.trace_keep_days,
            })
    }
}

/// Directories.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Paths {
    /// Persistent state (database, certificates, files).
    pub state_dir: PathBuf,
    /// Sockets.
    pub runtime_dir: PathBuf,
    /// Where the `svc-*` binaries are.
    pub libexec_dir: PathBuf,
    /// The trace files (`mom_trace_<date>.log`).
    pub log_dir: PathBuf,
}

impl Default for Paths {
    fn default() -> Self {
        Self {
            state_dir: "/var/lib/sip-dect-mom".into(),
            runtime_dir: "/run/sip-dect-mom".into(),
            libexec_dir: "/usr/libexec/sip-dect-mom".into(),
            log_dir: "/var/log/sip-dect-mom".into(),
        }
    }
}

/// Service users: one per service, all with the common group.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Users {
    /// Group of every service; may reach the IPC sockets.
    pub group: String,
    /// User of svc-store.
    pub store: String,
    /// User of svc-axi.
    pub axi: String,
    /// User of svc-maxi.
    pub maxi: String,
    /// User of svc-web.
    pub web: String,
    /// Further uids allowed on the store and control sockets (admin tools).
    pub admin_uids: Vec<u32>,
}

impl Default for Users {
    fn default() -> Self {
        Self {
            group: "mom".into(),
            store: "mom-store".into(),
            axi: "mom-axi".into(),
            maxi: "mom-maxi".into(),
            web: "mom-web".into(),
            admin_uids: Vec::new(),
        }
    }
}

/// Addresses of the listening sockets.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Listen {
    /// Web UI and provisioning over HTTPS.
    pub https: Option<SocketAddr>,
    /// Redirect to HTTPS.
    pub http: Option<SocketAddr>,
    /// MAXI for applications.
    pub maxi: Option<SocketAddr>,
    /// MAXI without TLS, for debugging and TLS-less client libraries: off unless set, and
    /// only on a loopback address.
    pub maxi_debug: Option<SocketAddr>,
}

impl Default for Listen {
    fn default() -> Self {
        Self {
            https: Some(SocketAddr::from(([0, 0, 0, 0], 443))),
            http: Some(SocketAddr::from(([0, 0, 0, 0], 80))),
            maxi: Some(SocketAddr::from(([0, 0, 0, 0], 12624))),
            maxi_debug: None,
        }
    }
}

/// MAXI (svc-maxi).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Maxi {
    /// A client must finish its TLS handshake and log in within this many seconds.
    pub handshake_timeout_secs: u64,
    /// A client that sends nothing (not even `Ping`) for this many seconds is closed.
    pub idle_timeout_secs: u64,
}

impl Default for Maxi {
    fn default() -> Self {
        Self {
            handshake_timeout_secs: 10,
            idle_timeout_secs: 300,
        }
    }
}

/// Restart policy (see ARCHITECTURE.md).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Restart {
    /// First restart delay after a crash.
    pub min_backoff_ms: u64,
    /// Longest restart delay (also the retry period of a failed service).
    pub max_backoff_ms: u64,
    /// Delay after a crash before the service reported ready.
    pub throttle_ms: u64,
    /// Uptime after which a service counts as stable and its backoff resets.
    pub stable_after_secs: u64,
    /// Window in which crashes are counted.
    pub failure_window_secs: u64,
    /// Crashes within the window that mark a service failed (svc-store: end the daemon).
    pub max_failures: u32,
    /// Time services get to stop after SIGTERM before SIGKILL.
    pub grace_period_ms: u64,
}

impl Default for Restart {
    fn default() -> Self {
        Self {
            min_backoff_ms: 100,
            max_backoff_ms: 60_000,
            throttle_ms: 5_000,
            stable_after_secs: 30,
            failure_window_secs: 120,
            max_failures: 5,
            grace_period_ms: 5_000,
        }
    }
}

impl Restart {
    /// As durations.
    #[must_use]
    pub fn policy(&self) -> crate::restart::Policy {
        crate::restart::Policy {
            min_backoff: Duration::from_millis(self.min_backoff_ms),
            max_backoff: Duration::from_millis(self.max_backoff_ms),
            throttle: Duration::from_millis(self.throttle_ms),
            stable_after: Duration::from_secs(self.stable_after_secs),
            failure_window: Duration::from_secs(self.failure_window_secs),
            max_failures: self.max_failures as usize,
        }
    }
}

/// Statistics.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Statistics {
    /// Seconds between samples of the counters' history.
    pub sample_secs: u64,
}

impl Default for Statistics {
    fn default() -> Self {
        Self { sample_secs: 60 }
    }
}

/// The web server (svc-web).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Web {
    /// A session without a request for this long ends.
    pub session_idle_secs: u64,
    /// A session ends this long after login.
    pub session_max_secs: u64,
    /// `/metrics` answers loopback clients without the metrics token (in `web/metrics-token`
    /// under the state directory).
    pub metrics_loopback: bool,
    /// Extra host names or addresses of the MOM (for the self-signed certificate and the
    /// password rules).
    pub host_names: Vec<String>,
    /// A request's headers must arrive within this many seconds; idle keep-alive
    /// connections close after it.
    pub header_timeout_secs: u64,
    /// HTTPS connections served at once; more wait in the kernel's backlog.
    pub max_connections: usize,
    /// Largest file an OMM may write into its folder (backups, dumps), in MiB.
    pub omm_upload_max_mib: u64,
    /// Largest provisioning file an administrator may upload (base-station images), in MiB.
    pub upload_max_mib: u64,
}

impl Default for Web {
    fn default() -> Self {
        Self {
            session_idle_secs: 1800,
            session_max_secs: 43_200,
            metrics_loopback: false,
            host_names: Vec::new(),
            header_timeout_secs: 30,
            max_connections: 512,
            omm_upload_max_mib: 64,
            upload_max_mib: 256,
        }
    }
}

/// OMM links.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Axi {
    /// Seconds between retries of a link that is down.
    pub retry_secs: u64,
    /// Seconds between keep-alive pings.
    pub ping_secs: u64,
    /// Seconds an OMM may take to answer a request before its link is closed and retried.
    pub request_timeout_secs: u64,
    /// The MOM's AXI protocol version (an OMM with another one stays down).
    pub protocol_version: u32,
}

impl Default for Axi {
    fn default() -> Self {
        Self {
            retry_secs: 60,
            ping_secs: 60,
            request_timeout_secs: 20,
            protocol_version: 45,
        }
    }
}

/// The license issuers the MOM trusts: a license must be signed by one of these keys
/// (`sip-dect-mom license create-issuer-key` prints the line to add).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct LicenseIssuers {
    /// Ed25519 public keys, 64 hex digits each.
    pub issuer_keys: Vec<String>,
}

/// An additional supervised program (it must speak the supervision protocol).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ExtraService {
    /// Name in status and logs.
    pub name: String,
    /// Absolute path of the program.
    pub binary: PathBuf,
    /// User it runs as.
    pub user: String,
    /// Arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// Listening sockets it receives (`https`, `http`, `maxi`).
    #[serde(default)]
    pub listeners: Vec<String>,
}

/// `[cluster]`: this MOM as a node of a cluster (every store write replicated by Raft to a
/// majority of the nodes before it is answered).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Cluster {
    /// This node's id (1, 2, 3, …), unique in the cluster.
    pub node_id: u64,
    /// The peer port: where the other nodes reach this one (bound by the supervisor, served
    /// by svc-store over mutual TLS).
    pub listen: SocketAddr,
    /// The members of a new cluster as `ID=HOST:PORT`, the same list on every node; the
    /// cluster is made once, when none of them has a log yet.
    #[serde(default)]
    pub members: Vec<String>,
    /// Interval of the leader's heartbeats, in milliseconds.
    #[serde(default = "Cluster::default_heartbeat")]
    pub heartbeat_ms: u64,
    /// Shortest election timeout in milliseconds (the longest is 1.5 times that). A follower
    /// that hears no leader waits out the old leader's lease (the longest timeout) and then
    /// its own timeout before it stands: a new leader 2.5–3 times this after the last
    /// heartbeat.
    #[serde(default = "Cluster::default_election")]
    pub election_ms: u64,
}

impl Cluster {
    fn default_heartbeat() -> u64 {
        400
    }

    // A new leader 3–3.6 s after the old one went silent (the goal: within 5 s).
    fn default_election() -> u64 {
        1200
    }

    /// Checks the values; the message names the key.
    ///
    /// # Errors
    /// What is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if self.node_id == 0 {
            return Err("cluster: node-id must be 1 or more".into());
        }
        if self.heartbeat_ms == 0 || self.election_ms < self.heartbeat_ms * 3 {
            return Err(
                "cluster: election-ms must be at least three heartbeats (heartbeat-ms)".into(),
            );
        }
        for member in &self.members {
            let (id, address) = member
                .split_once('=')
                .ok_or_else(|| format!("cluster: members: {member:?} is not ID=HOST:PORT"))?;
            id.parse::<u64>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(|| format!("cluster: members: {member:?} has no node id"))?;
            if address
                .rsplit_once(':')
                .is_none_or(|(_, p)| p.parse::<u16>().is_err())
            {
                return Err(format!("cluster: members: {member:?} has no HOST:PORT"));
            }
        }
        if !self.members.is_empty()
            && !self.members.iter().any(|m| {
                m.split_once('=')
                    .is_some_and(|(id, _)| id == self.node_id.to_string())
            })
        {
            return Err(format!(
                "cluster: members does not name this node ({})",
                self.node_id
            ));
        }
        Ok(())
    }
}
