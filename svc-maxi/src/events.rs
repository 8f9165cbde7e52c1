//! Events for subscribed clients (profile §9, §10 "On connect" for the `Subscribe` rules):
//! record changes from the store's feed with the MOM's ids (`EventPPUserCnf`,
//! `EventPPDevCnf`), OMM link changes (`EventMOMOMMCnf`), handsets' messages between OMMs
//! (`EventMessageSend`) and OMM applications' data (`EventApplicationDataChannel` with
//! `ommId`) from svc-axi. Each event is encoded once for strict readers and, where it
//! differs, once with the MOM's extensions (profile §9 1.2), and offered to every client,
//! which sends the form it asked for only if its subscriptions match.
//!
//! Filters: `uid` for `PPUserCnf` and `ppn` for `PPDevCnf` as the profile says (`-1` all, a
//! number that record, absent none); `omm` for the other three (`-1` or absent: every OMM).

use crate::records;
use crate::service::{interest_index, Service};
use axi::message::{
    EventApplicationDataChannel, EventMOMOMMCnf, EventMessageSend, EventPPDevCnf, EventPPUserCnf,
};
use axi::record::AxiRecord;
use axi::{EventType, Frame, SubscribeEntry};
use ipc::api::axi::{AxiApi, AxiRequest, AxiResponse};
use ipc::api::store::{Change, ChangeOp};
use ipc::store_feed::FeedEvent;
use ipc::{Client, ClientEvent};
use model::Entity;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::sync::mpsc;

pub use crate::service::Event;

/// Which items of one event type a client wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Filter {
    All,
    One(u32),
}

/// One client's subscriptions; they add up, `cmd="Off"` removes a type's filters.
#[derive(Debug, Default)]
pub struct Subscriptions {
    entries: Vec<(EventType, Filter)>,
}

/// Filters one client may hold at most (each `uid` or `ppn` named is one).
pub const MAX_FILTERS: usize = 256;

/// The event types MAXI offers.
pub const OFFERED: [EventType; 5] = [
    EventType::PPUserCnf,
    EventType::PPDevCnf,
    EventType::MessageSend,
    EventType::ApplicationDataChannel,
    EventType::MOMOMMCnf,
];

impl Subscriptions {
    /// Applies a `Subscribe`'s entries; `Err(name)` names the first event type MAXI does not
    /// offer, and then nothing changes. Returns the types that went from unwanted to
    /// wanted and back, for the service's interest counts. Filters beyond [`MAX_FILTERS`]
    /// are not added (the answer is still no error: `-1` covers every record).
    ///
    /// # Errors
    /// The unknown event type's name.
    pub fn apply(
        &mut self,
        entries: &[SubscribeEntry],
    ) -> Result<(Vec<EventType>, Vec<EventType>), String> {
        let mut parsed = Vec::new();
        for e in entries {
            let name = e.raw("eventType").unwrap_or("");
            let Some(t) = EventType::parse(name).filter(|t| OFFERED.contains(t)) else {
                return Err(name.to_owned());
            };
            let off = e.get(SubscribeEntry::CMD) == Some(axi::value::SubscribeCmd::Off);
            let attr = match t {
                EventType::PPUserCnf => SubscribeEntry::UID,
                EventType::PPDevCnf => SubscribeEntry::PPN,
                _ => SubscribeEntry::OMM,
            };
            let value = e.get(attr);
            let filter = match (t, value) {
                (_, Some(-1)) => Some(Filter::All),
                (_, Some(n)) => u32::try_from(n).ok().map(Filter::One),
                (EventType::PPUserCnf | EventType::PPDevCnf, None) => None,
                (_, None) => Some(Filter::All),
            };
            parsed.push((t, off, filter));
        }
        let before: Vec<EventType> = OFFERED.into_iter().filter(|t| self.has(*t)).collect();
        for (t, off, filter) in parsed {
            if off {
                self.entries.retain(|(x, _)| *x != t);
            } else if let Some(f) = filter {
                if !self.entries.contains(&(t, f)) && self.entries.len() < MAX_FILTERS {
                    self.entries.push((t, f));
                }
            }
        }
        let after: Vec<EventType> = OFFERED.into_iter().filter(|t| self.has(*t)).collect();
        let gained = after
            .iter()
            .filter(|t| !before.contains(t))
            .copied()
            .collect();
        let lost = before
            .iter()
            .filter(|t| !after.contains(t))
            .copied()
            .collect();
        Ok((gained, lost))
    }

