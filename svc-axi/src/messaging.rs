//! System-wide DECT messaging (admin guide chapter 1, axi-profile.md §7): a message to a
//! number that is not local to the sender's OMM is delivered where that user is located.
//! Handsets' messages come from an OMM link ([`Session::route_message`]); applications'
//! come from svc-maxi over `axi.sock` ([`deliver`]). One that cannot be delivered is
//! counted and, from a handset, written to the event log (repeats counted).

use crate::session::Session;
use crate::shared::{Routed, Shared};
use axi::record::AxiRecord;
use axi::{ErrCode, ErrorInfo};

/// Delivers `msg` to the OMM where the user with its `toAddr` number is located; `Ok` once
/// that OMM took it.
///
/// # Errors
/// `ENoEnt bad="toAddr"` when no user with that number is at a connected OMM; the target
/// OMM's own error when it refused the message; `EFailed` when its link went down meanwhile.
pub async fn deliver(shared: &Shared, mut msg: axi::TextMessage) -> Result<(), ErrorInfo> {
    msg.attrs.retain(|(k, _)| k != "ppn");
    let to = msg.raw("toAddr").unwrap_or("").to_owned();
    let number = to.strip_prefix("tel:").unwrap_or(&to).to_owned();
    let no_user = || {
        ErrorInfo::new(ErrCode::ENoEnt).bad("toAddr").info(format!(
            "no user with number {} is located at a connected OMM",
            model::printable(&number)
        ))
    };
    let user = match shared.store.user_by_number(&number).await {
        Ok(Some(user)) if user.home_omm != 0 => user,
        Ok(_) => return Err(no_user()),
        Err(e) => return Err(ErrorInfo::new(ErrCode::EFailed).info(format!("the store: {e}"))),
    };
    let Some(route) = shared.route(user.home_omm) else {
        return Err(no_user());
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    if route
        .send(Box::new(Routed::Message(msg, tx)))
        .await
        .is_err()
    {
        return Err(ErrorInfo::new(ErrCode::EFailed).info("the target OMM's link is down"));
    }
    rx.await.unwrap_or_else(|_| {
        Err(ErrorInfo::new(ErrCode::EFailed).info("the target OMM's link closed"))
    })
}

impl Session<'_> {
    /// A handset at this OMM sent a message to a number that is not local.
    pub(crate) async fn route_message(&self, msg: axi::TextMessage) {
        self.store.count("axi.send_message_requests", 1).await;
        let to = msg.raw("toAddr").unwrap_or("").to_owned();
        // Applications subscribed to MessageSend see it too (copied only when one is).
        if self.shared.messages.receiver_count() > 0 {
            let attrs = msg
                .attrs
                .iter()
                .filter(|(k, _)| k != "ppn")
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let _ = self.shared.messages.send(crate::shared::MessageEvent {
                omm: self.omm.id,
                attrs,
            });
        }
        match deliver(self.shared, msg).await {
            Ok(()) => self.store.count("axi.messages_routed", 1).await,
            Err(why) => {
                self.store.count("axi.messages_failed", 1).await;
                // Driven by handsets: the event log counts repeats; the journal line is debug.
                let why = why.info.unwrap_or_default();
                tracing::debug!(from_omm = self.omm.id, to = %to, %why, "message not delivered");
                self.store
                    .log(
                        model::Severity::Warning,
                        "axi",
                        format!(
                            "message from OMM {} to {} not delivered: {}",
                            self.omm.id,
                            model::printable(&to),
                            why
                        ),
                    )
                    .await;
            }
        }
    }
}
