//! The store's integrity rules, queries, change feed and import checks, driven in-process
//! through the same engine the IPC server uses, on a real LMDB file.

use ipc::api::store::{StoreError, StoreRequest as R, StoreResponse as S};
use model::{Ipei, License, Query, User};
use svc_store::transfer::Transfers;
use svc_store::Store;

mod feed;
mod health;
mod records;
mod schema;
mod secrets;
mod transfer;

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let opened = Store::open(&dir.path().join("db")).unwrap();
    assert!(opened.created);
    (dir, opened.store)
}

fn user(num: &str) -> User {
    User {
        num: num.into(),
        name: format!("User {num}"),
        ..User::default()
    }
}

fn ipei(psn: u32) -> Ipei {
    Ipei::new(3074, psn).unwrap()
}

fn created(resp: S) -> u32 {
    match resp {
        S::Created(id) => id,
        other => panic!("expected Created, got {other:?}"),
    }
}

fn err(result: Result<S, StoreError>) -> StoreError {
    result.expect_err("the store accepted a write that breaks a rule")
}

fn user_count(store: &Store) -> u64 {
    let S::Users(page) = store
        .read(&R::QueryUsers(Query {
            limit: 1,
            ..Query::default()
        }))
        .unwrap()
    else {
        panic!()
    };
    page.total
}

fn sample_license(installation_id: &str, sari: &str) -> License {
    License {
        installation_id: installation_id.into(),
        customer_name: "TES3".into(),
        country: "GERMANY".into(),
        system_license: "2MBSR-ZD5T8-SELNP-SAAGW-ZZV21".into(),
        licensed_version: "10.1".into(),
        sari: sari.into(),
    }
}

fn export(store: &Store, transfers: &Transfers) -> Vec<u8> {
    let (id, size) = transfers.export_begin(store).unwrap();
    let mut out = Vec::new();
    loop {
        let chunk = transfers.export_chunk(id, out.len() as u64).unwrap();
        if chunk.is_empty() {
            break;
        }
        out.extend(chunk);
    }
    assert_eq!(out.len() as u64, size);
    out
}

fn import(store: &Store, transfers: &Transfers, bytes: &[u8]) -> Result<u64, StoreError> {
    let id = transfers.import_begin(bytes.len() as u64)?;
    for chunk in bytes.chunks(4096) {
        transfers.import_chunk(id, chunk)?;
    }
    transfers.import_commit(id, store, false)
}
