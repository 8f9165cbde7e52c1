//! The sandbox check every service runs before it serves anything.

use std::fmt;

/// What `/proc/self/status` says about this process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessCredentials {
    /// Real, effective, saved and filesystem uid.
    pub uids: Vec<u32>,
    /// Supplementary groups.
    pub groups: Vec<u32>,
    /// Effective capabilities.
    pub cap_eff: u64,
    /// Bounding set.
    pub cap_bnd: u64,
    /// Ambient set.
    pub cap_amb: u64,
    /// `NoNewPrivs`.
    pub no_new_privs: bool,
}

/// Parses the text of a `/proc/PID/status` file.
#[must_use]
pub fn parse_status(text: &str) -> ProcessCredentials {
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name).map(str::trim))
            .unwrap_or("")
    };
    let hex = |name: &str| u64::from_str_radix(field(name), 16).unwrap_or(u64::MAX);
    let numbers = |name: &str| {
        field(name)
            .split_whitespace()
            .filter_map(|n| n.parse().ok())
            .collect()
    };
    ProcessCredentials {
        uids: numbers("Uid:"),
        groups: numbers("Groups:"),
        cap_eff: hex("CapEff:"),
        cap_bnd: hex("CapBnd:"),
        cap_amb: hex("CapAmb:"),
        no_new_privs: field("NoNewPrivs:") == "1",
    }
}

/// Why the sandbox is not what it must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxError(pub Vec<String>);

impl fmt::Display for SandboxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "refusing to run outside the sandbox: {}",
            self.0.join("; ")
        )
    }
}

impl std::error::Error for SandboxError {}

/// Checks credentials against the sandbox rules.
///
/// # Errors
/// [`SandboxError`] listing every rule that does not hold.
pub fn check(creds: &ProcessCredentials) -> Result<(), SandboxError> {
    let mut problems = Vec::new();
    if creds.uids.is_empty() || creds.uids.contains(&0) {
        problems.push(format!("runs as root (uids {:?})", creds.uids));
    }
    if creds.cap_eff != 0 {
        problems.push(format!("has effective capabilities {:#x}", creds.cap_eff));
    }
    if creds.cap_amb != 0 {
        problems.push(format!("has ambient capabilities {:#x}", creds.cap_amb));
    }
    if !creds.no_new_privs {
        problems.push("no_new_privs is not set".into());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(SandboxError(problems))
    }
}

/// Makes this process non-dumpable (so other uids cannot trace it or read its `/proc` files)
/// and, unless `dev` is set, verifies the sandbox.
///
/// # Errors
/// [`SandboxError`] when the sandbox does not hold; the service must exit.
pub fn enter(dev: bool) -> Result<(), SandboxError> {
    nix::sys::prctl::set_dumpable(false)
        .map_err(|e| SandboxError(vec![format!("cannot clear dumpable: {e}")]))?;
    if dev {
        tracing::info!("development mode: sandbox check skipped");
        return Ok(());
    }
    let text = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| SandboxError(vec![format!("cannot read /proc/self/status: {e}")]))?;
    check(&parse_status(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SANDBOXED: &str = "Name:\tsvc-store\nUid:\t990\t990\t990\t990\nGroups:\t\n\
        CapInh:\t0000000000000000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n\
        CapBnd:\t0000000000000000\nCapAmb:\t0000000000000000\nNoNewPrivs:\t1\n";

    #[test]
    fn a_sandboxed_process_passes() {
        let creds = parse_status(SANDBOXED);
        assert_eq!(creds.uids, [990, 990, 990, 990]);
        assert!(creds.groups.is_empty());
        check(&creds).unwrap();
    }

    #[test]
    fn root_capabilities_and_missing_nnp_are_all_reported() {
        let text = SANDBOXED
            .replace("990\t990\t990\t990", "0\t0\t0\t0")
            .replace("CapEff:\t0000000000000000", "CapEff:\t000001ffffffffff")
            .replace("NoNewPrivs:\t1", "NoNewPrivs:\t0");
        let err = check(&parse_status(&text)).unwrap_err();
        assert_eq!(err.0.len(), 3, "{err}");
    }
}
