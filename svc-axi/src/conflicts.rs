//! Records held back, and the conflicts they stand for (admin guide, chapter 1: before a MOM
//! is commissioned the same handset may be registered on two OMMs, or the same number given
//! out twice). A record that two OMMs claim, or that the store refuses, is held back on its
//! own: the link stays up, every other record goes on syncing, the conflict is listed in the
//! store (`sip-dect-mom conflicts`, the health state), and the record is tried again until
//! the cause is gone.

use crate::link::End;
use crate::store::{Failure, Store};
use axi::{PpDev, PpUser};
use model::{Conflict, ConflictKind, Entity};
use std::collections::BTreeMap;

/// The store gets a link's list at most this often (a flood of conflicting events must
/// not send it thousands of lists).
pub const PUBLISH_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Most records one link holds back; beyond it, conflicts are counted in the journal only
/// (an OMM full of duplicates must not fill the MOM's memory).
pub const MAX_HELD: usize = 5_000;

/// The OMM's record as it was held back, to try again.
#[derive(Debug, Clone)]
pub enum HeldRecord {
    /// A user record.
    User(PpUser),
    /// A device record.
    Device(PpDev),
}

/// One held-back record.
#[derive(Debug, Clone)]
struct Held {
    conflict: Conflict,
    record: HeldRecord,
}

/// What one link holds back, by (kind, the OMM's id of the record).
pub struct Conflicts {
    omm: u32,
    held: BTreeMap<(Entity, u32), Held>,
    /// Conflicts of the last reconciliation, kept while a new one runs so that first-seen
    /// times and counts carry over.
    previous: BTreeMap<(Entity, u32), Held>,
    /// Changed since the store last got the list.
    dirty: bool,
    /// Held back beyond [`MAX_HELD`] since the last journal line.
    dropped: u64,
    /// When the store last got the list.
    published: Option<std::time::Instant>,
    /// The link is trying its held records again: seeing one again is no repeat.
    retrying: bool,
}

impl Conflicts {
    /// Nothing held yet, for OMM `omm`'s link.
    #[must_use]
    pub fn new(omm: u32) -> Self {
        Self {
            omm,
            held: BTreeMap::new(),
            previous: BTreeMap::new(),
            // The store may list conflicts of an earlier link: the first publish replaces them.
            dirty: true,
            dropped: 0,
            published: None,
            retrying: false,
        }
    }

    /// How many records are held back.
    #[must_use]
    pub fn len(&self) -> usize {
        self.held.len()
    }

    /// Whether nothing is held back.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// A reconciliation starts: it finds every conflict again.
    pub fn begin_round(&mut self) {
        self.previous = std::mem::take(&mut self.held);
        self.dirty = true;
    }

    /// The reconciliation ended: conflicts it did not find again are gone.
    pub fn end_round(&mut self) {
        self.previous.clear();
    }

    /// Holds back the OMM's record `omm_record` (of kind `entity`, natural key `key`).
    #[allow(clippy::too_many_arguments)]
    pub fn hold(
        &mut self,
        kind: ConflictKind,
        entity: Entity,
        omm_record: u32,
        key: &str,
        other_omm: u32,
        reason: String,
        record: HeldRecord,
    ) {
        let now = model::now();
        let slot = (entity, omm_record);
        let earlier = self
            .held
            .remove(&slot)
            .or_else(|| self.previous.remove(&slot));
        let (first_seen, count) = match &earlier {
            Some(h) if h.conflict.kind == kind && h.conflict.key == key => {
                let repeat = u32::from(!self.retrying);
                (
                    h.conflict.first_seen,
                    h.conflict.count.saturating_add(repeat),
                )
            }
            _ => (now, 1),
        };
        if earlier.is_none() && self.held.len() >= MAX_HELD {
            self.dropped += 1;
            return;
        }
        let same = earlier.as_ref().is_some_and(|h| {
            h.conflict.kind == kind && h.conflict.key == key && h.conflict.reason == reason
        });
        let conflict = Conflict {
            kind,
            omm: self.omm,
            entity,
            omm_record,
            key: key.to_owned(),
            other_omm,
            reason,
            first_seen,
            last_seen: now,
            count,
        };
        self.held.insert(slot, Held { conflict, record });
        // A repeat only raises the count, which the store learns with the next change.
        self.dirty |= !same;
    }

