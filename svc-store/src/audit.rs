//! The audit trail: every change made through the web API, MAXI or the admin CLI, with who,
//! when, from where, what, and the records before and after, secrets redacted.
//!
//! A front end sends its write as [`StoreRequest::Audited`]: the records the write touches
//! are read before it in its own transaction ([`subjects`]), the write is applied, the same
//! records (a created one by its new id) are read again, and the entry is appended, all in
//! that transaction. So an entry's "before" is the state the write replaced even when two
//! administrators edit one record at once, and a write whose entry cannot be written (a full
//! disk) is not made. Entries of things that are no store write (a login, an export) are
//! appended as they are ([`StoreRequest::AppendAudit`]).
//!
//! Kept in
//! the meta database, one key per entry (`audit/` and the sequence number, so an append is
//! one small write however long the trail), exported and imported with it, bounded to
//! [`model::AUDIT_CAPACITY`] entries (the oldest go first); each text is cut to
//! [`MAX_TEXT`] characters and cleaned of control characters.

use crate::ops::{meta, Tx};
use crate::storage::{id_key, Db};
use ipc::api::store::{Audit, StoreError, StoreRequest, StoreResponse};
use model::{
    Account, AuditEntry, ConferenceRoom, ConfigTemplate, Device, Omm, Settings, User,
    AUDIT_CAPACITY,
};

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

/// A record an audited write touches: its image goes into the entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// A user by uid (0: none).
    User(u32),
    /// A DECT phone by ppn (0: none, as a user bound to nothing).
    Device(u32),
    /// An OMM record.
    Omm(u32),
    /// A conference room.
    Room(u32),
    /// An account (0 is the default account, a real one).
    Account(u32),
    /// The system settings.
    Settings,
    /// The configuration template.
    Template,
    /// The record of this kind the write creates: it has its id only in the answer.
    New(Created),
}

/// The kinds of record a write creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// A user.
    User,
    /// A DECT phone.
    Device,
    /// An OMM record.
    Omm,
    /// A conference room.
    Room,
    /// An account.
    Account,
}

/// The records `request` touches, as far as the request names them (`bound` gives the
/// DECT phone a user is bound to now, for an unbinding).
#[must_use]
pub fn subjects(request: &StoreRequest, bound: impl Fn(u32) -> u32) -> Vec<Subject> {
    use StoreRequest as R;
    use Subject as S;
    let or_new = |id: u32, subject: fn(u32) -> Subject, kind: Created| {
        if id == 0 {
            S::New(kind)
        } else {
            subject(id)
        }
    };
    match request {
        R::PutUser(u) => vec![or_new(u.uid, S::User, Created::User)],
        R::DeleteUser(uid) | R::ChangeRelationType { uid, .. } | R::ChangeSource { uid, .. } => {
            vec![S::User(*uid)]
        }
        R::PutDevice(d) => vec![or_new(d.ppn, S::Device, Created::Device)],
        R::DeleteDevice(ppn) | R::UnsubscribeDevice(ppn) => vec![S::Device(*ppn)],
        R::CreateFixed { .. } => vec![S::New(Created::User), S::New(Created::Device)],
        R::Bind { uid, ppn, .. } => vec![S::User(*uid), S::Device(*ppn)],
        R::Unbind(uid) => vec![S::User(*uid), S::Device(bound(*uid))],
        R::PutOmm(o) => vec![or_new(o.id, S::Omm, Created::Omm)],
        R::DeleteOmm(id) => vec![S::Omm(*id)],
        R::PutConferenceRoom(r) => vec![or_new(r.id, S::Room, Created::Room)],
        R::DeleteConferenceRoom(id) => vec![S::Room(*id)],
        R::CreateAccount(_) => vec![S::New(Created::Account)],
        R::UpdateAccount(u) => vec![S::Account(u.id)],
        R::DeleteAccount(id) => vec![S::Account(*id)],
        R::PutSettings(_) => vec![S::Settings],
        R::PutTemplate(_) => vec![S::Template],
        _ => Vec::new(),
    }
}

/// A text in an entry by its size and SHA-256 only: a template or a placeholder file may be
/// large and hold secrets.
fn summary(text: &str) -> serde_json::Value {
    use sha2::Digest;
    let sha256: String = sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    serde_json::json!({ "bytes": text.len(), "sha256": sha256 })
}

