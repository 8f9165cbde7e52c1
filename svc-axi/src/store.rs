//! The store as svc-axi uses it: `ipc`'s typed client ([`Store::for_omm`] marks a link's
//! writes with its OMM), and the link state a link reports, best effort.

pub use ipc::store_client::{Failure, Result, Store};
use model::OmmHealth;

/// Records OMM `id`'s link state; a failure is logged, not returned (the link goes on, and
/// the next state it reports replaces this one).
pub async fn record_health(store: &Store, id: u32, health: OmmHealth, cloud_id: Option<String>) {
    if let Err(e) = store.set_omm_health(id, health, cloud_id).await {
        tracing::debug!(omm = id, error = %e, "could not record the link state");
    }
}
