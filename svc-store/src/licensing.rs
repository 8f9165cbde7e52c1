//! The license at the store, and the "Health states" pane.
//!
//! A license file is checked against the configured issuer keys (the `license` crate) before
//! it is installed, and again at every start and after a database import: the SARI in the
//! settings is the installed license's while that license verifies, and empty otherwise
//! (admin guide: without a license the MOM sets no SARI, and the health state says so).

use crate::engine::Store;
use crate::ops::{meta, Tx};
use crate::storage::{Db, View};
use ipc::api::store::{ChangeOp, StoreError, StoreResponse};
use license::IssuerPublicKey;
use model::{Entity, HealthCheck, HealthState, License, LinkState, Omm, Settings, Severity};

/// The reason the License health line gives when none is installed (the admin guide's text).
pub const NO_LICENSE: &str = "No license available";

/// OMM names listed in the "OMM connections" reason before "and N more".
const NAMES_IN_REASON: usize = 5;

impl Store {
    /// Checks a license file and installs it: the SARI follows it, and a later license must
    /// carry the same installation id.
    ///
    /// # Errors
    /// [`StoreError::LicenseRefused`] for a file that does not verify,
    /// [`StoreError::LicenseMismatch`] for another installation.
    pub fn install_license(&self, file: Vec<u8>) -> Result<StoreResponse, StoreError> {
        let verified = license::verify(&file, self.license_issuers())
            .map_err(|e| StoreError::LicenseRefused(e.to_string()))?;
        self.write_with(|tx| tx.install_license(verified.license, file))?;
        Ok(StoreResponse::Done)
    }

    /// Makes the SARI agree with the installed license: the license's SARI while it
    /// verifies, none otherwise (issuer key removed from the configuration, database
    /// imported from elsewhere). Logs and records an event when it changes anything.
    ///
    /// # Errors
    /// [`StoreError::Storage`].
    pub fn enforce_license(&self) -> Result<(), StoreError> {
        self.write_with(|tx| {
            let status = license_status(tx.view, self.license_issuers())?;
            let mut settings: Settings = tx.view.get(Db::Meta, meta::SETTINGS)?.unwrap_or_default();
            let sari = status.as_ref().map(|l| l.sari.clone()).unwrap_or_default();
            if settings.sari == sari {
                return Ok(());
            }
            match &status {
                Ok(_) => tracing::info!(sari, "SARI set from the installed license"),
                Err(why) => {
                    tracing::warn!(reason = %why, "no valid license: the SARI is withdrawn");
                    tx.log_event(
                        Severity::Error,
                        "license",
                        &format!("{why}: no SARI is set on the OMMs"),
                    )?;
                }
            }
            settings.sari = sari;
            tx.view.put(Db::Meta, meta::SETTINGS, &settings)?;
            tx.changed(Entity::Settings, 0, ChangeOp::Put);
            Ok(())
        })
    }

    /// The "Health states" pane: the license, then the OMM connections.
    ///
    /// # Errors
    /// [`StoreError::Storage`].
    pub fn health(&self) -> Result<Vec<HealthState>, StoreError> {
        let storage = self.storage()?;
        let view = storage.get().read()?;
        let license = match license_status(&view, self.license_issuers())? {
            Ok(_) => HealthState {
                check: HealthCheck::License,
                severity: None,
                reason: String::new(),
            },
            Err(why) => HealthState {
                check: HealthCheck::License,
                severity: Some(Severity::Error),
                reason: why,
            },
        };
        let omms: Vec<Omm> = view.records()?;
        let conflicts: Vec<model::Conflict> = view
            .get(Db::Meta, crate::conflicts::KEY)?
            .unwrap_or_default();
        let database = match self.write_outage() {
            None => HealthState {
                check: HealthCheck::Database,
                severity: None,
                reason: String::new(),
            },
            Some(o) => HealthState {
                check: HealthCheck::Database,
                severity: Some(Severity::Error),
                reason: format!(
                    "Database writes fail since {}: {} ({} refused); free disk space",
                    model::time_text(o.since),
                    o.error,
                    o.refused
                ),
            },
        };
        Ok(vec![
            license,
            omm_connections(&omms, &conflicts),
            database,
            provisioning(&omms),
        ])
    }
}

