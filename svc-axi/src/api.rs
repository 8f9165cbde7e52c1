//! svc-axi's API on `axi.sock`: application data from the OMMs to subscribers (svc-maxi), and
//! from them to one OMM; applications' messages to the OMM where the recipient is, and
//! handsets' messages between OMMs to subscribers; "Update OMM" (svc-web, the admin CLI).

use crate::shared::{Routed, Shared};
use ipc::api::axi::{AxiApi, AxiRequest, AxiResponse};
use ipc::api::EVENT_ID;
use ipc::{Envelope, Hello, Listener};
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc};

/// Forwards every event of `events`, as `to_body` makes it, to `out` until either side
/// closes; a subscriber too slow for the broadcast's buffer loses events, with a log line.
fn forward<E: Clone + Send + 'static>(
    mut events: broadcast::Receiver<E>,
    out: mpsc::Sender<Envelope<AxiResponse>>,
    what: &'static str,
    to_body: fn(E) -> AxiResponse,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(e) => {
                    let body = to_body(e);
                    if out.send(Envelope { id: EVENT_ID, body }).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(lost = n, what, "an axi API subscriber is too slow");
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    })
}

/// Serves the API until the task is dropped.
pub async fn serve(shared: Arc<Shared>, listener: Listener<AxiApi>) {
    let hello = Hello::new("axi", service_kit::supervision::generation());
    ipc::serve::serve(listener, hello, "axi", move |channel, _| {
        let shared = Arc::clone(&shared);
        async move {
            let ipc::Channel { mut rx, mut tx, .. } = channel;
            let (out, mut out_rx) = mpsc::channel::<Envelope<AxiResponse>>(256);
            let writer = tokio::spawn(async move {
                while let Some(msg) = out_rx.recv().await {
                    if tx.send(&msg).await.is_err() {
                        break;
                    }
                }
            });
            let mut data_forwarder: Option<tokio::task::JoinHandle<()>> = None;
            let mut message_forwarder: Option<tokio::task::JoinHandle<()>> = None;
            while let Ok(Some(Envelope { id, body })) = rx.recv().await {
                // Asked once per request: the guard and the answer see the same state.
                let not_leading = shared.not_leading();
                let answer = match body {
                    AxiRequest::SubscribeData => {
                        if let Some(f) = data_forwarder.take() {
                            f.abort();
                        }
                        data_forwarder = Some(forward(
                            shared.data.subscribe(),
                            out.clone(),
                            "application data",
                            |e| AxiResponse::Data {
                                omm: e.omm,
                                channel: e.channel,
                                data: e.data,
                            },
                        ));
                        AxiResponse::Done
                    }
                    AxiRequest::SubscribeMessages => {
                        if let Some(f) = message_forwarder.take() {
                            f.abort();
                        }
                        message_forwarder = Some(forward(
                            shared.messages.subscribe(),
                            out.clone(),
                            "messages",
                            |e| AxiResponse::Message {
                                omm: e.omm,
                                attrs: e.attrs,
                            },
                        ));
                        AxiResponse::Done
                    }
                    // A cluster node that does not lead holds no link: it names the leader.
                    ref request @ (AxiRequest::SendMessage(_)
                    | AxiRequest::SendData { .. }
                    | AxiRequest::SoftwareUpdate(_))
                        if not_leading.is_some() =>
                    {
                        elsewhere(request, not_leading.unwrap_or_default())
                    }
                    AxiRequest::SendMessage(attrs) => send_message(&shared, attrs).await,
                    AxiRequest::SendData { omm, channel, data } => match shared.route(omm) {
                        Some(route) => {
                            let (tx, rx) = tokio::sync::oneshot::channel();
                            if route
                                .send(Box::new(Routed::Data(channel, data, tx)))
                                .await
                                .is_err()
                            {
                                AxiResponse::Error(format!("the link to OMM {omm} is down"))
                            } else {
                                match rx.await {
                                    Ok(Ok(())) => AxiResponse::Done,
                                    Ok(Err(why)) => AxiResponse::Error(why),
                                    Err(_) => {
                                        AxiResponse::Error(format!("the link to OMM {omm} closed"))
                                    }
                                }
                            }
                        }
                        None => AxiResponse::Error(format!("OMM {omm} is not connected")),
                    },
                    AxiRequest::SoftwareUpdate(omms) => {
                        AxiResponse::Updated(software_update(&shared, omms).await)
                    }
                    AxiRequest::SetUserAttributes {
                        mut user,
                        attributes,
                    } => match crate::user_attributes::apply(&mut user, &attributes) {
                        Ok(()) => AxiResponse::User(user),
                        Err(why) => AxiResponse::Error(why),
                    },
                };
                if out.send(Envelope { id, body: answer }).await.is_err() {
                    break;
                }
            }
            for f in [data_forwarder, message_forwarder].into_iter().flatten() {
                f.abort();
            }
            drop(out);
            let _ = writer.await;
        }
    })
    .await;
}

/// An application's message, delivered where its recipient is.
/// The answer to a request for an OMM on a node that holds no links: `why` names the leader.
fn elsewhere(request: &AxiRequest, why: String) -> AxiResponse {
    match request {
        AxiRequest::SendMessage(_) => AxiResponse::Refused {
            code: axi::ErrCode::EFailed.as_str().to_owned(),
            bad: None,
            info: why,
        },
        AxiRequest::SoftwareUpdate(omms) => {
            AxiResponse::Updated(omms.iter().map(|omm| (*omm, Some(why.clone()))).collect())
        }
        _ => AxiResponse::Error(why),
    }
}

async fn send_message(shared: &Shared, attrs: Vec<(String, String)>) -> AxiResponse {
    let mut msg = axi::TextMessage::default();
    for (k, v) in attrs {
        axi::record::AxiRecord::set_raw(&mut msg, &k, v);
    }
    match crate::messaging::deliver(shared, msg).await {
        Ok(()) => AxiResponse::Done,
        Err(e) => AxiResponse::Refused {
            code: e.code.as_str().to_owned(),
            bad: e.bad,
            info: e.info.unwrap_or_default(),
        },
    }
}

/// "Update OMM" for each of `omms` at the same time; the outcomes in the order asked.
async fn software_update(shared: &Shared, omms: Vec<u32>) -> Vec<(u32, Option<String>)> {
    let mut tasks = tokio::task::JoinSet::new();
    for (i, omm) in omms.iter().copied().enumerate() {
        let route = shared.route(omm);
        tasks.spawn(async move {
            let Some(route) = route else {
                return (i, Some(format!("OMM {omm} is not connected")));
            };
            let (tx, rx) = tokio::sync::oneshot::channel();
            if route
                .send(Box::new(Routed::SoftwareUpdate(tx)))
                .await
                .is_err()
            {
                return (i, Some(format!("the link to OMM {omm} is down")));
            }
            match rx.await {
                Ok(Ok(())) => (i, None),
                Ok(Err(why)) => (i, Some(why)),
                Err(_) => (i, Some(format!("the link to OMM {omm} closed"))),
            }
        });
    }
    let mut out: Vec<(u32, Option<String>)> = omms
        .iter()
        .map(|&o| (o, Some(format!("no answer for OMM {o}"))))
        .collect();
    while let Some(done) = tasks.join_next().await {
        if let Ok((i, outcome)) = done {
            out[i].1 = outcome;
        }
    }
    out
}
