//! Queries inside the store and the change feed.

use super::*;
use ipc::api::store::{StoreError, StoreRequest as R, StoreResponse as S};
use model::{Filter, FilterOp, Query, SortDirection, User};
use svc_store::engine::Backlog;
use svc_store::Store;

#[test]
fn queries_sort_filter_and_page_inside_the_store() {
    let (_dir, store) = open();
    let users: Vec<User> = (0..300)
        .map(|i| User {
            name: format!("n{:03}", (i * 7) % 300),
            ..user(&format!("{}", 5000 + i))
        })
        .collect();
    store
        .write(R::BulkPut {
            users,
            devices: vec![],
        })
        .unwrap();
    let query = Query {
        filters: vec![Filter {
            column: "name".into(),
            op: FilterOp::StartsWith,
            value: "N1".into(),
        }],
        sort_column: "name".into(),
        sort: SortDirection::Descending,
        offset: 10,
        limit: 5,
    };
    let S::Users(page) = store.read(&R::QueryUsers(query.clone())).unwrap() else {
        panic!()
    };
    assert_eq!(page.total, 100);
    let names: Vec<_> = page.items.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["n189", "n188", "n187", "n186", "n185"]);

    // Columns are built on first use and then follow every write: a rename, a delete and a
    // new user show up in the next query, and in one sorted on a column built later.
    let mut renamed = page.items[0].clone();
    renamed.name = "n1999".into();
    store.write(R::PutUser(renamed.clone())).unwrap();
    store.write(R::DeleteUser(page.items[1].uid)).unwrap();
    store
        .write(R::PutUser(User {
            name: "n1500".into(),
            ..user("9999")
        }))
        .unwrap();
    let top = |store: &Store, column: &str| {
        let S::Users(page) = store
            .read(&R::QueryUsers(Query {
                sort_column: column.into(),
                sort: SortDirection::Descending,
                offset: 0,
                limit: 3,
                ..query.clone()
            }))
            .unwrap()
        else {
            panic!()
        };
        (page.total, page.items)
    };
    let (total, items) = top(&store, "name");
    assert_eq!(total, 100, "one deleted, one added");
    assert_eq!(items[0].name, "n1999");
    let count = |name: &str| {
        let S::Users(page) = store
            .read(&R::QueryUsers(Query {
                filters: vec![Filter {
                    column: "name".into(),
                    op: FilterOp::Equals,
                    value: name.into(),
                }],
                ..Query::default()
            }))
            .unwrap()
        else {
            panic!()
        };
        page.total
    };
    assert_eq!(count("n188"), 0, "deleted");
    assert_eq!(count("n1500"), 1, "added");
    let (total, items) = top(&store, "num");
    assert_eq!(total, 100);
    assert_eq!(items[0].num, "9999");

    let bad = Query {
        sort_column: "nope".into(),
        sort: SortDirection::Ascending,
        ..Query::default()
    };
    assert!(matches!(
        err(store.read(&R::QueryUsers(bad))),
        StoreError::Query(_)
    ));
}

#[test]
fn change_feed_resumes_or_asks_for_a_resync() {
    let (_dir, store) = open();
    let rev0 = store.revision().unwrap();
    store.write(R::PutUser(user("1"))).unwrap();
    store.write(R::PutUser(user("2"))).unwrap();
    let Backlog::Changes(changes) = store.backlog(rev0).unwrap() else {
        panic!()
    };
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[1].rev, rev0 + 2);
    assert_eq!(store.backlog(rev0 + 2).unwrap(), Backlog::Changes(vec![]));
    // A revision from the future (another database) must resync.
    assert!(matches!(
        store.backlog(rev0 + 100).unwrap(),
        Backlog::ResyncNeeded(_)
    ));
    // A refused write changes no revision.
    let _ = store.write(R::PutUser(user("1")));
    assert_eq!(store.revision().unwrap(), rev0 + 2);
}

#[test]
fn changes_carry_the_omm_link_that_made_them() {
    let (_dir, store) = open();
    let rev0 = store.revision().unwrap();
    store
        .write(R::FromOmm {
            omm: 7,
            request: Box::new(R::PutUser(user("1"))),
        })
        .unwrap();
    store.write(R::PutUser(user("2"))).unwrap();
    let Backlog::Changes(changes) = store.backlog(rev0).unwrap() else {
        panic!()
    };
    assert_eq!(changes.iter().map(|c| c.origin).collect::<Vec<_>>(), [7, 0]);
    let wrapped = R::FromOmm {
        omm: 7,
        request: Box::new(R::GetSettings),
    };
    assert!(!wrapped.is_read(), "the server unwraps it first");
    assert!(R::GetSettings.is_read());
}
