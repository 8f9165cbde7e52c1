//! Export and import of the whole database.
//!
//! An export file is a header followed by a logical dump of the records ([`crate::dump`]):
//!
//! | bytes | content |
//! |---|---|
//! | 8 | magic `SDMOMDB2` |
//! | 4 | schema version, big-endian |
//! | 8 | body length, big-endian |
//! | 32 | SHA-256 of the body |
//! | n | the dump (postcard) |
//!
//! An import is checked in full before anything is replaced: header, length and digest
//! (which catch a damaged file), then every record as the store's rules would check it, in
//! a new database built here with every index rebuilt from the records (which catches a
//! crafted file with a valid digest). Only then is the new file swapped in, atomically by
//! rename. No file from outside is ever opened as an LMDB database.

use crate::engine::{create_private_dir, Store};
use crate::ops::{meta, SCHEMA_VERSION};
use crate::storage::{seq_key, Db, Storage};
use ipc::api::store::{Change, StoreError, CHUNK_SIZE};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

const MAGIC: &[u8; 8] = b"SDMOMDB2";
/// The magic of the first format (an LMDB copy), no longer imported.
const OLD_MAGIC: &[u8; 8] = b"SDMOMDB1";
const HEADER_LEN: usize = 8 + 4 + 8 + 32;
/// Largest import accepted.
pub const MAX_IMPORT: u64 = 4 << 30;

/// Export and import sessions of one store.
pub struct Transfers {
    dir: PathBuf,
    next_id: AtomicU64,
    imports: Mutex<HashMap<u64, Import>>,
}

struct Import {
    file: std::fs::File,
    path: PathBuf,
    size: u64,
    written: u64,
    /// The secrets key of the installation that made the export, when given.
    their_key: Option<secret_seal::Key>,
}

fn io_error(what: &str, e: &std::io::Error) -> StoreError {
    StoreError::Storage(format!("{what}: {e}"))
}

fn refuse(why: impl Into<String>) -> StoreError {
    StoreError::Import(why.into())
}

impl Transfers {
    /// Sessions kept in `dir` (private, emptied at start).
    ///
    /// # Errors
    /// [`StoreError::Storage`] when the directory cannot be made.
    pub fn new(dir: &Path) -> Result<Self, StoreError> {
        let _ = std::fs::remove_dir_all(dir);
        create_private_dir(dir)?;
        Ok(Self {
            dir: dir.to_owned(),
            next_id: AtomicU64::new(1),
            imports: Mutex::new(HashMap::new()),
        })
    }

    fn export_path(&self, id: u64) -> PathBuf {
        self.dir.join(format!("export-{id}.momdb"))
    }

