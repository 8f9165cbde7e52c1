//! Live events (`/api/v1/events`): a WebSocket streaming the store's changes as JSON, so
//! tables update without polling.
//!
//! - **Resumable by revision**: `?from_rev=N` replays the changes after `N` that svc-web
//!   still holds ([`RECENT`] of them); older ones get a `resync` (reload everything).
//! - **Suppress table updates** is honoured per change: with "Users and DECT phones", user
//!   and device changes are not sent; with "All", no table change is. Settings changes are
//!   always sent, so a client learns that the mode changed.
//! - **Bounded**: a client that reads too slowly falls behind the shared feed's buffer and
//!   is sent `resync` instead of the changes it missed; nothing waits for it.
//! - A cross-site page cannot open it: an `Origin` other than the MOM's own is refused.

use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::Response;
use ipc::api::store::{Change, ChangeOp};
use model::{Entity, SuppressTableUpdates};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;

/// Changes kept for resuming clients.
pub const RECENT: usize = 4096;

/// The changes svc-web holds for resuming clients, and the suppress mode in force.
#[derive(Debug, Default)]
pub struct Recent {
    changes: VecDeque<Change>,
    /// The revision before the oldest held change (a client at or after it can resume).
    floor: u64,
    /// The last revision seen.
    pub last: u64,
}

impl Recent {
    /// Records a change from the feed.
    pub fn push(&mut self, change: Change) {
        if change.entity == Entity::Database {
            self.changes.clear();
            self.floor = change.rev;
        } else {
            if self.changes.len() == RECENT {
                if let Some(old) = self.changes.pop_front() {
                    self.floor = old.rev;
                }
            }
            self.changes.push_back(change);
        }
        self.last = change.rev;
    }

    /// The held changes after `rev`, or `None` when some of them are no longer held.
    #[must_use]
    pub fn after(&self, rev: u64) -> Option<Vec<Change>> {
        if rev < self.floor {
            return None;
        }
        Some(
            self.changes
                .iter()
                .filter(|c| c.rev > rev)
                .copied()
                .collect(),
        )
    }
}

/// One message to a client.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// Sent first: the revision the stream starts after.
    Hello {
        /// Current revision.
        rev: u64,
        /// The suppress mode in force.
        suppress: SuppressTableUpdates,
    },
    /// A record changed.
    Change {
        /// Revision.
        rev: u64,
        /// Kind of record.
        entity: Entity,
        /// Its id.
        id: u32,
        /// `put` or `delete`.
        op: String,
    },
    /// Changes were missed (too slow, too old a revision, or a database import): reload.
    Resync {
        /// The revision to resume after once reloaded.
        rev: u64,
    },
}

/// Whether a change of `entity` is sent in `mode`.
#[must_use]
pub fn shown(entity: Entity, mode: SuppressTableUpdates) -> bool {
    match mode {
        SuppressTableUpdates::Off => true,
        SuppressTableUpdates::UsersDectPhones => !matches!(entity, Entity::User | Entity::Device),
        SuppressTableUpdates::All => matches!(entity, Entity::Settings | Entity::License),
    }
}

fn event_of(change: &Change) -> Event {
    if change.entity == Entity::Database {
        return Event::Resync { rev: change.rev };
    }
    Event::Change {
        rev: change.rev,
        entity: change.entity,
        id: change.id,
        op: match change.op {
            ChangeOp::Put => "put",
            ChangeOp::Delete => "delete",
        }
        .to_owned(),
    }
}

/// Where to start.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct From {
    /// Resume after this revision (default: from now).
    pub from_rev: Option<u64>,
}

/// Whether `Origin`, when present, names the host the request was sent to.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    origin.strip_prefix("https://").is_some_and(|o| o == host)
}

