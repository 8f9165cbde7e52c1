//! The server side of an API: a Unix socket listener that checks each peer's uid with
//! `SO_PEERCRED` before it exchanges hellos.

use crate::channel::{Channel, IpcError, ServerChannel};
use crate::{Api, Hello};
use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
use std::marker::PhantomData;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use tokio::net::{UnixListener, UnixStream};

/// Credentials of a connected peer, from the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerCred {
    /// Process id.
    pub pid: i32,
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

/// A connection whose peer passed the uid check, before the hello exchange.
pub struct Pending<A: Api> {
    stream: UnixStream,
    /// The peer's credentials.
    pub cred: PeerCred,
    _api: PhantomData<A>,
}

impl<A: Api> Pending<A> {
    /// Exchanges hellos; run it in the connection's own task so a slow peer blocks nobody.
    ///
    /// # Errors
    /// [`IpcError`] when the hello exchange fails.
    pub async fn handshake(self, me: &Hello) -> Result<ServerChannel<A>, IpcError> {
        Channel::handshake(self.stream, me, A::MAX_FRAME).await
    }
}

/// Listens on `<dir>/<name>.sock` for one API.
pub struct Listener<A: Api> {
    inner: UnixListener,
    allowed_uids: Vec<u32>,
    path: PathBuf,
    _api: PhantomData<A>,
}

impl<A: Api> Listener<A> {
    /// Binds `path` (removing a stale socket file) with file mode `mode`; only peers whose
    /// uid is in `allowed_uids` are served.
    ///
    /// # Errors
    /// I/O errors from removing, binding or changing the mode of the socket.
    pub fn bind(path: &Path, mode: u32, allowed_uids: Vec<u32>) -> std::io::Result<Self> {
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let inner = UnixListener::bind(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
        Ok(Self {
            inner,
            allowed_uids,
            path: path.to_owned(),
            _api: PhantomData,
        })
    }

    /// The socket path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Waits for the next connection and checks its peer's uid.
    ///
    /// # Errors
    /// [`IpcError::PeerNotAllowed`] (the connection is already closed) or an I/O error; the
    /// caller logs it and keeps accepting.
    pub async fn accept(&self) -> Result<Pending<A>, IpcError> {
        let (stream, _) = self.inner.accept().await?;
        let cred = getsockopt(&stream, PeerCredentials).map_err(std::io::Error::from)?;
        let cred = PeerCred {
            pid: cred.pid(),
            uid: cred.uid(),
            gid: cred.gid(),
        };
        if !self.allowed_uids.contains(&cred.uid) {
            return Err(IpcError::PeerNotAllowed { uid: cred.uid });
        }
        Ok(Pending {
            stream,
            cred,
            _api: PhantomData,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::control::ControlApi;
    use crate::ClientChannel;

    #[tokio::test]
    async fn peer_with_an_unlisted_uid_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.sock");
        let me = nix::unistd::getuid().as_raw();
        let listener =
            Listener::<ControlApi>::bind(&path, 0o660, vec![me.wrapping_add(1)]).unwrap();
        let client = tokio::spawn({
            let path = path.clone();
            async move {
                let stream = UnixStream::connect(&path).await.unwrap();
                ClientChannel::<ControlApi>::handshake(stream, &Hello::new("t", 0), 1024).await
            }
        });
        let err = listener.accept().await.err().unwrap();
        assert!(
            matches!(err, IpcError::PeerNotAllowed { uid } if uid == me),
            "{err}"
        );
        let client_err = client.await.unwrap().err().unwrap();
        assert!(
            matches!(client_err, IpcError::ClosedBeforeHello | IpcError::Io(_)),
            "{client_err}"
        );
    }

    #[tokio::test]
    async fn peer_with_a_listed_uid_is_served_and_mode_is_set() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.sock");
        let me = nix::unistd::getuid().as_raw();
        let listener = Listener::<ControlApi>::bind(&path, 0o600, vec![me]).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let client = tokio::spawn(async move {
            let stream = UnixStream::connect(&path).await.unwrap();
            ClientChannel::<ControlApi>::handshake(stream, &Hello::new("t", 0), 1024)
                .await
                .map(|c| c.peer.service)
        });
        let pending = listener.accept().await.unwrap();
        assert_eq!(pending.cred.uid, me);
        let ch = pending
            .handshake(&Hello::new("supervisor", 0))
            .await
            .unwrap();
        assert_eq!(ch.peer.service, "t");
        assert_eq!(client.await.unwrap().unwrap(), "supervisor");
    }
}
