//! The audit trail: every change made through the web API or the admin CLI, with who, when,
//! from where, what, and the record before and after (the callers redact secrets). Kept in
//! the meta database, one key per entry (`audit/` and the sequence number, so an append is
//! one small write however long the trail), exported and imported with it, bounded to
//! [`model::AUDIT_CAPACITY`] entries (the oldest go first); each text is cut to
//! [`MAX_TEXT`] characters and cleaned of control characters.

use crate::ops::Tx;
use crate::storage::Db;
use ipc::api::store::{StoreError, StoreResponse};
use model::{AuditEntry, AUDIT_CAPACITY};

/// The prefix of the entries' keys (in the meta database).
pub const PREFIX: &[u8] = b"audit/";
/// The key of the next sequence number.
pub const NEXT: &[u8] = b"audit-next";

/// The key of entry `seq`.
#[must_use]
pub fn key(seq: u64) -> Vec<u8> {
    let mut k = PREFIX.to_vec();
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// Every entry, oldest first.
///
/// # Errors
/// [`StoreError::Storage`].
pub fn list<T: crate::storage::Txn>(
    view: &crate::storage::View<'_, T>,
) -> Result<Vec<AuditEntry>, StoreError> {
    let mut out = Vec::new();
    view.scan(Db::Meta, Some(PREFIX), |k, v| {
        if !k.starts_with(PREFIX) {
            return Ok(false);
        }
        out.push(crate::storage::decode(Db::Meta, v)?);
        Ok(true)
    })?;
    Ok(out)
}

/// Longest `before` or `after` kept; longer ones end in `…`.
pub const MAX_TEXT: usize = 2048;

fn clean(text: &str, max: usize) -> String {
    let mut out: String = text
        .chars()
        .filter(|c| !c.is_control() || *c == '\n')
        .take(max)
        .collect();
    if text.chars().count() > max {
        out.push('…');
    }
    out
}

impl Tx<'_, '_> {
    /// Appends `entry`, numbered and stamped now.
    pub(crate) fn append_audit(&mut self, entry: AuditEntry) -> Result<StoreResponse, StoreError> {
        let seq: u64 = self.view.get(Db::Meta, NEXT)?.unwrap_or(1);
        let entry = AuditEntry {
            seq,
            time: model::now(),
            actor: clean(&entry.actor, 64),
            source: clean(&entry.source, 64),
            action: clean(&entry.action, 64),
            target: clean(&entry.target, 200),
            before: clean(&entry.before, MAX_TEXT),
            after: clean(&entry.after, MAX_TEXT),
        };
        self.view.put(Db::Meta, &key(seq), &entry)?;
        self.view.put(Db::Meta, NEXT, &(seq + 1))?;
        let capacity = AUDIT_CAPACITY as u64;
        if seq > capacity {
            self.view.delete(Db::Meta, &key(seq - capacity))?;
        }
        Ok(StoreResponse::Done)
    }

    /// Empties the event log.
    pub(crate) fn clear_events(&mut self) -> Result<StoreResponse, StoreError> {
        self.view.clear(Db::Events)?;
        self.changed(
            model::Entity::EventLog,
            0,
            ipc::api::store::ChangeOp::Delete,
        );
        Ok(StoreResponse::Done)
    }
}
