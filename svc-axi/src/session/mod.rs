//! One OMM link's life (axi-profile.md §2–§4): connect, the on-connect sequence
//! ([`on_connect`]), import and reconciliation (`crate::reconcile`), then the steady state:
//! the OMM's events (`crate::omm_events`), the store's changes (`crate::store_changes`),
//! requests routed from other links, keep-alive, and retries of held-back records
//! (`crate::conflicts`).

pub mod ids;
pub mod on_connect;
pub mod paging;

use crate::conflicts::Conflicts;
use crate::feed::LinkFeed;
use crate::link::AxiLink;
use crate::shared::{LinkUp, Routed, Shared};
use crate::store::{Failure, Store};
use axi::message::{ApplicationDataChannel, Ping, SendMessage};
use axi::{Frame, Limits, Message};
use ids::Ids;
use ipc::api::store::{Change, StoreError};
use model::{Entity, Omm};
use std::sync::Arc;
use std::time::Duration;

/// How often held-back records are tried again while there are any.
const RETRY_HELD: Duration = Duration::from_secs(5);

/// How often the session looks after its conflicts (a list change waiting to be published).
const HOUSEKEEPING: Duration = Duration::from_secs(1);

/// Warnings one link writes to the journal and the event log per minute; more are counted
/// and summed up, so an OMM that refuses thousands of records cannot flood either.
const NOTES_PER_MINUTE: u32 = 20;

/// How many warnings this minute, and how many were held back.
#[derive(Debug, Default)]
pub struct NoteBudget {
    minute: u64,
    written: u32,
    held_back: u32,
}

impl NoteBudget {
    /// Whether a warning at `now` (seconds) may be written; when a new minute starts after
    /// some were held back, also how many.
    fn admit(&mut self, now: u64) -> (bool, u32) {
        let minute = now / 60;
        let mut summary = 0;
        if minute != self.minute {
            summary = std::mem::take(&mut self.held_back);
            self.minute = minute;
            self.written = 0;
        }
        if self.written < NOTES_PER_MINUTE {
            self.written += 1;
            (true, summary)
        } else {
            self.held_back += 1;
            (false, summary)
        }
    }
}

pub use crate::link::End;

/// What one OMM is told about provisioning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The configuration URL (`enable="false"` when provisioning is off).
    pub url: axi::ConfigUrl,
    /// Whether the daily reload is on.
    pub reload: bool,
    /// Why provisioning is off although the record asks for it; empty otherwise.
    pub unavailable: String,
}

/// A store failure where no single record can be held back instead (reads, service state):
/// the session ends and is retried.
impl From<Failure> for End {
    fn from(e: Failure) -> Self {
        End::Failed(e.to_string())
    }
}

/// A store write of one record: an unreachable store ends the session (the outer `Err`); a
/// refusal is the caller's to hold back (the inner `Err`).
pub trait Refusable<T> {
    /// Splits the two failures.
    ///
    /// # Errors
    /// [`End`] when the store is unreachable.
    fn refusable(self) -> Result<Result<T, StoreError>, End>;
}

impl<T> Refusable<T> for crate::store::Result<T> {
    fn refusable(self) -> Result<Result<T, StoreError>, End> {
        match self {
            Ok(v) => Ok(Ok(v)),
            Err(Failure::Refused(e)) => Ok(Err(e)),
            Err(e @ Failure::Unreachable(_)) => Err(e.into()),
        }
    }
}

/// The refusal in an answer, as text: the request's name, the code and its info.
#[must_use]
pub fn refused(frame: &Frame) -> Option<String> {
    frame.error.as_ref().map(|e| {
        format!(
            "{} {}{}",
            frame.message.name(),
            e.code.as_str(),
            e.info
                .as_ref()
                .map(|i| format!(" ({i})"))
                .unwrap_or_default()
        )
    })
}

/// Splits `host[:port]`; the default port is the OMM's TLS port 12622.
fn host_port(address: &str) -> (String, u16) {
    match model::OmmAddress::parse(address) {
        Ok(a) => (a.host, a.port),
        Err(_) => (address.to_owned(), 12622),
    }
}

/// One link's state while it is up: what the other modules' `impl Session` blocks use.
pub struct Session<'a> {
    /// What every link shares.
    pub shared: &'a Arc<Shared>,
    /// This OMM's record.
    pub omm: &'a Omm,
    /// The AXI connection.
    pub link: &'a AxiLink,
    /// The store, as this link (its writes carry the OMM as origin).
    pub store: Store,
    /// Ids both ways and what the OMM is known to hold.
    pub ids: Ids,
    /// Records held back, and the conflicts they stand for.
    pub conflicts: Conflicts,
    /// Warnings written this minute.
    pub notes: std::sync::Mutex<NoteBudget>,
    /// The provisioning the OMM was last given on this link.
    pub provisioned: Option<Target>,
}

