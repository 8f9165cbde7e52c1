//! svc-axi's API on `axi.sock`: application data from the OMMs to subscribers (svc-maxi), and
//! from them to one OMM; "Update OMM" (svc-web, the admin CLI).

use crate::shared::{Routed, Shared};
use ipc::api::axi::{AxiApi, AxiRequest, AxiResponse};
use ipc::api::EVENT_ID;
use ipc::{Envelope, Hello, Listener};
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc};

/// Application data from an OMM, for subscribers.
#[derive(Debug, Clone)]
pub struct DataEvent {
    /// OMM id.
    pub omm: u32,
    /// Channel name.
    pub channel: String,
    /// Data, base64.
    pub data: String,
}

/// Serves the API until the task is dropped.
pub async fn serve(shared: Arc<Shared>, listener: Listener<AxiApi>) {
    let hello = Hello::new("axi", service_kit::supervision::generation());
    loop {
        let pending = match listener.accept().await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "axi API connection refused");
                continue;
            }
        };
        let shared = Arc::clone(&shared);
        let hello = hello.clone();
        tokio::spawn(async move {
            let Ok(channel) = pending.handshake(&hello).await else {
                return;
            };
            let ipc::Channel { mut rx, mut tx, .. } = channel;
            let (out, mut out_rx) = mpsc::channel::<Envelope<AxiResponse>>(256);
            let writer = tokio::spawn(async move {
                while let Some(msg) = out_rx.recv().await {
                    if tx.send(&msg).await.is_err() {
                        break;
                    }
                }
            });
            let mut forwarder: Option<tokio::task::JoinHandle<()>> = None;
            while let Ok(Some(Envelope { id, body })) = rx.recv().await {
                let answer = match body {
                    AxiRequest::SubscribeData => {
                        let mut events = shared.data.subscribe();
                        let out = out.clone();
                        if let Some(f) = forwarder.take() {
                            f.abort();
                        }
                        forwarder = Some(tokio::spawn(async move {
                            loop {
                                match events.recv().await {
                                    Ok(e) => {
                                        let body = AxiResponse::Data {
                                            omm: e.omm,
                                            channel: e.channel,
                                            data: e.data,
                                        };
                                        if out.send(Envelope { id: EVENT_ID, body }).await.is_err()
                                        {
                                            return;
                                        }
                                    }
                                    Err(broadcast::error::RecvError::Lagged(n)) => tracing::warn!(
                                        lost = n,
                                        "a data-channel subscriber is too slow"
                                    ),
                                    Err(broadcast::error::RecvError::Closed) => return,
                                }
                            }
                        }));
                        AxiResponse::Done
                    }
                    AxiRequest::SendData { omm, channel, data } => match shared.route(omm) {
                        Some(route) => {
                            let (tx, rx) = tokio::sync::oneshot::channel();
                            if route.send(Routed::Data(channel, data, tx)).await.is_err() {
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
                };
                if out.send(Envelope { id, body: answer }).await.is_err() {
                    break;
                }
            }
            if let Some(f) = forwarder {
                f.abort();
            }
            drop(out);
            let _ = writer.await;
        });
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
            if route.send(Routed::SoftwareUpdate(tx)).await.is_err() {
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
