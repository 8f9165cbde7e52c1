//! Secrets at rest: which fields of which records are sealed in the database, and the key
//! that seals them (`secrets.key` beside the database folder, mode 0600; see the
//! `secret-seal` crate). Records are sealed when [`crate::storage::View::put_record`]
//! writes them and opened when [`crate::storage::View::record`] reads them, so the rules,
//! the answers and the change feed see plain values and nothing else changes; an export
//! carries the sealed values as they are stored.

use crate::databases::Db;
use ipc::api::store::StoreError;
use model::{ConferenceRoom, Device, Entity, Omm, User};
use secret_seal::{Key, OpenError};
use serde::{de::DeserializeOwned, Serialize};
use std::path::{Path, PathBuf};

/// The key file of the database in `db_dir`: `secrets.key` in its parent folder, so that it
/// is outside the database and a copy of the database folder does not carry it.
#[must_use]
pub fn key_path(db_dir: &Path) -> PathBuf {
    db_dir
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join("secrets.key")
}

/// The key of the database in `db_dir`, made when there is none yet.
///
/// # Errors
/// [`StoreError::Storage`] naming the file when it cannot be read, made or parsed.
pub fn load_key(db_dir: &Path) -> Result<Key, StoreError> {
    let path = key_path(db_dir);
    let (key, created) = Key::load_or_create(&path).map_err(|e| {
        StoreError::Storage(format!(
            "secrets key {}: {e} (restore it from the backup of this installation)",
            path.display()
        ))
    })?;
    if created {
        tracing::info!(
            file = %path.display(),
            key = key.id(),
            "new secrets key made; back it up with the database exports"
        );
    }
    Ok(key)
}

