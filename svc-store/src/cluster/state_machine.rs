//! The database as Raft's state machine.
//!
//! A committed entry is applied by the store's own write path ([`Store::apply_replicated`]),
//! with the time its leader proposed it at, and the entry's log id (and, for a membership
//! entry, the membership) is written in the same LMDB transaction: after a crash the store
//! says exactly which entry it applied last, so none is applied twice or lost. A refused
//! write (a rule said no) is refused alike on every node; its entry is marked applied all
//! the same.
//!
//! A snapshot is the database's dump (the export format, one read transaction) with the log
//! id and membership it stands for; installing one replaces the database as an import does.
//! The last snapshot is kept in `<db dir>/raft/snapshot`, so a restarted node can still send
//! it to a node that is far behind.

use super::{storage_error, Applied, NodeId, Peer, RaftStorageError, TypeConfig};
use crate::engine::Store;
use crate::ops::meta;
use crate::storage::Db;
use ipc::api::store::StoreResponse;
use openraft::storage::{RaftStateMachine, Snapshot, SnapshotMeta};
use openraft::{
    Entry, EntryPayload, ErrorSubject, ErrorVerb, LogId, OptionalSend, RaftSnapshotBuilder,
    StoredMembership,
};
use serde::{Deserialize, Serialize};
use std::io::Cursor;
use std::path::PathBuf;
use std::sync::Arc;

/// Where the last snapshot is kept.
const SNAPSHOT_FILE: &str = "snapshot";

/// A snapshot as kept on disk: openraft's description and the dump.
#[derive(Serialize, Deserialize)]
struct Stored {
    meta: SnapshotMeta<NodeId, Peer>,
    dump: Vec<u8>,
}

/// The log id and membership the database stands at.
type AppliedState = (Option<LogId<NodeId>>, StoredMembership<NodeId, Peer>);

/// The state machine; clones share the store.
#[derive(Clone)]
pub struct StateMachine {
    store: Arc<Store>,
    snapshot_file: PathBuf,
}

fn sm_error(verb: ErrorVerb, e: impl std::fmt::Display) -> RaftStorageError {
    storage_error(ErrorSubject::StateMachine, verb, e)
}

fn snapshot_error(verb: ErrorVerb, e: impl std::fmt::Display) -> RaftStorageError {
    storage_error(ErrorSubject::Snapshot(None), verb, e)
}

impl StateMachine {
    pub(crate) fn new(store: Arc<Store>) -> Self {
        let snapshot_file = store.db_dir().join("raft").join(SNAPSHOT_FILE);
        Self {
            store,
            snapshot_file,
        }
    }

    /// The log id and membership the database stands at.
    fn applied(&self) -> Result<AppliedState, RaftStorageError> {
        let storage = self
            .store
            .storage()
            .map_err(|e| sm_error(ErrorVerb::Read, e))?;
        let view = storage
            .get()
            .read()
            .map_err(|e| sm_error(ErrorVerb::Read, e))?;
        let applied: Option<LogId<NodeId>> = view
            .get(Db::Meta, meta::RAFT_APPLIED)
            .map_err(|e| sm_error(ErrorVerb::Read, e))?;
        let membership: Option<StoredMembership<NodeId, Peer>> = view
            .get(Db::Meta, meta::RAFT_MEMBERSHIP)
            .map_err(|e| sm_error(ErrorVerb::Read, e))?;
        Ok((applied, membership.unwrap_or_default()))
    }

