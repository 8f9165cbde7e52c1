//! Administrator subcommands on the MOM's records (OMMs, users, devices, settings), over the
//! store's socket: what the web UI will offer, for scripts and for the console. Every refused
//! change prints the store's reason and exits 1; `--json` prints machine-readable output.

use crate::cli::{store, why, why_write};
use clap::{Subcommand, ValueEnum};
use model::{Omm, SubscriptionMode};
use std::path::Path;

/// `sip-dect-mom omm ...`
#[derive(Debug, Subcommand)]
pub enum OmmAction {
    /// List the OMM records with their link state.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Add an OMM record.
    Add {
        /// Site name.
        #[arg(long)]
        name: String,
        /// Address of OMM 1 (`host` or `host:port`; port 12622 by default).
        #[arg(long)]
        omm1: String,
        /// Address of OMM 2.
        #[arg(long, default_value = "")]
        omm2: String,
        /// Login user on the OMM.
        #[arg(long)]
        user: String,
        /// Login password on the OMM.
        #[arg(long)]
        password: String,
        /// Description.
        #[arg(long, default_value = "")]
        description: String,
        /// Add it disabled.
        #[arg(long)]
        disabled: bool,
    },
    /// Change an OMM record.
    Edit {
        /// OMM id.
        id: u32,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        /// New OMM 1 address.
        #[arg(long)]
        omm1: Option<String>,
        /// New OMM 2 address.
        #[arg(long)]
        omm2: Option<String>,
        /// New login user.
        #[arg(long)]
        user: Option<String>,
        /// New login password.
        #[arg(long)]
        password: Option<String>,
    },
    /// Enable an OMM record (the MOM links to it).
    Enable {
        /// OMM id.
        id: u32,
    },
    /// Disable an OMM record (the MOM drops its link).
    Disable {
        /// OMM id.
        id: u32,
    },
    /// Delete an OMM record.
    Delete {
        /// OMM id.
        id: u32,
    },
    /// "Update OMM": tell these OMMs (or every provisioned one) to fetch their configuration
    /// now; the fetch is recorded with each OMM (see `provisioning preview`).
    Update {
        /// OMM ids.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        ids: Vec<u32>,
        /// Every OMM with Provisioning enabled.
        #[arg(long)]
        all: bool,
    },
}

/// Subscription modes as the admin guide names them.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Mode {
    /// Subscription is disabled.
    Off,
    /// Configured IPEIs (and auto-create) only.
    Subscription,
    /// Handsets without configured IPEIs (with an additional ID).
    Wildcard,
}

/// `sip-dect-mom settings ...`
#[derive(Debug, Subcommand)]
pub enum SettingsAction {
    /// Show the system settings.
    Show {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Change DECT settings; every connected OMM receives them.
    Set {
        /// Subscription mode.
        #[arg(long)]
        subscription: Option<Mode>,
        /// Auto-create a handset record on subscription.
        #[arg(long)]
        auto_create: Option<bool>,
        /// Global FAC prefix (empty removes it).
        #[arg(long)]
        fac_prefix: Option<String>,
        /// System name.
        #[arg(long)]
        system_name: Option<String>,
    },
    /// Put the TLS settings back: every level's default cipher list, and the level given
    /// (High when none). The way back when a cipher list locks every client out.
    TlsDefaults {
        /// The security level to use.
        #[arg(long, value_enum, default_value = "high")]
        level: Level,
    },
}

/// TLS security levels as the admin guide names them.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Level {
    /// TLS 1.3 preferred, TLS 1.2 with ECDHE AES-GCM, no session resumption.
    High,
    /// High's suites with session resumption.
    Medium,
    /// Every suite the MOM offers.
    Legacy,
}

pub(crate) fn fail(e: &str) -> i32 {
    eprintln!("sip-dect-mom: {e}");
    1
}

/// Who runs the CLI, for the audit trail: `cli:<user name>` (or `cli:uid <n>`).
pub(crate) fn actor() -> String {
    let uid = nix::unistd::getuid();
    match nix::unistd::User::from_uid(uid) {
        Ok(Some(user)) => format!("cli:{}", user.name),
        _ => format!("cli:uid {uid}"),
    }
}

/// The audit entry of the CLI's action `kind` (`cli.<kind>`) that is no write the store
/// audits itself (a license install, a database import), with `after` as its record.
pub(crate) fn audit_of(kind: &str, after: String) -> model::AuditEntry {
    model::AuditEntry {
        actor: actor(),
        source: "local".into(),
        action: format!("cli.{kind}"),
        after,
        ..model::AuditEntry::default()
    }
}

pub(crate) fn json<T: serde::Serialize>(value: &T) -> i32 {
    match serde_json::to_string_pretty(value) {
        Ok(text) => {
            println!("{text}");
            0
        }
        Err(e) => fail(&e.to_string()),
    }
}

/// Every OMM record.
pub(crate) async fn omms(socket: &Path) -> Result<Vec<Omm>, String> {
    store(socket).await?.omms().await.map_err(why)
}

async fn put_omm(socket: &Path, omm: Omm) -> i32 {
    let saved = async { store(socket).await?.put_omm(omm).await.map_err(why_write) };
    match saved.await {
        Ok(id) => {
            println!("OMM {id} saved");
            0
        }
        Err(e) => fail(&e),
    }
}

