//! The only module that touches lmdb-rkv, so a maintained binding (such as heed) could
//! replace it without changing anything else.
//!
//! One named database per entity plus index databases; keys are big-endian ids or index
//! keys, values are postcard. A write is acknowledged only after its transaction committed
//! (LMDB's default durable sync).

use crate::secrets::Sealed;
use ipc::api::store::StoreError;
use lmdb::{
    Cursor, Database, DatabaseFlags, Environment, EnvironmentFlags, Transaction, WriteFlags,
};
use serde::{de::DeserializeOwned, Serialize};
use std::path::Path;

pub use crate::databases::Db;

/// Raw `(key, value)` entries of one database (a dump's, a migration's).
pub(crate) type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// Largest database file: sparse, so this is only address space.
const MAP_SIZE: usize = 8 << 30;

fn storage_error(e: lmdb::Error) -> StoreError {
    StoreError::Storage(e.to_string())
}

fn decode_error(db: Db, e: &postcard::Error) -> StoreError {
    StoreError::Storage(format!("undecodable record in {}: {e}", db.name()))
}

/// An open LMDB environment with its databases and the key its secrets are sealed with.
pub struct Storage {
    env: Environment,
    dbs: Vec<Database>,
    key: std::sync::Arc<secret_seal::Key>,
}

impl Storage {
    /// Opens (creating if needed) the environment in directory `dir` with file mode 0600;
    /// `key` seals and opens the records' secrets ([`crate::secrets`]).
    ///
    /// # Errors
    /// [`StoreError::Storage`] when LMDB cannot open it.
    pub fn open(dir: &Path, key: std::sync::Arc<secret_seal::Key>) -> Result<Self, StoreError> {
        Self::open_sized(dir, MAP_SIZE, key)
    }

    /// As [`Storage::open`] with a map of `map_size` bytes: the most the database can hold
    /// (tests use a small one to see a full database).
    ///
    /// # Errors
    /// [`StoreError::Storage`] when LMDB cannot open it.
    pub fn open_sized(
        dir: &Path,
        map_size: usize,
        key: std::sync::Arc<secret_seal::Key>,
    ) -> Result<Self, StoreError> {
        let env = Environment::new()
            .set_max_dbs(32)
            .set_map_size(map_size)
            .set_flags(EnvironmentFlags::NO_TLS)
            .open_with_permissions(dir, 0o600)
            .map_err(storage_error)?;
        let dbs = Db::ALL
            .iter()
            .map(|db| {
                env.create_db(Some(db.name()), DatabaseFlags::empty())
                    .map_err(|e| StoreError::Storage(format!("database {}: {e}", db.name())))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { env, dbs, key })
    }

    /// The key the secrets are sealed with.
    #[must_use]
    pub fn key(&self) -> &std::sync::Arc<secret_seal::Key> {
        &self.key
    }

    /// A read transaction (a consistent snapshot).
    ///
    /// # Errors
    /// [`StoreError::Storage`].
    pub fn read(&self) -> Result<View<'_, lmdb::RoTransaction<'_>>, StoreError> {
        Ok(View {
            txn: self.env.begin_ro_txn().map_err(storage_error)?,
            dbs: &self.dbs,
            key: &self.key,
        })
    }

    /// A write transaction; nothing is visible or durable until [`View::commit`].
    ///
    /// # Errors
    /// [`StoreError::Storage`].
    pub fn write(&self) -> Result<View<'_, lmdb::RwTransaction<'_>>, StoreError> {
        Ok(View {
            txn: self.env.begin_rw_txn().map_err(storage_error)?,
            dbs: &self.dbs,
            key: &self.key,
        })
    }
}

/// A read or write transaction, as the other modules name it (so that only this module
/// names lmdb-rkv's types).
pub trait Txn: Transaction {}

impl<T: Transaction> Txn for T {}

/// A view inside a write transaction.
pub type WriteView<'e> = View<'e, lmdb::RwTransaction<'e>>;

/// LMDB's longest key (its default `MDB_MAXKEYSIZE`).
pub const MAX_KEY: usize = 511;

/// A transaction with typed access to the databases.
pub struct View<'e, T> {
    txn: T,
    dbs: &'e [Database],
    key: &'e secret_seal::Key,
}

