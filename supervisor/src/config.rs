//! `mom.toml`: the supervisor's configuration. Unknown keys are errors; as root, a config
//! file that is not owned by root or is writable by group or others is refused.

use serde::Deserialize;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The names of the `[listen]` addresses.
pub const LISTENER_NAMES: [&str; 4] = ["https", "http", "maxi", "maxi-debug"];

/// The built-in services' names, which no `[[extra-service]]` may take (nor `supervisor`).
/// `services::BUILTIN` holds the services themselves; a test keeps the two alike.
pub const BUILTIN_SERVICES: [&str; 4] = ["store", "axi", "web", "maxi"];

/// Default location of the configuration.
pub const DEFAULT_CONFIG: &str = "/etc/sip-dect-mom/mom.toml";

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Config {
    /// Where things live.
    #[serde(default)]
    pub paths: Paths,
    /// System users and group of the services.
    #[serde(default)]
    pub users: Users,
    /// Listening sockets the supervisor binds and hands to services.
    #[serde(default)]
    pub listen: Listen,
    /// Restart policy.
    #[serde(default)]
    pub restart: Restart,
    /// Statistics sampling.
    #[serde(default)]
    pub statistics: Statistics,
    /// OMM links (svc-axi).
    #[serde(default)]
    pub axi: Axi,
    /// Who may issue MOM licenses.
    #[serde(default)]
    pub license: LicenseIssuers,
    /// The web server (svc-web).
    #[serde(default)]
    pub web: Web,
    /// The application interface (svc-maxi).
    #[serde(default)]
    pub maxi: Maxi,
    /// Logging: the level and the trace file.
    #[serde(default)]
    pub log: Log,
    /// Additional programs to supervise like the built-in services.
    #[serde(default)]
    pub extra_service: Vec<ExtraService>,
}

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

