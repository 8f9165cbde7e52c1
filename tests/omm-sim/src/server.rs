//! The fleet's network side: one loopback listener per simulated OMM (TLS by default), one
//! task per AXI link, event fan-out to subscribed links, SARI restarts, and misbehaviour on
//! request.

use crate::state::{Action, OmmState, Session};
use axi::{Frame, Limits, Splitter};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// How a simulated OMM (mis)behaves on its links, for fault tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Answers as the profile says.
    Normal,
    /// Answers every request after this delay.
    Slow(Duration),
    /// Reads requests and never answers.
    Silent,
    /// Answers every request with binary garbage.
    Garbage,
    /// Answers the next request with a frame larger than any limit.
    Oversize,
    /// Writes every frame one byte at a time.
    ByteByByte,
    /// Answers the next request, then sends this many user events at once (a mass edit at
    /// the OMM), then behaves normally again.
    Flood(u32),
}

/// What goes to a link's writer.
#[derive(Debug)]
enum Out {
    Bytes(Vec<u8>),
    Close,
}

struct Link {
    session: Session,
    tx: mpsc::Sender<Out>,
}

/// Everything of one OMM behind one lock.
pub struct Inner {
    /// Database and settings.
    pub state: OmmState,
    links: HashMap<u64, Link>,
    down_until: Option<Instant>,
    behaviour: Behaviour,
}

/// One simulated OMM with its listener.
pub struct SimOmm {
    inner: Mutex<Inner>,
    /// Listening address.
    pub addr: SocketAddr,
    next_link: AtomicU64,
    limits: Limits,
    /// Counts of frames received on all its links (requests) and sent (answers and events).
    pub frames_in: AtomicU64,
}

impl SimOmm {
    /// Locks the OMM's state.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Number of open AXI links.
    #[must_use]
    pub fn link_count(&self) -> usize {
        self.lock().links.len()
    }

    /// Number of open AXI links, with the lock already held.
    #[must_use]
    pub fn link_count_locked(&self, inner: &Inner) -> usize {
        inner.links.len()
    }

    /// How it behaves now.
    #[must_use]
    pub fn lock_behaviour(&self) -> Behaviour {
        self.lock().behaviour
    }

    /// Sets how it behaves from now on.
    pub fn set_behaviour(&self, behaviour: Behaviour) {
        self.lock().behaviour = behaviour;
    }

    /// Closes every link (the OMM stays reachable).
    pub fn drop_links(&self) {
        for link in self.lock().links.values() {
            let _ = link.tx.try_send(Out::Close);
        }
    }

    /// Restarts: closes every link and refuses connections for its restart time.
    pub fn restart(&self) {
        let mut inner = self.lock();
        inner.down_until = Some(Instant::now() + inner.state.config.restart_time);
        for link in inner.links.values() {
            let _ = link.tx.try_send(Out::Close);
        }
    }

    /// Whether it currently refuses connections (restarting).
    #[must_use]
    pub fn is_down(&self) -> bool {
        self.lock().down_until.is_some_and(|t| Instant::now() < t)
    }

    /// Sends `actions` produced outside any link (control interface): events go to every
    /// subscribed link.
    pub fn emit(&self, actions: Vec<Action>) {
        let inner = self.lock();
        fan_out(&inner, None, actions);
    }
}

fn fan_out(inner: &Inner, from: Option<u64>, actions: Vec<Action>) {
    for action in actions {
        if let Action::Event { event_type, frame } = action {
            let bytes = axi::encode(&frame);
            for (id, link) in &inner.links {
                if Some(*id) != from && link.session.subscriptions.contains(&event_type) {
                    // A link that does not read its events loses them rather than stalling the OMM.
                    let _ = link.tx.try_send(Out::Bytes(bytes.clone()));
                }
            }
        }
    }
}

/// Creates the OMM and binds its listener on loopback.
///
/// # Errors
/// The bind error.
pub async fn bind(
    state: OmmState,
    address: std::net::IpAddr,
    port: u16,
    limits: Limits,
) -> std::io::Result<(Arc<SimOmm>, TcpListener)> {
    let listener = TcpListener::bind((address, port)).await?;
    let omm = Arc::new(SimOmm {
        inner: Mutex::new(Inner {
            state,
            links: HashMap::new(),
            down_until: None,
            behaviour: Behaviour::Normal,
        }),
        addr: listener.local_addr()?,
        next_link: AtomicU64::new(1),
        limits,
        frames_in: AtomicU64::new(0),
    });
    Ok((omm, listener))
}

/// Accepts links until the task is dropped.
pub async fn accept_loop(
    omm: Arc<SimOmm>,
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    fetcher: crate::provision::Fetcher,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        if omm.is_down() {
            drop(stream);
            continue;
        }
        let _ = stream.set_nodelay(true);
        let omm = Arc::clone(&omm);
        let tls = tls.clone();
        let fetcher = fetcher.clone();
        tokio::spawn(async move {
            match tls {
                Some(acceptor) => {
                    match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream))
                        .await
                    {
                        Ok(Ok(s)) => serve_link(omm, s, fetcher).await,
                        _ => tracing::debug!("TLS handshake failed"),
                    }
                }
                None => serve_link(omm, stream, fetcher).await,
            }
        });
    }
}

