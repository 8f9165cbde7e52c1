//! Database schema migrations, run by [`crate::engine::Store::open`] before anything else
//! reads the database. Each step rewrites what its schema changed and sets the new version
//! in the same transaction, so a migration that fails leaves the old database as it was.
//!
//! - 2 → 3: changes gained their origin (the change log restarts).
//! - 3 → 4: OMM records gained provisioning (the placeholder file as text, the
//!   certificate check of the configuration URL, the provisioning state); the settings
//!   gained the provisioning address and the fetch timeout.
//! - 4 → 5: the secrets of users, OMMs and conference rooms are sealed at rest
//!   ([`crate::secrets`]).
//!
//! A database export of an older schema is brought up the same way before its check
//! ([`export_3_to_4`], [`export_4_to_5`]), so a backup taken before an upgrade can still be
//! restored.

use crate::ops::meta;
use crate::storage::{decode, Db, Storage};
use ipc::api::store::StoreError;
use model::{CertValidation, Omm, OmmHealth, Settings};
use serde::Deserialize;

/// Brings the database in `storage` from `schema` to the current version, one step at a
/// time; returns the version it ends at.
///
/// # Errors
/// [`StoreError::Storage`] when a step cannot read or write.
pub fn run(storage: &Storage, mut schema: Option<u32>) -> Result<Option<u32>, StoreError> {
    if schema == Some(2) {
        migrate_2_to_3(storage)?;
        schema = Some(3);
    }
    if schema == Some(3) {
        migrate_3_to_4(storage)?;
        schema = Some(4);
    }
    if schema == Some(4) {
        migrate_4_to_5(storage)?;
        schema = Some(5);
    }
    Ok(schema)
}

/// Schema 2 → 3: changes gained their origin, so version 2's change log cannot be read; it
/// is only a buffer for subscribers to resume from, so it is dropped (a subscriber that was
/// behind resynchronises).
fn migrate_2_to_3(storage: &Storage) -> Result<(), StoreError> {
    let mut view = storage.write()?;
    let rev: u64 = view.get(Db::Meta, meta::REVISION)?.unwrap_or(0);
    view.clear(Db::Changes)?;
    view.put(Db::Meta, meta::CHANGES_START, &(rev + 1))?;
    view.put(Db::Meta, meta::SCHEMA, &3u32)?;
    view.commit()?;
    tracing::info!(
        rev,
        "database schema 2 migrated to 3 (change log restarted)"
    );
    Ok(())
}

/// An OMM record as schema 3 stored it.
#[derive(Deserialize)]
struct OmmV3 {
    id: u32,
    enabled: bool,
    name: String,
    description: String,
    omm1: String,
    omm2: String,
    cloud_id: String,
    user: String,
    password: String,
    provisioning: bool,
    placeholders: Vec<(String, String)>,
    cert_validation: CertValidation,
    health: OmmHealth,
}

/// The settings as schema 3 stored them.
#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
pub(crate) struct SettingsV3 {
    pub(crate) system_name: String,
    pub(crate) suppress_table_updates: model::SuppressTableUpdates,
    pub(crate) sari: String,
    pub(crate) auto_create: bool,
    pub(crate) subscription_mode: model::SubscriptionMode,
    pub(crate) fac_prefix: String,
    pub(crate) banner_text: String,
    pub(crate) banner_enabled: bool,
    pub(crate) tls_level: model::TlsSecurityLevel,
    pub(crate) ciphers_high: model::CipherChoice,
    pub(crate) ciphers_medium: model::CipherChoice,
    pub(crate) ciphers_legacy: model::CipherChoice,
    pub(crate) accepted_eula_version: String,
}

