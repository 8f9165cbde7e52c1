//! Helpers for tests with a simulated fleet: the runtime it runs on, OMM records that point
//! at its OMMs, and waiting for a condition.

use crate::Mom;
use ipc::api::store::{StoreRequest, StoreResponse};
use model::Omm;
use omm_sim::Fleet;
use std::time::{Duration, Instant};

/// The runtime the simulated fleet of a test runs on (two workers).
///
/// # Panics
/// When the runtime cannot be built.
#[must_use]
pub fn runtime() -> tokio::runtime::Runtime {
    runtime_with(2)
}

/// A runtime for a simulated fleet with `workers` threads (benchmarks leave the MOM a core).
///
/// # Panics
/// When the runtime cannot be built.
#[must_use]
pub fn runtime_with(workers: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Adds an enabled OMM record for fleet OMM `index` (its login `omm`/`omm-password`);
/// returns the record's id.
///
/// # Panics
/// When the store refuses it.
pub fn add_omm(mom: &Mom, fleet: &Fleet, index: u32) -> u32 {
    let omm = Omm {
        enabled: true,
        name: format!("Site {index}"),
        omm1: format!("127.0.0.1:{}", fleet.omm(index).addr.port()),
        user: "omm".into(),
        password: "omm-password".into(),
        ..Omm::default()
    };
    match mom.store(StoreRequest::PutOmm(omm)) {
        StoreResponse::Created(id) => id,
        other => panic!("{other:?}"),
    }
}

/// Every OMM record.
///
/// # Panics
/// When the store does not answer with them.
#[must_use]
pub fn omms(mom: &Mom) -> Vec<Omm> {
    match mom.store(StoreRequest::ListOmms) {
        StoreResponse::Omms(o) => o,
        other => panic!("{other:?}"),
    }
}

/// Waits until `cond` holds, polling every 50 ms.
///
/// # Panics
/// When it does not hold within `timeout`, naming `what`.
pub fn wait(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "{what}: not within {timeout:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
