//! The body of a database export: a logical dump, not a copy of the LMDB file. An import
//! therefore never maps a file that someone else wrote (a crafted or half file with a valid
//! digest made LMDB fault with SIGBUS): it decodes the dump, checks every record as the
//! store's rules would, rebuilds every index and id counter from the records, and writes
//! the result into a new database of its own.
//!
//! The dump holds every record database as raw `(key, value)` pairs and the known meta
//! entries; the indexes and the change log are left out, since they are derived.

use crate::ops::{meta, SCHEMA_VERSION};
use crate::rules::MAX_PERMANENT_USERS;
use crate::storage::{decode, id_key, key_id, seq_key, Db, Entries, Storage};
use ipc::api::store::StoreError;
use model::{
    Account, ConferenceRoom, ConfigTemplate, Conflict, Counter, Device, EventEntry, License, Omm,
    RelType, Settings, Source, Tombstone, User, DEFAULT_ACCOUNT_ID,
};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// The databases a dump carries, records only.
const RECORDS: [Db; 9] = [
    Db::Meta,
    Db::Users,
    Db::Devices,
    Db::Accounts,
    Db::Omms,
    Db::Rooms,
    Db::Tombstones,
    Db::Events,
    Db::Counters,
];

/// Meta entries a dump may carry; the id counters are rebuilt.
const META_KEYS: [&[u8]; 9] = [
    meta::SCHEMA,
    meta::REVISION,
    meta::SETTINGS,
    meta::LICENSE,
    meta::LICENSE_FILE,
    meta::TEMPLATE,
    meta::NEXT_EVENT,
    crate::conflicts::KEY,
    crate::audit::NEXT,
];

/// One database of a dump.
#[derive(Serialize, Deserialize)]
struct Table {
    /// Its position in [`RECORDS`].
    db: u8,
    /// Every entry, in key order.
    entries: Entries,
}

/// A whole dump.
#[derive(Serialize, Deserialize)]
struct Dump {
    /// The store schema the values are encoded in.
    schema: u32,
    /// The record databases.
    tables: Vec<Table>,
}

fn refuse(why: impl Into<String>) -> StoreError {
    StoreError::Import(why.into())
}

/// The dump of `storage` (one read transaction, so it is consistent).
///
/// # Errors
/// [`StoreError::Storage`].
pub fn write(storage: &Storage) -> Result<Vec<u8>, StoreError> {
    let view = storage.read()?;
    let mut tables = Vec::new();
    for (i, db) in RECORDS.iter().enumerate() {
        let mut entries = Vec::new();
        view.scan(*db, None, |k, v| {
            if *db != Db::Meta || META_KEYS.contains(&k) || k.starts_with(crate::audit::PREFIX) {
                entries.push((k.to_vec(), v.to_vec()));
            }
            Ok(true)
        })?;
        tables.push(Table {
            db: u8::try_from(i).unwrap_or(u8::MAX),
            entries,
        });
    }
    postcard::to_allocvec(&Dump {
        schema: SCHEMA_VERSION,
        tables,
    })
    .map_err(|e| StoreError::Storage(format!("encoding the export: {e}")))
}

/// What a checked dump holds, decoded.
struct Checked {
    raw: Vec<(Db, Entries)>,
    users: Vec<User>,
    devices: Vec<Device>,
    accounts: Vec<Account>,
    rooms: Vec<ConferenceRoom>,
    events: Vec<EventEntry>,
    omms: Vec<Omm>,
    revision: u64,
}