    /// The OMM's record `omm_record` went through (or is gone): its conflict is over.
    pub fn release(&mut self, entity: Entity, omm_record: u32) {
        if self.held.remove(&(entity, omm_record)).is_some() {
            self.dirty = true;
        }
    }

    /// The held-back records, to try again; until [`Conflicts::retried`], holding one of
    /// them again does not count as a repeat.
    #[must_use]
    pub fn retry(&mut self) -> Vec<HeldRecord> {
        self.retrying = true;
        self.held.values().map(|h| h.record.clone()).collect()
    }

    /// The retry is over.
    pub fn retried(&mut self) {
        self.retrying = false;
    }

    /// Gives the store this link's conflicts when they changed, at most once per
    /// [`PUBLISH_EVERY`] (the session calls it again on its next turn or tick).
    ///
    /// # Errors
    /// [`End`] when the store is unreachable; a refusal is logged.
    pub async fn publish(&mut self, store: &Store) -> Result<(), End> {
        if self.dropped > 0 {
            tracing::warn!(
                omm = self.omm,
                dropped = self.dropped,
                max = MAX_HELD,
                "more conflicting records than are kept; the rest are not listed"
            );
            self.dropped = 0;
        }
        let recent = self.published.is_some_and(|t| t.elapsed() < PUBLISH_EVERY);
        if !self.dirty || recent {
            return Ok(());
        }
        self.published = Some(std::time::Instant::now());
        let conflicts = self.held.values().map(|h| h.conflict.clone()).collect();
        match store.set_conflicts(self.omm, conflicts).await {
            Ok(_) => {
                self.dirty = false;
                Ok(())
            }
            Err(Failure::Refused(e)) => {
                tracing::warn!(omm = self.omm, error = %e, "the store refused the conflict list");
                self.dirty = false;
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> HeldRecord {
        HeldRecord::User(PpUser::default())
    }

    /// Holds user `id` of OMM 1 with number 100, which OMM 2 has too.
    fn same_number(c: &mut Conflicts, id: u32) {
        c.hold(
            ConflictKind::SameNumber,
            Entity::User,
            id,
            "100",
            2,
            "x".into(),
            record(),
        );
    }

    #[test]
    fn a_repeat_raises_the_count_and_keeps_the_first_time() {
        let mut c = Conflicts::new(1);
        same_number(&mut c, 7);
        let first = c.held[&(Entity::User, 7)].conflict.first_seen;
        c.dirty = false;
        same_number(&mut c, 7);
        let held = &c.held[&(Entity::User, 7)].conflict;
        assert_eq!((held.count, held.first_seen), (2, first));
        assert!(!c.dirty, "a repeat alone is not a new list");
        c.release(Entity::User, 7);
        assert!(c.is_empty() && c.dirty);
    }

    #[test]
    fn a_retry_is_no_repeat() {
        let mut c = Conflicts::new(1);
        same_number(&mut c, 7);
        let again = c.retry();
        assert_eq!(again.len(), 1);
        same_number(&mut c, 7);
        c.retried();
        assert_eq!(c.held[&(Entity::User, 7)].conflict.count, 1);
    }

    #[test]
    fn a_reconciliation_drops_what_it_does_not_find_again_and_keeps_counts() {
        let mut c = Conflicts::new(1);
        same_number(&mut c, 7);
        c.hold(
            ConflictKind::SameHandset,
            Entity::Device,
            8,
            "ipei",
            2,
            "y".into(),
            record(),
        );
        c.begin_round();
        same_number(&mut c, 7);
        c.end_round();
        assert_eq!(c.len(), 1);
        assert_eq!(c.held[&(Entity::User, 7)].conflict.count, 2);
    }

    #[test]
    fn at_most_max_held_records_are_kept() {
        let mut c = Conflicts::new(1);
        for id in 0..=u32::try_from(MAX_HELD).unwrap() {
            c.hold(
                ConflictKind::Refused,
                Entity::User,
                id,
                "k",
                0,
                "r".into(),
                record(),
            );
        }
        assert_eq!(c.len(), MAX_HELD);
        assert_eq!(c.dropped, 1);
    }
}