/// Runs an `omm` subcommand.
pub async fn omm(socket: &Path, action: &OmmAction) -> i32 {
    match action {
        OmmAction::List { json: as_json } => match omms(socket).await {
            Ok(list) if *as_json => json(&list),
            Ok(list) => {
                println!(
                    "{:>4} {:<3} {:<20} {:<22} {:<14} {:<11} LAST ERROR",
                    "ID", "ON", "NAME", "OMM 1", "CLOUD-ID", "LINK"
                );
                for o in list {
                    println!(
                        "{:>4} {:<3} {:<20} {:<22} {:<14} {:<11} {}",
                        o.id,
                        if o.enabled { "yes" } else { "no" },
                        o.name,
                        o.omm1,
                        o.cloud_id,
                        format!("{:?}", o.health.link),
                        o.health.last_error
                    );
                }
                0
            }
            Err(e) => fail(&e),
        },
        OmmAction::Add {
            name,
            omm1,
            omm2,
            user,
            password,
            description,
            disabled,
        } => {
            let omm = Omm {
                enabled: !disabled,
                name: name.clone(),
                description: description.clone(),
                omm1: omm1.clone(),
                omm2: omm2.clone(),
                user: user.clone(),
                password: password.clone(),
                ..Omm::default()
            };
            put_omm(socket, omm).await
        }
        OmmAction::Edit {
            id,
            name,
            omm1,
            omm2,
            user,
            password,
        } => {
            let Some(mut omm) = omms(socket)
                .await
                .ok()
                .and_then(|l| l.into_iter().find(|o| o.id == *id))
            else {
                return fail(&format!("there is no OMM {id}"));
            };
            for (field, value) in [
                (&mut omm.name, name),
                (&mut omm.omm1, omm1),
                (&mut omm.omm2, omm2),
                (&mut omm.user, user),
                (&mut omm.password, password),
            ] {
                if let Some(v) = value {
                    field.clone_from(v);
                }
            }
            put_omm(socket, omm).await
        }
        OmmAction::Enable { id } | OmmAction::Disable { id } => {
            let Some(mut omm) = omms(socket)
                .await
                .ok()
                .and_then(|l| l.into_iter().find(|o| o.id == *id))
            else {
                return fail(&format!("there is no OMM {id}"));
            };
            omm.enabled = matches!(action, OmmAction::Enable { .. });
            put_omm(socket, omm).await
        }
        OmmAction::Update { .. } => fail("`omm update` is run by the CLI's entry point"),
        OmmAction::Delete { id } => match async {
            store(socket)
                .await?
                .delete_omm(*id)
                .await
                .map_err(why_write)
        }
        .await
        {
            Ok(()) => {
                println!("OMM {id} deleted");
                0
            }
            Err(e) => fail(&e),
        },
    }
}

/// Runs a `settings` subcommand.
pub async fn settings(socket: &Path, action: &SettingsAction) -> i32 {
    let store = match store(socket).await {
        Ok(store) => store,
        Err(e) => return fail(&e),
    };
    let mut settings = match store.settings().await {
        Ok(s) => s,
        Err(e) => return fail(&why(e)),
    };
    match action {
        SettingsAction::Show { json: true } => json(&settings),
        SettingsAction::Show { json: false } => {
            println!("system name:   {}", settings.system_name);
            match model::park::printed(&settings.sari) {
                Some(printed) => println!("SARI:          {printed} / {}", settings.sari),
                None if settings.sari.is_empty() => println!("SARI:          (no license)"),
                None => println!("SARI:          {}", settings.sari),
            }
            println!("subscription:  {:?}", settings.subscription_mode);
            println!("auto-create:   {}", settings.auto_create);
            println!("FAC prefix:    {}", settings.fac_prefix);
            0
        }
        SettingsAction::Set {
            subscription,
            auto_create,
            fac_prefix,
            system_name,
        } => {
            if let Some(mode) = subscription {
                settings.subscription_mode = match mode {
                    Mode::Off => SubscriptionMode::Off,
                    Mode::Subscription => SubscriptionMode::Subscription,
                    Mode::Wildcard => SubscriptionMode::Wildcard,
                };
            }
            if let Some(a) = auto_create {
                settings.auto_create = *a;
            }
            if let Some(p) = fac_prefix {
                settings.fac_prefix.clone_from(p);
            }
            if let Some(n) = system_name {
                settings.system_name.clone_from(n);
            }
            match store.put_settings(settings).await {
                Ok(()) => {
                    println!("settings saved; connected OMMs receive them now");
                    0
                }
                Err(e) => fail(&why_write(e)),
            }
        }
        SettingsAction::TlsDefaults { level } => {
            settings.tls_level = match level {
                Level::High => model::TlsSecurityLevel::High,
                Level::Medium => model::TlsSecurityLevel::Medium,
                Level::Legacy => model::TlsSecurityLevel::Legacy,
            };
            for choice in [
                &mut settings.ciphers_high,
                &mut settings.ciphers_medium,
                &mut settings.ciphers_legacy,
            ] {
                *choice = model::CipherChoice {
                    use_defaults: true,
                    custom: String::new(),
                };
            }
            match store.put_settings(settings).await {
                Ok(()) => {
                    println!("TLS settings back to the defaults of level {level:?}; new connections and each OMM link's next connect use them");
                    0
                }
                Err(e) => fail(&why_write(e)),
            }
        }
    }
}
