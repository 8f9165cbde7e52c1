//! The event log and the statistics counters.

use super::*;

impl Tx<'_, '_> {
    /// Adds an event-log entry; the same event again raises its count and moves it to the
    /// top. At most [`EVENT_LOG_CAPACITY`] entries are kept.
    ///
    /// # Errors
    /// [`StoreError::Storage`].
    pub fn log_event(
        &mut self,
        severity: Severity,
        subsystem: &str,
        text: &str,
    ) -> Result<(), StoreError> {
        let subsystem: String = subsystem.chars().take(64).collect();
        let text: String = text.chars().take(512).collect();
        let mut entries: Vec<EventEntry> = self.view.all(Db::Events)?;
        let mut count = 1;
        if let Some(pos) = entries
            .iter()
            .position(|e| e.severity == severity && e.subsystem == subsystem && e.text == text)
        {
            let old = entries.remove(pos);
            count = old.count.saturating_add(1);
            self.view.delete(Db::Events, &seq_key(old.seq))?;
        }
        let seq: u64 = self.view.get(Db::Meta, meta::NEXT_EVENT)?.unwrap_or(1);
        self.view.put(Db::Meta, meta::NEXT_EVENT, &(seq + 1))?;
        let entry = EventEntry {
            seq,
            severity,
            subsystem,
            count,
            time: now(),
            text,
        };
        self.view.put(Db::Events, &seq_key(seq), &entry)?;
        let excess = (entries.len() + 1).saturating_sub(EVENT_LOG_CAPACITY);
        for old in entries.iter().take(excess) {
            self.view.delete(Db::Events, &seq_key(old.seq))?;
        }
        self.changed(Entity::EventLog, 0, ChangeOp::Put);
        Ok(())
    }

    pub(super) fn update_counter(
        &mut self,
        name: &str,
        f: impl FnOnce(u64) -> u64,
    ) -> Result<StoreResponse, StoreError> {
        if name.is_empty() || name.len() > 64 {
            return Err(invalid("a counter name has 1 to 64 characters"));
        }
        let mut counter: Counter = self
            .view
            .get(Db::Counters, name.as_bytes())?
            .unwrap_or_else(|| Counter {
                name: name.to_owned(),
                ..Counter::default()
            });
        counter.value = f(counter.value);
        self.view.put(Db::Counters, name.as_bytes(), &counter)?;
        Ok(StoreResponse::Done)
    }

    /// Appends the current value of every counter to its history.
    ///
    /// # Errors
    /// [`StoreError::Storage`].
    pub fn sample_counters(&mut self) -> Result<(), StoreError> {
        let t = now();
        let counters: Vec<Counter> = self.view.all(Db::Counters)?;
        for mut counter in counters {
            counter.history.push((t, counter.value));
            let excess = counter.history.len().saturating_sub(COUNTER_HISTORY);
            counter.history.drain(..excess);
            self.view
                .put(Db::Counters, counter.name.as_bytes(), &counter)?;
        }
        Ok(())
    }
}