    /// Makes a consistent compacted copy and wraps it; returns its id and size.
    ///
    /// # Errors
    /// [`StoreError::Storage`].
    pub fn export_begin(&self, store: &Store) -> Result<(u64, u64), StoreError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        // Only one export file is kept: a new export replaces older ones.
        self.remove_exports();
        let body = crate::dump::write(store.storage()?.get())?;
        let mut out = Vec::with_capacity(HEADER_LEN + body.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&SCHEMA_VERSION.to_be_bytes());
        out.extend_from_slice(&(body.len() as u64).to_be_bytes());
        out.extend_from_slice(&Sha256::digest(&body));
        out.extend_from_slice(&body);
        write_private(&self.export_path(id), &out)?;
        Ok((id, out.len() as u64))
    }

    fn remove_exports(&self) {
        if let Ok(entries) = std::fs::read_dir(&self.dir) {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().starts_with("export-") {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }

    /// One chunk of export `id` at `offset`; empty past the end.
    ///
    /// # Errors
    /// [`StoreError::UnknownTransfer`] or [`StoreError::Storage`].
    pub fn export_chunk(&self, id: u64, offset: u64) -> Result<Vec<u8>, StoreError> {
        let mut file = std::fs::File::open(self.export_path(id))
            .map_err(|_| StoreError::UnknownTransfer(id))?;
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| io_error("seeking the export", &e))?;
        let mut chunk = Vec::with_capacity(CHUNK_SIZE);
        file.take(CHUNK_SIZE as u64)
            .read_to_end(&mut chunk)
            .map_err(|e| io_error("reading the export", &e))?;
        Ok(chunk)
    }

    /// Starts an import of `size` bytes.
    ///
    /// # Errors
    /// [`StoreError::Import`] for an impossible size, [`StoreError::Storage`] for I/O.
    pub fn import_begin(&self, size: u64) -> Result<u64, StoreError> {
        if size < HEADER_LEN as u64 || size > MAX_IMPORT {
            return Err(refuse(format!("size {size} is not a MOM database export")));
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let path = self.dir.join(format!("import-{id}.momdb"));
        let file = create_private(&path)?;
        let mut imports = self
            .imports
            .lock()
            .map_err(|_| StoreError::Storage("lock poisoned".into()))?;
        // One import at a time: a new one discards unfinished ones.
        for (_, old) in imports.drain() {
            let _ = std::fs::remove_file(old.path);
        }
        imports.insert(
            id,
            Import {
                file,
                path,
                size,
                written: 0,
                their_key: None,
            },
        );
        Ok(id)
    }

    /// Appends a chunk to import `id`.
    ///
    /// # Errors
    /// [`StoreError::Import`] when it would exceed the announced size.
    pub fn import_chunk(&self, id: u64, data: &[u8]) -> Result<(), StoreError> {
        let mut imports = self
            .imports
            .lock()
            .map_err(|_| StoreError::Storage("lock poisoned".into()))?;
        let import = imports
            .get_mut(&id)
            .ok_or(StoreError::UnknownTransfer(id))?;
        if import.written + data.len() as u64 > import.size {
            let import = imports.remove(&id);
            if let Some(i) = import {
                let _ = std::fs::remove_file(i.path);
            }
            return Err(refuse("more data than announced"));
        }
        import
            .file
            .write_all(data)
            .map_err(|e| io_error("writing the import", &e))?;
        import.written += data.len() as u64;
        Ok(())
    }

    /// Takes the secrets key of the installation that made import `id` (its key file's
    /// text).
    ///
    /// # Errors
    /// [`StoreError::Import`] when the text is not a key, [`StoreError::UnknownTransfer`].
    pub fn import_secrets_key(&self, id: u64, text: &str) -> Result<(), StoreError> {
        let key = secret_seal::Key::from_file_text(text)
            .map_err(|e| refuse(format!("the secrets key given with it: {e}")))?;
        self.imports
            .lock()
            .map_err(|_| StoreError::Storage("lock poisoned".into()))?
            .get_mut(&id)
            .ok_or(StoreError::UnknownTransfer(id))?
            .their_key = Some(key);
        Ok(())
    }

    /// Validates import `id` completely and, if it passes, replaces the database with it.
    /// Returns the new revision. On any error the running database is untouched.
    ///
    /// # Errors
    /// [`StoreError::Import`] saying why the file was refused.
    pub fn import_commit(
        &self,
        id: u64,
        store: &Store,
        allow_foreign: bool,
    ) -> Result<u64, StoreError> {
        let import = self
            .imports
            .lock()
            .map_err(|_| StoreError::Storage("lock poisoned".into()))?
            .remove(&id)
            .ok_or(StoreError::UnknownTransfer(id))?;
        let work = self.dir.join(format!("import-{id}"));
        let result = (|| {
            if import.written != import.size {
                return Err(refuse(format!(
                    "received {} of {} bytes",
                    import.written, import.size
                )));
            }
            drop(import.file);
            let bytes =
                std::fs::read(&import.path).map_err(|e| io_error("reading the import", &e))?;
            let body = check_header(&bytes)?;
            create_private_dir(&work)?;
            let imported_rev = {
                let key = std::sync::Arc::clone(store.storage()?.get().key());
                let fresh = Storage::open(&work, key)?;
                let rev = crate::dump::read_into(body, &fresh, import.their_key.as_ref())?;
                if !allow_foreign {
                    check_identity(store, &fresh)?;
                }
                rev
            };
            swap_in(store, &work.join("data.mdb"), imported_rev, Numbering::Past)
        })();
        let _ = std::fs::remove_file(&import.path);
        let _ = std::fs::remove_dir_all(&work);
        result
    }
}

fn create_private(path: &Path) -> Result<std::fs::File, StoreError> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| io_error(&format!("creating {}", path.display()), &e))
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let mut file = create_private(path)?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| io_error(&format!("writing {}", path.display()), &e))
}

/// The identity of a database: its license's installation id and its SARI.
fn identity(storage: &Storage) -> Result<(String, String), StoreError> {
    let view = storage.read()?;
    let installation = view
        .get::<model::License>(Db::Meta, meta::LICENSE)?
        .map(|l| l.installation_id)
        .unwrap_or_default();
    let sari = view
        .get::<model::Settings>(Db::Meta, meta::SETTINGS)?
        .map(|s| s.sari)
        .unwrap_or_default();
    Ok((installation, sari))
}

