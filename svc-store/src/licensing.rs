//! The license at the store (its health state is in [`crate::health`]).
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
use model::{Entity, License, Settings, Severity};

/// The reason the License health line gives when none is installed (the admin guide's text).
pub const NO_LICENSE: &str = "No license available";

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
}

impl Tx<'_, '_> {
    /// Installs a verified license: checks the installation id, keeps the file (it is
    /// verified again at every start) and sets the SARI.
    pub(crate) fn install_license(
        &mut self,
        license: License,
        file: Vec<u8>,
    ) -> Result<(), StoreError> {
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
pub(crate) fn license_status<T: crate::storage::Txn>(
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