impl Tx<'_, '_> {
    /// Installs a verified license: checks the installation id, keeps the file (it is
    /// verified again at every start) and sets the SARI.
    fn install_license(&mut self, license: License, file: Vec<u8>) -> Result<(), StoreError> {
        if let Some(installed) = self.view.get::<License>(Db::Meta, meta::LICENSE)? {
            if installed.installation_id != license.installation_id {
                return Err(StoreError::LicenseMismatch {
                    installed: installed.installation_id,
                    offered: license.installation_id,
                });
            }
        }
        let mut settings: Settings = self.view.get(Db::Meta, meta::SETTINGS)?.unwrap_or_default();
        settings.sari.clone_from(&license.sari);
        self.view.put(Db::Meta, meta::SETTINGS, &settings)?;
        self.view.put(Db::Meta, meta::LICENSE, &license)?;
        self.view.put(Db::Meta, meta::LICENSE_FILE, &file)?;
        self.log_event(
            Severity::Info,
            "license",
            &format!(
                "license installed: installation {}, {}, {}, version {}, SARI {}",
                license.installation_id,
                license.customer_name,
                license.country,
                license.licensed_version,
                license.sari
            ),
        )?;
        tracing::info!(installation = %license.installation_id, sari = %license.sari, "license installed");
        self.changed(Entity::License, 0, ChangeOp::Put);
        self.changed(Entity::Settings, 0, ChangeOp::Put);
        Ok(())
    }
}

/// The installed license if its file verifies, else the reason for the health pane.
fn license_status<T: crate::storage::Txn>(
    view: &View<'_, T>,
    issuers: &[IssuerPublicKey],
) -> Result<Result<License, String>, StoreError> {
    let Some(file) = view.get::<Vec<u8>>(Db::Meta, meta::LICENSE_FILE)? else {
        return Ok(Err(NO_LICENSE.to_owned()));
    };
    Ok(license::verify(&file, issuers)
        .map(|v| v.license)
        .map_err(|e| format!("License not valid: {e}")))
}

/// Well when every enabled OMM's link is up; a warning naming the ones that are not.
/// `names` for a health reason: the first [`NAMES_IN_REASON`], then "and N more".
fn named(names: &[&str]) -> String {
    let mut text = names[..names.len().min(NAMES_IN_REASON)].join(", ");
    if names.len() > NAMES_IN_REASON {
        text.push_str(&format!(" and {} more", names.len() - NAMES_IN_REASON));
    }
    text
}

fn omm_connections(omms: &[Omm], conflicts: &[model::Conflict]) -> HealthState {
    let down: Vec<&str> = omms
        .iter()
        .filter(|o| o.enabled && o.health.link != LinkState::Up)
        .map(|o| o.name.as_str())
        .collect();
    let mut parts = Vec::new();
    match down.len() {
        0 => {}
        1 => parts.push(format!("OMM not connected: {}", down[0])),
        n => parts.push(format!("{n} OMMs not connected: {}", named(&down))),
    }
    // OMMs with records held back (conflicts), named like the ones not connected.
    let with_conflicts: std::collections::HashSet<u32> = conflicts.iter().map(|c| c.omm).collect();
    let held: Vec<&str> = omms
        .iter()
        .filter(|o| with_conflicts.contains(&o.id))
        .map(|o| o.name.as_str())
        .collect();
    if !held.is_empty() {
        parts.push(format!(
            "{} conflicting records held back at: {}",
            conflicts.len(),
            named(&held)
        ));
    }
    // A handshake that fails says why (the versions and suites each side offered): the
    // first such text, and which OMMs have one.
    let handshake: Vec<&Omm> = omms
        .iter()
        .filter(|o| {
            o.enabled
                && o.health.link != LinkState::Up
                && o.health.last_error.contains("TLS handshake failed")
        })
        .collect();
    if let Some(first) = handshake.first() {
        let names: Vec<&str> = handshake.iter().map(|o| o.name.as_str()).collect();
        parts.push(format!(
            "TLS handshake failed at {}: {}",
            named(&names),
            first.health.last_error
        ));
    }
    let reason = parts.join("; ");
    HealthState {
        check: HealthCheck::OmmConnections,
        severity: (!reason.is_empty()).then_some(Severity::Warning),
        reason,
    }
}

/// The provisioning check: OMMs whose "Update OMM" was not followed by a fetch.
fn provisioning(omms: &[Omm]) -> HealthState {
    let warned: Vec<&str> = omms
        .iter()
        .filter(|o| o.provisioning && !o.provisioning_state.warning.is_empty())
        .map(|o| o.provisioning_state.warning.as_str())
        .collect();
    let mut reason = warned
        .iter()
        .take(10)
        .copied()
        .collect::<Vec<_>>()
        .join("; ");
    if warned.len() > 10 {
        reason.push_str(&format!("; and {} more OMMs", warned.len() - 10));
    }
    HealthState {
        check: HealthCheck::Provisioning,
        severity: (!warned.is_empty()).then_some(Severity::Warning),
        reason,
    }
}
