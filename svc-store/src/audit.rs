//! The audit trail: every change made through the web API or the admin CLI, with who, when,
//! from where, what, and the record before and after (the callers redact secrets). Kept in
//! the meta database, exported and imported with it, bounded to
//! [`model::AUDIT_CAPACITY`] entries (the oldest go first); each text is cut to
//! [`MAX_TEXT`] characters and cleaned of control characters.

use crate::ops::Tx;
use crate::storage::Db;
use ipc::api::store::{StoreError, StoreResponse};
use model::{AuditEntry, AUDIT_CAPACITY};

/// Where the trail is kept (in the meta database).
pub const KEY: &[u8] = b"audit";

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
        let mut trail: Vec<AuditEntry> = self.view.get(Db::Meta, KEY)?.unwrap_or_default();
        let seq = trail.last().map_or(1, |e| e.seq + 1);
        trail.push(AuditEntry {
            seq,
            time: model::now(),
            actor: clean(&entry.actor, 64),
            source: clean(&entry.source, 64),
            action: clean(&entry.action, 64),
            target: clean(&entry.target, 200),
            before: clean(&entry.before, MAX_TEXT),
            after: clean(&entry.after, MAX_TEXT),
        });
        let excess = trail.len().saturating_sub(AUDIT_CAPACITY);
        trail.drain(..excess);
        self.view.put(Db::Meta, KEY, &trail)?;
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
