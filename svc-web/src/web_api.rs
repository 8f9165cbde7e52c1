//! svc-web's own API on `web.sock` (`ipc::api::web`): the MOM's certificate for svc-maxi,
//! now and after each replacement, so MAXI presents the same identity as the web interface;
//! and whether an account has a second factor (svc-web keeps them), so MAXI refuses such an
//! account's password alone.
//! The socket admits only the uids the supervisor names (svc-maxi's).

use crate::app::App;
use ipc::api::web::{WebApi, WebRequest, WebResponse};
use ipc::api::EVENT_ID;
use ipc::{Envelope, Hello, Listener};
use std::sync::Arc;

/// Serves the API until the task is dropped.
pub async fn serve(app: Arc<App>, listener: Listener<WebApi>) {
    let hello = Hello::new("web", service_kit::supervision::generation());
    ipc::serve::serve(listener, hello, "web", move |channel, _| {
        let app = Arc::clone(&app);
        async move {
            let ipc::Channel { mut rx, mut tx, .. } = channel;
            // The certificate subscription's answer is the certificate now; each
            // replacement follows as an event while the client stays. Second-factor
            // questions are answered on the same connection.
            let mut pem: Option<tokio::sync::watch::Receiver<(String, String)>> = None;
            loop {
                let (id, body) = tokio::select! {
                    request = rx.recv() => match request {
                        Ok(Some(Envelope { id, body: WebRequest::SubscribeCertificate })) => {
                            let mut watch = app.tls.pem();
                            let (chain_pem, key_pem) = watch.borrow_and_update().clone();
                            pem = Some(watch);
                            (id, WebResponse::Certificate { chain_pem, key_pem })
                        }
                        Ok(Some(Envelope { id, body: WebRequest::HasSecondFactor(account) })) => {
                            let has = app
                                .second_factors
                                .lock()
                                .unwrap_or_else(std::sync::PoisonError::into_inner)
                                .required(account);
                            (id, WebResponse::SecondFactor(has))
                        }
                        _ => return,
                    },
                    changed = async {
                        match pem.as_mut() {
                            Some(watch) => watch.changed().await,
                            None => std::future::pending().await,
                        }
                    } => {
                        if changed.is_err() {
                            return;
                        }
                        let Some(watch) = pem.as_mut() else { return };
                        let (chain_pem, key_pem) = watch.borrow_and_update().clone();
                        (EVENT_ID, WebResponse::Certificate { chain_pem, key_pem })
                    }
                };
                if tx.send(&Envelope { id, body }).await.is_err() {
                    return;
                }
            }
        }
    })
    .await;
}
