//! Kernel confinement a service puts on itself before it serves: a seccomp filter that
//! refuses the system calls no MOM service makes, and a Landlock ruleset that allows
//! writing only beneath the folders the service owns (reading stays as Unix permissions
//! allow).
//!
//! Both are best effort, as the issue and the target kernels require: Rocky 9 kernels before
//! 9.6 have no Landlock, and a container may hide it. What is not enforced is logged, once,
//! as a warning; what is, as one info line. Neither is ever a reason not to start: the
//! sandbox the supervisor built (own uid, no capabilities, `no_new_privs`) holds regardless
//! and is verified by [`crate::sandbox`].

use landlock::{
    path_beneath_rules, Access, AccessFs, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus,
    ABI,
};
use seccompiler::{BpfProgram, SeccompAction, SeccompFilter, TargetArch};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Environment variable with the folders a service may write beneath (`:`-separated),
/// set by the supervisor.
pub const WRITE_DIRS_ENV: &str = "MOM_WRITE_DIRS";

/// System calls refused with `EPERM` in every service: debugging other processes, mounts
/// and namespaces, kernel modules and kexec, BPF and perf, swap, reboot, the clock, key
/// rings, and running another program (no service starts one).
const REFUSED_IN_SERVICES: &[libc::c_long] = &[
    libc::SYS_execve,
    libc::SYS_execveat,
    libc::SYS_ptrace,
    libc::SYS_process_vm_readv,
    libc::SYS_process_vm_writev,
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_pivot_root,
    libc::SYS_chroot,
    libc::SYS_fsopen,
    libc::SYS_fsmount,
    libc::SYS_fsconfig,
    libc::SYS_fspick,
    libc::SYS_move_mount,
    libc::SYS_open_tree,
    libc::SYS_setns,
    libc::SYS_unshare,
    libc::SYS_init_module,
    libc::SYS_finit_module,
    libc::SYS_delete_module,
    libc::SYS_kexec_load,
    libc::SYS_kexec_file_load,
    libc::SYS_bpf,
    libc::SYS_perf_event_open,
    libc::SYS_userfaultfd,
    libc::SYS_swapon,
    libc::SYS_swapoff,
    libc::SYS_reboot,
    libc::SYS_acct,
    libc::SYS_settimeofday,
    libc::SYS_clock_settime,
    libc::SYS_clock_adjtime,
    libc::SYS_adjtimex,
    libc::SYS_syslog,
    libc::SYS_keyctl,
    libc::SYS_add_key,
    libc::SYS_request_key,
    libc::SYS_open_by_handle_at,
    libc::SYS_name_to_handle_at,
    libc::SYS_quotactl,
];

/// The supervisor starts the services, so it keeps `execve`; the rest is refused as in the
/// services.
const REFUSED_IN_SUPERVISOR: &[libc::c_long] = REFUSED_IN_SERVICES.split_at(2).1;

/// Who installs the filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A service: nothing to start, so no `execve`.
    Service,
    /// The supervisor, which starts the services.
    Supervisor,
}

/// Installs the seccomp filter of `role` on every thread of this process.
///
/// # Errors
/// Why it could not be installed (an unknown architecture, or a kernel or container that
/// refuses `seccomp(2)`).
pub fn seccomp(role: Role) -> Result<usize, String> {
    let refused = match role {
        Role::Service => REFUSED_IN_SERVICES,
        Role::Supervisor => REFUSED_IN_SUPERVISOR,
    };
    let arch = TargetArch::try_from(std::env::consts::ARCH)
        .map_err(|e| format!("no seccomp filter for this architecture: {e}"))?;
    let rules: BTreeMap<i64, Vec<seccompiler::SeccompRule>> =
        refused.iter().map(|&nr| (nr, Vec::new())).collect();
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )
    .map_err(|e| format!("cannot build the seccomp filter: {e}"))?;
    let program: BpfProgram = filter
        .try_into()
        .map_err(|e| format!("cannot compile the seccomp filter: {e:?}"))?;
    seccompiler::apply_filter_all_threads(&program)
        .map_err(|e| format!("cannot install the seccomp filter: {e}"))?;
    Ok(refused.len())
}

