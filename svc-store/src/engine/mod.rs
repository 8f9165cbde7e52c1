//! The store engine: durable writes with the change feed, snapshot reads and queries.
//!
//! Writes run one LMDB write transaction each (LMDB serialises writers); a request that
//! breaks a rule aborts its transaction, so nothing of it is kept. Every committed change
//! gets the next global revision and goes into a bounded change log, from which a
//! subscriber resumes after a reconnect. Reads are in `read`, the queries of users and DECT
//! phones on the column tables in `query`. A cluster's committed entries and snapshots come
//! through the same write path from `crate::cluster::apply`.

use crate::ops::{meta, Tx, CHANGE_LOG_CAPACITY, SCHEMA_VERSION};
use crate::storage::{seq_key, Db, Storage};
use ipc::api::store::{Change, ChangeOp, StoreError, StoreRequest, StoreResponse};
use model::Entity;
use std::path::{Path, PathBuf};
use std::sync::{RwLock, RwLockReadGuard};
use tokio::sync::broadcast;

mod query;
mod read;

pub(crate) use query::Tables;

/// What a subscriber gets when it asks for the changes after a revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backlog {
    /// Every change after the revision, in order.
    Changes(Vec<Change>),
    /// The revision was trimmed from the log: reload everything, then resume from `rev`.
    ResyncNeeded(u64),
}

/// The open store.
pub struct Store {
    storage: RwLock<Option<Storage>>,
    tables: RwLock<Tables>,
    db_dir: PathBuf,
    feed: broadcast::Sender<Change>,
    /// Issuer keys a license must be signed with (from the configuration).
    license_issuers: Vec<license::IssuerPublicKey>,
    /// Whether writes succeed (see [`crate::write_health`]).
    write_health: std::sync::Mutex<crate::write_health::WriteHealth>,
    /// The threads that check passwords (bounded memory; see [`crate::password_checks`]).
    passwords: crate::password_checks::PasswordChecks,
}

/// Outcome of opening the store.
pub struct Opened {
    /// The store.
    pub store: Store,
    /// Whether the database was created now (default account `mom`/`mom` made).
    pub created: bool,
}

impl Store {
    /// Opens the database in `db_dir` (created with mode 0700 if missing) and initialises
    /// it on first start.
    ///
    /// # Errors
    /// [`StoreError::Storage`] when it cannot be opened or has another schema version.
    pub fn open(db_dir: &Path) -> Result<Opened, StoreError> {
        create_private_dir(db_dir)?;
        let key = std::sync::Arc::new(crate::secrets::load_key(db_dir)?);
        Self::open_storage(db_dir, Storage::open(db_dir, key)?)
    }

    /// As [`Store::open`] with a database of at most `map_size` bytes, for tests of a
    /// full database.
    ///
    /// # Errors
    /// As [`Store::open`].
    pub fn open_with_map_size(db_dir: &Path, map_size: usize) -> Result<Opened, StoreError> {
        create_private_dir(db_dir)?;
        let key = std::sync::Arc::new(crate::secrets::load_key(db_dir)?);
        Self::open_storage(db_dir, Storage::open_sized(db_dir, map_size, key)?)
    }

    fn open_storage(db_dir: &Path, storage: Storage) -> Result<Opened, StoreError> {
        // Before anything writes: a database of a newer version is left exactly as it is.
        let found: Option<u32> = storage.read()?.get(Db::Meta, meta::SCHEMA)?;
        if let Some(newer) = found.filter(|&s| s > SCHEMA_VERSION) {
            return Err(newer_database(db_dir, newer));
        }
        let created = {
            let mut view = storage.write()?;
            let mut tx = Tx {
                view: &mut view,
                changes: Vec::new(),
                origin: 0,
            };
            let created = tx.initialise()?;
            view.commit()?;
            created
        };
        let schema: Option<u32> = storage.read()?.get(Db::Meta, meta::SCHEMA)?;
        let schema = crate::migrate::run(&storage, schema)?;
        if schema != Some(SCHEMA_VERSION) {
            return Err(StoreError::Storage(format!(
                "database schema version {schema:?}, this build needs {SCHEMA_VERSION}"
            )));
        }
        // A database made before ids existed gets one (no schema change: a meta key).
        if storage
            .read()?
            .get::<u64>(Db::Meta, meta::DATABASE_ID)?
            .is_none()
        {
            let mut view = storage.write()?;
            view.put(Db::Meta, meta::DATABASE_ID, &crate::ops::new_database_id())?;
            view.commit()?;
        }
        let (feed, _) = broadcast::channel(4096);
        let tables = RwLock::new(Tables::load(&storage)?);
        Ok(Opened {
            store: Self {
                storage: RwLock::new(Some(storage)),
                tables,
                db_dir: db_dir.to_owned(),
                feed,
                license_issuers: Vec::new(),
                write_health: std::sync::Mutex::default(),
                passwords: crate::password_checks::PasswordChecks::start(),
            },
            created,
        })
    }

