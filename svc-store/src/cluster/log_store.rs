//! Raft's log and vote, durable, in an LMDB environment of their own (`<db dir>/raft/`):
//! a snapshot install replaces the database's environment, never this one.
//!
//! Two databases: `log` (index, big-endian, → the postcard entry) and `state` (`vote`,
//! `committed`, `purged`). Every call is one transaction committed (and so synced) before it
//! returns or calls back: an entry is acknowledged to the leader only when it is on disk.
//! The transactions are short, so they run on the caller's thread.

use super::{storage_error, NodeId, RaftStorageError, TypeConfig};
use lmdb::{Cursor, Database, DatabaseFlags, Environment, Transaction, WriteFlags};
use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{Entry, ErrorSubject, ErrorVerb, LogId, OptionalSend, RaftLogReader, Vote};
use serde::{de::DeserializeOwned, Serialize};
use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::path::Path;
use std::sync::Arc;

/// The log's map size: entries are trimmed after every snapshot, so this is room for many
/// thousands of writes between two snapshots.
const MAP_SIZE: usize = 4 << 30;

const VOTE: &[u8] = b"vote";
const COMMITTED: &[u8] = b"committed";
const PURGED: &[u8] = b"purged";

/// The log store; clones share one environment.
#[derive(Clone)]
pub struct LogStore {
    inner: Arc<Inner>,
}

struct Inner {
    env: Environment,
    log: Database,
    state: Database,
}

fn key(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}

fn index_of(key: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&key[..8.min(key.len())]);
    u64::from_be_bytes(b)
}

fn logs_error(verb: ErrorVerb, e: impl std::fmt::Display) -> RaftStorageError {
    storage_error(ErrorSubject::Logs, verb, e)
}

impl LogStore {
    /// Opens (creating) the log in `dir`, mode 0600.
    ///
    /// # Errors
    /// LMDB's error, as text.
    pub fn open(dir: &Path) -> Result<Self, String> {
        crate::engine::create_private_dir(dir).map_err(|e| e.to_string())?;
        let env = Environment::new()
            .set_max_dbs(2)
            .set_map_size(MAP_SIZE)
            .open_with_permissions(dir, 0o600)
            .map_err(|e| format!("the Raft log in {}: {e}", dir.display()))?;
        let log = env
            .create_db(Some("log"), DatabaseFlags::empty())
            .map_err(|e| e.to_string())?;
        let state = env
            .create_db(Some("state"), DatabaseFlags::empty())
            .map_err(|e| e.to_string())?;
        Ok(Self {
            inner: Arc::new(Inner { env, log, state }),
        })
    }

    fn get_state<V: DeserializeOwned>(&self, name: &[u8]) -> Result<Option<V>, RaftStorageError> {
        let txn = self
            .inner
            .env
            .begin_ro_txn()
            .map_err(|e| logs_error(ErrorVerb::Read, e))?;
        match txn.get(self.inner.state, &name) {
            Ok(bytes) => postcard::from_bytes(bytes)
                .map(Some)
                .map_err(|e| logs_error(ErrorVerb::Read, e)),
            Err(lmdb::Error::NotFound) => Ok(None),
            Err(e) => Err(logs_error(ErrorVerb::Read, e)),
        }
    }

    fn put_state<V: Serialize>(&self, name: &[u8], value: &V) -> Result<(), RaftStorageError> {
        let bytes = postcard::to_stdvec(value).map_err(|e| logs_error(ErrorVerb::Write, e))?;
        let mut txn = self
            .inner
            .env
            .begin_rw_txn()
            .map_err(|e| logs_error(ErrorVerb::Write, e))?;
        txn.put(self.inner.state, &name, &bytes, WriteFlags::empty())
            .map_err(|e| logs_error(ErrorVerb::Write, e))?;
        txn.commit().map_err(|e| logs_error(ErrorVerb::Write, e))
    }

    /// The last entry's log id, if the log holds any.
    fn last(&self) -> Result<Option<LogId<NodeId>>, RaftStorageError> {
        let txn = self
            .inner
            .env
            .begin_ro_txn()
            .map_err(|e| logs_error(ErrorVerb::Read, e))?;
        let cursor = txn
            .open_ro_cursor(self.inner.log)
            .map_err(|e| logs_error(ErrorVerb::Read, e))?;
        match cursor.get(None, None, lmdb_sys::MDB_LAST) {
            Ok((_, bytes)) => {
                let entry: Entry<TypeConfig> =
                    postcard::from_bytes(bytes).map_err(|e| logs_error(ErrorVerb::Read, e))?;
                Ok(Some(entry.log_id))
            }
            Err(lmdb::Error::NotFound) => Ok(None),
            Err(e) => Err(logs_error(ErrorVerb::Read, e)),
        }
    }