    fn has(&self, t: EventType) -> bool {
        self.entries.iter().any(|(x, _)| *x == t)
    }

    /// The types subscribed now.
    #[must_use]
    pub fn types(&self) -> Vec<EventType> {
        OFFERED.into_iter().filter(|t| self.has(*t)).collect()
    }

    /// Whether `event` is wanted.
    #[must_use]
    pub fn matches(&self, event: &Event) -> bool {
        self.entries.iter().any(|(t, f)| {
            *t == event.event_type
                && match f {
                    Filter::All => true,
                    Filter::One(id) => *id == event.id,
                }
        })
    }
}

/// Counts a client's interest in `gained` up and in `lost` down.
pub fn note_interest(service: &Service, gained: &[EventType], lost: &[EventType]) {
    for t in gained {
        service.interest[interest_index(*t)].fetch_add(1, Ordering::Relaxed);
    }
    for t in lost {
        service.interest[interest_index(*t)].fetch_sub(1, Ordering::Relaxed);
    }
}

fn publish(service: &Service, event: Event) {
    // No receiver is no error: nobody subscribed.
    let _ = service.events.send(Arc::new(event));
}

/// Record lookups for events that may run at once; their events still go out in the
/// feed's order.
const LOOKUPS_AT_ONCE: usize = 32;

/// What a change needs for its event, looked up.
enum Looked {
    /// Nobody wants it, or the record is gone again.
    Nothing,
    /// A user record (or its deletion).
    User(u32, Option<Box<model::User>>),
    /// A device record (or its deletion).
    Device(u32, Option<Box<model::Device>>),
    /// An OMM record's name and link (or its deletion).
    Omm(u32, Option<(String, LinkNow)>),
}

/// An OMM link's state as `EventMOMOMMCnf` tells it.
type LinkNow = (model::LinkState, bool, String);

/// Follows the store's change feed, resuming after reconnects, and publishes the events
/// clients asked for; a settings change may change the TLS security level.
///
/// `feed` must come from a connection of its own: its events are read while the lookups go
/// through [`Service::store`], so a burst of changes (an import) never waits behind
/// itself. Up to [`LOOKUPS_AT_ONCE`] lookups run at once; events keep the feed's order.
pub async fn follow_store(
    service: Arc<Service>,
    identity: Arc<crate::tls::Identity>,
    mut feed: mpsc::Receiver<FeedEvent>,
) {
    let mut links: HashMap<u32, LinkNow> = HashMap::new();
    let mut pending: std::collections::VecDeque<tokio::task::JoinHandle<Looked>> =
        std::collections::VecDeque::new();
    loop {
        tokio::select! {
            biased;
            looked = async { pending.front_mut().expect("pending").await }, if !pending.is_empty() => {
                pending.pop_front();
                if let Ok(looked) = looked {
                    publish_looked(&service, looked, &mut links);
                }
            }
            event = feed.recv(), if pending.len() < LOOKUPS_AT_ONCE => {
                let Some(event) = event else { return };
                match event {
                    FeedEvent::Change(change) => {
                        if change.entity == Entity::Settings {
                            let _ = identity.refresh_settings(&service).await;
                        }
                        let service = Arc::clone(&service);
                        pending.push_back(tokio::spawn(async move { lookup(&service, change).await }));
                    }
                    FeedEvent::Start { .. } | FeedEvent::Resync { .. } => {
                        let _ = identity.refresh_settings(&service).await;
                    }
                }
            }
        }
    }
}