    /// Sets the issuer keys a license must be signed with; call [`Store::enforce_license`]
    /// after it.
    pub fn trust_license_issuers(&mut self, keys: Vec<license::IssuerPublicKey>) {
        self.license_issuers = keys;
    }

    /// The issuer keys a license must be signed with.
    #[must_use]
    pub fn license_issuers(&self) -> &[license::IssuerPublicKey] {
        &self.license_issuers
    }

    /// The directory of the database files.
    #[must_use]
    pub fn db_dir(&self) -> &Path {
        &self.db_dir
    }

    pub(crate) fn storage(&self) -> Result<StorageGuard<'_>, StoreError> {
        let guard = self
            .storage
            .read()
            .map_err(|_| StoreError::Storage("store lock poisoned".into()))?;
        if guard.is_none() {
            return Err(StoreError::Storage("database is being replaced".into()));
        }
        Ok(StorageGuard(guard))
    }

    pub(crate) fn storage_slot(&self) -> &RwLock<Option<Storage>> {
        &self.storage
    }

    /// The column tables' lock; take it before the storage slot's, as writers do.
    pub(crate) fn tables_slot(&self) -> &RwLock<Tables> {
        &self.tables
    }

    /// Live changes, for subscribers (use [`Store::backlog`] first to catch up).
    #[must_use]
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.feed.subscribe()
    }

    pub(crate) fn publish(&self, change: Change) {
        let _ = self.feed.send(change);
    }

    /// Applies one write request and commits it durably before returning.
    ///
    /// # Errors
    /// The request's [`StoreError`]; nothing was written then.
    pub fn write(&self, request: StoreRequest) -> Result<StoreResponse, StoreError> {
        match request {
            // Verified against the issuer keys before any transaction (see `licensing`).
            StoreRequest::InstallLicense(file) => self.install_license(file),
            StoreRequest::FromOmm { omm, request } => self.write_from(omm, |tx| tx.apply(*request)),
            StoreRequest::DryRun(inner) => self.dry_run(*inner),
            other => self.write_with(|tx| tx.apply(other)),
        }
    }

    /// Runs `f` in a write transaction, records its changes and commits.
    ///
    /// # Errors
    /// `f`'s error or [`StoreError::Storage`]; nothing was written then.
    pub fn write_with<R>(
        &self,
        f: impl FnOnce(&mut Tx<'_, '_>) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        self.write_from(0, f)
    }

    /// As [`Store::write_with`], for a write the link of OMM `origin` asked for (0: anyone
    /// else); its changes carry that origin.
    ///
    /// # Errors
    /// `f`'s error or [`StoreError::Storage`]; nothing was written then.
    pub fn write_from<R>(
        &self,
        origin: u32,
        f: impl FnOnce(&mut Tx<'_, '_>) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let result = self.write_once(origin, f);
        self.note_write(&result);
        result
    }

    /// The ongoing write outage (a full disk), for the health states.
    pub(crate) fn write_outage(&self) -> Option<crate::write_health::Outage> {
        self.write_health
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .outage()
            .cloned()
    }

    /// Tells the journal, and after an outage the event log, how writes fare.
    fn note_write<R>(&self, result: &Result<R, StoreError>) {
        use crate::write_health::Action;
        let now = model::now();
        let action = {
            let mut health = self
                .write_health
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match result {
                Err(StoreError::Storage(e)) => health.failed(now, e),
                // A refusal by a rule says nothing about the disk.
                Err(_) => return,
                Ok(_) => health.succeeded(now),
            }
        };
        match action {
            Action::Nothing => {}
            Action::Journal(line) => tracing::error!("{line}"),
            Action::Recovered(text) => {
                tracing::warn!("{text}");
                let logged =
                    self.write_once(0, |tx| tx.log_event(model::Severity::Error, "store", &text));
                if let Err(e) = logged {
                    tracing::warn!(error = %e, "the outage could not be written to the event log");
                }
            }
        }
    }

    /// Applies `request` in a write transaction that is then aborted.
    fn dry_run(&self, request: StoreRequest) -> Result<StoreResponse, StoreError> {
        if matches!(
            request,
            StoreRequest::InstallLicense(_)
                | StoreRequest::FromOmm { .. }
                | StoreRequest::DryRun(_)
        ) || request.is_read()
        {
            return Err(StoreError::Invalid("this request cannot be dry-run".into()));
        }
        // Writers are serialised by the table lock; the transaction is dropped, not committed.
        let _tables = self.tables.write().map_err(|_| poisoned())?;
        let storage = self.storage()?;
        let mut view = storage.get().write()?;
        let mut tx = Tx {
            view: &mut view,
            changes: Vec::new(),
            origin: 0,
        };
        tx.apply(request)
    }

    fn write_once<R>(
        &self,
        origin: u32,
        f: impl FnOnce(&mut Tx<'_, '_>) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        // The table lock first, held past the commit, so a query never pairs old columns
        // with a newer snapshot.
        let mut tables = self.tables.write().map_err(|_| poisoned())?;
        let storage = self.storage()?;
        let mut view = storage.get().write()?;
        let mut tx = Tx {
            view: &mut view,
            changes: Vec::new(),
            origin,
        };
        let result = f(&mut tx)?;
        let changes = std::mem::take(&mut tx.changes);
        let committed = record_changes(&mut view, &changes, origin)?;
        view.commit()?;
        tables.refresh(storage.get(), &committed)?;
        drop(tables);
        for change in committed {
            self.publish(change);
        }
        Ok(result)
    }

    /// The current global revision.
    ///
    /// # Errors
    /// [`StoreError::Storage`].
    pub fn revision(&self) -> Result<u64, StoreError> {
        let storage = self.storage()?;
        let view = storage.get().read()?;
        Ok(view.get(Db::Meta, meta::REVISION)?.unwrap_or(0))
    }

    /// Changes after `from_rev`, or a resync when they were trimmed.
    ///
    /// # Errors
    /// [`StoreError::Storage`].
    pub fn backlog(&self, from_rev: u64) -> Result<Backlog, StoreError> {
        let storage = self.storage()?;
        let view = storage.get().read()?;
        let rev: u64 = view.get(Db::Meta, meta::REVISION)?.unwrap_or(0);
        let start: u64 = view.get(Db::Meta, meta::CHANGES_START)?.unwrap_or(1);
        if from_rev > rev || from_rev.saturating_add(1) < start {
            return Ok(Backlog::ResyncNeeded(rev));
        }
        let mut out: Vec<Change> = Vec::new();
        view.scan(Db::Changes, Some(&seq_key(from_rev + 1)), |_, v| {
            out.push(crate::storage::decode(Db::Changes, v)?);
            Ok(true)
        })?;
        // An import replaced everything in between: the subscriber must reload.
        if out.iter().any(|c| c.entity == Entity::Database) {
            return Ok(Backlog::ResyncNeeded(rev));
        }
        Ok(Backlog::Changes(out))
    }
}

