//! The "Health states" pane (admin guide "Health states"): the license, the OMM connections,
//! the database's writes and provisioning, each with a severity and a reason an
//! administrator can act on.

use crate::engine::Store;
use crate::licensing::license_status;
use crate::storage::Db;
use ipc::api::store::StoreError;
use model::{HealthCheck, HealthState, LinkState, Omm, Severity};

/// OMM names listed in the "OMM connections" reason before "and N more".
const NAMES_IN_REASON: usize = 5;

impl Store {
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

/// Well when every enabled OMM's link is up; a warning naming the ones that are not.
/// `names` for a health reason: the first [`NAMES_IN_REASON`], then "and N more".
fn named(names: &[&str]) -> String {
    let mut text = names[..names.len().min(NAMES_IN_REASON)].join(", ");
    if names.len() > NAMES_IN_REASON {
        text.push_str(&format!(" and {} more", names.len() - NAMES_IN_REASON));
    }
    text
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
