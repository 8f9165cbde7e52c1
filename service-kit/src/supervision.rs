//! The service's end of the supervision link: a socketpair end inherited from the
//! supervisor at the fd number in `MOM_SUPERVISION_FD`.

use ipc::api::supervision::{ServiceMsg, SupervisorMsg, FD_ENV, GENERATION_ENV, MAX_FRAME};
use ipc::channel::{Receiver, Sender};
use ipc::{Channel, Hello, IpcError};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use tokio::net::UnixStream;

/// This service's generation, as the supervisor numbered it (0 when run by hand).
#[must_use]
pub fn generation() -> u64 {
    std::env::var(GENERATION_ENV)
        .ok()
        .and_then(|g| g.parse().ok())
        .unwrap_or(0)
}

/// The link to the supervisor, after the hello exchange.
pub struct Link {
    tx: Sender<ServiceMsg>,
    rx: Receiver<SupervisorMsg>,
}

impl Link {
    /// Connects to the supervisor over the inherited fd; `None` when the service was started
    /// without one (by hand, for debugging).
    ///
    /// # Errors
    /// [`IpcError`] when the fd is unusable or the hello exchange fails.
    pub async fn from_env(service: &str) -> Result<Option<Self>, IpcError> {
        let Some(fd) = std::env::var(FD_ENV)
            .ok()
            .and_then(|v| v.parse::<RawFd>().ok())
        else {
            return Ok(None);
        };
        // SAFETY: the supervisor passes this fd to us alone, open, as one end of a socketpair,
        // and nothing else in this process takes ownership of it.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        let std_stream = std::os::unix::net::UnixStream::from(owned);
        std_stream.set_nonblocking(true)?;
        let stream = UnixStream::from_std(std_stream)?;
        let ch: Channel<SupervisorMsg, ServiceMsg> =
            Channel::handshake(stream, &Hello::new(service, generation()), MAX_FRAME).await?;
        Ok(Some(Self {
            tx: ch.tx,
            rx: ch.rx,
        }))
    }

    /// Tells the supervisor the service is serving.
    ///
    /// # Errors
    /// [`IpcError`] when the supervisor is gone.
    pub async fn ready(&mut self) -> Result<(), IpcError> {
        self.tx.send(&ServiceMsg::Ready).await
    }

    /// Resolves when the supervisor asks for a shutdown or goes away; applies the log
    /// levels it sends meanwhile.
    pub async fn shutdown_requested(mut self) {
        loop {
            match self.rx.recv().await {
                Ok(Some(SupervisorMsg::Shutdown)) => {
                    tracing::info!("shutdown requested by the supervisor");
                    return;
                }
                Ok(Some(SupervisorMsg::LogLevel(level))) => {
                    match crate::logging::set_level(&level) {
                        Ok(()) => tracing::info!(%level, "log level changed"),
                        Err(e) => tracing::warn!(error = %e, "log level not changed"),
                    }
                }
                Ok(None) => {
                    tracing::warn!("supervisor link closed; shutting down");
                    return;
                }
                Err(e) => {
                    tracing::error!(error = %e, "bad frame from the supervisor; shutting down");
                    return;
                }
            }
        }
    }
}

/// Resolves on SIGTERM or SIGINT, or when `link` (if any) says to stop.
pub async fn stop_signal(link: Option<Link>) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        std::future::pending::<()>().await;
        return;
    };
    let supervisor = async {
        match link {
            Some(link) => link.shutdown_requested().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = int.recv() => tracing::info!("SIGINT received"),
        () = supervisor => {}
    }
}
