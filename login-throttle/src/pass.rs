//! A login admitted by a throttle that several tasks share: [`Pass`] settles its
//! [`Attempt`] on every path, as abandoned when the task ends without an outcome (a client
//! that goes away while its password is being checked drops the request's future).

use crate::{Attempt, Finish, Lockout, Refused, Throttle};
use std::sync::Mutex;
use std::time::Instant;

/// An admitted login on a shared [`Throttle`]; finished on drop as [`Finish::Abandoned`].
#[derive(Debug)]
pub struct Pass<'a> {
    table: &'a Mutex<Throttle>,
    attempt: Option<Attempt>,
}

fn lock(table: &Mutex<Throttle>) -> std::sync::MutexGuard<'_, Throttle> {
    table
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl<'a> Pass<'a> {
    /// Admits a login by `name` from `source` now ([`Throttle::begin`]).
    ///
    /// # Errors
    /// As [`Throttle::begin`].
    pub fn begin(
        table: &'a Mutex<Throttle>,
        name: &str,
        source: std::net::IpAddr,
    ) -> Result<Self, Refused> {
        let attempt = lock(table).begin(name, source, Instant::now())?;
        Ok(Self {
            table,
            attempt: Some(attempt),
        })
    }

    /// Settles the login; the lockout a failure caused, if any.
    pub fn finish(mut self, how: Finish) -> Option<Lockout> {
        let attempt = self.attempt.take()?;
        lock(self.table).finish(attempt, how, Instant::now())
    }
}

impl Drop for Pass<'_> {
    fn drop(&mut self) {
        if let Some(attempt) = self.attempt.take() {
            lock(self.table).finish(attempt, Finish::Abandoned, Instant::now());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_pass_counts_as_abandoned_and_frees_its_slot() {
        let table = Mutex::new(Throttle::default());
        let ip: std::net::IpAddr = [192, 0, 2, 1].into();
        let passes: Vec<Pass<'_>> = (0..5)
            .map(|_| Pass::begin(&table, "mom", ip).unwrap())
            .collect();
        assert_eq!(Pass::begin(&table, "mom", ip).unwrap_err(), Refused::Busy);
        drop(passes);
        assert!(matches!(
            Pass::begin(&table, "mom", ip).unwrap_err(),
            Refused::Locked(_)
        ));
    }
}