/// A record kind kept in its own database, keyed by its id, with the fields that are
/// sealed at rest.
pub trait Sealed: Serialize + DeserializeOwned + Clone {
    /// The database that holds it.
    const DB: Db;
    /// Its entity, for errors.
    const ENTITY: Entity;
    /// Its id (the key).
    fn id(&self) -> u32;
    /// Its secret fields, each with the name it is sealed under.
    fn secrets(&mut self) -> Vec<(&'static str, &mut String)>;
}

impl Sealed for User {
    const DB: Db = Db::Users;
    const ENTITY: Entity = Entity::User;
    fn id(&self) -> u32 {
        self.uid
    }
    fn secrets(&mut self) -> Vec<(&'static str, &mut String)> {
        vec![
            ("pin", &mut self.pin),
            ("sip_pw", &mut self.sip_pw),
            ("credential_pw", &mut self.credential_pw),
            ("service_auth_password", &mut self.service_auth_password),
        ]
    }
}

impl Sealed for Omm {
    const DB: Db = Db::Omms;
    const ENTITY: Entity = Entity::Omm;
    fn id(&self) -> u32 {
        self.id
    }
    fn secrets(&mut self) -> Vec<(&'static str, &mut String)> {
        vec![("password", &mut self.password)]
    }
}

impl Sealed for ConferenceRoom {
    const DB: Db = Db::Rooms;
    const ENTITY: Entity = Entity::ConferenceRoom;
    fn id(&self) -> u32 {
        self.id
    }
    fn secrets(&mut self) -> Vec<(&'static str, &mut String)> {
        vec![("sip_password", &mut self.sip_password)]
    }
}

impl Sealed for Device {
    const DB: Db = Db::Devices;
    const ENTITY: Entity = Entity::Device;
    fn id(&self) -> u32 {
        self.ppn
    }
    fn secrets(&mut self) -> Vec<(&'static str, &mut String)> {
        Vec::new()
    }
}

/// Seals every secret field of `record` with `key`.
///
/// # Errors
/// [`StoreError::Storage`] when no nonce could be drawn.
pub fn seal<V: Sealed>(key: &Key, record: &mut V) -> Result<(), StoreError> {
    for (field, value) in record.secrets() {
        if value.is_empty() {
            continue;
        }
        // The write's randomness: the same nonce on every node of a cluster.
        let mut nonce = [0u8; secret_seal::NONCE_LEN];
        crate::entropy::fill(&mut nonce);
        *value = key
            .seal_with_nonce(field, value, nonce)
            .map_err(|e| StoreError::Storage(format!("sealing a secret: {e}")))?;
    }
    Ok(())
}

/// Opens every secret field of `record` with `key`.
///
/// # Errors
/// [`StoreError::Storage`] naming the record and field that does not open.
pub fn open<V: Sealed>(key: &Key, record: &mut V) -> Result<(), StoreError> {
    let id = record.id();
    for (field, value) in record.secrets() {
        *value = key.open(field, value).map_err(|e| {
            StoreError::Storage(format!(
                "{:?} {id}: its {field} does not open with this installation's secrets \
                 key: {e}",
                V::ENTITY
            ))
        })?;
    }
    Ok(())
}

/// How a record of a database export or an older database is brought to plain values:
/// sealed ones are opened with the key that sealed them (`keys`, this installation's
/// first), values in clear are taken as they are when `clear_allowed` (written before
/// secrets were sealed).
///
/// # Errors
/// A message naming the record and field, and for another installation's key, its id and
/// what to do.
pub fn open_any<V: Sealed>(
    keys: &[&Key],
    clear_allowed: bool,
    record: &mut V,
) -> Result<(), String> {
    let id = record.id();
    for (field, value) in record.secrets() {
        if value.is_empty() {
            continue;
        }
        let Some(sealed_by) = secret_seal::sealed_by(value) else {
            if clear_allowed {
                continue;
            }
            return Err(format!(
                "{:?} {id}: its {field} is stored in clear, which this schema never does",
                V::ENTITY
            ));
        };
        let Some(key) = keys.iter().find(|k| k.id() == sealed_by) else {
            return Err(format!(
                "{:?} {id}: its {field} was sealed with the secrets key {sealed_by} of the \
                 installation that wrote this export, and this one's key is {}; import it \
                 together with that installation's secrets.key (README, \"Backup\")",
                V::ENTITY,
                keys.first().map_or("missing", |k| k.id())
            ));
        };
        *value = key.open(field, value).map_err(|e| match e {
            OpenError::Damaged => format!("{:?} {id}: its {field} is damaged", V::ENTITY),
            other => format!("{:?} {id}: its {field}: {other}", V::ENTITY),
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_fields_round_trip_and_a_foreign_key_is_named_with_the_way_out() {
        let ours = Key::generate().unwrap();
        let theirs = Key::generate().unwrap();
        let plain = User {
            uid: 7,
            pin: "4711".into(),
            sip_pw: "sip secret".into(),
            credential_pw: String::new(),
            service_auth_password: "svc".into(),
            name: "Ada".into(),
            ..User::default()
        };
        let mut sealed = plain.clone();
        seal(&theirs, &mut sealed).unwrap();
        assert!(sealed.pin.starts_with(secret_seal::PREFIX));
        assert_eq!(sealed.credential_pw, "", "empty stays empty");
        assert_eq!(sealed.name, "Ada", "only secrets are sealed");
        // Our key alone: refused, naming both keys and the way out.
        let err = open_any(&[&ours], false, &mut sealed.clone()).unwrap_err();
        assert!(
            err.contains(theirs.id()) && err.contains(ours.id()) && err.contains("secrets.key"),
            "{err}"
        );
        let mut opened = sealed.clone();
        open_any(&[&ours, &theirs], false, &mut opened).unwrap();
        assert_eq!(opened, plain);
        // Clear values only where the schema had them.
        assert!(open_any(&[&ours], false, &mut plain.clone()).is_err());
        let mut clear = plain.clone();
        open_any(&[&ours], true, &mut clear).unwrap();
        assert_eq!(clear, plain);
        // The store's own open names the record.
        let err = open(&ours, &mut sealed).unwrap_err().to_string();
        assert!(err.contains("User 7") && err.contains("pin"), "{err}");
    }

    #[test]
    fn the_key_lives_beside_the_database_folder() {
        assert_eq!(
            key_path(Path::new("/var/lib/sip-dect-mom/store/db")),
            Path::new("/var/lib/sip-dect-mom/store/secrets.key")
        );
    }
}
