//! Amounts held per key and given back when their holder goes: connections per client
//! address (svc-web's listeners, svc-maxi's pre-login places) and bytes reserved per OMM
//! folder (svc-web's uploads). The caller decides from the total and the key's own amount
//! how much to take, or why not; [`Held`] gives it back when dropped, on every path.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Amounts held per key.
#[derive(Debug)]
pub struct Tally<K: Eq + Hash> {
    counts: Arc<Mutex<HashMap<K, u64>>>,
}

impl<K: Eq + Hash> Default for Tally<K> {
    fn default() -> Self {
        Self {
            counts: Arc::default(),
        }
    }
}

/// An amount held for a key until dropped.
#[derive(Debug)]
pub struct Held<K: Eq + Hash> {
    counts: Arc<Mutex<HashMap<K, u64>>>,
    key: K,
    /// What is held.
    pub amount: u64,
}

fn lock<K>(counts: &Mutex<HashMap<K, u64>>) -> MutexGuard<'_, HashMap<K, u64>> {
    counts.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<K: Eq + Hash + Clone> Tally<K> {
    /// Takes what `decide` allows for `key`, given the total held and the key's own
    /// amount; nothing when it says why not (or allows 0, as `Ok(0)` holds nothing).
    ///
    /// # Errors
    /// What `decide` answered.
    pub fn take<E>(
        &self,
        key: &K,
        decide: impl FnOnce(u64, u64) -> Result<u64, E>,
    ) -> Result<Held<K>, E> {
        let mut counts = lock(&self.counts);
        let total = counts.values().sum();
        let here = counts.get(key).copied().unwrap_or(0);
        let amount = decide(total, here)?;
        if amount > 0 {
            *counts.entry(key.clone()).or_default() += amount;
        }
        Ok(Held {
            counts: Arc::clone(&self.counts),
            key: key.clone(),
            amount,
        })
    }
}

impl<K: Eq + Hash> Drop for Held<K> {
    fn drop(&mut self) {
        let mut counts = lock(&self.counts);
        if let Some(n) = counts.get_mut(&self.key) {
            *n = n.saturating_sub(self.amount);
            if *n == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_held_per_key_and_given_back_on_drop() {
        let tally: Tally<&str> = Tally::default();
        let at_most_two = |_total: u64, here: u64| if here < 2 { Ok(1) } else { Err("full") };
        let a = tally.take(&"a", at_most_two).unwrap();
        let _b = tally.take(&"a", at_most_two).unwrap();
        assert_eq!(tally.take(&"a", at_most_two).unwrap_err(), "full");
        let other = tally.take(&"b", |total, here| Ok::<_, ()>(total * 10 + here));
        assert_eq!(
            other.unwrap().amount,
            20,
            "the total and the key's own amount"
        );
        drop(a);
        assert!(tally.take(&"a", at_most_two).is_ok());
    }
}
