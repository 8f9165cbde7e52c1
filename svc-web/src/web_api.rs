//! svc-web's own API on `web.sock` (`ipc::api::web`): the MOM's certificate for svc-maxi,
//! now and after each replacement, so MAXI presents the same identity as the web interface.
//! The socket admits only the uids the supervisor names (svc-maxi's).

use crate::app::App;
use ipc::api::web::{WebApi, WebRequest, WebResponse};
use ipc::api::EVENT_ID;
use ipc::{Envelope, Hello, Listener};
use std::sync::Arc;

/// Serves the API until the task is dropped.
pub async fn serve(app: Arc<App>, listener: Listener<WebApi>) {
    let hello = Hello::new("web", service_kit::supervision::generation());
    loop {
        let pending = match listener.accept().await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "web API connection refused");
                continue;
            }
        };
        let app = Arc::clone(&app);
        let hello = hello.clone();
        tokio::spawn(async move {
            let Ok(channel) = pending.handshake(&hello).await else {
                return;
            };
            let ipc::Channel { mut rx, mut tx, .. } = channel;
            // One request matters: the subscription. Its answer is the certificate now; each
            // replacement follows as an event while the client stays.
            let Ok(Some(Envelope {
                id,
                body: WebRequest::SubscribeCertificate,
            })) = rx.recv().await
            else {
                return;
            };
            let mut pem = app.tls.pem();
            let mut next_id = id;
            loop {
                let (chain_pem, key_pem) = pem.borrow_and_update().clone();
                let body = WebResponse::Certificate { chain_pem, key_pem };
                if tx.send(&Envelope { id: next_id, body }).await.is_err() {
                    return;
                }
                next_id = EVENT_ID;
                tokio::select! {
                    changed = pem.changed() => if changed.is_err() { return },
                    // The client went away (or sent something else, which it must not).
                    _ = rx.recv() => return,
                }
            }
        });
    }
}
