//! Writes that come from the cluster's log: a committed entry applied with its leader's time
//! and its log id written in the same transaction, and a snapshot installed in place of the
//! database.

use super::state_machine::Mark;
use super::{Applied, Command};
use crate::engine::{create_private_dir, Store};
use crate::storage::Storage;
use ipc::api::store::{StoreError, StoreRequest, StoreResponse};

impl Store {
    /// Applies a committed cluster entry through the store's write path, with the time the
    /// leader proposed it at and the randomness of its seed; `mark` (the entry's log id) is
    /// written in the same transaction. A refused request is refused here as on every node,
    /// and its entry is still marked.
    ///
    /// # Errors
    /// [`StoreError::Storage`] when the database cannot be written: the node cannot go on.
    /// The request's own refusal is the `Ok` value's `Err`.
    pub(crate) fn apply_replicated(
        &self,
        command: Command,
        mark: &Mark,
    ) -> Result<Applied, StoreError> {
        let seed = command.seed;
        let outcome = model::at_time(command.time, || {
            crate::entropy::with_seed(seed, || match command.request {
                StoreRequest::InstallLicense(file) => {
                    let verified = license::verify(&file, self.license_issuers())
                        .map_err(|e| StoreError::LicenseRefused(e.to_string()))?;
                    self.write_with(|tx| {
                        tx.install_license(verified.license, file)?;
                        mark.write(tx.view)?;
                        Ok(StoreResponse::Done)
                    })
                }
                StoreRequest::FromOmm { omm, request } => self.write_from(omm, |tx| {
                    let answer = tx.apply(*request)?;
                    mark.write(tx.view)?;
                    Ok(answer)
                }),
                other => self.write_with(|tx| {
                    let answer = tx.apply(other)?;
                    mark.write(tx.view)?;
                    Ok(answer)
                }),
            })
        });
        match outcome {
            Err(StoreError::Storage(e)) => Err(StoreError::Storage(e)),
            Err(refused) => {
                self.mark_applied(mark)?;
                Ok(Err(refused))
            }
            Ok(answer) => Ok(Ok(answer)),
        }
    }

    /// Marks an entry that changes no record (a leader's blank entry, a membership change)
    /// as applied.
    ///
    /// # Errors
    /// [`StoreError::Storage`].
    pub(crate) fn mark_applied(&self, mark: &Mark) -> Result<(), StoreError> {
        self.write_with(|tx| mark.write(tx.view))
    }

    /// Replaces the database with a snapshot's `dump`, checked in full first, and marks it
    /// as standing at `mark`.
    ///
    /// # Errors
    /// [`StoreError::Import`] for a dump that does not check; [`StoreError::Storage`].
    pub(crate) fn install_snapshot(&self, dump: &[u8], mark: &Mark) -> Result<(), StoreError> {
        let work = self.db_dir().join("raft").join("incoming");
        let _ = std::fs::remove_dir_all(&work);
        create_private_dir(&work)?;
        let result = (|| {
            let key = std::sync::Arc::clone(self.storage()?.get().key());
            let imported_rev = {
                let fresh = Storage::open(&work, key)?;
                let rev = crate::dump::read_into(dump, &fresh, None)?;
                let mut view = fresh.write()?;
                mark.write(&mut view)?;
                view.commit()?;
                rev
            };
            crate::transfer::swap_in(
                self,
                &work.join("data.mdb"),
                imported_rev,
                crate::transfer::Numbering::Kept,
            )
        })();
        let _ = std::fs::remove_dir_all(&work);
        result.map(|_| ())
    }
}
