//! Listening sockets that systemd bound for the MOM (`sip-dect-mom.socket`, socket
//! activation): systemd binds 80, 443 and 12624, so the supervisor needs no
//! `CAP_NET_BIND_SERVICE`, and connections wait in the sockets' queues while the MOM
//! restarts.
//!
//! The protocol is `sd_listen_fds(3)`: `LISTEN_PID` is this process, `LISTEN_FDS` sockets
//! start at fd 3. Each is matched to the `[listen]` address of `mom.toml` it is bound to; a
//! listener without a passed socket is bound by the supervisor itself, and a passed socket
//! that `mom.toml` does not name is an error (the two files disagree). Twenty lines instead
//! of a crate, as in [`crate::notify`].

use std::net::{SocketAddr, TcpListener};
use std::os::fd::{FromRawFd, OwnedFd};

/// The first passed fd (`SD_LISTEN_FDS_START`).
const FIRST_FD: i32 = 3;

/// Takes the sockets systemd passed to this process, and removes the variables so no child
/// sees them. Call it once, first thing.
#[must_use]
pub fn take() -> Vec<TcpListener> {
    let pid_matches = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        == Some(std::process::id());
    let count = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|n| n.parse::<i32>().ok())
        .unwrap_or(0);
    for var in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] {
        // Called in synchronous main, before any thread exists.
        std::env::remove_var(var);
    }
    if !pid_matches {
        return Vec::new();
    }
    (FIRST_FD..FIRST_FD.saturating_add(count.clamp(0, 16)))
        .filter_map(|fd| {
            // SAFETY: systemd passed fds 3..3+LISTEN_FDS to this process (LISTEN_PID is ours)
            // and nothing in it has taken them yet; OwnedFd becomes their only owner.
            let owned = unsafe { OwnedFd::from_raw_fd(fd) };
            let _ = nix::fcntl::fcntl(
                &owned,
                nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
            );
            let listener = TcpListener::from(owned);
            match listener.local_addr() {
                Ok(_) => Some(listener),
                Err(e) => {
                    tracing::warn!(fd, error = %e, "a passed fd is not a TCP listener; ignored");
                    None
                }
            }
        })
        .collect()
}

/// Picks the passed socket bound to `addr`, if there is one.
#[must_use]
pub fn claim(passed: &mut Vec<TcpListener>, addr: SocketAddr) -> Option<TcpListener> {
    let at = passed
        .iter()
        .position(|l| l.local_addr().is_ok_and(|a| a == addr))?;
    Some(passed.swap_remove(at))
}

/// The error for passed sockets that no `[listen]` address claimed.
#[must_use]
pub fn unclaimed(passed: &[TcpListener]) -> Option<String> {
    if passed.is_empty() {
        return None;
    }
    let addrs: Vec<String> = passed
        .iter()
        .filter_map(|l| l.local_addr().ok().map(|a| a.to_string()))
        .collect();
    Some(format!(
        "systemd passed sockets on {} that mom.toml [listen] does not name: make sip-dect-mom.socket and mom.toml agree",
        addrs.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passed_socket_is_claimed_by_its_address_and_the_rest_is_reported() {
        let a = TcpListener::bind("127.0.0.1:0").unwrap();
        let b = TcpListener::bind("127.0.0.1:0").unwrap();
        let (addr_a, addr_b) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        let mut passed = vec![a, b];
        assert!(claim(&mut passed, "127.0.0.1:1".parse().unwrap()).is_none());
        let got = claim(&mut passed, addr_a).unwrap();
        assert_eq!(got.local_addr().unwrap(), addr_a);
        let why = unclaimed(&passed).unwrap();
        assert!(why.contains(&addr_b.to_string()), "{why}");
        assert!(claim(&mut passed, addr_b).is_some());
        assert!(unclaimed(&passed).is_none());
    }
}