/// Decodes `body` and checks everything in it (see the module's documentation). The
/// secrets of users, OMMs and rooms are opened with `keys` (this installation's first, then
/// the one given with the import), or taken in clear from a dump older than schema 5.
fn check(body: &[u8], keys: &[&secret_seal::Key]) -> Result<Checked, StoreError> {
    let dump: Dump =
        postcard::from_bytes(body).map_err(|e| refuse(format!("not a readable export: {e}")))?;
    if !(3..=SCHEMA_VERSION).contains(&dump.schema) {
        return Err(refuse(format!(
            "the records inside have schema version {}, this MOM reads 3 to {SCHEMA_VERSION}",
            dump.schema
        )));
    }
    let mut raw: Vec<(Db, Entries)> = Vec::new();
    for table in dump.tables {
        let db = *RECORDS
            .get(usize::from(table.db))
            .ok_or_else(|| refuse(format!("unknown database {}", table.db)))?;
        if raw.iter().any(|(d, _)| *d == db) {
            return Err(refuse(format!("database {db:?} appears twice")));
        }
        raw.push((db, table.entries));
    }
    if dump.schema == 3 {
        crate::migrate::export_3_to_4(&mut raw)?;
    }
    if dump.schema <= 4 {
        crate::migrate::export_4_to_5(&mut raw)?;
    }
    // Before schema 5 secrets were kept in clear; they are sealed as they are written.
    let clear_allowed = dump.schema <= 4;
    let entries = |db: Db| {
        raw.iter()
            .find(|(d, _)| *d == db)
            .map_or(&[][..], |(_, e)| e.as_slice())
    };
    // Records keyed by their id: the key must be the id the record carries.
    fn records<V: serde::de::DeserializeOwned>(
        db: Db,
        entries: &[(Vec<u8>, Vec<u8>)],
        id: fn(&V) -> u32,
    ) -> Result<Vec<V>, StoreError> {
        entries
            .iter()
            .map(|(k, v)| {
                let record: V = decode(db, v).map_err(|e| refuse(e.to_string()))?;
                let key = key_id(k).map_err(|e| refuse(e.to_string()))?;
                if key != id(&record) {
                    return Err(refuse(format!(
                        "{db:?}: record {} is filed under id {key}",
                        id(&record)
                    )));
                }
                Ok(record)
            })
            .collect()
    }
    fn opened<V: crate::secrets::Sealed>(
        mut records: Vec<V>,
        keys: &[&secret_seal::Key],
        clear_allowed: bool,
    ) -> Result<Vec<V>, StoreError> {
        for record in &mut records {
            crate::secrets::open_any(keys, clear_allowed, record).map_err(refuse)?;
        }
        Ok(records)
    }
    let users: Vec<User> = opened(
        records(Db::Users, entries(Db::Users), |u: &User| u.uid)?,
        keys,
        clear_allowed,
    )?;
    let devices: Vec<Device> = records(Db::Devices, entries(Db::Devices), |d: &Device| d.ppn)?;
    let accounts: Vec<Account> = records(Db::Accounts, entries(Db::Accounts), |a: &Account| a.id)?;
    let omms: Vec<Omm> = opened(
        records(Db::Omms, entries(Db::Omms), |o: &Omm| o.id)?,
        keys,
        clear_allowed,
    )?;
    let rooms: Vec<ConferenceRoom> = opened(
        records(Db::Rooms, entries(Db::Rooms), |r: &ConferenceRoom| r.id)?,
        keys,
        clear_allowed,
    )?;
    if users.iter().any(|u| u.uid == 0)
        || devices.iter().any(|d| d.ppn == 0)
        || omms.iter().any(|o| o.id == 0)
        || rooms.iter().any(|r| r.id == 0)
    {
        return Err(refuse(
            "a user, handset, OMM or room has the id 0, which means none",
        ));
    }
    for (_, v) in entries(Db::Tombstones) {
        let _: Tombstone = decode(Db::Tombstones, v).map_err(|e| refuse(e.to_string()))?;
    }
    let mut events = Vec::new();
    for (k, v) in entries(Db::Events) {
        let e: EventEntry = decode(Db::Events, v).map_err(|e| refuse(e.to_string()))?;
        if k.as_slice() != seq_key(e.seq) {
            return Err(refuse(format!(
                "event {} is filed under another key",
                e.seq
            )));
        }
        events.push(e);
    }
    for (k, v) in entries(Db::Counters) {
        let c: Counter = decode(Db::Counters, v).map_err(|e| refuse(e.to_string()))?;
        if k.as_slice() != c.name.as_bytes() {
            return Err(refuse(format!(
                "counter {} is filed under another name",
                c.name
            )));
        }
    }
    let revision = check_meta(entries(Db::Meta))?;
    check_rules(&users, &devices, &accounts, &rooms, &omms)?;
    Ok(Checked {
        raw,
        users,
        devices,
        accounts,
        rooms,
        events,
        omms,
        revision,
    })
}