impl Session<'_> {
    /// Sends a request and expects a bare success; a refusal ends the session.
    pub(crate) async fn setting(&self, message: impl Into<Message>) -> Result<(), End> {
        let frame = self.link.request(message).await?;
        match refused(&frame) {
            Some(why) => Err(End::Failed(format!("the OMM refused {why}"))),
            None => Ok(()),
        }
    }

    /// Adds a warning to the event log and the journal, at most [`NOTES_PER_MINUTE`] a
    /// minute (the rest are summed up in the next minute's first warning).
    pub(crate) async fn note(&self, text: String) {
        let (admitted, earlier) = self
            .notes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .admit(model::now());
        if earlier > 0 {
            let summary = format!(
                "{earlier} more warnings about OMM {} in the minute before were not logged",
                self.omm.id
            );
            tracing::warn!(omm = self.omm.id, "{summary}");
            self.store
                .log(model::Severity::Warning, "axi", summary)
                .await;
        }
        if admitted {
            tracing::warn!(omm = self.omm.id, "{text}");
            self.store.log(model::Severity::Warning, "axi", text).await;
        } else {
            tracing::debug!(omm = self.omm.id, "{text}");
        }
    }

    /// Records this OMM's link state.
    async fn health(&self, link: model::LinkState, version: &str, cloud_id: Option<String>) {
        let up = link == model::LinkState::Up;
        let health = model::OmmHealth {
            link,
            healthy: up,
            last_error: String::new(),
            since: model::now(),
            software_version: version.to_owned(),
        };
        crate::store::record_health(&self.store, self.omm.id, health, cloud_id).await;
    }
}

/// One session; returns how it ended.
pub async fn run(shared: &Arc<Shared>, omm: &Omm, changes: &mut LinkFeed) -> End {
    // The security level in force now: a change reaches each link at its next connect.
    let settings = shared.store.settings().await.unwrap_or_default();
    let (policy, _) = tls_policy::from_settings(&settings);
    let tls = match crate::tls::client_config(&omm.cert_validation, &policy) {
        Ok(t) => t,
        Err(e) => return End::Failed(format!("certificate settings: {e}")),
    };
    let mut last_error = String::new();
    let mut connected = None;
    for address in [&omm.omm1, &omm.omm2].into_iter().filter(|a| !a.is_empty()) {
        let (host, port) = host_port(address);
        let connecting = Box::pin(AxiLink::connect(
            &host,
            port,
            Arc::clone(&tls),
            shared.request_timeout,
            Limits::default(),
        ));
        match connecting.await {
            Ok(l) => {
                connected = Some(l);
                break;
            }
            Err(e @ crate::link::LinkError::Handshake(_)) => {
                // Say what each side offered: the MOM's level, versions and suites, and
                // what the OMM chooses when offered everything the MOM knows.
                let theirs = Box::pin(crate::tls::probe(&host, port)).await.map_or_else(
                    || "the OMM accepted none of the MOM's versions and suites".to_owned(),
                    |chosen| format!("offered everything, the OMM chose {chosen}"),
                );
                last_error = format!(
                    "{address}: {e} (security level {:?} offers {} with {}; {theirs})",
                    policy.level,
                    policy.versions_text(),
                    policy.list()
                );
            }
            Err(e) => last_error = format!("{address}: {e}"),
        }
    }
    let Some((link, mut events)) = connected else {
        return End::Failed(last_error);
    };
    let mut session = Session {
        shared,
        omm,
        link: &link,
        store: shared.store.for_omm(omm.id),
        ids: Ids::default(),
        conflicts: Conflicts::new(omm.id),
        notes: std::sync::Mutex::default(),
        provisioned: None,
    };
    match Box::pin(session.life(&mut events, changes)).await {
        Ok(end) | Err(end) => end,
    }
}