/// An OMM record of schema 3 in schema 4: placeholder pairs become lines of the file.
fn omm_v4(old: OmmV3) -> Omm {
    let placeholders = old
        .placeholders
        .iter()
        .map(|(name, value)| format!("{name}={value}\n"))
        .collect();
    Omm {
        id: old.id,
        enabled: old.enabled,
        name: old.name,
        description: old.description,
        omm1: old.omm1,
        omm2: old.omm2,
        cloud_id: old.cloud_id,
        user: old.user,
        password: old.password,
        provisioning: old.provisioning,
        placeholders,
        cert_validation: old.cert_validation,
        health: old.health,
        validate_mom_certificate: false,
        provisioning_state: model::ProvisioningState::default(),
    }
}

fn settings_v4(old: SettingsV3) -> Settings {
    Settings {
        system_name: old.system_name,
        suppress_table_updates: old.suppress_table_updates,
        sari: old.sari,
        auto_create: old.auto_create,
        subscription_mode: old.subscription_mode,
        fac_prefix: old.fac_prefix,
        banner_text: old.banner_text,
        banner_enabled: old.banner_enabled,
        tls_level: old.tls_level,
        ciphers_high: old.ciphers_high,
        ciphers_medium: old.ciphers_medium,
        ciphers_legacy: old.ciphers_legacy,
        accepted_eula_version: old.accepted_eula_version,
        ..Settings::default()
    }
}

/// Schema 3 → 4: every OMM record and the settings are rewritten in the new form. A
/// database without a template gets the default one, as a new database does.
fn migrate_3_to_4(storage: &Storage) -> Result<(), StoreError> {
    let mut view = storage.write()?;
    let mut omms = Vec::new();
    view.scan(Db::Omms, None, |_, raw| {
        omms.push(omm_v4(decode::<OmmV3>(Db::Omms, raw)?));
        Ok(true)
    })?;
    for omm in &omms {
        view.put_record(omm)?;
    }
    if let Some(raw) = view.get_raw(Db::Meta, meta::SETTINGS)? {
        let settings = settings_v4(decode::<SettingsV3>(Db::Meta, raw)?);
        view.put(Db::Meta, meta::SETTINGS, &settings)?;
    }
    if view.get_raw(Db::Meta, meta::TEMPLATE)?.is_none() {
        view.put(Db::Meta, meta::TEMPLATE, &crate::ops::default_template())?;
    }
    view.put(Db::Meta, meta::SCHEMA, &4u32)?;
    view.commit()?;
    tracing::info!(
        omms = omms.len(),
        "database schema 3 migrated to 4 (OMM provisioning)"
    );
    Ok(())
}

/// Schema 4 → 5: every secret of a user, OMM or room, kept in clear until now, is sealed
/// with the installation's key.
fn migrate_4_to_5(storage: &Storage) -> Result<(), StoreError> {
    let mut view = storage.write()?;
    let mut sealed = 0usize;
    fn reseal<V: crate::secrets::Sealed>(
        view: &mut crate::storage::WriteView<'_>,
        key: &secret_seal::Key,
    ) -> Result<usize, StoreError> {
        let mut records: Vec<V> = Vec::new();
        view.scan(V::DB, None, |_, raw| {
            records.push(decode(V::DB, raw)?);
            Ok(true)
        })?;
        for record in &mut records {
            crate::secrets::open_any(&[key], true, record).map_err(StoreError::Storage)?;
            view.put_record(record)?;
        }
        Ok(records.len())
    }
    let key = std::sync::Arc::clone(storage.key());
    sealed += reseal::<model::User>(&mut view, &key)?;
    sealed += reseal::<Omm>(&mut view, &key)?;
    sealed += reseal::<model::ConferenceRoom>(&mut view, &key)?;
    view.put(Db::Meta, meta::SCHEMA, &5u32)?;
    view.commit()?;
    tracing::info!(
        records = sealed,
        key = key.id(),
        "database schema 4 migrated to 5 (secrets sealed at rest)"
    );
    Ok(())
}

