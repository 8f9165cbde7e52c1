//! System-wide records: settings, license, accounts, OMMs, the configuration template,
//! conference rooms, the event log and statistics counters.

use crate::Timestamp;
use serde::{Deserialize, Serialize};

/// "Suppress table updates" in the system settings pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SuppressTableUpdates {
    /// Tables update live.
    #[default]
    Off,
    /// The Users/DECT phones tables do not update live.
    UsersDectPhones,
    /// No table updates live.
    All,
}

/// Subscription mode distributed to every OMM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SubscriptionMode {
    /// Subscription is disabled.
    #[default]
    Off,
    /// Only devices with configured IPEIs (or auto-create) may subscribe.
    Subscription,
    /// Devices without configured IPEIs may subscribe (an additional ID is required).
    Wildcard,
}

/// TLS security level of the MOM's listeners and OMM links.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TlsSecurityLevel {
    /// TLS 1.3 preferred, TLS 1.2 with ECDHE AES-GCM, no session resumption; the default of
    /// a new installation.
    #[default]
    High,
    /// High's suites with session resumption.
    Medium,
    /// The widest set the MOM offers, for old OMMs.
    Legacy,
}

/// The cipher list of one security level: the defaults, or a custom OpenSSL-notation string.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CipherChoice {
    /// Use the built-in default list for this level.
    pub use_defaults: bool,
    /// Custom cipher string (OpenSSL notation, colon separated), used when not defaulted.
    pub custom: String,
}

/// The system settings pane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Settings {
    /// System name shown in the UI title.
    pub system_name: String,
    /// Which tables do not update live.
    pub suppress_table_updates: SuppressTableUpdates,
    /// SARI set on every OMM (from the license); empty without a license.
    pub sari: String,
    /// Auto-create a device record when an unknown handset subscribes.
    pub auto_create: bool,
    /// Subscription mode distributed to every OMM.
    pub subscription_mode: SubscriptionMode,
    /// Global feature access code prefix; empty for none.
    pub fac_prefix: String,
    /// Pre-login banner text.
    pub banner_text: String,
    /// Whether the pre-login banner is shown.
    pub banner_enabled: bool,
    /// TLS security level.
    pub tls_level: TlsSecurityLevel,
    /// Cipher list for level High.
    pub ciphers_high: CipherChoice,
    /// Cipher list for level Medium.
    pub ciphers_medium: CipherChoice,
    /// Cipher list for level Legacy.
    pub ciphers_legacy: CipherChoice,
    /// The EULA version an administrator accepted; empty when none was.
    pub accepted_eula_version: String,
    /// The MOM's address in the OMMs' configuration URL and in `%MOM_IP_ADDR%`; empty for
    /// the address each OMM reaches the MOM on.
    pub provisioning_address: String,
    /// Seconds an OMM has to fetch its configuration after "Update OMM" before its
    /// provisioning is marked with a warning.
    pub provisioning_fetch_timeout_secs: u32,
}

/// The default of [`Settings::provisioning_fetch_timeout_secs`].
pub const DEFAULT_FETCH_TIMEOUT_SECS: u32 = 120;

impl Default for Settings {
    fn default() -> Self {
        let defaults = CipherChoice {
            use_defaults: true,
            custom: String::new(),
        };
        Self {
            system_name: "MOM".into(),
            suppress_table_updates: SuppressTableUpdates::Off,
            sari: String::new(),
            auto_create: false,
            subscription_mode: SubscriptionMode::Off,
            fac_prefix: String::new(),
            banner_text: String::new(),
            banner_enabled: false,
            tls_level: TlsSecurityLevel::High,
            ciphers_high: defaults.clone(),
            ciphers_medium: defaults.clone(),
            ciphers_legacy: defaults,
            accepted_eula_version: String::new(),
            provisioning_address: String::new(),
            provisioning_fetch_timeout_secs: DEFAULT_FETCH_TIMEOUT_SECS,
        }
    }
}