/// Checks the meta entries; returns the revision.
fn check_meta(entries: &[(Vec<u8>, Vec<u8>)]) -> Result<u64, StoreError> {
    let get = |key: &[u8]| {
        entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_slice())
    };
    let mut audit = 0;
    for (k, v) in entries {
        if k.starts_with(crate::audit::PREFIX) {
            let entry: model::AuditEntry =
                decode(Db::Meta, v).map_err(|e| refuse(e.to_string()))?;
            if crate::audit::key(entry.seq) != *k {
                return Err(refuse(format!(
                    "audit entry {} is filed under another key",
                    entry.seq
                )));
            }
            audit += 1;
            if audit > model::AUDIT_CAPACITY {
                return Err(refuse(
                    "the audit trail holds more entries than a MOM keeps",
                ));
            }
            continue;
        }
        if !META_KEYS.contains(&k.as_slice()) {
            return Err(refuse(format!(
                "unknown entry {:?}",
                String::from_utf8_lossy(k)
            )));
        }
    }
    let bad = |e: StoreError| refuse(e.to_string());
    match get(meta::SCHEMA).map(|v| decode::<u32>(Db::Meta, v)) {
        Some(Ok(SCHEMA_VERSION)) => {}
        _ => return Err(refuse("the database inside has another schema version")),
    }
    let settings: Settings = decode(
        Db::Meta,
        get(meta::SETTINGS).ok_or_else(|| refuse("no settings"))?,
    )
    .map_err(bad)?;
    crate::fields::check_settings(&settings).map_err(|e| refuse(format!("settings: {e}")))?;
    if let Some(v) = get(meta::LICENSE) {
        let _: License = decode(Db::Meta, v).map_err(bad)?;
    }
    if let Some(v) = get(meta::LICENSE_FILE) {
        let _: Vec<u8> = decode(Db::Meta, v).map_err(bad)?;
    }
    if let Some(v) = get(meta::TEMPLATE) {
        let template: ConfigTemplate = decode(Db::Meta, v).map_err(bad)?;
        crate::fields::check_template(&template.text).map_err(bad)?;
    }
    if let Some(v) = get(meta::NEXT_EVENT) {
        let _: u64 = decode(Db::Meta, v).map_err(bad)?;
    }
    if let Some(v) = get(crate::conflicts::KEY) {
        let _: Vec<Conflict> = decode(Db::Meta, v).map_err(bad)?;
    }
    if let Some(v) = get(crate::audit::NEXT) {
        let _: u64 = decode(Db::Meta, v).map_err(bad)?;
    }
    match get(meta::REVISION) {
        Some(v) => decode(Db::Meta, v).map_err(bad),
        None => Ok(0),
    }
}

/// The store's rules across records: unique keys, valid fields, bindings that agree on
/// both sides, the permanent-user limit, the default account.
fn check_rules(
    users: &[User],
    devices: &[Device],
    accounts: &[Account],
    rooms: &[ConferenceRoom],
    omms: &[Omm],
) -> Result<(), StoreError> {
    if !accounts.iter().any(|a| a.id == DEFAULT_ACCOUNT_ID) {
        return Err(refuse("the default account is missing"));
    }
    unique(
        accounts.iter().map(|a| a.name.trim().to_owned()),
        "account name",
    )?;
    for u in users {
        crate::fields::check_user(u).map_err(|e| refuse(format!("user {}: {e}", u.uid)))?;
    }
    for d in devices {
        crate::fields::check_device(d).map_err(|e| refuse(format!("device {}: {e}", d.ppn)))?;
    }
    unique(users.iter().map(|u| u.num.clone()), "user number")?;
    let permanent = users.iter().filter(|u| u.permanent).count();
    if permanent > MAX_PERMANENT_USERS {
        return Err(refuse(format!(
            "{permanent} permanent users, at most {MAX_PERMANENT_USERS} allowed"
        )));
    }
    if users
        .iter()
        .any(|u| u.permanent && u.source == Source::External)
    {
        return Err(refuse("a permanent user is marked External"));
    }
    for d in devices {
        model::Ipei::new(d.ipei.emc, d.ipei.psn)
            .map_err(|e| refuse(format!("device {}: {e}", d.ppn)))?;
    }
    unique(devices.iter().map(|d| d.ipei.to_string()), "IPEI")?;
    // A binding is stated by both records, with the same relation type.
    let by_ppn: HashMap<u32, &Device> = devices.iter().map(|d| (d.ppn, d)).collect();
    let by_uid: HashMap<u32, &User> = users.iter().map(|u| (u.uid, u)).collect();
    for u in users.iter().filter(|u| u.ppn != 0) {
        match by_ppn.get(&u.ppn) {
            Some(d)
                if d.uid == u.uid && d.rel_type == u.rel_type && u.rel_type != RelType::Unbound => {
            }
            _ => {
                return Err(refuse(format!(
                    "user {} is bound to handset {}, which does not say so",
                    u.uid, u.ppn
                )))
            }
        }
    }
    for d in devices.iter().filter(|d| d.uid != 0) {
        if by_uid.get(&d.uid).is_none_or(|u| u.ppn != d.ppn) {
            return Err(refuse(format!(
                "handset {} is bound to user {}, which does not say so",
                d.ppn, d.uid
            )));
        }
    }
    unique(
        rooms.iter().map(|r| r.number.clone()),
        "conference room number",
    )?;
    for o in omms {
        model::OmmAddress::parse(&o.omm1).map_err(|e| refuse(format!("OMM {}: {e}", o.id)))?;
        crate::fields::check_cloud_id(&o.cloud_id)
            .map_err(|e| refuse(format!("OMM {}: {e}", o.id)))?;
        if o.placeholders.len() > crate::ops::MAX_PLACEHOLDERS {
            return Err(refuse(format!(
                "OMM {}: the placeholder file is larger than {} bytes",
                o.id,
                crate::ops::MAX_PLACEHOLDERS
            )));
        }
        if let Some(e) = provisioning::PlaceholderFile::parse(&o.placeholders)
            .1
            .first()
        {
            return Err(refuse(format!("OMM {}: placeholder file, {e}", o.id)));
        }
    }
    Ok(())
}

