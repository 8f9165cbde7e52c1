//! Privileged operating-system work, and the only `unsafe` of the supervisor.
//!
//! Everything here runs in synchronous `main` before any runtime thread exists (capabilities
//! are per thread), or in the `pre_exec` hook between `fork` and `exec`, where only
//! async-signal-safe calls are allowed: no allocation, no locks, plain syscalls.

use caps::{CapSet, Capability, CapsHashSet};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// The capabilities the supervisor keeps after start-up: change a child's uid and gid, and
/// shrink a child's bounding set. Not `CAP_KILL`: a service is signalled from a short-lived
/// helper with the service's own uid ([`signal_service`]), which CAP_SETUID allows anyway.
pub const SUPERVISOR_CAPS: [Capability; 3] = [
    Capability::CAP_SETUID,
    Capability::CAP_SETGID,
    Capability::CAP_SETPCAP,
];

/// A user's uid and primary gid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

/// Looks up a system user.
///
/// # Errors
/// A message naming the missing user.
pub fn user(name: &str) -> Result<Identity, String> {
    match nix::unistd::User::from_name(name) {
        Ok(Some(u)) => Ok(Identity { uid: u.uid.as_raw(), gid: u.gid.as_raw() }),
        Ok(None) => Err(format!("system user {name:?} does not exist (the package creates it; see packaging/sysusers.conf)")),
        Err(e) => Err(format!("cannot look up user {name:?}: {e}")),
    }
}

/// Looks up a system group.
///
/// # Errors
/// A message naming the missing group.
pub fn group(name: &str) -> Result<u32, String> {
    match nix::unistd::Group::from_name(name) {
        Ok(Some(g)) => Ok(g.gid.as_raw()),
        Ok(None) => Err(format!("system group {name:?} does not exist")),
        Err(e) => Err(format!("cannot look up group {name:?}: {e}")),
    }
}

/// Drops the supervisor's own privileges: no supplementary groups, primary group `gid`,
/// only [`SUPERVISOR_CAPS`] in every set, no ambient or inheritable capabilities, and
/// `no_new_privs`. The uid stays 0 so the supervisor can still spawn children as other users.
///
/// # Errors
/// A message naming the step that failed.
pub fn drop_supervisor_privileges(gid: u32) -> Result<(), String> {
    let keep: CapsHashSet = SUPERVISOR_CAPS.into_iter().collect();
    for cap in caps::all() {
        if !keep.contains(&cap) {
            caps::drop(None, CapSet::Bounding, cap)
                .map_err(|e| format!("dropping {cap} from the bounding set: {e}"))?;
        }
    }
    enter_group(gid)?;
    caps::clear(None, CapSet::Ambient)
        .map_err(|e| format!("clearing ambient capabilities: {e}"))?;
    caps::clear(None, CapSet::Inheritable)
        .map_err(|e| format!("clearing inheritable capabilities: {e}"))?;
    caps::set(None, CapSet::Effective, &keep)
        .map_err(|e| format!("setting effective capabilities: {e}"))?;
    caps::set(None, CapSet::Permitted, &keep)
        .map_err(|e| format!("setting permitted capabilities: {e}"))?;
    nix::sys::prctl::set_no_new_privs().map_err(|e| format!("no_new_privs: {e}"))?;
    Ok(())
}

/// No supplementary groups, and `gid` as real, effective and saved group.
fn enter_group(gid: u32) -> Result<(), String> {
    nix::unistd::setgroups(&[]).map_err(|e| format!("setgroups: {e}"))?;
    let g = nix::unistd::Gid::from_raw(gid);
    nix::unistd::setresgid(g, g, g).map_err(|e| format!("setresgid: {e}"))
}

/// Sets `no_new_privs` and clears ambient capabilities (development mode, unprivileged).
///
/// # Errors
/// A message naming the step that failed.
pub fn harden_unprivileged() -> Result<(), String> {
    caps::clear(None, CapSet::Ambient)
        .map_err(|e| format!("clearing ambient capabilities: {e}"))?;
    nix::sys::prctl::set_no_new_privs().map_err(|e| format!("no_new_privs: {e}"))
}

/// Duplicates `fd` to a number of at least 100, close-on-exec, so the `pre_exec` hook can
/// move it to its target number without clobbering another fd it still has to move.
///
/// # Errors
/// The `fcntl` error.
pub fn dup_high(fd: &impl AsRawFd) -> std::io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC on a valid open fd has no memory effects; on success it returns
    // a new fd that nothing else owns, which OwnedFd takes over.
    unsafe {
        let new = libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 100);
        if new < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(OwnedFd::from_raw_fd(new))
    }
}