    fn kept(&self) -> Result<Option<Stored>, RaftStorageError> {
        match std::fs::read(&self.snapshot_file) {
            Ok(bytes) => postcard::from_bytes(&bytes)
                .map(Some)
                .map_err(|e| snapshot_error(ErrorVerb::Read, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(snapshot_error(ErrorVerb::Read, e)),
        }
    }

    fn keep(&self, stored: &Stored) -> Result<(), RaftStorageError> {
        let bytes = postcard::to_stdvec(stored).map_err(|e| snapshot_error(ErrorVerb::Write, e))?;
        let tmp = self.snapshot_file.with_extension("partial");
        std::fs::write(&tmp, &bytes)
            .and_then(|()| std::fs::File::open(&tmp)?.sync_all())
            .and_then(|()| std::fs::rename(&tmp, &self.snapshot_file))
            .map_err(|e| snapshot_error(ErrorVerb::Write, e))
    }
}

/// The log id and membership to write with an entry's change.
pub(crate) struct Mark {
    log_id: LogId<NodeId>,
    membership: Option<StoredMembership<NodeId, Peer>>,
}

impl Mark {
    /// Writes the mark into `view`, in the transaction of the entry's change.
    ///
    /// # Errors
    /// [`ipc::api::store::StoreError::Storage`].
    pub(crate) fn write(
        &self,
        view: &mut crate::storage::WriteView<'_>,
    ) -> Result<(), ipc::api::store::StoreError> {
        view.put(Db::Meta, meta::RAFT_APPLIED, &self.log_id)?;
        if let Some(membership) = &self.membership {
            view.put(Db::Meta, meta::RAFT_MEMBERSHIP, membership)?;
        }
        Ok(())
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachine {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, RaftStorageError> {
        // The dump and the applied state from one read of the database: the state machine
        // does not apply while it builds.
        let (applied, membership) = self.applied()?;
        let dump = {
            let storage = self
                .store
                .storage()
                .map_err(|e| snapshot_error(ErrorVerb::Read, e))?;
            crate::dump::write(storage.get()).map_err(|e| snapshot_error(ErrorVerb::Read, e))?
        };
        let snapshot_id = match applied {
            Some(id) => format!("{}-{}-{}", id.leader_id.term, id.index, model::now()),
            None => format!("0-0-{}", model::now()),
        };
        let meta = SnapshotMeta {
            last_log_id: applied,
            last_membership: membership,
            snapshot_id,
        };
        let stored = Stored { meta, dump };
        self.keep(&stored)?;
        Ok(Snapshot {
            meta: stored.meta,
            snapshot: Box::new(Cursor::new(stored.dump)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = Self;

    async fn applied_state(&mut self) -> Result<AppliedState, RaftStorageError> {
        self.applied()
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Applied>, RaftStorageError>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut out = Vec::new();
        for entry in entries {
            let log_id = entry.log_id;
            let applied = match entry.payload {
                EntryPayload::Normal(command) => {
                    let mark = Mark {
                        log_id,
                        membership: None,
                    };
                    self.store
                        .apply_replicated(command, &mark)
                        .map_err(|e| sm_error(ErrorVerb::Write, e))?
                }
                EntryPayload::Blank => {
                    let mark = Mark {
                        log_id,
                        membership: None,
                    };
                    self.store
                        .mark_applied(&mark)
                        .map_err(|e| sm_error(ErrorVerb::Write, e))?;
                    Ok(StoreResponse::Done)
                }
                EntryPayload::Membership(membership) => {
                    let mark = Mark {
                        log_id,
                        membership: Some(StoredMembership::new(Some(log_id), membership)),
                    };
                    self.store
                        .mark_applied(&mark)
                        .map_err(|e| sm_error(ErrorVerb::Write, e))?;
                    Ok(StoreResponse::Done)
                }
            };
            out.push(applied);
        }
        Ok(out)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, RaftStorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, Peer>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), RaftStorageError> {
        let dump = snapshot.into_inner();
        let mark = Mark {
            log_id: meta
                .last_log_id
                .ok_or_else(|| snapshot_error(ErrorVerb::Write, "a snapshot without a log id"))?,
            membership: Some(meta.last_membership.clone()),
        };
        self.store
            .install_snapshot(&dump, &mark)
            .map_err(|e| snapshot_error(ErrorVerb::Write, e))?;
        self.keep(&Stored {
            meta: meta.clone(),
            dump,
        })
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<Snapshot<TypeConfig>>, RaftStorageError> {
        Ok(self.kept()?.map(|stored| Snapshot {
            meta: stored.meta,
            snapshot: Box::new(Cursor::new(stored.dump)),
        }))
    }
}