/// The installed MOM license, as the license section of the settings pane shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct License {
    /// Installation id; every later license must carry the same one.
    pub installation_id: String,
    /// Customer name.
    pub customer_name: String,
    /// Country of installation.
    pub country: String,
    /// System license key.
    pub system_license: String,
    /// Licensed software version, e.g. "10.1".
    pub licensed_version: String,
    /// SARI granted by the license.
    pub sari: String,
}

/// A MOM login account (web UI and MAXI).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Account {
    /// Account id; 0 is the default account `mom`.
    pub id: u32,
    /// Login name, unique.
    pub name: String,
    /// Argon2id PHC string; never the password itself.
    pub password_hash: String,
    /// Disabled accounts cannot log in.
    pub enabled: bool,
    /// Read permission; always true, kept so the UI can show it.
    pub read: bool,
    /// Write permission.
    pub write: bool,
    /// The password must be changed at the next login (true for the default account at first).
    pub must_change_password: bool,
}

/// The id of the default account, which cannot be deleted.
pub const DEFAULT_ACCOUNT_ID: u32 = 0;

/// How the MOM validates an OMM's TLS certificate.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CertValidation {
    /// Accept a self-signed certificate (the OMM's factory default).
    #[default]
    AcceptSelfSigned,
    /// Require a chain to this PEM CA.
    Ca(String),
    /// Require this SHA-256 certificate fingerprint (hex).
    PinnedSha256(String),
}

/// Link state of one OMM as svc-axi last reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum LinkState {
    /// No link attempt yet, or the record is disabled.
    #[default]
    Down,
    /// Connecting or logging in.
    Connecting,
    /// Logged in and synchronising.
    Syncing,
    /// Logged in and in steady state.
    Up,
}

/// Health of one OMM.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OmmHealth {
    /// Link state.
    pub link: LinkState,
    /// Whether the OMM is healthy (link up and no error).
    pub healthy: bool,
    /// The last error, empty when none.
    pub last_error: String,
    /// When the state last changed.
    pub since: Timestamp,
    /// OMM software version reported at login.
    pub software_version: String,
}

/// One OMM record in the OMMs pane.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Omm {
    /// OMM id (1..); 0 is never an OMM, it means "no OMM" elsewhere.
    pub id: u32,
    /// Whether the MOM keeps a link to it.
    pub enabled: bool,
    /// Site name.
    pub name: String,
    /// Optional description.
    pub description: String,
    /// Address of OMM 1.
    pub omm1: String,
    /// Address of OMM 2 (standby), empty if none.
    pub omm2: String,
    /// Cloud-ID derived from the PARK (`00-<PARK>` form), set by svc-axi.
    pub cloud_id: String,
    /// Login user on the OMM (full access).
    pub user: String,
    /// Login password on the OMM.
    pub password: String,
    /// Whether the MOM provisions this OMM.
    pub provisioning: bool,
    /// This OMM's placeholder file (`name=value` lines, `#` comments), as the administrator
    /// wrote it; the `provisioning` crate reads it.
    pub placeholders: String,
    /// Certificate validation for the link.
    pub cert_validation: CertValidation,
    /// Link and health state.
    pub health: OmmHealth,
    /// Whether the OMM checks the MOM's certificate when it fetches its configuration
    /// (`validateCerts`); off is the admin guide's "limited validation".
    pub validate_mom_certificate: bool,
    /// What the provisioning of this OMM last did (svc-axi and svc-web keep it).
    pub provisioning_state: ProvisioningState,
}

/// The provisioning of one OMM as it happened: the last "Update OMM", the last fetch of
/// `ipdect.cfg`, and a warning when an update was not followed by a fetch.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProvisioningState {
    /// When the last "Update OMM" that the OMM has not yet answered with a fetch was sent;
    /// `None` once it fetched.
    pub update_sent: Option<Timestamp>,
    /// The last fetch of `ipdect.cfg`, served or refused.
    pub last_fetch: Option<ConfigFetch>,
    /// Why the provisioning needs attention (an update without a fetch); empty when all is
    /// well.
    pub warning: String,
}