/// Opens the live-event stream.
#[utoipa::path(get, path = "/api/v1/events", tag = "live events", params(From),
    responses((status = 101, description = "WebSocket of JSON events", body = Event),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn events(
    State(app): State<Arc<App>>,
    _: Caller,
    Query(from): Query<From>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    if !same_origin(&headers) {
        return Err(ApiError::forbidden(
            "origin",
            "live events are only for the MOM's own pages",
        ));
    }
    let suppress = *app.suppress.borrow();
    Ok(upgrade
        .max_message_size(4096)
        .on_upgrade(move |socket| stream(app, socket, from.from_rev, suppress)))
}

async fn send(socket: &mut WebSocket, event: &Event) -> bool {
    let Ok(text) = serde_json::to_string(event) else {
        return false;
    };
    socket.send(Message::Text(text.into())).await.is_ok()
}

async fn stream(
    app: Arc<App>,
    mut socket: WebSocket,
    from: Option<u64>,
    mut suppress: SuppressTableUpdates,
) {
    app.metrics.websockets.inc();
    // Subscribe before reading the held changes, so nothing falls between the two.
    let mut feed = app.changes.subscribe();
    let (replay, current) = {
        let recent = app
            .recent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (from.map(|rev| recent.after(rev)), recent.last)
    };
    let mut sent = from.unwrap_or(current);
    let mut ok = send(
        &mut socket,
        &Event::Hello {
            rev: current,
            suppress,
        },
    )
    .await;
    match replay {
        Some(None) => {
            ok &= send(&mut socket, &Event::Resync { rev: current }).await;
            sent = current;
        }
        Some(Some(changes)) => {
            for change in changes {
                if ok && shown(change.entity, suppress) {
                    ok = send(&mut socket, &event_of(&change)).await;
                }
                sent = change.rev;
            }
        }
        None => {}
    }
    while ok {
        tokio::select! {
            received = feed.recv() => match received {
                Ok(change) => {
                    if change.rev <= sent && change.entity != Entity::Database {
                        continue;
                    }
                    sent = change.rev;
                    if change.entity == Entity::Settings {
                        suppress = *app.suppress.borrow();
                    }
                    if change.entity == Entity::Database || shown(change.entity, suppress) {
                        ok = send(&mut socket, &event_of(&change)).await;
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    let rev = app.recent.lock().unwrap_or_else(std::sync::PoisonError::into_inner).last;
                    sent = rev;
                    ok = send(&mut socket, &Event::Resync { rev }).await;
                }
                Err(RecvError::Closed) => break,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
        }
    }
    app.metrics.websockets.dec();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(rev: u64, entity: Entity) -> Change {
        Change {
            rev,
            entity,
            id: 1,
            op: ChangeOp::Put,
            omm: 0,
            origin: 0,
        }
    }

    #[test]
    fn held_changes_resume_and_too_old_a_revision_resyncs() {
        let mut recent = Recent::default();
        for rev in 1..=(RECENT as u64 + 10) {
            recent.push(change(rev, Entity::User));
        }
        assert!(recent.after(5).is_none(), "rev 5 is no longer held");
        let tail = recent.after(RECENT as u64 + 8).unwrap();
        assert_eq!(
            tail.iter().map(|c| c.rev).collect::<Vec<_>>(),
            vec![RECENT as u64 + 9, RECENT as u64 + 10]
        );
        recent.push(Change::database(RECENT as u64 + 11));
        assert!(
            recent.after(RECENT as u64 + 8).is_none(),
            "an import replaced everything"
        );
        assert_eq!(recent.after(RECENT as u64 + 11).unwrap(), vec![]);
    }

    #[test]
    fn suppression_follows_the_settings_pane() {
        use SuppressTableUpdates as S;
        assert!(shown(Entity::User, S::Off));
        assert!(!shown(Entity::User, S::UsersDectPhones));
        assert!(!shown(Entity::Device, S::UsersDectPhones));
        assert!(shown(Entity::Omm, S::UsersDectPhones));
        assert!(!shown(Entity::Omm, S::All));
        assert!(shown(Entity::Settings, S::All));
    }
}
