//! The accounts and the system settings as the session check last read them (pages read
//! the store itself). Every request's session check needs both, which cost two store round
//! trips per request before its own work. They are read again after the store's change
//! feed says either changed (`follow_feed`), after svc-web writes them itself (the caller's
//! next request must see its own write, which the feed may not have brought yet), and
//! whenever the feed starts or resyncs.

use model::{Account, Settings};
use std::sync::{Arc, Mutex, PoisonError};

/// What is known, and how many times it was forgotten (a read that started before the last
/// forgetting must not be kept: it may hold what the change replaced).
#[derive(Default)]
pub(crate) struct Known {
    forgotten: u64,
    accounts: Option<Arc<Vec<Account>>>,
    settings: Option<Arc<Settings>>,
}

/// The cache (one per svc-web).
#[derive(Default)]
pub struct KnownRecords {
    known: Mutex<Known>,
}

/// A record kind the cache holds.
pub(crate) trait Kind: Sized {
    /// Its slot in the cache.
    fn slot(known: &mut Known) -> &mut Option<Arc<Self>>;
}

impl Kind for Vec<Account> {
    fn slot(known: &mut Known) -> &mut Option<Arc<Self>> {
        &mut known.accounts
    }
}

impl Kind for Settings {
    fn slot(known: &mut Known) -> &mut Option<Arc<Self>> {
        &mut known.settings
    }
}

impl KnownRecords {
    fn lock(&self) -> std::sync::MutexGuard<'_, Known> {
        self.known.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Forgets everything: the accounts or the settings changed, or may have.
    pub fn forget(&self) {
        let mut known = self.lock();
        known.forgotten += 1;
        known.accounts = None;
        known.settings = None;
    }

    /// The kept value of `T`, or `read`'s, kept unless the cache was forgotten meanwhile.
    ///
    /// # Errors
    /// `read`'s.
    pub(crate) async fn get_or_read<T: Kind, E>(
        &self,
        read: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<Arc<T>, E> {
        let forgotten = {
            let mut known = self.lock();
            if let Some(value) = T::slot(&mut known) {
                return Ok(Arc::clone(value));
            }
            known.forgotten
        };
        let value = Arc::new(read.await?);
        let mut known = self.lock();
        if known.forgotten == forgotten {
            *T::slot(&mut known) = Some(Arc::clone(&value));
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(id: u32) -> Account {
        Account {
            id,
            name: format!("account{id}"),
            password_hash: String::new(),
            enabled: true,
            read: true,
            write: false,
            must_change_password: false,
        }
    }

    #[tokio::test]
    async fn a_value_is_read_once_until_forgotten() {
        let cache = KnownRecords::default();
        let read = |id| async move { Ok::<_, ()>(vec![account(id)]) };
        assert_eq!(cache.get_or_read(read(1)).await.unwrap()[0].id, 1);
        assert_eq!(cache.get_or_read(read(2)).await.unwrap()[0].id, 1, "kept");
        cache.forget();
        assert_eq!(cache.get_or_read(read(3)).await.unwrap()[0].id, 3);
        // A failed read keeps nothing.
        cache.forget();
        assert!(cache
            .get_or_read(async { Err::<Vec<Account>, _>(()) })
            .await
            .is_err());
        assert_eq!(cache.get_or_read(read(4)).await.unwrap()[0].id, 4);
    }

    #[tokio::test]
    async fn a_read_overtaken_by_a_change_is_not_kept() {
        let cache = KnownRecords::default();
        // The read starts, the change is announced while it runs, then the read ends: its
        // answer is served once but not kept.
        let stale = cache
            .get_or_read(async {
                cache.forget();
                Ok::<_, ()>(vec![account(1)])
            })
            .await
            .unwrap();
        assert_eq!(stale[0].id, 1);
        let fresh = cache
            .get_or_read(async { Ok::<_, ()>(vec![account(2)]) })
            .await
            .unwrap();
        assert_eq!(fresh[0].id, 2);
    }

    #[tokio::test]
    async fn settings_and_accounts_are_kept_apart() {
        let cache = KnownRecords::default();
        let settings = Settings {
            accepted_eula_version: "9.9".into(),
            ..Settings::default()
        };
        let kept = cache
            .get_or_read(async { Ok::<_, ()>(settings.clone()) })
            .await
            .unwrap();
        assert_eq!(kept.accepted_eula_version, "9.9");
        let accounts = cache
            .get_or_read(async { Ok::<_, ()>(vec![account(7)]) })
            .await
            .unwrap();
        assert_eq!(accounts[0].id, 7);
        let again = cache
            .get_or_read(async { Err::<Settings, ()>(()) })
            .await
            .unwrap();
        assert_eq!(again.accepted_eula_version, "9.9");
    }
}
