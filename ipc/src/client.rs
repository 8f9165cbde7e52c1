//! A client of one API that connects by path, reconnects with backoff when the service
//! restarts, and fails requests that were in flight when the connection dropped.

use crate::channel::{Channel, ClientChannel, IpcError};
use crate::{Api, Envelope, Hello};
use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;
use tokio::net::UnixStream;
use tokio::sync::{mpsc, oneshot};

/// Tuning of a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// First reconnect delay; it doubles up to `max_backoff`.
    pub min_backoff: Duration,
    /// Longest reconnect delay.
    pub max_backoff: Duration,
    /// How long a request may wait for a connection and its answer together.
    pub request_timeout: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            min_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_secs(1),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Why a request got no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// The connection dropped while the request was in flight; it may or may not have been
    /// carried out. Retry only idempotent requests.
    Disconnected,
    /// No answer within the request timeout.
    Timeout,
    /// The client was shut down.
    Closed,
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Disconnected => "connection to the service was lost during the request",
            Self::Timeout => "the service did not answer in time",
            Self::Closed => "the client is shut down",
        })
    }
}

impl std::error::Error for ClientError {}

/// What happens on the connection, in order, for the owner of a [`Client`].
#[derive(Debug)]
pub enum ClientEvent<R> {
    /// Connected (again) to the service; its hello. Subscriptions must be renewed now.
    Connected(Hello),
    /// The connection dropped; the client is reconnecting.
    Disconnected(String),
    /// An event (a message with id 0) from the service.
    Event(R),
}

type Reply<A> = oneshot::Sender<Result<<A as Api>::Response, ClientError>>;

struct Call<A: Api> {
    body: A::Request,
    reply: Reply<A>,
}

/// A reconnecting client of API `A`. Cheap to clone.
pub struct Client<A: Api> {
    calls: mpsc::Sender<Call<A>>,
    timeout: Duration,
}

impl<A: Api> Clone for Client<A> {
    fn clone(&self) -> Self {
        Self {
            calls: self.calls.clone(),
            timeout: self.timeout,
        }
    }
}

impl<A: Api> Client<A> {
    /// Starts a client of the socket at `path`; returns it and its event stream. Dropping the
    /// event receiver is fine: events are then discarded.
    #[must_use]
    pub fn start(
        path: PathBuf,
        me: Hello,
        options: ClientOptions,
    ) -> (Self, mpsc::Receiver<ClientEvent<A::Response>>) {
        let (calls, call_rx) = mpsc::channel(1024);
        let (event_tx, events) = mpsc::channel(4096);
        let timeout = options.request_timeout;
        tokio::spawn(run::<A>(path, me, options, call_rx, event_tx));
        (Self { calls, timeout }, events)
    }

    /// Sends a request and waits for its response.
    ///
    /// # Errors
    /// [`ClientError`] when there is no answer.
    pub async fn request(&self, body: A::Request) -> Result<A::Response, ClientError> {
        let (reply, answer) = oneshot::channel();
        let work = async {
            self.calls
                .send(Call { body, reply })
                .await
                .map_err(|_| ClientError::Closed)?;
            answer.await.map_err(|_| ClientError::Closed)?
        };
        tokio::time::timeout(self.timeout, work)
            .await
            .map_err(|_| ClientError::Timeout)?
    }
}

