//! Routes the store's change feed to the links it concerns, instead of every link seeing
//! every change (with 500 links and 100,000 imported records that would be 50 million
//! wake-ups). A change of a user or device goes to the link of the OMM it belongs to now and
//! to the link of the OMM it belonged to before (which must delete its copy); a permanent
//! user and its handset (owner 0), settings and a replaced database go to every link; OMM
//! records go to the manager. A link never gets the changes it made itself.

use ipc::api::store::Change;
use model::Entity;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, Notify};

/// Changes a link may have queued before it must reconcile instead.
const LINK_QUEUE: usize = 16_384;

struct LinkQueue {
    tx: mpsc::Sender<Change>,
    overflow: Arc<Notify>,
}

#[derive(Default)]
struct Inner {
    links: HashMap<u32, LinkQueue>,
    /// The OMM each user, device and room belonged to at its last change, one map per kind:
    /// with an `(Entity, u32)` key each entry took 12 bytes instead of 8, and a ten-times MOM
    /// has a million of them.
    owner: [HashMap<u32, u32>; 3],
    manager: Option<mpsc::Sender<Change>>,
}

/// The router.
#[derive(Default)]
pub struct Feed {
    inner: Mutex<Inner>,
}

/// What one link receives.
pub struct LinkFeed {
    /// Changes that concern it.
    pub changes: mpsc::Receiver<Change>,
    /// Signalled when changes were dropped because the queue was full: reconcile.
    pub overflow: Arc<Notify>,
}

impl Feed {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The feed of OMM `omm`'s link (replacing an older one).
    pub fn register(&self, omm: u32) -> LinkFeed {
        let (tx, changes) = mpsc::channel(LINK_QUEUE);
        let overflow = Arc::new(Notify::new());
        self.lock().links.insert(
            omm,
            LinkQueue {
                tx,
                overflow: Arc::clone(&overflow),
            },
        );
        LinkFeed { changes, overflow }
    }

    /// Stops feeding OMM `omm`'s link.
    pub fn unregister(&self, omm: u32) {
        self.lock().links.remove(&omm);
    }

    /// The manager's feed: OMM record changes and database replacements.
    pub fn manager(&self) -> mpsc::Receiver<Change> {
        let (tx, rx) = mpsc::channel(LINK_QUEUE);
        self.lock().manager = Some(tx);
        rx
    }

    /// Sends `change` to whoever it concerns.
    pub fn dispatch(&self, change: Change) {
        let mut inner = self.lock();
        let mut targets: Vec<u32> = Vec::new();
        match change.entity {
            Entity::User | Entity::Device | Entity::ConferenceRoom => {
                let owners = &mut inner.owner[match change.entity {
                    Entity::User => 0,
                    Entity::Device => 1,
                    _ => 2,
                }];
                let before = if change.op == ipc::api::store::ChangeOp::Delete {
                    owners.remove(&change.id)
                } else {
                    owners.insert(change.id, change.omm)
                };
                if change.entity != Entity::ConferenceRoom && (change.omm == 0 || before == Some(0))
                {
                    // A permanent user or its handset (or a record kept at the MOM only), or
                    // one that was: every link looks.
                    targets.extend(inner.links.keys().copied());
                } else {
                    targets.extend([change.omm].into_iter().chain(before).filter(|o| *o != 0));
                    targets.dedup();
                }
                // The link that made the change has nothing to do for it.
                targets.retain(|omm| *omm != change.origin);
            }
            Entity::Settings | Entity::Database => targets.extend(inner.links.keys().copied()),
            // An OMM record concerns its own link (provisioning) and the manager (below).
            Entity::Omm => targets.push(change.id),
            _ => {}
        }
        if matches!(change.entity, Entity::Omm | Entity::Database) {
            if let Some(manager) = &inner.manager {
                let _ = manager.try_send(change);
            }
        }
        for omm in targets {
            if let Some(link) = inner.links.get(&omm) {
                if link.tx.try_send(change).is_err() {
                    link.overflow.notify_one();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipc::api::store::ChangeOp;

    fn change(entity: Entity, id: u32, omm: u32) -> Change {
        Change {
            rev: 1,
            entity,
            id,
            op: ChangeOp::Put,
            omm,
            origin: 0,
        }
    }

    #[test]
    fn changes_reach_the_old_and_new_owner_only() {
        let feed = Feed::default();
        let mut a = feed.register(1);
        let mut b = feed.register(2);
        let mut c = feed.register(3);
        feed.dispatch(change(Entity::Device, 7, 1));
        assert_eq!(a.changes.try_recv().unwrap().id, 7);
        assert!(b.changes.try_recv().is_err() && c.changes.try_recv().is_err());
        // The device roams to OMM 2: both OMM 1 (delete its copy) and OMM 2 hear of it.
        feed.dispatch(change(Entity::Device, 7, 2));
        assert!(a.changes.try_recv().is_ok() && b.changes.try_recv().is_ok());
        assert!(c.changes.try_recv().is_err());
        // The link that made a change does not get it back; the old owner does.
        feed.dispatch(Change {
            origin: 3,
            ..change(Entity::Device, 7, 3)
        });
        assert!(c.changes.try_recv().is_err());
        assert!(b.changes.try_recv().is_ok());
        // A user with the same id as the device is a record of its own: its first change
        // reaches only its OMM, not the device's old owners.
        feed.dispatch(change(Entity::User, 7, 1));
        assert_eq!(a.changes.try_recv().unwrap().entity, Entity::User);
        assert!(b.changes.try_recv().is_err() && c.changes.try_recv().is_err());
        // Settings go everywhere.
        feed.dispatch(change(Entity::Settings, 0, 0));
        assert!(
            a.changes.try_recv().is_ok()
                && b.changes.try_recv().is_ok()
                && c.changes.try_recv().is_ok()
        );
    }

    #[test]
    fn a_full_queue_asks_the_link_to_reconcile() {
        let feed = Feed::default();
        let link = feed.register(1);
        for i in 0..=LINK_QUEUE as u32 {
            feed.dispatch(change(Entity::User, i, 1));
        }
        let notified = link.overflow.notified();
        tokio::pin!(notified);
        assert!(futures_ready(notified.as_mut()));
    }

    fn futures_ready(mut f: std::pin::Pin<&mut tokio::sync::futures::Notified<'_>>) -> bool {
        use std::future::Future;
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        f.as_mut().poll(&mut cx).is_ready()
    }
}