/// Why a configuration is refused.
#[derive(Debug)]
pub enum ConfigError {
    /// The file cannot be read.
    Read(PathBuf, std::io::Error),
    /// The TOML is invalid or has unknown keys.
    Parse(PathBuf, String),
    /// The file's owner or mode is unsafe.
    Insecure(PathBuf, String),
    /// A value is not acceptable.
    Invalid(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read(p, e) => write!(f, "cannot read {}: {e}", p.display()),
            Self::Parse(p, e) => write!(f, "{}: {e}", p.display()),
            Self::Insecure(p, why) => write!(f, "refusing {}: {why}", p.display()),
            Self::Invalid(why) => write!(f, "invalid configuration: {why}"),
        }
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Parses TOML text.
    ///
    /// # Errors
    /// [`ConfigError::Parse`] or [`ConfigError::Invalid`].
    pub fn parse(text: &str, origin: &Path) -> Result<Self, ConfigError> {
        let config: Self = toml::from_str(text)
            .map_err(|e| ConfigError::Parse(origin.to_owned(), e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Reads and parses a file; when `must_be_root_owned`, also checks owner and mode.
    ///
    /// # Errors
    /// Any [`ConfigError`].
    pub fn load(path: &Path, must_be_root_owned: bool) -> Result<Self, ConfigError> {
        let file = std::fs::File::open(path).map_err(|e| ConfigError::Read(path.to_owned(), e))?;
        if must_be_root_owned {
            use std::os::unix::fs::MetadataExt;
            let meta = file
                .metadata()
                .map_err(|e| ConfigError::Read(path.to_owned(), e))?;
            if meta.uid() != 0 {
                return Err(ConfigError::Insecure(
                    path.to_owned(),
                    format!("owned by uid {}, not root", meta.uid()),
                ));
            }
            if meta.mode() & 0o022 != 0 {
                return Err(ConfigError::Insecure(
                    path.to_owned(),
                    format!(
                        "mode {:o} is writable by group or others",
                        meta.mode() & 0o777
                    ),
                ));
            }
        }
        let mut text = String::new();
        std::io::Read::read_to_string(&mut &file, &mut text)
            .map_err(|e| ConfigError::Read(path.to_owned(), e))?;
        Self::parse(&text, path)
    }

    /// Development mode with a configuration file: what the file sets, and development
    /// mode's defaults for the paths and listening addresses it leaves out (so two
    /// development instances can run side by side with only their ports in a file).
    ///
    /// # Errors
    /// Any [`ConfigError`].
    pub fn load_development(
        path: &Path,
        dir: &Path,
        libexec_dir: PathBuf,
    ) -> Result<Self, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|e| ConfigError::Read(path.to_owned(), e))?;
        let mut config = Self::parse(&text, path)?;
        let table: toml::Table = toml::from_str(&text)
            .map_err(|e| ConfigError::Parse(path.to_owned(), e.to_string()))?;
        let set = |section: &str, key: &str| {
            table
                .get(section)
                .and_then(toml::Value::as_table)
                .is_some_and(|t| t.contains_key(key))
        };
        let dev = Self::development(dir, libexec_dir);
        for (key, mine, default) in [
            (
                "state-dir",
                &mut config.paths.state_dir,
                dev.paths.state_dir,
            ),
            (
                "runtime-dir",
                &mut config.paths.runtime_dir,
                dev.paths.runtime_dir,
            ),
            (
                "libexec-dir",
                &mut config.paths.libexec_dir,
                dev.paths.libexec_dir,
            ),
        ] {
            if !set("paths", key) {
                *mine = default;
            }
        }
        // Beside the state folder, as in the built-in development layout.
        if !set("paths", "log-dir") {
            config.paths.log_dir = config
                .paths
                .state_dir
                .parent()
                .unwrap_or(&config.paths.state_dir)
                .join("log");
        }
        for (key, mine, default) in [
            ("https", &mut config.listen.https, dev.listen.https),
            ("http", &mut config.listen.http, dev.listen.http),
            ("maxi", &mut config.listen.maxi, dev.listen.maxi),
            (
                "maxi-debug",
                &mut config.listen.maxi_debug,
                dev.listen.maxi_debug,
            ),
        ] {
            if !set("listen", key) {
                *mine = default;
            }
        }
        Ok(config)
    }

    /// The configuration of development mode: everything under `dir`, unprivileged
    /// loopback ports, binaries beside the running executable.
    #[must_use]
    pub fn development(dir: &Path, libexec_dir: PathBuf) -> Self {
        Self {
            paths: Paths {
                state_dir: dir.join("state"),
                runtime_dir: dir.join("run"),
                libexec_dir,
                log_dir: dir.join("log"),
            },
            users: Users::default(),
            listen: Listen {
                https: Some(SocketAddr::from(([127, 0, 0, 1], 8443))),
                http: Some(SocketAddr::from(([127, 0, 0, 1], 8080))),
                maxi: Some(SocketAddr::from(([127, 0, 0, 1], 12624))),
                maxi_debug: None,
            },
            restart: Restart::default(),
            statistics: Statistics::default(),
            axi: Axi::default(),
            license: LicenseIssuers::default(),
            web: Web {
                metrics_loopback: true,
                ..Web::default()
            },
            maxi: Maxi::default(),
            log: Log::default(),
            extra_service: Vec::new(),
        }
    }

    /// The address of listener `name` (`https`, `http`, `maxi`), if configured.
    #[must_use]
    pub fn listener(&self, name: &str) -> Option<SocketAddr> {
        match name {
            "https" => self.listen.https,
            "http" => self.listen.http,
            "maxi" => self.listen.maxi,
            "maxi-debug" => self.listen.maxi_debug,
            _ => None,
        }
    }

    /// Every configured listener, by name.
    pub fn listeners(&self) -> impl Iterator<Item = (&'static str, SocketAddr)> + '_ {
        LISTENER_NAMES
            .into_iter()
            .filter_map(|name| Some((name, self.listener(name)?)))
    }

    fn validate(&self) -> Result<(), ConfigError> {
        service_kit::logging::parse_level(&self.log.level)
            .map_err(|e| ConfigError::Invalid(format!("log: level: {e}")))?;
        if !(1..=4096).contains(&self.log.trace_max_mib) || self.log.trace_keep_days == 0 {
            return Err(ConfigError::Invalid(
                "log: trace-max-mib must be 1..=4096 and trace-keep-days at least 1".into(),
            ));
        }
        let r = &self.restart;
        if r.min_backoff_ms == 0 || r.min_backoff_ms > r.max_backoff_ms {
            return Err(ConfigError::Invalid(
                "restart: need 0 < min-backoff-ms <= max-backoff-ms".into(),
            ));
        }
        if r.max_failures == 0 {
            return Err(ConfigError::Invalid(
                "restart: max-failures must be at least 1".into(),
            ));
        }
        if self.web.header_timeout_secs == 0 || self.web.max_connections == 0 {
            return Err(ConfigError::Invalid(
                "web: header-timeout-secs and max-connections must be at least 1".into(),
            ));
        }
        if !(1..=4096).contains(&self.web.omm_upload_max_mib)
            || !(1..=4096).contains(&self.web.upload_max_mib)
        {
            return Err(ConfigError::Invalid(
                "web: omm-upload-max-mib and upload-max-mib must be 1..=4096".into(),
            ));
        }
        if let Some(addr) = self.listen.maxi_debug {
            if !addr.ip().is_loopback() {
                return Err(ConfigError::Invalid(format!(
                    "listen: maxi-debug {addr} is not a loopback address; the plain MAXI listener sends passwords unencrypted and is for debugging on this machine only"
                )));
            }
        }
        if self.maxi.handshake_timeout_secs == 0 || self.maxi.idle_timeout_secs == 0 {
            return Err(ConfigError::Invalid(
                "maxi: handshake-timeout-secs and idle-timeout-secs must be at least 1".into(),
            ));
        }
        if self.web.session_idle_secs == 0 || self.web.session_max_secs == 0 {
            return Err(ConfigError::Invalid(
                "web: session-idle-secs and session-max-secs must be at least 1".into(),
            ));
        }
        if self.statistics.sample_secs == 0 {
            return Err(ConfigError::Invalid(
                "statistics: sample-secs must be at least 1".into(),
            ));
        }
        for p in [
            &self.paths.state_dir,
            &self.paths.runtime_dir,
            &self.paths.libexec_dir,
        ] {
            if !p.is_absolute() {
                return Err(ConfigError::Invalid(format!(
                    "paths: {} is not absolute",
                    p.display()
                )));
            }
        }
        if self.axi.retry_secs == 0 || self.axi.ping_secs == 0 || self.axi.request_timeout_secs == 0
        {
            return Err(ConfigError::Invalid(
                "axi: retry-secs, ping-secs and request-timeout-secs must be at least 1".into(),
            ));
        }
        for key in &self.license.issuer_keys {
            license::IssuerPublicKey::from_hex(key)
                .map_err(|e| ConfigError::Invalid(format!("license: issuer key {key:?}: {e}")))?;
        }
        let mut names: Vec<String> = BUILTIN_SERVICES
            .iter()
            .chain(&["supervisor"])
            .map(|n| (*n).to_owned())
            .collect();
        for extra in &self.extra_service {
            if names.contains(&extra.name)
                || extra.name.is_empty()
                || !extra
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-')
            {
                return Err(ConfigError::Invalid(format!(
                    "extra-service name {:?} is empty, reserved, repeated or not [a-z0-9-]",
                    extra.name
                )));
            }
            names.push(extra.name.clone());
            if !extra.binary.is_absolute() {
                return Err(ConfigError::Invalid(format!(
                    "extra-service {}: binary must be an absolute path",
                    extra.name
                )));
            }
            for l in &extra.listeners {
                if !["https", "http", "maxi", "maxi-debug"].contains(&l.as_str()) {
                    return Err(ConfigError::Invalid(format!(
                        "extra-service {}: unknown listener {l:?}",
                        extra.name
                    )));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn development_mode_takes_a_file_over_its_own_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("dev.toml");
        std::fs::write(
            &file,
            "[listen]\nhttps = \"127.0.0.1:9443\"\n[axi]\nretry-secs = 3\n",
        )
        .unwrap();
        let config =
            super::Config::load_development(&file, &dir.path().join("d"), "/bin-dir".into())
                .unwrap();
        assert_eq!(config.listen.https, Some("127.0.0.1:9443".parse().unwrap()));
        assert_eq!(config.listen.http, Some("127.0.0.1:8080".parse().unwrap()));
        assert_eq!(config.paths.state_dir, dir.path().join("d/state"));
        assert_eq!(
            config.paths.libexec_dir,
            std::path::PathBuf::from("/bin-dir")
        );
        assert_eq!(config.axi.retry_secs, 3);
        std::fs::write(&file, "[listen]\nhttps = \"127.0.0.1:9443\"\nbogus = 1\n").unwrap();
        assert!(super::Config::load_development(&file, dir.path(), "/b".into()).is_err());
    }

    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_table_may_set_only_some_keys() {
        let c = Config::parse("[restart]\nmax-failures = 9\n", Path::new("t")).unwrap();
        assert_eq!(c.restart.max_failures, 9);
        assert_eq!(c.restart.min_backoff_ms, Restart::default().min_backoff_ms);
    }

    #[test]
    fn the_packaged_config_is_valid_and_states_the_defaults() {
        let packaged = Config::parse(
            include_str!("../../packaging/mom.toml"),
            Path::new("packaging/mom.toml"),
        )
        .unwrap();
        assert_eq!(packaged, Config::parse("", Path::new("t")).unwrap());
    }

    #[test]
    fn license_issuer_keys_must_be_ed25519_public_keys() {
        let key = license::IssuerKey::generate().public().to_hex();
        let c = Config::parse(
            &format!("[license]\nissuer-keys = [\"{key}\"]\n"),
            Path::new("t"),
        )
        .unwrap();
        assert_eq!(c.license.issuer_keys, vec![key]);
        let e = Config::parse("[license]\nissuer-keys = [\"abc\"]\n", Path::new("t")).unwrap_err();
        assert!(e.to_string().contains("issuer key \"abc\""), "{e}");
    }

    #[test]
    fn empty_file_gives_the_defaults() {
        let c = Config::parse("", Path::new("t")).unwrap();
        assert_eq!(c.paths.state_dir, PathBuf::from("/var/lib/sip-dect-mom"));
        assert_eq!(c.users.store, "mom-store");
        assert_eq!(c.listen.maxi.unwrap().port(), 12624);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let e = Config::parse(
            "[paths]\nstate-dir = \"/x\"\nstate-dri = \"/y\"\n",
            Path::new("t"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("state-dri"), "{e}");
        assert!(Config::parse("colour = 1\n", Path::new("t")).is_err());
    }

    #[test]
    fn the_plain_maxi_listener_is_off_by_default_and_loopback_only() {
        assert_eq!(
            Config::parse("", Path::new("t")).unwrap().listen.maxi_debug,
            None
        );
        let ok = Config::parse(
            "[listen]\nmaxi-debug = \"127.0.0.1:12621\"\n",
            Path::new("t"),
        );
        assert_eq!(ok.unwrap().listener("maxi-debug").unwrap().port(), 12621);
        let e = Config::parse("[listen]\nmaxi-debug = \"0.0.0.0:12621\"\n", Path::new("t"))
            .unwrap_err();
        assert!(e.to_string().contains("loopback"), "{e}");
        assert!(Config::parse("[maxi]\nidle-timeout-secs = 0\n", Path::new("t")).is_err());
    }

    #[test]
    fn a_bad_log_table_is_refused_with_its_key() {
        for text in [
            "[log]\nlevel = \"loud\"\n",
            "[log]\nlevel = \"info\\u0007\"\n",
            "[log]\nlevel = \"\"\n",
            "[log]\ntrace-max-mib = 0\n",
            "[log]\ntrace-keep-days = 0\n",
        ] {
            let e = Config::parse(text, Path::new("t")).unwrap_err();
            assert!(e.to_string().contains("log:"), "{text:?}: {e}");
        }
        let long = format!("[log]\nlevel = \"{}\"\n", "info,".repeat(50));
        assert!(Config::parse(&long, Path::new("t")).is_err());
        let ok = Config::parse("[log]\nlevel = \"warn,svc_axi=debug\"\n", Path::new("t")).unwrap();
        assert_eq!(ok.log.level, "warn,svc_axi=debug");
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(Config::parse("[restart]\nmin-backoff-ms = 0\nmax-backoff-ms = 1\nthrottle-ms = 1\nstable-after-secs = 1\nfailure-window-secs = 1\nmax-failures = 1\ngrace-period-ms = 1\n", Path::new("t")).is_err());
        assert!(Config::parse(
            "[paths]\nstate-dir = \"rel\"\nruntime-dir = \"/r\"\nlibexec-dir = \"/l\"\n",
            Path::new("t")
        )
        .is_err());
        assert!(Config::parse(
            "[[extra-service]]\nname = \"store\"\nbinary = \"/bin/true\"\nuser = \"x\"\n",
            Path::new("t")
        )
        .is_err());
    }

    #[test]
    fn group_or_world_writable_config_is_refused_when_root_owned_is_required() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mom.toml");
        std::fs::write(&path, "").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o664)).unwrap();
        let e = Config::load(&path, true).unwrap_err();
        let owned_by_root = nix::unistd::getuid().is_root();
        if owned_by_root {
            assert!(e.to_string().contains("writable"), "{e}");
        } else {
            assert!(e.to_string().contains("not root"), "{e}");
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(Config::load(&path, true).is_ok(), owned_by_root);
        Config::load(&path, false).unwrap();
    }
}