fn unique(keys: impl Iterator<Item = String>, what: &str) -> Result<(), StoreError> {
    let mut seen = HashSet::new();
    for key in keys {
        if !seen.insert(key.clone()) {
            return Err(refuse(format!(
                "duplicate {what} {}",
                model::printable(&key)
            )));
        }
    }
    Ok(())
}

/// Checks `body` in full without writing anything, secrets opened with `key` (the fuzz
/// target's entry); returns the dump's revision.
///
/// # Errors
/// [`StoreError::Import`] naming the first problem.
pub fn check_body(body: &[u8], key: &secret_seal::Key) -> Result<u64, StoreError> {
    check(body, &[key]).map(|c| c.revision)
}

/// Writes the checked records `opened`, whose stored form is in `raw`. A record whose
/// secrets the file holds sealed with this installation's key `ours` (they opened in the
/// check) is kept byte for byte, so a cluster's snapshot, or a backup restored where it was
/// made, holds the very values of its source; any other is sealed anew.
fn put_sealed<V: crate::secrets::Sealed>(
    view: &mut crate::storage::WriteView<'_>,
    raw: &[(Vec<u8>, Vec<u8>)],
    opened: &[V],
    ours: &str,
) -> Result<(), StoreError> {
    // The check decoded the records from these entries, one each, in their order.
    let stored = (raw.len() == opened.len()).then_some(raw);
    for (i, record) in opened.iter().enumerate() {
        let kept = stored.map(|raw| &raw[i]).filter(|(key, bytes)| {
            *key == id_key(record.id())
                && decode::<V>(V::DB, bytes).is_ok_and(|mut as_stored| {
                    as_stored.secrets().into_iter().all(|(_, value)| {
                        value.is_empty() || secret_seal::sealed_by(value) == Some(ours)
                    })
                })
        });
        match kept {
            Some((key, bytes)) => view.put_raw(V::DB, key, bytes)?,
            None => view.put_record(record)?,
        }
    }
    Ok(())
}