/// Looks up what `change`'s event needs, if anybody wants it.
async fn lookup(service: &Service, change: Change) -> Looked {
    let deleted = change.op == ChangeOp::Delete;
    let id = change.id;
    match change.entity {
        Entity::User if service.wanted(EventType::PPUserCnf) => {
            if deleted {
                return Looked::User(id, None);
            }
            match service.store.user(id).await {
                Ok(Some(u)) => Looked::User(id, Some(Box::new(u))),
                _ => Looked::Nothing,
            }
        }
        Entity::Device if service.wanted(EventType::PPDevCnf) => {
            if deleted {
                return Looked::Device(id, None);
            }
            match service.store.device(id).await {
                Ok(Some(d)) => Looked::Device(id, Some(Box::new(d))),
                _ => Looked::Nothing,
            }
        }
        Entity::Omm if service.wanted(EventType::MOMOMMCnf) => {
            if deleted {
                return Looked::Omm(id, None);
            }
            match service.store.omm(id).await {
                Ok(Some(o)) => Looked::Omm(
                    id,
                    Some((
                        o.name,
                        (o.health.link, o.health.healthy, o.health.last_error),
                    )),
                ),
                _ => Looked::Nothing,
            }
        }
        _ => Looked::Nothing,
    }
}

/// The record of a deleted user or device: its id under `key` and `deleted="true"`.
fn deleted<R: AxiRecord + Default>(key: &str, id: u32) -> R {
    let mut rec = R::default();
    rec.set_raw(key, id.to_string());
    rec.set_raw("deleted", "true");
    rec
}

/// Publishes the event of a looked-up change, in the feed's order.
fn publish_looked(service: &Service, looked: Looked, links: &mut HashMap<u32, LinkNow>) {
    match looked {
        Looked::Nothing => {}
        Looked::User(uid, user) => {
            let frame = |extensions| {
                let user = user.as_ref().map_or_else(
                    || deleted("uid", uid),
                    |u| records::user_out(u, None, extensions),
                );
                Frame::new(None, EventPPUserCnf { user: Some(user) })
            };
            publish(service, Event::both(EventType::PPUserCnf, uid, frame));
        }
        Looked::Device(ppn, device) => {
            let frame = |extensions| {
                let pp = device.as_ref().map_or_else(
                    || deleted("ppn", ppn),
                    |d| records::device_out(d, extensions),
                );
                Frame::new(None, EventPPDevCnf { pp: Some(pp) })
            };
            publish(service, Event::both(EventType::PPDevCnf, ppn, frame));
        }
        Looked::Omm(id, found) => {
            let (name, state) = match found {
                Some((name, state)) => (Some(name), state),
                None => (
                    None,
                    (
                        model::LinkState::Down,
                        false,
                        "the OMM record was deleted".into(),
                    ),
                ),
            };
            // Every health or provisioning note is an OMM change: only link changes count.
            if links.get(&id) == Some(&state) {
                return;
            }
            links.insert(id, state.clone());
            let (link, healthy, reason) = state;
            let frame = Frame::new(
                None,
                EventMOMOMMCnf {
                    omm_id: id,
                    name,
                    link: format!("{link:?}"),
                    healthy: Some(healthy),
                    reason: (!reason.is_empty()).then_some(reason),
                },
            );
            publish(service, Event::new(EventType::MOMOMMCnf, id, &frame));
        }
    }
}