async fn serve_link<S: AsyncRead + AsyncWrite + Send + 'static>(
    omm: Arc<SimOmm>,
    stream: S,
    fetcher: crate::provision::Fetcher,
) {
    let id = omm.next_link.fetch_add(1, Ordering::Relaxed);
    let (tx, mut rx) = mpsc::channel::<Out>(4096);
    omm.lock().links.insert(
        id,
        Link {
            session: Session::default(),
            tx: tx.clone(),
        },
    );
    let (mut read, mut write) = tokio::io::split(stream);
    let writer_omm = Arc::clone(&omm);
    let writer = tokio::spawn(async move {
        while let Some(out) = rx.recv().await {
            let Out::Bytes(bytes) = out else { break };
            let behaviour = writer_omm.lock().behaviour;
            let ok = match behaviour {
                Behaviour::ByteByByte => {
                    let mut ok = true;
                    for b in &bytes {
                        ok &= write.write_all(&[*b]).await.is_ok() && write.flush().await.is_ok();
                    }
                    ok
                }
                _ => write.write_all(&bytes).await.is_ok() && write.flush().await.is_ok(),
            };
            if !ok {
                break;
            }
        }
        let _ = write.shutdown().await;
    });
    let mut splitter = Splitter::new(&omm.limits);
    let mut buf = vec![0u8; 16 * 1024];
    'link: loop {
        let n = tokio::select! {
            r = read.read(&mut buf) => match r { Ok(0) | Err(_) => break, Ok(n) => n },
            () = tx.closed() => break,
        };
        splitter.push(&buf[..n]);
        loop {
            let bytes = match splitter.next_frame() {
                Ok(Some(b)) => b,
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(omm = omm.addr.port(), error = %e, "closing link");
                    break 'link;
                }
            };
            omm.frames_in.fetch_add(1, Ordering::Relaxed);
            let frame = match axi::decode(&bytes, &omm.limits) {
                Ok(f) => f,
                Err(e) => {
                    tracing::warn!(omm = omm.addr.port(), error = %e, "bad frame; closing link");
                    break 'link;
                }
            };
            if !respond(&omm, id, frame, &tx, &fetcher).await {
                break 'link;
            }
        }
    }
    omm.lock().links.remove(&id);
    let _ = tx.send(Out::Close).await;
    let _ = writer.await;
}

/// Handles one frame on link `id`; false when the link must close.
async fn respond(
    omm: &Arc<SimOmm>,
    id: u64,
    frame: Frame,
    tx: &mpsc::Sender<Out>,
    fetcher: &crate::provision::Fetcher,
) -> bool {
    let (actions, behaviour) = {
        let mut inner = omm.lock();
        let Inner {
            state,
            links,
            behaviour,
            ..
        } = &mut *inner;
        let Some(link) = links.get_mut(&id) else {
            return false;
        };
        let actions = state.handle(&mut link.session, frame);
        (actions, *behaviour)
    };
    let mut replies = Vec::new();
    let mut events = Vec::new();
    let mut restart = false;
    for action in actions {
        match action {
            Action::Reply(f) => replies.push(f),
            Action::Restart => restart = true,
            Action::Fetch(url) => {
                let omm = Arc::clone(omm);
                let fetcher = fetcher.clone();
                tokio::spawn(async move {
                    let (cloud_id, source) = {
                        let inner = omm.lock();
                        (inner.state.cloud_id(), inner.state.fetch_source())
                    };
                    let fetched = fetcher.fetch(&url, &cloud_id, Some(source)).await;
                    let mut inner = omm.lock();
                    inner.state.fetches += 1;
                    match fetched {
                        Ok(commands) => {
                            inner.state.run_provisioning(commands);
                            inner.state.last_fetch_error.clear();
                        }
                        Err(e) => {
                            tracing::warn!(omm = omm.addr.port(), error = %e, "provisioning fetch failed");
                            inner.state.last_fetch_error = e;
                        }
                    }
                });
            }
            event @ Action::Event { .. } => events.push(event),
        }
    }
    fan_out(&omm.lock(), Some(id), events);
    for reply in replies {
        let bytes = match behaviour {
            Behaviour::Silent => continue,
            Behaviour::Garbage => {
                let mut g: Vec<u8> = (0..64u8)
                    .map(|i| i.wrapping_mul(37) ^ 0xA5)
                    .filter(|b| *b != 0)
                    .collect();
                g.push(0);
                g
            }
            Behaviour::Oversize => {
                omm.set_behaviour(Behaviour::Normal);
                vec![b'<'; omm.limits.frame_size * 2]
            }
            Behaviour::Slow(d) => {
                tokio::time::sleep(d).await;
                axi::encode(&reply)
            }
            Behaviour::Normal | Behaviour::ByteByByte | Behaviour::Flood(_) => axi::encode(&reply),
        };
        if tx.send(Out::Bytes(bytes)).await.is_err() {
            return false;
        }
    }
    if let Behaviour::Flood(count) = behaviour {
        omm.set_behaviour(Behaviour::Normal);
        let user = omm.lock().state.users.values().next().cloned();
        if let Some(user) = user {
            let bytes = axi::encode(&axi::Frame::event(axi::message::EventPPUserCnf {
                user: Some(user),
            }));
            for _ in 0..count {
                if tx.send(Out::Bytes(bytes.clone())).await.is_err() {
                    return false;
                }
            }
        }
    }
    if restart {
        // The answer goes out first; then the OMM restarts.
        let omm = Arc::clone(omm);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            omm.restart();
        });
    }
    true
}
