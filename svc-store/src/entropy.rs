//! The randomness of a write: password salts and the nonces of sealed secrets.
//!
//! A single store draws them from the thread's CSPRNG (seeded from the system). A cluster's
//! committed entry carries a seed its leader drew; every node applies the entry with a
//! ChaCha20 stream of that seed, so each node makes the same salts and nonces and the nodes'
//! databases stay equal byte for byte (a backup from any node is the same file). Within one
//! entry the stream never repeats, and every entry has a fresh 256-bit seed, so a nonce is as
//! unlikely to repeat as a random one.

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use std::cell::RefCell;

thread_local! {
    static SEEDED: RefCell<Option<ChaCha20Rng>> = const { RefCell::new(None) };
}

/// A fresh seed for an entry the leader proposes.
#[must_use]
pub fn seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    rand::rng().fill(&mut seed[..]);
    seed
}

/// Runs `f` with this thread's randomness drawn from `seed` (a cluster entry being applied).
pub fn with_seed<R>(seed: [u8; 32], f: impl FnOnce() -> R) -> R {
    let before = SEEDED.with(|s| s.replace(Some(ChaCha20Rng::from_seed(seed))));
    // Put back on every path, a panic included.
    struct Restore(Option<ChaCha20Rng>);
    impl Drop for Restore {
        fn drop(&mut self) {
            SEEDED.with(|s| *s.borrow_mut() = self.0.take());
        }
    }
    let _restore = Restore(before);
    f()
}

/// Fills `bytes` with this write's randomness.
pub fn fill(bytes: &mut [u8]) {
    SEEDED.with(|s| match s.borrow_mut().as_mut() {
        Some(seeded) => seeded.fill_bytes(bytes),
        None => rand::rng().fill_bytes(bytes),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draw() -> [u8; 16] {
        let mut b = [0u8; 16];
        fill(&mut b);
        b
    }

    #[test]
    fn one_seed_draws_the_same_stream_on_every_node_and_never_repeats_within_it() {
        let fixed = [7u8; 32];
        let a = with_seed(fixed, || (draw(), draw()));
        let b = with_seed(fixed, || (draw(), draw()));
        assert_eq!(a, b, "the same entry, the same salts and nonces");
        assert_ne!(a.0, a.1, "two draws of one entry differ");
        assert_ne!(
            with_seed([8u8; 32], draw),
            a.0,
            "another entry, another stream"
        );
    }

    #[test]
    fn outside_an_entry_it_is_random_and_the_seed_is_put_back_after_a_panic() {
        assert_ne!(draw(), draw());
        let fixed = [9u8; 32];
        let first = with_seed(fixed, draw);
        let caught = std::panic::catch_unwind(|| with_seed(fixed, || panic!("a refused write")));
        assert!(caught.is_err());
        assert_ne!(draw(), first, "no seeded stream left behind");
        assert_ne!(seed(), seed(), "every entry gets a seed of its own");
    }
}