/// A read lock on the open storage.
pub(crate) struct StorageGuard<'a>(RwLockReadGuard<'a, Option<Storage>>);

impl StorageGuard<'_> {
    pub(crate) fn get(&self) -> &Storage {
        // `Store::storage` returns a guard only when the slot is filled.
        self.0
            .as_ref()
            .unwrap_or_else(|| unreachable!("storage checked before the guard was made"))
    }
}

fn poisoned() -> StoreError {
    StoreError::Storage("store lock poisoned".into())
}

/// Gives each change the next revision, appends it to the change log and trims the log.
pub(crate) fn record_changes(
    view: &mut crate::storage::WriteView<'_>,
    changes: &[(Entity, u32, ChangeOp, u32)],
    origin: u32,
) -> Result<Vec<Change>, StoreError> {
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    let mut rev: u64 = view.get(Db::Meta, meta::REVISION)?.unwrap_or(0);
    let mut start: u64 = view.get(Db::Meta, meta::CHANGES_START)?.unwrap_or(1);
    let mut out = Vec::with_capacity(changes.len());
    for &(entity, id, op, omm) in changes {
        rev += 1;
        let change = Change {
            rev,
            entity,
            id,
            op,
            omm,
            origin,
        };
        view.put(Db::Changes, &seq_key(rev), &change)?;
        out.push(change);
    }
    while rev.saturating_sub(start) >= CHANGE_LOG_CAPACITY {
        view.delete(Db::Changes, &seq_key(start))?;
        start += 1;
    }
    view.put(Db::Meta, meta::REVISION, &rev)?;
    view.put(Db::Meta, meta::CHANGES_START, &start)?;
    Ok(out)
}

/// The refusal of a database that a newer sip-dect-mom wrote (an older binary after a
/// downgrade): it names both versions and the ways out, and the database stays untouched.
#[must_use]
pub fn newer_database(db_dir: &Path, schema: u32) -> StoreError {
    StoreError::NewerDatabase {
        dir: db_dir.display().to_string(),
        found: schema,
        supported: SCHEMA_VERSION,
        version: env!("CARGO_PKG_VERSION").to_owned(),
    }
}

/// Creates `dir` (and parents) and makes it private to this user.
///
/// # Errors
/// [`StoreError::Storage`].
pub fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)))
        .map_err(|e| StoreError::Storage(format!("cannot create {}: {e}", dir.display())))
}