/// How far the Landlock ruleset holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Landlock {
    /// Every write outside the folders is refused.
    Enforced,
    /// The kernel knows only part of the rules.
    Partial,
    /// The kernel has no Landlock (or a container hides it).
    NotEnforced,
}

/// Allows writing (creating, removing, truncating, renaming) only beneath `dirs`.
///
/// # Errors
/// A message when the kernel refuses a ruleset it claims to support.
pub fn landlock_writes(dirs: &[PathBuf]) -> Result<Landlock, String> {
    let abi = ABI::V3;
    let writes = AccessFs::from_write(abi);
    let status = Ruleset::default()
        .handle_access(writes)
        .and_then(|r| r.create())
        .and_then(|r| r.add_rules(path_beneath_rules(dirs, AccessFs::from_all(abi) & writes)))
        .and_then(|r| r.restrict_self())
        .map_err(|e| format!("cannot set the Landlock rules: {e}"))?;
    Ok(match status.ruleset {
        RulesetStatus::FullyEnforced => Landlock::Enforced,
        RulesetStatus::PartiallyEnforced => Landlock::Partial,
        RulesetStatus::NotEnforced => Landlock::NotEnforced,
    })
}

/// The folders from [`WRITE_DIRS_ENV`].
#[must_use]
pub fn write_dirs_from_env() -> Option<Vec<PathBuf>> {
    let value = std::env::var_os(WRITE_DIRS_ENV)?;
    Some(
        std::env::split_paths(&value)
            .filter(|p| !p.as_os_str().is_empty())
            .collect(),
    )
}

/// Both confinements for `role`, logged in one line (a warning when one is not enforced);
/// never fails. Landlock only when the supervisor named the folders: a service started by
/// hand keeps Unix permissions alone.
pub fn apply(role: Role) {
    let seccomp = seccomp(role);
    let landlock = write_dirs_from_env().map(|dirs| (landlock_writes(&dirs), dirs));
    let seccomp_state = match &seccomp {
        Ok(_) => "enforced".to_owned(),
        Err(e) => format!("not enforced ({e})"),
    };
    let (landlock_state, dirs) = match &landlock {
        None => ("not asked for".to_owned(), String::new()),
        Some((state, dirs)) => (
            match state {
                Ok(Landlock::Enforced) => "enforced".to_owned(),
                Ok(Landlock::Partial) => {
                    "partly enforced (this kernel knows only some rules)".to_owned()
                }
                Ok(Landlock::NotEnforced) => {
                    "not enforced (the kernel or its container does not offer it)".to_owned()
                }
                Err(e) => format!("not enforced ({e})"),
            },
            dirs.iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(" "),
        ),
    };
    let all_held = seccomp.is_ok()
        && landlock
            .as_ref()
            .is_none_or(|(state, _)| matches!(state, Ok(Landlock::Enforced)));
    if all_held {
        tracing::info!(seccomp = %seccomp_state, landlock = %landlock_state, write_dirs = %dirs, "confined");
    } else {
        tracing::warn!(seccomp = %seccomp_state, landlock = %landlock_state, write_dirs = %dirs, "confinement not fully enforced; the sandbox of own user, no capabilities and no_new_privs still holds");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_supervisor_keeps_execve_and_refuses_the_rest() {
        assert!(!REFUSED_IN_SUPERVISOR.contains(&libc::SYS_execve));
        assert!(!REFUSED_IN_SUPERVISOR.contains(&libc::SYS_execveat));
        assert!(REFUSED_IN_SERVICES.contains(&libc::SYS_execve));
        assert_eq!(REFUSED_IN_SUPERVISOR.len() + 2, REFUSED_IN_SERVICES.len());
        assert!(REFUSED_IN_SUPERVISOR.contains(&libc::SYS_ptrace));
    }
}