async fn run<A: Api>(
    path: PathBuf,
    me: Hello,
    options: ClientOptions,
    mut calls: mpsc::Receiver<Call<A>>,
    events: mpsc::Sender<ClientEvent<A::Response>>,
) {
    let mut backoff = options.min_backoff;
    loop {
        let channel = match connect::<A>(&path, &me).await {
            Ok(ch) => ch,
            Err(e) => {
                if calls.is_closed() {
                    return;
                }
                tracing::debug!(target: "ipc", api = A::NAME, error = %e, "connect failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(options.max_backoff);
                continue;
            }
        };
        backoff = options.min_backoff;
        let _ = events.try_send(ClientEvent::Connected(channel.peer.clone()));
        let reason = match serve_connection::<A>(channel, &mut calls, &events).await {
            Some(reason) => reason,
            None => return,
        };
        tracing::debug!(target: "ipc", api = A::NAME, %reason, "connection lost");
        let _ = events.try_send(ClientEvent::Disconnected(reason));
    }
}

async fn connect<A: Api>(path: &PathBuf, me: &Hello) -> Result<ClientChannel<A>, IpcError> {
    let stream = UnixStream::connect(path).await?;
    Channel::handshake(stream, me, A::MAX_FRAME).await
}

/// Requests queued for the socket writer at most.
const WRITE_QUEUE: usize = 64;

/// Serves one connection; `None` when the client was dropped, else why the connection ended.
///
/// Writing runs in its own task, so the connection is always read: a service that stops
/// reading while its answers wait to be written cannot deadlock with this client.
async fn serve_connection<A: Api>(
    channel: ClientChannel<A>,
    calls: &mut mpsc::Receiver<Call<A>>,
    events: &mpsc::Sender<ClientEvent<A::Response>>,
) -> Option<String> {
    let Channel { mut rx, mut tx, .. } = channel;
    let (out, mut out_rx) = mpsc::channel::<Envelope<A::Request>>(WRITE_QUEUE);
    let (write_failed_tx, mut write_failed) = tokio::sync::oneshot::channel::<String>();
    let writer = tokio::spawn(async move {
        while let Some(envelope) = out_rx.recv().await {
            if let Err(e) = tx.send(&envelope).await {
                let _ = write_failed_tx.send(e.to_string());
                return;
            }
        }
    });
    let mut pending: HashMap<u64, Reply<A>> = HashMap::new();
    let mut next_id: u64 = 1;
    let reason = loop {
        tokio::select! {
            // New calls only while the writer has room, so reading never waits on writing.
            call = calls.recv(), if out.capacity() > 0 => {
                let Some(call) = call else {
                    writer.abort();
                    return None;
                };
                if call.reply.is_closed() {
                    continue;
                }
                let id = next_id;
                next_id += 1;
                if out.try_send(Envelope { id, body: call.body }).is_err() {
                    let _ = call.reply.send(Err(ClientError::Disconnected));
                    break "the connection's writer stopped".to_owned();
                }
                pending.insert(id, call.reply);
            }
            failed = &mut write_failed => break failed.unwrap_or_else(|_| "the connection's writer stopped".to_owned()),
            msg = rx.recv() => match msg {
                Ok(Some(Envelope { id: crate::api::EVENT_ID, body })) => {
                    if !events.is_closed() {
                        let _ = events.send(ClientEvent::Event(body)).await;
                    }
                }
                Ok(Some(Envelope { id, body })) => {
                    if let Some(reply) = pending.remove(&id) {
                        let _ = reply.send(Ok(body));
                    }
                }
                Ok(None) => break "service closed the connection".to_owned(),
                Err(e) => break e.to_string(),
            },
        }
    };
    writer.abort();
    for (_, reply) in pending.drain() {
        let _ = reply.send(Err(ClientError::Disconnected));
    }
    Some(reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::control::{ControlApi, ControlRequest, ControlResponse};
    use crate::Listener;

    async fn serve_once(listener: &Listener<ControlApi>, answer: bool) {
        let pending = listener.accept().await.unwrap();
        let mut ch = pending
            .handshake(&Hello::new("supervisor", 1))
            .await
            .unwrap();
        let req = ch.rx.recv().await.unwrap().unwrap();
        if answer {
            ch.tx
                .send(&Envelope {
                    id: req.id,
                    body: ControlResponse::Status(vec![]),
                })
                .await
                .unwrap();
        }
        // Dropping the channel closes the connection.
    }

    #[tokio::test]
    async fn reconnects_after_the_service_restarts_and_fails_in_flight_requests() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sock");
        let me = nix::unistd::getuid().as_raw();
        let listener = Listener::<ControlApi>::bind(&path, 0o600, vec![me]).unwrap();
        let (client, mut events) =
            Client::<ControlApi>::start(path.clone(), Hello::new("t", 0), ClientOptions::default());

        // The first connection drops a request without answering.
        let c = client.clone();
        let first = tokio::spawn(async move { c.request(ControlRequest::Status).await });
        serve_once(&listener, false).await;
        assert_eq!(first.await.unwrap(), Err(ClientError::Disconnected));
        assert!(matches!(
            events.recv().await,
            Some(ClientEvent::Connected(_))
        ));
        assert!(matches!(
            events.recv().await,
            Some(ClientEvent::Disconnected(_))
        ));

        // The "restarted" service binds again; the client finds it by itself.
        drop(listener);
        let listener = Listener::<ControlApi>::bind(&path, 0o600, vec![me]).unwrap();
        let c = client.clone();
        let second = tokio::spawn(async move { c.request(ControlRequest::Status).await });
        serve_once(&listener, true).await;
        assert_eq!(second.await.unwrap(), Ok(ControlResponse::Status(vec![])));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn large_requests_and_answers_in_flight_together_do_not_deadlock() {
        use crate::api::store::{StoreApi, StoreRequest, StoreResponse};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sock");
        let me = nix::unistd::getuid().as_raw();
        let listener = Listener::<StoreApi>::bind(&path, 0o600, vec![me]).unwrap();
        // A service that answers each request (with 200 kB) before it reads the next one.
        tokio::spawn(async move {
            let pending = listener.accept().await.unwrap();
            let mut ch = pending.handshake(&Hello::new("store", 1)).await.unwrap();
            while let Ok(Some(req)) = ch.rx.recv().await {
                let answer = StoreResponse::Chunk(vec![7; 200_000]);
                if ch
                    .tx
                    .send(&Envelope {
                        id: req.id,
                        body: answer,
                    })
                    .await
                    .is_err()
                {
                    break;
                }
            }
        });
        let (client, _events) =
            Client::<StoreApi>::start(path, Hello::new("t", 0), ClientOptions::default());
        let calls: Vec<_> = (0..100)
            .map(|_| {
                let c = client.clone();
                tokio::spawn(async move {
                    c.request(StoreRequest::PutTemplate("x".repeat(200_000)))
                        .await
                })
            })
            .collect();
        let all = async {
            for call in calls {
                assert!(matches!(call.await.unwrap(), Ok(StoreResponse::Chunk(_))));
            }
        };
        tokio::time::timeout(Duration::from_secs(20), all)
            .await
            .expect("requests and answers deadlocked");
    }

    #[tokio::test]
    async fn request_times_out_without_a_service() {
        let dir = tempfile::tempdir().unwrap();
        let options = ClientOptions {
            request_timeout: Duration::from_millis(100),
            ..ClientOptions::default()
        };
        let (client, _events) =
            Client::<ControlApi>::start(dir.path().join("none.sock"), Hello::new("t", 0), options);
        assert_eq!(
            client.request(ControlRequest::Status).await,
            Err(ClientError::Timeout)
        );
    }
}