/// The raw entries of a schema-4 export in schema 5: only the schema entry changes, since
/// the import seals the secrets (in clear in schema 4) as it writes the records.
///
/// # Errors
/// [`StoreError::Storage`] when the entry cannot be encoded.
pub(crate) fn export_4_to_5(
    tables: &mut [(Db, crate::storage::Entries)],
) -> Result<(), StoreError> {
    for (db, entries) in tables.iter_mut() {
        if *db == Db::Meta {
            for (key, value) in entries.iter_mut() {
                if key.as_slice() == meta::SCHEMA {
                    *value = encode(&5u32)?;
                }
            }
        }
    }
    Ok(())
}

/// The raw entries of a schema-3 export in schema 4, as [`migrate_3_to_4`] changes a
/// database: every OMM record and the settings rewritten, the schema entry set to 4, the
/// default template added when there is none. A value that is not schema 3 refuses the
/// import.
///
/// # Errors
/// [`StoreError::Import`] naming the entry that cannot be read.
pub(crate) fn export_3_to_4(
    tables: &mut [(Db, crate::storage::Entries)],
) -> Result<(), StoreError> {
    let refuse = |what: &str, e: StoreError| {
        StoreError::Import(format!("{what} is not a schema-3 record: {e}"))
    };
    for (db, entries) in tables.iter_mut() {
        match db {
            Db::Omms => {
                for (_, value) in entries.iter_mut() {
                    let old = decode::<OmmV3>(Db::Omms, value).map_err(|e| refuse("an OMM", e))?;
                    *value = encode(&omm_v4(old))?;
                }
            }
            Db::Meta => {
                let mut template = false;
                for (key, value) in entries.iter_mut() {
                    match key.as_slice() {
                        k if k == meta::SETTINGS => {
                            let old = decode::<SettingsV3>(Db::Meta, value)
                                .map_err(|e| refuse("the settings", e))?;
                            *value = encode(&settings_v4(old))?;
                        }
                        k if k == meta::SCHEMA => *value = encode(&4u32)?,
                        k if k == meta::TEMPLATE => template = true,
                        _ => {}
                    }
                }
                if !template {
                    entries.push((
                        meta::TEMPLATE.to_vec(),
                        encode(&crate::ops::default_template())?,
                    ));
                    entries.sort();
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    postcard::to_stdvec(value).map_err(|e| StoreError::Storage(e.to_string()))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde::Serialize;

    /// An OMM record written as schema 3 wrote it.
    #[derive(Serialize)]
    pub(crate) struct WriteOmmV3<'a> {
        pub(crate) id: u32,
        pub(crate) enabled: bool,
        pub(crate) name: &'a str,
        pub(crate) description: &'a str,
        pub(crate) omm1: &'a str,
        pub(crate) omm2: &'a str,
        pub(crate) cloud_id: &'a str,
        pub(crate) user: &'a str,
        pub(crate) password: &'a str,
        pub(crate) provisioning: bool,
        pub(crate) placeholders: Vec<(&'a str, &'a str)>,
        pub(crate) cert_validation: CertValidation,
        pub(crate) health: OmmHealth,
    }

    #[test]
    fn a_schema_3_omm_record_keeps_every_field_and_its_placeholders_become_lines() {
        let old = WriteOmmV3 {
            id: 7,
            enabled: true,
            name: "Site",
            description: "d",
            omm1: "10.0.0.1",
            omm2: "",
            cloud_id: "001F10000001",
            user: "omm",
            password: "secret",
            provisioning: true,
            placeholders: vec![("BeginComment", "<!--"), ("a", "x=y")],
            cert_validation: CertValidation::PinnedSha256("ab".into()),
            health: OmmHealth::default(),
        };
        let raw = postcard::to_stdvec(&old).unwrap();
        let omm = omm_v4(decode::<OmmV3>(Db::Omms, &raw).unwrap());
        assert_eq!(omm.id, 7);
        assert_eq!(omm.password, "secret");
        assert!(omm.provisioning);
        assert_eq!(omm.placeholders, "BeginComment=<!--\na=x=y\n");
        assert_eq!(
            omm.cert_validation,
            CertValidation::PinnedSha256("ab".into())
        );
        assert!(!omm.validate_mom_certificate);
    }
}
