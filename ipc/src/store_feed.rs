//! The store's change feed, followed across reconnects: what every service that reacts to
//! changes (svc-axi's links, svc-web's live events, svc-maxi's events) needs, written once.
//!
//! [`Follower`] is the rule, sans IO: after every (re)connection it subscribes again from the
//! last revision it saw; it tells the first `ResyncNeeded` (where the stream starts: nothing
//! to reload) from a later one (an import, or a gap in the log: reload everything); and a
//! `Subscribe` the store refused or did not answer is tried again for as long as the
//! connection it was made on lasts. [`follow`] runs it on a client's event stream.

use crate::api::store::{Change, StoreResponse};
use crate::client::ClientEvent;
use crate::store_client::Store;
use std::time::Duration;
use tokio::sync::mpsc;

/// How long a refused `Subscribe` waits before it is tried again.
pub const RESUBSCRIBE_AFTER: Duration = Duration::from_secs(1);

/// What a follower hands on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedEvent {
    /// The stream starts at revision `rev` (the first subscription found no revision to
    /// resume from): nothing to reload.
    Start {
        /// The store's revision.
        rev: u64,
    },
    /// A committed change.
    Change(Change),
    /// Everything may have changed (a database import, or the follower fell behind the
    /// change log): reload, then go on from `rev`.
    Resync {
        /// The store's revision.
        rev: u64,
    },
}

/// What the follower asks its shell to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Nothing.
    Nothing,
    /// Hand on an event.
    Deliver(FeedEvent),
    /// Send `Subscribe { from_rev }` on the connection numbered `connection`.
    Subscribe {
        /// The last revision seen.
        from_rev: u64,
        /// Which connection it belongs to (a newer one makes it moot).
        connection: u64,
    },
    /// As [`Step::Subscribe`], after [`RESUBSCRIBE_AFTER`]; `first_failure` says whether to
    /// log it (once per connection).
    Retry {
        /// The last revision seen.
        from_rev: u64,
        /// Which connection it belongs to.
        connection: u64,
        /// The first failure on this connection.
        first_failure: bool,
    },
}

/// The follower's state: the last revision seen, whether the stream has started, and the
/// current connection.
#[derive(Debug, Default)]
pub struct Follower {
    last: u64,
    started: bool,
    connection: u64,
    failed_on: Option<u64>,
}

impl Follower {
    /// A follower that has seen nothing yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The last revision seen.
    #[must_use]
    pub fn last(&self) -> u64 {
        self.last
    }

    /// What to do about an event of the store client.
    pub fn on_event(&mut self, event: ClientEvent<StoreResponse>) -> Step {
        match event {
            ClientEvent::Connected(_) => {
                self.connection += 1;
                Step::Subscribe {
                    from_rev: self.last,
                    connection: self.connection,
                }
            }
            ClientEvent::Event(StoreResponse::Changed(change)) => {
                self.last = change.rev;
                Step::Deliver(FeedEvent::Change(change))
            }
            ClientEvent::Event(StoreResponse::ResyncNeeded { rev }) => {
                self.last = rev;
                if std::mem::replace(&mut self.started, true) {
                    Step::Deliver(FeedEvent::Resync { rev })
                } else {
                    Step::Deliver(FeedEvent::Start { rev })
                }
            }
            ClientEvent::Event(_) | ClientEvent::Disconnected(_) => Step::Nothing,
        }
    }

    /// A `Subscribe` made on connection `connection` was answered.
    pub fn on_subscribed(&mut self, connection: u64) {
        if connection == self.connection {
            self.failed_on = None;
        }
    }

    /// A `Subscribe` made on connection `connection` failed: try again unless a newer
    /// connection has subscribed anew already.
    pub fn on_subscribe_failed(&mut self, connection: u64) -> Step {
        if connection != self.connection {
            return Step::Nothing;
        }
        let first_failure = self.failed_on.replace(connection) != Some(connection);
        Step::Retry {
            from_rev: self.last,
            connection,
            first_failure,
        }
    }
}

/// Follows the feed of `store`'s client, whose events are `events`: subscribes, resubscribes
/// and hands on [`FeedEvent`]s in order. The returned stream ends when the client's does.
#[must_use]
pub fn follow(
    store: Store,
    mut events: mpsc::Receiver<ClientEvent<StoreResponse>>,
    service: &'static str,
) -> mpsc::Receiver<FeedEvent> {
    let (out, feed) = mpsc::channel(4096);
    let (report, mut reports) = mpsc::unbounded_channel::<(u64, bool)>();
    tokio::spawn(async move {
        let mut follower = Follower::new();
        loop {
            let step = tokio::select! {
                event = events.recv() => match event {
                    Some(event) => follower.on_event(event),
                    None => return,
                },
                Some((connection, ok)) = reports.recv() => {
                    if ok {
                        follower.on_subscribed(connection);
                        Step::Nothing
                    } else {
                        follower.on_subscribe_failed(connection)
                    }
                }
            };
            match step {
                Step::Nothing => {}
                Step::Deliver(event) => {
                    if out.send(event).await.is_err() {
                        return;
                    }
                }
                Step::Subscribe {
                    from_rev,
                    connection,
                } => subscribe(&store, from_rev, connection, None, &report),
                Step::Retry {
                    from_rev,
                    connection,
                    first_failure,
                } => {
                    if first_failure {
                        tracing::warn!(
                            service,
                            from_rev,
                            "could not subscribe to the store's change feed; trying again every second"
                        );
                    }
                    subscribe(
                        &store,
                        from_rev,
                        connection,
                        Some(RESUBSCRIBE_AFTER),
                        &report,
                    );
                }
            }
        }
    });
    feed
}

