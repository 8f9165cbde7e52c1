//! `sip-dect-mom settings ...`: the "System settings" pane for scripts: DECT settings and the
//! way back to the TLS defaults.

use crate::client::{fail, json, store, why, why_write};
use crate::omms::Mode;
use clap::{Subcommand, ValueEnum};
use model::SubscriptionMode;
use std::path::Path;

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
