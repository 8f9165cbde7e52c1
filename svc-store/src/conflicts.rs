//! The open conflicts between sites ([`model::Conflict`]): svc-axi finds them and gives each
//! OMM's list whole; the store keeps them with the database, writes one event-log entry per
//! new conflict, drops an OMM's conflicts with its record, and the "OMM connections" health
//! state names the OMMs that have some.

use crate::ops::Tx;
use crate::storage::Db;
use ipc::api::store::{StoreError, StoreResponse};
use model::{Conflict, Severity};

/// Where the list is kept (in the meta database).
pub const KEY: &[u8] = b"conflicts";

/// Most conflicts kept for all OMMs together; svc-axi holds at most 5,000 per link.
pub const MAX_CONFLICTS: usize = 20_000;

/// Longest key or reason kept.
const MAX_TEXT: usize = 300;

/// New conflicts of one list that get an event-log entry each; the rest share one (an OMM
/// full of duplicates must not push everything else out of the 100-entry event log).
const LOGGED_ONE_BY_ONE: usize = 3;

impl Tx<'_, '_> {
    /// Replaces OMM `omm`'s conflicts; each new one gets an event-log entry.
    pub(crate) fn set_conflicts(
        &mut self,
        omm: u32,
        conflicts: Vec<Conflict>,
    ) -> Result<StoreResponse, StoreError> {
        let all: Vec<Conflict> = self.view.get(Db::Meta, KEY)?.unwrap_or_default();
        let (before, mut rest): (Vec<Conflict>, Vec<Conflict>) =
            all.into_iter().partition(|c| c.omm == omm);
        if before.is_empty() && conflicts.is_empty() {
            // Nothing was and nothing is: no write (every link says so when it connects).
            return Ok(StoreResponse::Done);
        }
        let same = |a: &Conflict, b: &Conflict| {
            (a.entity, a.omm_record, a.kind, &a.key) == (b.entity, b.omm_record, b.kind, &b.key)
        };
        let room = MAX_CONFLICTS.saturating_sub(rest.len());
        let mut new = 0;
        for mut c in conflicts.into_iter().filter(|c| c.omm == omm).take(room) {
            c.key = model::printable(&c.key).chars().take(MAX_TEXT).collect();
            c.reason = model::printable(&c.reason).chars().take(MAX_TEXT).collect();
            match before.iter().find(|b| same(b, &c)) {
                Some(b) => c.first_seen = c.first_seen.min(b.first_seen),
                None => {
                    new += 1;
                    if new <= LOGGED_ONE_BY_ONE {
                        self.log_event(
                            Severity::Warning,
                            "axi",
                            &format!("Conflict, record held back: {}", c.reason),
                        )?;
                    }
                }
            }
            rest.push(c);
        }
        if new > LOGGED_ONE_BY_ONE {
            self.log_event(
                Severity::Warning,
                "axi",
                &format!(
                    "{} more conflicts at OMM {omm}, records held back (sip-dect-mom conflicts lists them)",
                    new - LOGGED_ONE_BY_ONE
                ),
            )?;
        }
        self.view.put(Db::Meta, KEY, &rest)?;
        Ok(StoreResponse::Done)
    }

    /// Drops the conflicts of a deleted OMM record.
    pub(crate) fn drop_conflicts(&mut self, omm: u32) -> Result<(), StoreError> {
        let mut all: Vec<Conflict> = self.view.get(Db::Meta, KEY)?.unwrap_or_default();
        let before = all.len();
        all.retain(|c| c.omm != omm);
        if all.len() != before {
            self.view.put(Db::Meta, KEY, &all)?;
        }
        Ok(())
    }
}