/// The records as an entry's target names them: `user 7, device 3`.
fn describe(subjects: &[Subject]) -> String {
    let names: Vec<String> = subjects
        .iter()
        .filter_map(|s| match *s {
            // No record: a user bound to no phone, or a creation the write refused.
            Subject::User(0) | Subject::Device(0) | Subject::New(_) => None,
            Subject::User(id) => Some(format!("user {id}")),
            Subject::Device(id) => Some(format!("device {id}")),
            Subject::Omm(id) => Some(format!("OMM {id}")),
            Subject::Room(id) => Some(format!("room {id}")),
            Subject::Account(id) => Some(format!("account {id}")),
            Subject::Settings => Some("settings".into()),
            Subject::Template => Some("configuration template".into()),
        })
        .collect();
    names.join(", ")
}

/// `subjects` after the write answered `answer`: a created record by its new id.
fn created(subjects: &[Subject], answer: &StoreResponse) -> Vec<Subject> {
    subjects
        .iter()
        .map(|s| match (*s, answer) {
            (Subject::New(kind), StoreResponse::Created(id)) => match kind {
                Created::User => Subject::User(*id),
                Created::Device => Subject::Device(*id),
                Created::Omm => Subject::Omm(*id),
                Created::Room => Subject::Room(*id),
                Created::Account => Subject::Account(*id),
            },
            (Subject::New(Created::User), StoreResponse::CreatedFixed { uid, .. }) => {
                Subject::User(*uid)
            }
            (Subject::New(Created::Device), StoreResponse::CreatedFixed { ppn, .. }) => {
                Subject::Device(*ppn)
            }
            (s, _) => s,
        })
        .collect()
}

impl Tx<'_, '_> {
    /// Applies `request` and appends its audit entry, in this transaction.
    pub(crate) fn audited(
        &mut self,
        audit: Audit,
        request: StoreRequest,
    ) -> Result<StoreResponse, StoreError> {
        if !request.auditable() {
            return Err(StoreError::Invalid(
                "this request cannot be sent as an audited write".into(),
            ));
        }
        let before_subjects = subjects(&request, |uid| {
            self.view
                .record::<User>(uid)
                .ok()
                .flatten()
                .map_or(0, |u| u.ppn)
        });
        let before = self.images(&before_subjects)?;
        let answer = self.apply(request)?;
        let after_subjects = created(&before_subjects, &answer);
        let after = self.images(&after_subjects)?;
        let target = if audit.target.is_empty() {
            describe(&after_subjects)
        } else {
            audit.target
        };
        self.append_audit(AuditEntry {
            actor: audit.actor,
            source: audit.source,
            action: audit.action,
            target,
            before,
            after,
            ..AuditEntry::default()
        })?;
        Ok(answer)
    }

    /// The images of `subjects` as the audit trail shows them: one record's JSON, several
    /// as an array (`null` for one that does not exist), secrets redacted; empty for none.
    fn images(&self, subjects: &[Subject]) -> Result<String, StoreError> {
        let mut images = Vec::with_capacity(subjects.len());
        for subject in subjects {
            images.push(self.image(*subject)?);
        }
        Ok(match images.len() {
            0 => String::new(),
            1 if images[0].is_null() => String::new(),
            1 => model::redact::audit_text(images.first()),
            _ => model::redact::audit_text(Some(&images)),
        })
    }

    fn image(&self, subject: Subject) -> Result<serde_json::Value, StoreError> {
        fn json<T: serde::Serialize>(record: Option<T>) -> serde_json::Value {
            record
                .and_then(|r| serde_json::to_value(r).ok())
                .unwrap_or_default()
        }
        // A record that does not exist (a user bound to no phone) is `null`.
        Ok(match subject {
            Subject::New(_) => serde_json::Value::Null,
            Subject::User(uid) => json(self.view.record::<User>(uid)?),
            Subject::Device(ppn) => json(self.view.record::<Device>(ppn)?),
            Subject::Omm(id) => {
                let mut omm = json(self.view.record::<Omm>(id)?);
                if let Some(text) = omm.get("placeholders").and_then(|p| p.as_str()) {
                    omm["placeholders"] = summary(text);
                }
                omm
            }
            Subject::Room(id) => json(self.view.record::<ConferenceRoom>(id)?),
            Subject::Account(id) => json(self.view.get::<Account>(Db::Accounts, &id_key(id))?),
            Subject::Settings => json(self.view.get::<Settings>(Db::Meta, meta::SETTINGS)?),
            Subject::Template => self
                .view
                .get::<ConfigTemplate>(Db::Meta, meta::TEMPLATE)?
                .map_or(serde_json::Value::Null, |t| summary(&t.text)),
        })
    }

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
