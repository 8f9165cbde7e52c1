//! Whether the database takes writes (a full disk, a full map, an I/O error): a pure state
//! machine with the clock passed in, like the supervisor's restart policy. A failing write
//! loses nothing (the transaction is dropped and the caller gets the error), but an
//! administrator must learn of it: the journal gets a line when writes start failing (and
//! at most one a minute while they go on), the "Database" health state says so, and once a
//! write succeeds again the event log records the outage (it could not be written during
//! it: it lives in the same database).

use model::Timestamp;

/// Seconds between journal lines while writes keep failing.
const REMIND_SECS: u64 = 60;

/// An ongoing outage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outage {
    /// When the first write failed.
    pub since: Timestamp,
    /// Writes refused since.
    pub refused: u64,
    /// The last error.
    pub error: String,
    /// When the journal last heard of it.
    told: Timestamp,
}

/// What the store should do after a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Nothing.
    Nothing,
    /// Write this line to the journal (an error).
    Journal(String),
    /// Writes work again: add this entry to the event log and the journal.
    Recovered(String),
}

/// The state.
#[derive(Debug, Default)]
pub struct WriteHealth {
    outage: Option<Outage>,
}

impl WriteHealth {
    /// The ongoing outage, if any.
    #[must_use]
    pub fn outage(&self) -> Option<&Outage> {
        self.outage.as_ref()
    }

    /// A write failed at `now` with a storage error.
    pub fn failed(&mut self, now: Timestamp, error: &str) -> Action {
        match &mut self.outage {
            None => {
                self.outage = Some(Outage {
                    since: now,
                    refused: 1,
                    error: error.to_owned(),
                    told: now,
                });
                Action::Journal(format!(
                    "database writes fail: {error}; nothing already saved is lost, but no change is saved until this is fixed (free disk space)"
                ))
            }
            Some(o) => {
                o.refused += 1;
                error.clone_into(&mut o.error);
                if now.saturating_sub(o.told) >= REMIND_SECS {
                    o.told = now;
                    Action::Journal(format!(
                        "database writes still fail: {error} ({} refused since {})",
                        o.refused,
                        model::time_text(o.since)
                    ))
                } else {
                    Action::Nothing
                }
            }
        }
    }

    /// A write succeeded at `now`.
    pub fn succeeded(&mut self, now: Timestamp) -> Action {
        match self.outage.take() {
            None => Action::Nothing,
            Some(o) => Action::Recovered(format!(
                "Database writes failed for {} s ({} refused, last error: {}); they work again",
                now.saturating_sub(o.since),
                o.refused,
                o.error
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_is_told_once_then_reminded_then_recorded_when_it_ends() {
        let mut h = WriteHealth::default();
        assert_eq!(h.succeeded(10), Action::Nothing);
        assert!(
            matches!(h.failed(100, "MDB_MAP_FULL"), Action::Journal(t) if t.contains("MDB_MAP_FULL"))
        );
        assert_eq!(h.failed(130, "MDB_MAP_FULL"), Action::Nothing);
        assert!(matches!(h.failed(170, "ENOSPC"), Action::Journal(t) if t.contains("3 refused")));
        assert_eq!(h.outage().map(|o| (o.since, o.refused)), Some((100, 3)));
        let Action::Recovered(text) = h.succeeded(200) else {
            panic!("recovered")
        };
        assert!(
            text.contains("100 s") && text.contains("3 refused") && text.contains("ENOSPC"),
            "{text}"
        );
        assert!(h.outage().is_none());
        assert_eq!(h.succeeded(201), Action::Nothing);
    }
}