/// Sends one `Subscribe` in a task of its own (the event stream must keep flowing while it
/// waits) and reports how it went.
fn subscribe(
    store: &Store,
    from_rev: u64,
    connection: u64,
    after: Option<Duration>,
    report: &mpsc::UnboundedSender<(u64, bool)>,
) {
    let store = store.clone();
    let report = report.clone();
    tokio::spawn(async move {
        if let Some(after) = after {
            tokio::time::sleep(after).await;
        }
        let ok = store.subscribe(from_rev).await.is_ok();
        let _ = report.send((connection, ok));
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::store::ChangeOp;
    use crate::Hello;

    fn change(rev: u64) -> ClientEvent<StoreResponse> {
        ClientEvent::Event(StoreResponse::Changed(Change {
            rev,
            entity: model::Entity::User,
            id: 1,
            op: ChangeOp::Put,
            omm: 0,
            origin: 0,
        }))
    }

    fn connected() -> ClientEvent<StoreResponse> {
        ClientEvent::Connected(Hello::new("store", 1))
    }

    #[test]
    fn the_first_resync_starts_the_stream_and_a_later_one_reloads() {
        let mut f = Follower::new();
        assert_eq!(
            f.on_event(connected()),
            Step::Subscribe {
                from_rev: 0,
                connection: 1
            }
        );
        let resync = |rev| ClientEvent::Event(StoreResponse::ResyncNeeded { rev });
        assert_eq!(
            f.on_event(resync(0)),
            Step::Deliver(FeedEvent::Start { rev: 0 })
        );
        assert!(matches!(f.on_event(change(1)), Step::Deliver(FeedEvent::Change(c)) if c.rev == 1));
        // Even from revision 0 (an empty database), a second resync is a reload.
        let mut empty = Follower::new();
        let _ = empty.on_event(resync(0));
        assert_eq!(
            empty.on_event(resync(0)),
            Step::Deliver(FeedEvent::Resync { rev: 0 })
        );
        assert_eq!(
            f.on_event(resync(40)),
            Step::Deliver(FeedEvent::Resync { rev: 40 })
        );
        assert_eq!(f.last(), 40);
    }

    #[test]
    fn a_reconnection_subscribes_from_the_last_revision_seen() {
        let mut f = Follower::new();
        let _ = f.on_event(connected());
        let _ = f.on_event(change(5));
        let _ = f.on_event(change(6));
        assert_eq!(
            f.on_event(ClientEvent::Disconnected("gone".into())),
            Step::Nothing
        );
        assert_eq!(
            f.on_event(connected()),
            Step::Subscribe {
                from_rev: 6,
                connection: 2
            }
        );
    }

    #[test]
    fn a_lost_subscribe_is_tried_again_on_its_connection_only_and_logged_once() {
        let mut f = Follower::new();
        let _ = f.on_event(connected());
        let _ = f.on_event(change(3));
        assert_eq!(
            f.on_subscribe_failed(1),
            Step::Retry {
                from_rev: 3,
                connection: 1,
                first_failure: true
            }
        );
        assert_eq!(
            f.on_subscribe_failed(1),
            Step::Retry {
                from_rev: 3,
                connection: 1,
                first_failure: false
            }
        );
        // A new connection subscribed anew: the old one's failure is moot.
        let _ = f.on_event(connected());
        assert_eq!(f.on_subscribe_failed(1), Step::Nothing);
        // Success resets the "log once".
        f.on_subscribed(2);
        assert!(matches!(
            f.on_subscribe_failed(2),
            Step::Retry {
                first_failure: true,
                ..
            }
        ));
    }

    #[tokio::test]
    async fn the_shell_tries_a_refused_subscribe_again_and_hands_on_the_stream() {
        use crate::api::store::{StoreApi, StoreError, StoreRequest};
        use crate::{Client, ClientOptions, Envelope, Listener};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.sock");
        let me = nix::unistd::getuid().as_raw();
        let listener = Listener::<StoreApi>::bind(&path, 0o600, vec![me]).unwrap();
        // A store that refuses the first Subscribe and takes the second.
        tokio::spawn(async move {
            let pending = listener.accept().await.unwrap();
            let mut ch = pending.handshake(&Hello::new("store", 1)).await.unwrap();
            let mut subscribes = 0;
            while let Ok(Some(request)) = ch.rx.recv().await {
                assert_eq!(request.body, StoreRequest::Subscribe { from_rev: 0 });
                subscribes += 1;
                let refused = StoreResponse::Error(StoreError::Storage("busy".into()));
                let body = if subscribes == 1 {
                    refused
                } else {
                    StoreResponse::Revision(0)
                };
                ch.tx
                    .send(&Envelope {
                        id: request.id,
                        body,
                    })
                    .await
                    .unwrap();
                if subscribes == 2 {
                    let ClientEvent::Event(changed) = change(1) else {
                        unreachable!()
                    };
                    for body in [StoreResponse::ResyncNeeded { rev: 0 }, changed] {
                        ch.tx.send(&Envelope { id: 0, body }).await.unwrap();
                    }
                }
            }
        });
        let (client, events) =
            Client::<StoreApi>::start(path, Hello::new("t", 0), ClientOptions::default());
        let mut feed = follow(Store::new(client), events, "test");
        let wait = Duration::from_secs(5);
        let first = tokio::time::timeout(wait, feed.recv()).await;
        assert_eq!(first, Ok(Some(FeedEvent::Start { rev: 0 })));
        let Ok(Some(FeedEvent::Change(c))) = tokio::time::timeout(wait, feed.recv()).await else {
            panic!("the change after the start")
        };
        assert_eq!(c.rev, 1);
    }
}