/// The databases whose records have sealed fields: read and written only as whole
/// records ([`View::record`], [`View::put_record`]) or as raw bytes, never through the
/// plain typed calls, which would hand out or store sealed and plain values mixed up.
const SEALED: [Db; 3] = [Db::Users, Db::Omms, Db::Rooms];

fn refuse_sealed(db: Db) -> Result<(), StoreError> {
    if SEALED.contains(&db) {
        return Err(StoreError::Storage(format!(
            "internal: {} holds sealed secrets and is read and written as records",
            db.name()
        )));
    }
    Ok(())
}

impl<T: Transaction> View<'_, T> {
    fn db(&self, db: Db) -> Database {
        self.dbs[Db::ALL.iter().position(|d| *d == db).unwrap_or(0)]
    }

    /// The raw value at `key`.
    ///
    /// # Errors
    /// [`StoreError::Storage`].
    pub fn get_raw(&self, db: Db, key: &[u8]) -> Result<Option<&[u8]>, StoreError> {
        // LMDB refuses empty keys and keys over its limit with an error; no record has one,
        // so a lookup by such a key (an empty login name, say) simply finds nothing.
        if key.is_empty() || key.len() > MAX_KEY {
            return Ok(None);
        }
        match self.txn.get(self.db(db), &key) {
            Ok(v) => Ok(Some(v)),
            Err(lmdb::Error::NotFound) => Ok(None),
            Err(e) => Err(storage_error(e)),
        }
    }

    /// The decoded value at `key`.
    ///
    /// # Errors
    /// [`StoreError::Storage`], also for a value that does not decode.
    pub fn get<V: DeserializeOwned>(&self, db: Db, key: &[u8]) -> Result<Option<V>, StoreError> {
        refuse_sealed(db)?;
        self.get_borrowed(db, key)
    }

    /// The record with `id`, its secrets opened.
    ///
    /// # Errors
    /// [`StoreError::Storage`], also for a value that does not decode or a secret that
    /// does not open.
    pub fn record<V: Sealed>(&self, id: u32) -> Result<Option<V>, StoreError> {
        match self.get_raw(V::DB, &id_key(id))? {
            Some(raw) => self.opened(raw).map(Some),
            None => Ok(None),
        }
    }

    /// Every record of `V`'s database in id order, their secrets opened.
    ///
    /// # Errors
    /// As [`View::record`].
    pub fn records<V: Sealed>(&self) -> Result<Vec<V>, StoreError> {
        let mut out = Vec::new();
        self.scan(V::DB, None, |_, raw| {
            out.push(self.opened(raw)?);
            Ok(true)
        })?;
        Ok(out)
    }

    /// A raw record of `V`'s database decoded, its secrets opened.
    ///
    /// # Errors
    /// As [`View::record`].
    pub fn opened<V: Sealed>(&self, raw: &[u8]) -> Result<V, StoreError> {
        let mut record: V = decode(V::DB, raw)?;
        crate::secrets::open(self.key, &mut record)?;
        Ok(record)
    }

    /// The value at `key`, decoded borrowing from the transaction's pages.
    ///
    /// # Errors
    /// [`StoreError::Storage`], also for a value that does not decode.
    pub fn get_borrowed<'t, V: serde::Deserialize<'t>>(
        &'t self,
        db: Db,
        key: &[u8],
    ) -> Result<Option<V>, StoreError> {
        self.get_raw(db, key)?
            .map(|raw| decode(db, raw))
            .transpose()
    }

    /// Calls `f` for every entry from `from` (or the start) in key order until it returns
    /// `false`.
    ///
    /// # Errors
    /// [`StoreError::Storage`], or the first error of `f`.
    pub fn scan<'t>(
        &'t self,
        db: Db,
        from: Option<&[u8]>,
        mut f: impl FnMut(&'t [u8], &'t [u8]) -> Result<bool, StoreError>,
    ) -> Result<(), StoreError> {
        let mut cursor = self
            .txn
            .open_ro_cursor(self.db(db))
            .map_err(storage_error)?;
        let iter = match from {
            Some(key) => cursor.iter_from(key),
            None => cursor.iter_start(),
        };
        for item in iter {
            let (k, v) = item.map_err(storage_error)?;
            if !f(k, v)? {
                break;
            }
        }
        Ok(())
    }

    /// Every decoded value of `db` in key order.
    ///
    /// # Errors
    /// [`StoreError::Storage`].
    pub fn all<V: DeserializeOwned>(&self, db: Db) -> Result<Vec<V>, StoreError> {
        refuse_sealed(db)?;
        let mut out = Vec::new();
        self.scan(db, None, |_, v| {
            out.push(decode(db, v)?);
            Ok(true)
        })?;
        Ok(out)
    }

    /// Number of entries in `db`.
    ///
    /// # Errors
    /// [`StoreError::Storage`].
    pub fn count(&self, db: Db) -> Result<usize, StoreError> {
        let mut n = 0;
        self.scan(db, None, |_, _| {
            n += 1;
            Ok(true)
        })?;
        Ok(n)
    }
}