/// What the `pre_exec` hook does in the child.
#[derive(Debug, Clone)]
pub struct ChildSandbox {
    /// `(source, target)`: the source (from [`dup_high`]) becomes fd `target`, inherited.
    pub fds: Vec<(RawFd, RawFd)>,
    /// Switch to this user (and its group, with no supplementary groups) after clearing the
    /// bounding set; `None` in development mode.
    pub identity: Option<Identity>,
}

/// Installs the sandboxing `pre_exec` hook on `command`.
pub fn install(command: &mut tokio::process::Command, sandbox: ChildSandbox) {
    let hook = move || sandbox.apply();
    // SAFETY: `apply` only makes async-signal-safe syscalls (dup2, prctl, setgroups,
    // setresgid, setresuid) on values computed before the fork, and allocates nothing.
    unsafe {
        command.pre_exec(hook);
    }
}

impl ChildSandbox {
    /// Runs in the forked child before `exec`.
    fn apply(&self) -> std::io::Result<()> {
        let check = |rc: libc::c_int| {
            if rc < 0 {
                Err(std::io::Error::last_os_error())
            } else {
                Ok(())
            }
        };
        // SAFETY: (for every call in this block) plain syscalls on integers and null pointers;
        // none touches memory of the parent or allocates.
        unsafe {
            for &(source, target) in &self.fds {
                check(libc::dup2(source, target))?;
            }
            if let Some(id) = self.identity {
                // The bounding set first: it needs CAP_SETPCAP, which setresuid takes away.
                for cap in 0..64 {
                    let rc = libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0);
                    if rc < 0
                        && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINVAL)
                    {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                check(libc::setgroups(0, std::ptr::null()))?;
                check(libc::setresgid(id.gid, id.gid, id.gid))?;
                check(libc::setresuid(id.uid, id.uid, id.uid))?;
            }
            check(libc::prctl(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_CLEAR_ALL,
                0,
                0,
                0,
            ))?;
            check(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))?;
            // After the uid change, which would clear it; the supervisor spawns from its one
            // runtime thread, so "parent thread died" means the supervisor died.
            check(libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0))?;
        }
        Ok(())
    }
}

/// Makes `command`'s process end (SIGTERM) when the supervisor does, as the services do: a
/// killed development-mode supervisor leaves no demo fleet behind.
pub fn end_with_supervisor(command: &mut tokio::process::Command) {
    // SAFETY: the closure runs in the child between fork and exec and makes one
    // async-signal-safe syscall on integers.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM, 0, 0, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Sends `signal` to the service process `pid`, which runs as `identity` (`None`: as the
/// supervisor's own uid, development mode). For another uid a forked helper takes that uid
/// and sends it: the kernel lets a process signal its own uid's processes, so the supervisor
/// needs no `CAP_KILL`.
pub fn signal_service(pid: u32, identity: Option<Identity>, signal: nix::sys::signal::Signal) {
    let Some(id) = identity.filter(|id| id.uid != nix::unistd::getuid().as_raw()) else {
        kill(pid, signal);
        return;
    };
    let (Ok(target), Ok(uid)) = (libc::pid_t::try_from(pid), libc::uid_t::try_from(id.uid)) else {
        return;
    };
    let sig = signal as libc::c_int;
    // SAFETY: the child makes only async-signal-safe syscalls on integers computed before
    // the fork (setresuid, kill, _exit) and returns nowhere; the parent waits for it.
    unsafe {
        let helper = libc::fork();
        if helper == 0 {
            let ok = libc::setresuid(uid, uid, uid) == 0 && libc::kill(target, sig) == 0;
            libc::_exit(i32::from(!ok));
        }
        if helper < 0 {
            tracing::warn!(
                pid,
                "cannot fork the signal helper: {}",
                std::io::Error::last_os_error()
            );
            return;
        }
        let mut status = 0;
        libc::waitpid(helper, &mut status, 0);
        if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
            tracing::debug!(
                pid,
                ?signal,
                "the signal helper could not signal the service (it may be gone)"
            );
        }
    }
}

/// Sends `signal` to process `pid` (of the supervisor's own uid).
pub fn kill(pid: u32, signal: nix::sys::signal::Signal) {
    if let Ok(pid) = i32::try_from(pid) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal);
    }
}
