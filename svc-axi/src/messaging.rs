//! System-wide DECT messaging (admin guide chapter 1, axi-profile.md §7): a handset message
//! to a number that is not local to its OMM is delivered where that user is located; one
//! that cannot be delivered is counted and written to the event log (repeats counted).

use crate::session::Session;
use crate::shared::Routed;
use axi::record::AxiRecord;

impl Session<'_> {
    /// A handset at this OMM sent a message to a number that is not local.
    pub(crate) async fn route_message(&self, mut msg: axi::TextMessage) {
        msg.attrs.retain(|(k, _)| k != "ppn");
        let to = msg.raw("toAddr").unwrap_or("").to_owned();
        let number = to.strip_prefix("tel:").unwrap_or(&to).to_owned();
        let target = match self.store.user_by_number(&number).await {
            Ok(Some(user)) if user.home_omm != 0 => self.shared.route(user.home_omm),
            _ => None,
        };
        let delivered = match target {
            Some(route) => {
                let (tx, rx) = tokio::sync::oneshot::channel();
                if route.send(Routed::Message(msg, tx)).await.is_ok() {
                    rx.await
                        .unwrap_or_else(|_| Err("the target link closed".into()))
                } else {
                    Err("the target link is down".into())
                }
            }
            None => Err(format!(
                "no user with number {number} is located at a connected OMM"
            )),
        };
        match delivered {
            Ok(()) => self.store.count("axi.messages_routed", 1).await,
            Err(why) => {
                self.store.count("axi.messages_failed", 1).await;
                // Driven by handsets: the event log counts repeats; the journal line is debug.
                tracing::debug!(from_omm = self.omm.id, to = %to, %why, "message not delivered");
                self.store
                    .log(
                        model::Severity::Warning,
                        format!(
                            "message from OMM {} to {} not delivered: {why}",
                            self.omm.id,
                            model::printable(&to)
                        ),
                    )
                    .await;
            }
        }
    }
}