/// Checks `body` in full and writes it into the new, empty `storage`, with every index and
/// id counter rebuilt from the records, secrets sealed with `storage`'s key kept as they
/// are and every other secret sealed with it;
/// `their_key` opens the secrets of an export made by another installation. Returns the
/// dump's revision.
///
/// # Errors
/// [`StoreError::Import`] naming the first problem; [`StoreError::Storage`] for the new
/// database.
pub fn read_into(
    body: &[u8],
    storage: &Storage,
    their_key: Option<&secret_seal::Key>,
) -> Result<u64, StoreError> {
    let ours = std::sync::Arc::clone(storage.key());
    let keys: Vec<&secret_seal::Key> = std::iter::once(&*ours).chain(their_key).collect();
    let checked = check(body, &keys)?;
    let mut view = storage.write()?;
    for (db, entries) in &checked.raw {
        // Records with secrets are written from their opened form below, sealed anew.
        if matches!(db, Db::Users | Db::Omms | Db::Rooms) {
            continue;
        }
        for (k, v) in entries {
            view.put_raw(*db, k, v)?;
        }
    }
    let raw = |db: Db| {
        checked
            .raw
            .iter()
            .find(|(d, _)| *d == db)
            .map_or(&[][..], |(_, e)| e.as_slice())
    };
    put_sealed(&mut view, raw(Db::Users), &checked.users, ours.id())?;
    put_sealed(&mut view, raw(Db::Omms), &checked.omms, ours.id())?;
    put_sealed(&mut view, raw(Db::Rooms), &checked.rooms, ours.id())?;
    for u in &checked.users {
        view.put(Db::IdxNum, u.num.as_bytes(), &u.uid)?;
        if u.permanent {
            view.put(Db::IdxPermanent, &id_key(u.uid), &())?;
        }
    }
    for d in &checked.devices {
        view.put(Db::IdxIpei, d.ipei.to_string().as_bytes(), &d.ppn)?;
    }
    for a in &checked.accounts {
        view.put(
            Db::IdxAccount,
            login_throttle::account_key(&a.name).as_bytes(),
            &a.id,
        )?;
    }
    for r in &checked.rooms {
        view.put(Db::IdxRoomNum, r.number.as_bytes(), &r.id)?;
    }
    // Id counters past every id in use, whatever the file said.
    let next = |ids: &mut dyn Iterator<Item = u32>| ids.max().unwrap_or(0).saturating_add(1);
    for (db, after) in [
        (Db::Users, next(&mut checked.users.iter().map(|u| u.uid))),
        (
            Db::Devices,
            next(&mut checked.devices.iter().map(|d| d.ppn)),
        ),
        (
            Db::Accounts,
            next(&mut checked.accounts.iter().map(|a| a.id)),
        ),
        (Db::Omms, next(&mut checked.omms.iter().map(|o| o.id))),
        (Db::Rooms, next(&mut checked.rooms.iter().map(|r| r.id))),
    ] {
        let key = [b"next-".as_slice(), format!("{db:?}").as_bytes()].concat();
        view.put(Db::Meta, &key, &after)?;
    }
    let next_event = checked.events.iter().map(|e| e.seq).max().unwrap_or(0) + 1;
    view.put(Db::Meta, meta::NEXT_EVENT, &next_event)?;
    // A new id, whatever the file carried: ids in it may name other records than the ones
    // state outside the database was made for (svc-web's sessions, tokens, second factors).
    view.put(Db::Meta, meta::DATABASE_ID, &crate::ops::new_database_id())?;
    view.commit()?;
    Ok(checked.revision)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::tests::WriteOmmV3;

    /// An export as a schema-3 MOM wrote it: from a fresh database, with the schema entry,
    /// the settings and one OMM record in schema 3's encoding and no template.
    fn schema_3_export(omm_value: Vec<u8>) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        drop(crate::engine::Store::open(&path).unwrap());
        let key = std::sync::Arc::new(crate::secrets::load_key(&path).unwrap());
        let storage = Storage::open(&path, key).unwrap();
        let mut dump: Dump = postcard::from_bytes(&write(&storage).unwrap()).unwrap();
        dump.schema = 3;
        let old_settings = crate::migrate::SettingsV3 {
            system_name: "Hospital".into(),
            suppress_table_updates: model::SuppressTableUpdates::default(),
            sari: String::new(),
            auto_create: true,
            subscription_mode: model::SubscriptionMode::default(),
            fac_prefix: "*7".into(),
            banner_text: String::new(),
            banner_enabled: false,
            tls_level: model::TlsSecurityLevel::default(),
            ciphers_high: model::CipherChoice::default(),
            ciphers_medium: model::CipherChoice::default(),
            ciphers_legacy: model::CipherChoice::default(),
            accepted_eula_version: String::new(),
        };
        for table in &mut dump.tables {
            match RECORDS[usize::from(table.db)] {
                Db::Meta => {
                    table.entries.retain(|(k, _)| k != meta::TEMPLATE);
                    for (k, v) in &mut table.entries {
                        if k == meta::SCHEMA {
                            *v = postcard::to_stdvec(&3u32).unwrap();
                        } else if k == meta::SETTINGS {
                            *v = postcard::to_stdvec(&old_settings).unwrap();
                        }
                    }
                }
                Db::Omms => table.entries = vec![(id_key(5).to_vec(), omm_value.clone())],
                _ => {}
            }
        }
        postcard::to_stdvec(&dump).unwrap()
    }

    /// The stored (sealed) PIN of user 1 in `storage`.
    fn stored_pin(storage: &Storage) -> String {
        let view = storage.read().unwrap();
        let bytes = view.get_raw(Db::Users, &id_key(1)).unwrap().unwrap();
        decode::<User>(Db::Users, bytes).unwrap().pin
    }

    #[test]
    fn secrets_sealed_with_this_installations_key_are_kept_byte_for_byte_and_others_sealed_anew() {
        let dir = tempfile::tempdir().unwrap();
        let folder = |name: &str| {
            let path = dir.path().join(name);
            std::fs::create_dir(&path).unwrap();
            path
        };
        let path = dir.path().join("a");
        drop(crate::engine::Store::open(&path).unwrap());
        let key = std::sync::Arc::new(crate::secrets::load_key(&path).unwrap());
        let source = Storage::open(&path, std::sync::Arc::clone(&key)).unwrap();
        let user = User {
            uid: 1,
            num: "100".into(),
            pin: "4711".into(),
            ..User::default()
        };
        let mut view = source.write().unwrap();
        view.put_record(&user).unwrap();
        view.commit().unwrap();
        let body = write(&source).unwrap();
        let sealed = stored_pin(&source);
        assert!(secret_seal::is_sealed(&sealed), "{sealed}");

        // Where it was made (or on another node of its cluster, which shares the key).
        let same = Storage::open(&folder("b"), std::sync::Arc::clone(&key)).unwrap();
        read_into(&body, &same, None).unwrap();
        assert_eq!(stored_pin(&same), sealed, "kept byte for byte");

        // At another installation, opened with the source's key and sealed with its own.
        let other_key = std::sync::Arc::new(secret_seal::Key::generate().unwrap());
        let other = Storage::open(&folder("c"), std::sync::Arc::clone(&other_key)).unwrap();
        read_into(&body, &other, Some(&key)).unwrap();
        let resealed = stored_pin(&other);
        assert_eq!(secret_seal::sealed_by(&resealed), Some(other_key.id()));
        assert_eq!(other_key.open("pin", &resealed).unwrap(), "4711");
    }

    #[test]
    fn an_export_of_schema_3_is_brought_to_schema_4_before_it_is_checked() {
        let omm = WriteOmmV3 {
            id: 5,
            enabled: true,
            name: "Ward",
            description: "",
            omm1: "10.0.0.1",
            omm2: "",
            cloud_id: "001F10000001",
            user: "omm",
            password: "pw",
            provisioning: true,
            placeholders: vec![("SITE", "north")],
            cert_validation: model::CertValidation::AcceptSelfSigned,
            health: model::OmmHealth::default(),
        };
        let key = secret_seal::Key::generate().unwrap();
        let check = |body: &[u8]| check(body, &[&key]);
        let checked = check(&schema_3_export(postcard::to_stdvec(&omm).unwrap())).unwrap();
        assert_eq!(checked.omms.len(), 1);
        assert_eq!(checked.omms[0].placeholders, "SITE=north\n");
        assert_eq!(checked.omms[0].password, "pw");
        let meta = &checked.raw.iter().find(|(d, _)| *d == Db::Meta).unwrap().1;
        let value = |key: &[u8]| meta.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        let settings: Settings = decode(Db::Meta, &value(meta::SETTINGS).unwrap()).unwrap();
        assert_eq!(
            (settings.system_name.as_str(), settings.fac_prefix.as_str()),
            ("Hospital", "*7")
        );
        let schema: u32 = decode(Db::Meta, &value(meta::SCHEMA).unwrap()).unwrap();
        assert_eq!(schema, SCHEMA_VERSION);
        let template: ConfigTemplate = decode(Db::Meta, &value(meta::TEMPLATE).unwrap()).unwrap();
        assert_eq!(template.text, crate::ops::DEFAULT_TEMPLATE);
        // A crafted "schema 3" export whose OMM is not schema 3 is refused, not misread.
        let Err(StoreError::Import(why)) = check(&schema_3_export(vec![1, 2, 3])) else {
            panic!("a crafted OMM record passed")
        };
        assert!(why.contains("not a schema-3 record"), "{why}");
        // Another version is refused with both versions named.
        let mut other: Dump =
            postcard::from_bytes(&schema_3_export(postcard::to_stdvec(&omm).unwrap())).unwrap();
        other.schema = 2;
        let Err(StoreError::Import(why)) = check(&postcard::to_stdvec(&other).unwrap()) else {
            panic!("schema 2 passed")
        };
        assert!(why.contains("schema version 2"), "{why}");
    }
}