/// One fetch of `ipdect.cfg` by an OMM.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConfigFetch {
    /// When.
    pub time: Timestamp,
    /// From which address.
    pub client: String,
    /// The MOM address the OMM reached (what `%MOM_IP_ADDR%` became).
    pub mom_address: String,
    /// Empty when the file was served, else why it was refused.
    pub refused: String,
    /// Bytes served.
    pub size: u64,
    /// SHA-256 of what was served, hex; empty when refused.
    pub sha256: String,
    /// Placeholders the file left unreplaced.
    pub unresolved: Vec<String>,
}

/// The configuration template from which every OMM's `ipdect.cfg` is generated.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConfigTemplate {
    /// Template text.
    pub text: String,
    /// When it was last changed.
    pub modified: Timestamp,
}

/// A conference room of the Integrated Conference Server.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConferenceRoom {
    /// Room id, assigned by the store.
    pub id: u32,
    /// Display name.
    pub name: String,
    /// SIP user id (number), unique among rooms.
    pub number: String,
    /// Hosting OMM; 0 keeps the room at the MOM only.
    pub omm_id: u32,
    /// SIP authentication name.
    pub sip_user: String,
    /// SIP password.
    pub sip_password: String,
    /// Fixed SIP port; 0 for the calculated port.
    pub fixed_port: u16,
    /// Last change.
    pub modified: Timestamp,
}

/// Severity of an event-log entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Severity {
    /// Informational.
    Info,
    /// Needs attention.
    Warning,
    /// Something failed.
    Error,
    /// Service is impaired.
    Critical,
}

/// One entry of the event log (at most [`EVENT_LOG_CAPACITY`] are kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventEntry {
    /// Sequence number, increasing.
    pub seq: u64,
    /// Severity.
    pub severity: Severity,
    /// Subsystem that raised it, e.g. "supervisor", "axi".
    pub subsystem: String,
    /// How often the same event happened.
    pub count: u32,
    /// When it last happened.
    pub time: Timestamp,
    /// Text for the administrator.
    pub text: String,
}

/// The event log keeps this many entries; older ones are dropped.
pub const EVENT_LOG_CAPACITY: usize = 100;

/// A statistics counter with its time history for the graphs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Counter {
    /// Counter name, e.g. `axi.links_up`.
    pub name: String,
    /// Current value.
    pub value: u64,
    /// Samples `(time, value)`, oldest first, bounded by [`COUNTER_HISTORY`].
    pub history: Vec<(Timestamp, u64)>,
}

/// Samples kept per counter (one per sampling period).
pub const COUNTER_HISTORY: usize = 1440;

/// One line of the "Health states" pane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HealthState {
    /// What is checked.
    pub check: HealthCheck,
    /// `None` when all is well, else how bad it is.
    pub severity: Option<Severity>,
    /// Why, for the administrator; empty when all is well.
    pub reason: String,
}

/// The checks of the "Health states" pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum HealthCheck {
    /// A valid system license is installed.
    License,
    /// Every enabled OMM record has a live link.
    OmmConnections,
    /// The database takes writes (a full disk does not let it).
    Database,
    /// Every OMM with provisioning fetched its configuration after "Update OMM".
    Provisioning,
    /// In a cluster: a leader with a majority, and every node in contact and caught up.
    Cluster,
}

impl HealthCheck {
    /// The name the pane shows.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::License => "License",
            Self::OmmConnections => "OMM connections",
            Self::Database => "Database",
            Self::Provisioning => "OMM provisioning",
            Self::Cluster => "Cluster",
        }
    }
}

/// One entry of the audit trail: a change made through the API or the admin CLI.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    /// Sequence number, increasing (assigned by the store).
    pub seq: u64,
    /// When (assigned by the store).
    pub time: Timestamp,
    /// Who: the account name, or `cli:<user>` for the admin CLI.
    pub actor: String,
    /// From where: the client's address, or `local` for the CLI.
    pub source: String,
    /// What was done, e.g. `users.edit`.
    pub action: String,
    /// Which record, e.g. `user 17`.
    pub target: String,
    /// The record before, as JSON with secrets redacted; empty for a creation.
    pub before: String,
    /// The record after, as JSON with secrets redacted; empty for a deletion.
    pub after: String,
}

/// Audit entries the store keeps; the oldest go first.
pub const AUDIT_CAPACITY: usize = 1000;
