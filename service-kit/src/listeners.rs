//! Listening sockets inherited from the supervisor, by name (`https`, `http`, `maxi`).
//!
//! The supervisor binds them before it drops root (ports below 1024) and hands each service
//! the ones it serves as fds named in `MOM_LISTEN_FDS` (`https=4,http=5`).

use ipc::api::supervision::LISTEN_FDS_ENV;
use std::os::fd::FromRawFd;

/// Takes the inherited listener `name`, non-blocking for tokio; `None` when the supervisor
/// handed none by that name. Call at most once per name.
///
/// # Errors
/// A message when the fd cannot be made non-blocking.
pub fn take(name: &str) -> Result<Option<std::net::TcpListener>, String> {
    let Ok(spec) = std::env::var(LISTEN_FDS_ENV) else {
        return Ok(None);
    };
    let Some(fd) = fd_of(&spec, name) else {
        return Ok(None);
    };
    // SAFETY: the supervisor passed this fd to this process, open, as the listener `name`
    // (its spawn code dups it to exactly this number); this function is its only taker.
    let listener = unsafe { std::net::TcpListener::from_raw_fd(fd) };
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("listener {name}: {e}"))?;
    Ok(Some(listener))
}

/// The fd of `name` in a `MOM_LISTEN_FDS` value.
fn fd_of(spec: &str, name: &str) -> Option<i32> {
    spec.split(',').find_map(|kv| {
        let (key, fd) = kv.split_once('=')?;
        (key == name).then(|| fd.parse().ok()).flatten()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_matched_whole() {
        assert_eq!(super::fd_of("https=4,http=5", "http"), Some(5));
        assert_eq!(super::fd_of("https=4,http=5", "https"), Some(4));
        assert_eq!(super::fd_of("https=4", "maxi"), None);
        assert_eq!(super::fd_of("", "https"), None);
        assert_eq!(super::fd_of("https=x", "https"), None);
    }
}