    /// Deletes the entries with an index in `range` (inclusive start, exclusive end).
    fn delete_range(&self, from: u64, to: Option<u64>) -> Result<(), RaftStorageError> {
        let mut txn = self
            .inner
            .env
            .begin_rw_txn()
            .map_err(|e| logs_error(ErrorVerb::Delete, e))?;
        let doomed: Vec<[u8; 8]> = {
            let mut cursor = txn
                .open_ro_cursor(self.inner.log)
                .map_err(|e| logs_error(ErrorVerb::Delete, e))?;
            let mut out = Vec::new();
            for item in cursor.iter_from(key(from)) {
                let (k, _) = item.map_err(|e| logs_error(ErrorVerb::Delete, e))?;
                let index = index_of(k);
                if to.is_some_and(|to| index >= to) {
                    break;
                }
                out.push(key(index));
            }
            out
        };
        for k in doomed {
            txn.del(self.inner.log, &k, None)
                .map_err(|e| logs_error(ErrorVerb::Delete, e))?;
        }
        txn.commit().map_err(|e| logs_error(ErrorVerb::Delete, e))
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry<TypeConfig>>, RaftStorageError> {
        let start = match range.start_bound() {
            Bound::Included(&i) => i,
            Bound::Excluded(&i) => i + 1,
            Bound::Unbounded => 0,
        };
        let txn = self
            .inner
            .env
            .begin_ro_txn()
            .map_err(|e| logs_error(ErrorVerb::Read, e))?;
        let mut cursor = txn
            .open_ro_cursor(self.inner.log)
            .map_err(|e| logs_error(ErrorVerb::Read, e))?;
        let mut out = Vec::new();
        for item in cursor.iter_from(key(start)) {
            let (k, v) = item.map_err(|e| logs_error(ErrorVerb::Read, e))?;
            if !range.contains(&index_of(k)) {
                break;
            }
            out.push(postcard::from_bytes(v).map_err(|e| logs_error(ErrorVerb::Read, e))?);
        }
        Ok(out)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, RaftStorageError> {
        let last_purged_log_id: Option<LogId<NodeId>> = self.get_state(PURGED)?;
        let last_log_id = self.last()?.or(last_purged_log_id);
        Ok(LogState {
            last_purged_log_id,
            last_log_id,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), RaftStorageError> {
        self.put_state(VOTE, vote)
            .map_err(|e| storage_error(ErrorSubject::Vote, ErrorVerb::Write, e))
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, RaftStorageError> {
        self.get_state(VOTE)
            .map_err(|e| storage_error(ErrorSubject::Vote, ErrorVerb::Read, e))
    }

    async fn save_committed(
        &mut self,
        committed: Option<LogId<NodeId>>,
    ) -> Result<(), RaftStorageError> {
        self.put_state(COMMITTED, &committed)
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<NodeId>>, RaftStorageError> {
        Ok(self
            .get_state::<Option<LogId<NodeId>>>(COMMITTED)?
            .flatten())
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), RaftStorageError>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let written = (|| {
            let mut txn = self
                .inner
                .env
                .begin_rw_txn()
                .map_err(|e| logs_error(ErrorVerb::Write, e))?;
            for entry in entries {
                let bytes =
                    postcard::to_stdvec(&entry).map_err(|e| logs_error(ErrorVerb::Write, e))?;
                txn.put(
                    self.inner.log,
                    &key(entry.log_id.index),
                    &bytes,
                    WriteFlags::empty(),
                )
                .map_err(|e| logs_error(ErrorVerb::Write, e))?;
            }
            // LMDB syncs on commit: the entries are durable before the callback.
            txn.commit().map_err(|e| logs_error(ErrorVerb::Write, e))
        })();
        match &written {
            Ok(()) => callback.log_io_completed(Ok(())),
            Err(e) => callback.log_io_completed(Err(std::io::Error::other(e.to_string()))),
        }
        written
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> Result<(), RaftStorageError> {
        self.delete_range(log_id.index, None)
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> Result<(), RaftStorageError> {
        // The purge point first: a crash in between leaves entries that are simply ignored.
        self.put_state(PURGED, &log_id)?;
        self.delete_range(0, Some(log_id.index + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::state_machine::StateMachine;
    use openraft::testing::{StoreBuilder, Suite};

    struct Builder;

    impl StoreBuilder<TypeConfig, LogStore, StateMachine, tempfile::TempDir> for Builder {
        async fn build(
            &self,
        ) -> Result<(tempfile::TempDir, LogStore, StateMachine), RaftStorageError> {
            let dir = tempfile::tempdir().unwrap();
            let store = Arc::new(crate::Store::open(dir.path()).unwrap().store);
            let log = LogStore::open(&dir.path().join("raft")).unwrap();
            Ok((dir, log, StateMachine::new(store)))
        }
    }

    /// openraft's own suite of storage tests, against this log store and the database as
    /// the state machine.
    #[test]
    fn openraft_storage_suite() {
        Suite::test_all(Builder).unwrap();
    }
}