impl View<'_, lmdb::RwTransaction<'_>> {
    /// Stores `value` at `key`.
    ///
    /// # Errors
    /// [`StoreError::Storage`].
    pub fn put<V: Serialize>(&mut self, db: Db, key: &[u8], value: &V) -> Result<(), StoreError> {
        refuse_sealed(db)?;
        self.put_unchecked(db, key, value)
    }

    fn put_unchecked<V: Serialize>(
        &mut self,
        db: Db,
        key: &[u8],
        value: &V,
    ) -> Result<(), StoreError> {
        let bytes = postcard::to_stdvec(value).map_err(|e| StoreError::Storage(e.to_string()))?;
        self.put_raw(db, key, &bytes)
    }

    /// Stores `record` under its id, its secrets sealed.
    ///
    /// # Errors
    /// [`StoreError::Storage`].
    pub fn put_record<V: Sealed>(&mut self, record: &V) -> Result<(), StoreError> {
        let mut sealed = record.clone();
        crate::secrets::seal(self.key, &mut sealed)?;
        self.put_unchecked(V::DB, &id_key(record.id()), &sealed)
    }

    /// Stores raw bytes at `key`.
    ///
    /// # Errors
    /// [`StoreError::Storage`].
    pub fn put_raw(&mut self, db: Db, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        let handle = self.db(db);
        self.txn
            .put(handle, &key, &value, WriteFlags::empty())
            .map_err(storage_error)
    }

    /// Deletes `key`; deleting a missing key is not an error.
    ///
    /// # Errors
    /// [`StoreError::Storage`].
    pub fn delete(&mut self, db: Db, key: &[u8]) -> Result<(), StoreError> {
        let handle = self.db(db);
        match self.txn.del(handle, &key, None) {
            Ok(()) | Err(lmdb::Error::NotFound) => Ok(()),
            Err(e) => Err(storage_error(e)),
        }
    }

    /// Removes every entry of `db`.
    ///
    /// # Errors
    /// [`StoreError::Storage`].
    pub fn clear(&mut self, db: Db) -> Result<(), StoreError> {
        let handle = self.db(db);
        self.txn.clear_db(handle).map_err(storage_error)
    }

    /// Commits durably.
    ///
    /// # Errors
    /// [`StoreError::Storage`]; nothing was written then.
    pub fn commit(self) -> Result<(), StoreError> {
        self.txn.commit().map_err(storage_error)
    }
}

/// Decodes a stored value, refusing trailing bytes.
///
/// # Errors
/// [`StoreError::Storage`] naming the database.
pub fn decode<'t, V: serde::Deserialize<'t>>(db: Db, raw: &'t [u8]) -> Result<V, StoreError> {
    match postcard::take_from_bytes(raw) {
        Ok((v, [])) => Ok(v),
        Ok((_, rest)) => Err(StoreError::Storage(format!(
            "record in {} has {} trailing bytes",
            db.name(),
            rest.len()
        ))),
        Err(e) => Err(decode_error(db, &e)),
    }
}

/// The key of a numeric id.
#[must_use]
pub fn id_key(id: u32) -> [u8; 4] {
    id.to_be_bytes()
}

/// The id of a record key made by [`id_key`].
///
/// # Errors
/// [`StoreError::Storage`] for a key of another length.
pub fn key_id(key: &[u8]) -> Result<u32, StoreError> {
    key.try_into()
        .map(u32::from_be_bytes)
        .map_err(|_| StoreError::Storage(format!("record key of {} bytes", key.len())))
}

/// The key of a 64-bit sequence number.
#[must_use]
pub fn seq_key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}
