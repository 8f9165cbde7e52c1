//! `mom.toml`: the supervisor's configuration. Unknown keys are errors; as root, a config
//! file that is not owned by root or is writable by group or others is refused.
//!
//! The sections beside the top level, with their defaults, are in [`sections`].

use serde::Deserialize;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub mod sections;
pub use sections::*;

/// The names of the listening addresses: `[listen]`'s, and `cluster` (`[cluster] listen`).
pub const LISTENER_NAMES: [&str; 5] = ["https", "http", "maxi", "maxi-debug", "cluster"];

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
    /// This MOM as a node of a cluster; absent, it runs alone.
    #[serde(default)]
    pub cluster: Option<Cluster>,
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
            cluster: None,
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
            "cluster" => self.cluster.as_ref().map(|c| c.listen),
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
        if let Some(cluster) = &self.cluster {
            cluster.validate().map_err(ConfigError::Invalid)?;
        }
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
            include_str!("../../../packaging/mom.toml"),
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