/// Refuses an import that carries another installation's license or SARI onto a MOM with
/// linked OMMs: its OMMs would be provisioned with a cloned identity. A MOM without linked
/// OMMs, or an import without a license, takes it.
fn check_identity(store: &Store, fresh: &Storage) -> Result<(), StoreError> {
    let storage = store.storage()?;
    let current = storage.get();
    let linked = current
        .read()?
        .records::<model::Omm>()?
        .iter()
        .any(|o| o.health.link != model::LinkState::Down);
    if !linked {
        return Ok(());
    }
    let (have_id, have_sari) = identity(current)?;
    let (new_id, new_sari) = identity(fresh)?;
    let differs = |a: &str, b: &str| !a.is_empty() && !b.is_empty() && a != b;
    if differs(&have_id, &new_id) {
        return Err(StoreError::ForeignIdentity {
            installed: format!("installation {have_id}"),
            offered: format!("installation {new_id}"),
        });
    }
    if differs(&have_sari, &new_sari) {
        return Err(StoreError::ForeignIdentity {
            installed: format!("SARI {have_sari}"),
            offered: format!("SARI {new_sari}"),
        });
    }
    Ok(())
}

/// Checks magic, schema version, length and digest; returns the body.
///
/// # Errors
/// [`StoreError::Import`] naming the first problem.
pub fn check_header(bytes: &[u8]) -> Result<&[u8], StoreError> {
    if bytes.len() >= 8 && &bytes[..8] == OLD_MAGIC {
        return Err(refuse(
            "an export in the first format (an LMDB copy), which this MOM no longer imports",
        ));
    }
    if bytes.len() < HEADER_LEN || &bytes[..8] != MAGIC {
        return Err(refuse("not a MOM database export (bad magic)"));
    }
    let field = |range: std::ops::Range<usize>| bytes[range].to_vec();
    let schema = u32::from_be_bytes(field(8..12).try_into().unwrap_or([0; 4]));
    if schema != SCHEMA_VERSION {
        return Err(refuse(format!(
            "export has schema version {schema}, this MOM uses {SCHEMA_VERSION}"
        )));
    }
    let len = u64::from_be_bytes(field(12..20).try_into().unwrap_or([0; 8]));
    let body = &bytes[HEADER_LEN..];
    if body.len() as u64 != len {
        return Err(refuse(format!(
            "file is truncated or padded: body has {} bytes, header says {len}",
            body.len()
        )));
    }
    if Sha256::digest(body).as_slice() != &bytes[20..52] {
        return Err(refuse("checksum mismatch: the file is corrupt"));
    }
    Ok(body)
}

/// The revision a database swapped in stands at.
pub(crate) enum Numbering {
    /// Past both databases' revisions (an import): a subscriber sees a later revision.
    Past,
    /// The file's own (a cluster's snapshot): every node numbers the same state alike, so a
    /// client resumes on any node from the revision it saw.
    Kept,
}

/// Replaces the open database with the validated file `data`, standing at the revision
/// `numbering` says, and publishes that the whole database changed, so every subscriber
/// resynchronises.
pub(crate) fn swap_in(
    store: &Store,
    data: &Path,
    imported_rev: u64,
    numbering: Numbering,
) -> Result<u64, StoreError> {
    let old_rev = store.revision()?;
    // Lock order as in every write: column tables, then the storage.
    let mut tables = store
        .tables_slot()
        .write()
        .map_err(|_| StoreError::Storage("store lock poisoned".into()))?;
    let mut slot = store
        .storage_slot()
        .write()
        .map_err(|_| StoreError::Storage("store lock poisoned".into()))?;
    // Close the environment before its file is replaced.
    let key = match slot.take() {
        Some(storage) => std::sync::Arc::clone(storage.key()),
        None => return Err(StoreError::Storage("database is being replaced".into())),
    };
    let dir = store.db_dir();
    let renamed = std::fs::rename(data, dir.join("data.mdb"));
    let _ = std::fs::remove_file(dir.join("lock.mdb"));
    let storage = Storage::open(dir, key)?;
    if let Err(e) = renamed {
        *slot = Some(storage);
        return Err(io_error("replacing the database file", &e));
    }
    let rev = match numbering {
        Numbering::Past => old_rev.max(imported_rev) + 1,
        Numbering::Kept => imported_rev,
    };
    {
        let mut view = storage.write()?;
        view.clear(Db::Changes)?;
        let change = Change::database(rev);
        view.put(Db::Changes, &seq_key(rev), &change)?;
        view.put(Db::Meta, meta::REVISION, &rev)?;
        view.put(Db::Meta, meta::CHANGES_START, &rev)?;
        view.commit()?;
        *tables = crate::engine::Tables::load(&storage)?;
        store.publish(change);
    }
    *slot = Some(storage);
    Ok(rev)
}