/// Follows svc-axi's messages and application data, resubscribing after reconnects.
pub async fn follow_axi(
    service: Arc<Service>,
    client: Client<AxiApi>,
    mut feed: mpsc::Receiver<ClientEvent<AxiResponse>>,
) {
    while let Some(event) = feed.recv().await {
        match event {
            ClientEvent::Connected(_) => {
                let client = client.clone();
                tokio::spawn(async move {
                    let _ = client.request(AxiRequest::SubscribeData).await;
                    let _ = client.request(AxiRequest::SubscribeMessages).await;
                });
            }
            ClientEvent::Event(AxiResponse::Data { omm, channel, data }) => {
                let frame = Frame::new(
                    None,
                    EventApplicationDataChannel {
                        omm_id: Some(omm),
                        channel,
                        data,
                    },
                );
                publish(
                    &service,
                    Event::new(EventType::ApplicationDataChannel, omm, &frame),
                );
            }
            ClientEvent::Event(AxiResponse::Message { omm, attrs }) => {
                let mut msg = axi::TextMessage::default();
                for (k, v) in attrs {
                    msg.set_raw(&k, v);
                }
                let frame = Frame::new(
                    None,
                    EventMessageSend {
                        always_indirect: None,
                        msg: Some(msg),
                    },
                );
                publish(&service, Event::new(EventType::MessageSend, omm, &frame));
            }
            ClientEvent::Event(_) | ClientEvent::Disconnected(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(xml: &str) -> Vec<SubscribeEntry> {
        match axi::decode(xml.as_bytes(), &axi::Limits::default())
            .unwrap()
            .message
        {
            axi::Message::Subscribe(s) => s.entries,
            other => panic!("{other:?}"),
        }
    }

    fn event(t: EventType, id: u32) -> Event {
        Event {
            event_type: t,
            id,
            plain: Arc::from(&b""[..]),
            extended: None,
        }
    }

    #[test]
    fn subscriptions_add_up_filter_by_id_and_off_removes_a_type() {
        let mut s = Subscriptions::default();
        let (gained, _) = s
            .apply(&entries(
                "<Subscribe><e cmd=\"On\" eventType=\"PPUserCnf\" uid=\"7\"/><e cmd=\"On\" eventType=\"MOMOMMCnf\"/></Subscribe>",
            ))
            .unwrap();
        assert_eq!(gained, vec![EventType::PPUserCnf, EventType::MOMOMMCnf]);
        assert!(s.matches(&event(EventType::PPUserCnf, 7)));
        assert!(!s.matches(&event(EventType::PPUserCnf, 8)));
        assert!(
            s.matches(&event(EventType::MOMOMMCnf, 3)),
            "absent omm: all"
        );
        assert!(!s.matches(&event(EventType::PPDevCnf, 7)));
        s.apply(&entries(
            "<Subscribe><e cmd=\"On\" eventType=\"PPUserCnf\" uid=\"-1\"/><e cmd=\"On\" eventType=\"PPDevCnf\"/></Subscribe>",
        ))
        .unwrap();
        assert!(s.matches(&event(EventType::PPUserCnf, 8)));
        assert!(
            !s.matches(&event(EventType::PPDevCnf, 1)),
            "PPDevCnf without ppn: none (profile §10)"
        );
        let (_, lost) = s
            .apply(&entries(
                "<Subscribe><e cmd=\"Off\" eventType=\"PPUserCnf\"/></Subscribe>",
            ))
            .unwrap();
        assert_eq!(lost, vec![EventType::PPUserCnf]);
        assert!(!s.matches(&event(EventType::PPUserCnf, 7)));
    }

    #[test]
    fn a_client_holds_a_bounded_number_of_filters() {
        let mut s = Subscriptions::default();
        for uid in 0..1000 {
            s.apply(&entries(&format!(
                "<Subscribe><e cmd=\"On\" eventType=\"PPUserCnf\" uid=\"{uid}\"/></Subscribe>"
            )))
            .unwrap();
        }
        assert_eq!(s.entries.len(), MAX_FILTERS);
    }

    #[test]
    fn an_event_type_maxi_does_not_offer_changes_nothing() {
        let mut s = Subscriptions::default();
        let e = s
            .apply(&entries(
                "<Subscribe><e cmd=\"On\" eventType=\"PPUserCnf\" uid=\"-1\"/><e cmd=\"On\" eventType=\"DECTLocate\"/></Subscribe>",
            ))
            .unwrap_err();
        assert_eq!(e, "DECTLocate");
        assert!(s.types().is_empty());
    }
}
