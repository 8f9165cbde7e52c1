//! The audit trail of writes through MAXI, like the web API's (`svc-web/src/audit.rs`): who
//! (the MOM account), from where (`maxi <address>`), what; the store adds the records
//! before and after, secrets redacted, in the write's own transaction.

use crate::caller::Caller;
use crate::service::Service;
use ipc::api::store::Audit;
use ipc::store_client::Store;

/// The store for one change `caller` makes: its writes are audited by the store.
#[must_use]
pub fn store(service: &Service, caller: &Caller, action: &str) -> Store {
    service.store.audited(Audit {
        actor: caller.account.clone(),
        source: format!("maxi {}", caller.source),
        action: action.to_owned(),
        target: String::new(),
    })
}