impl Session<'_> {
    /// The on-connect sequence and the import; `false` when the OMM restarts for the SARI
    /// it was given instead.
    async fn start(&mut self) -> Result<bool, End> {
        let login = self.log_in().await?;
        let cloud_id = self.cloud_id().await?;
        self.health(model::LinkState::Connecting, &login.version, Some(cloud_id))
            .await;
        let settings = self.store.settings().await?;
        if self.set_sari(&settings).await? {
            return Ok(false);
        }
        self.push_settings(&settings).await?;
        self.subscribe().await?;
        self.ids.omm_key = login.omm_key;
        let started = std::time::Instant::now();
        let synced = self.reconcile().await?;
        self.store.count("axi.records_synced", synced).await;
        self.health(model::LinkState::Up, &login.version, None)
            .await;
        tracing::info!(omm = self.omm.id, name = %self.omm.name, records = synced, held = self.conflicts.len(), ms = started.elapsed().as_millis() as u64, "OMM link up and synchronised");
        Ok(true)
    }

    /// The on-connect sequence, the import, then the steady state until the link ends.
    async fn life(
        &mut self,
        events: &mut tokio::sync::mpsc::Receiver<Box<Frame>>,
        changes: &mut LinkFeed,
    ) -> Result<End, End> {
        // The start in its own allocation, held only while it runs: the task of an idle link
        // then holds the loop below, not the start's larger state.
        if !Box::pin(self.start()).await? {
            return Ok(End::SariRestart);
        }
        // Steady state: this link now takes routed requests.
        let (route_tx, mut routed) = tokio::sync::mpsc::channel::<Box<Routed>>(256);
        let _up = LinkUp::new(self.shared, self.omm.id, route_tx);
        let mut ping = tokio::time::interval(self.shared.ping);
        ping.tick().await;
        let mut housekeeping = tokio::time::interval(HOUSEKEEPING);
        housekeeping.tick().await;
        let mut retried = std::time::Instant::now();
        loop {
            tokio::select! {
                Some(request) = routed.recv() => Box::pin(self.deliver(*request)).await?,
                event = events.recv() => match event {
                    Some(frame) => Box::pin(self.handle_event(*frame)).await?,
                    None => return Err(End::Failed(self.link.closed_reason().unwrap_or_else(|| "link closed".into()))),
                },
                change = changes.changes.recv() => match change {
                    Some(change) if change.entity == Entity::Database => {
                        Box::pin(self.reconcile()).await?;
                    }
                    Some(change) if self.concerns(&change) => Box::pin(self.handle_change(change)).await?,
                    Some(_) => {}
                    None => return Err(End::Failed("svc-axi is stopping".into())),
                },
                () = changes.overflow.notified() => {
                    // Changes were dropped: reconcile everything again.
                    Box::pin(self.reconcile()).await?;
                }
                _ = ping.tick() => {
                    self.link.request(Ping { time_stamp: Some(model::now()) }).await?;
                }
                _ = housekeeping.tick() => {
                    if !self.conflicts.is_empty() && retried.elapsed() >= RETRY_HELD {
                        retried = std::time::Instant::now();
                        Box::pin(self.retry_held()).await?;
                    }
                }
            }
            self.conflicts.publish(&self.store).await?;
        }
    }

    /// A request another link routed here: a message or application data for this OMM.
    async fn deliver(&self, request: Routed) -> Result<(), End> {
        let (frame, answer) = match request {
            Routed::Message(msg, answer) => {
                let frame = self
                    .link
                    .request(SendMessage {
                        always_indirect: None,
                        msg,
                    })
                    .await?;
                let outcome = match &frame.error {
                    None => Ok(()),
                    Some(e) => Err(e.clone().info(refused(&frame).unwrap_or_default())),
                };
                let _ = answer.send(outcome);
                return Ok(());
            }
            Routed::SoftwareUpdate(answer) => {
                let _ = answer.send(self.software_update().await?);
                return Ok(());
            }
            Routed::Data(channel, data, answer) => {
                let frame = self
                    .link
                    .request(ApplicationDataChannel {
                        omm_id: None,
                        channel,
                        data,
                    })
                    .await?;
                (frame, answer)
            }
        };
        let _ = answer.send(refused(&frame).map_or(Ok(()), Err));
        Ok(())
    }

    /// Whether a store change concerns this OMM's link: its records, records that are now
    /// at this OMM, and settings. Everything else is skipped without a store lookup.
    fn concerns(&self, change: &Change) -> bool {
        let omm = self.omm.id;
        if change.origin == omm {
            // Its own write: what it wrote came from the OMM or was done on the OMM already.
            return false;
        }
        match change.entity {
            Entity::User => {
                change.omm == omm || change.omm == 0 || self.ids.users.contains_key(&change.id)
            }
            Entity::Device => {
                change.omm == omm || change.omm == 0 || self.ids.devices.contains_key(&change.id)
            }
            Entity::ConferenceRoom => change.omm == omm || self.ids.rooms.contains_key(&change.id),
            Entity::Settings => true,
            Entity::Omm => change.id == omm,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_are_bounded_per_minute_and_the_rest_summed_up() {
        let mut b = NoteBudget::default();
        let t = 600;
        let admitted = (0..25).filter(|_| b.admit(t).0).count();
        assert_eq!(admitted, NOTES_PER_MINUTE as usize);
        assert_eq!(b.admit(t + 59), (false, 0));
        assert_eq!(
            b.admit(t + 60),
            (true, 6),
            "the next minute tells how many were held back"
        );
        assert_eq!(b.admit(t + 61), (true, 0));
    }
}
