//! The folders the MOM keeps (state, logs, sockets), who owns each, and their creation.

use super::*;
use crate::sys::Identity;
use std::path::PathBuf;

/// A directory the supervisor creates at start.
#[derive(Debug, Clone)]
pub struct DirSpec {
    /// Path.
    pub path: PathBuf,
    /// Owner (`None`: leave as created, development mode).
    pub owner: Option<Identity>,
    /// Mode.
    pub mode: u32,
}

/// Who owns one of the MOM's folders (always with the services' group).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// The supervisor.
    Root,
    /// The built-in service of this name (its user).
    Service(&'static str),
}

/// One folder of the layout, before users are resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoutDir {
    /// Path.
    pub path: PathBuf,
    /// Owner.
    pub owner: Owner,
    /// Mode.
    pub mode: u32,
}

/// The MOM's folders, parents first. `packaging/tmpfiles.conf` makes the same ones for the
/// installed MOM (a test compares the two).
#[must_use]
pub fn layout(paths: &crate::config::Paths) -> Vec<LayoutDir> {
    let dir = |path: PathBuf, owner: Owner, mode: u32| LayoutDir { path, owner, mode };
    let mut out = vec![
        dir(paths.runtime_dir.clone(), Owner::Root, 0o750),
        dir(paths.state_dir.clone(), Owner::Root, 0o750),
    ];
    for builtin in BUILTIN {
        for folder in builtin.folders {
            out.push(dir(
                folder_path(paths, folder),
                Owner::Service(builtin.name),
                folder.mode,
            ));
        }
    }
    // Every service appends to the day's trace file; set-group-id so its group is mom.
    out.push(dir(paths.log_dir.clone(), Owner::Root, 0o2770));
    out
}

/// Where a service's folder lies.
pub(super) fn folder_path(paths: &crate::config::Paths, folder: &Folder) -> PathBuf {
    match folder.under {
        Under::Runtime => paths.runtime_dir.join(folder.path),
        Under::State => paths.state_dir.join(folder.path),
    }
}

/// Creates the plan's directories with their owners and modes. What already holds is left
/// alone, so under systemd, where `systemd-tmpfiles` made them (packaging/tmpfiles.conf),
/// the supervisor needs neither `CAP_CHOWN` nor `CAP_FOWNER`.
///
/// # Errors
/// A message naming the directory, and for a folder it may not fix, how to fix it.
pub fn create_dirs(dirs: &[DirSpec]) -> Result<(), String> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    for dir in dirs {
        let fail = |e: &dyn std::fmt::Display| {
            let hint = if nix::unistd::geteuid().is_root() {
                " (as installed, systemd-tmpfiles --create sip-dect-mom.conf makes it)"
            } else {
                ""
            };
            format!("cannot prepare {}: {e}{hint}", dir.path.display())
        };
        std::fs::create_dir_all(&dir.path).map_err(|e| fail(&e))?;
        let meta = std::fs::metadata(&dir.path).map_err(|e| fail(&e))?;
        // The mode first, while the folder may still be the supervisor's own.
        if meta.mode() & 0o7777 != dir.mode {
            std::fs::set_permissions(&dir.path, std::fs::Permissions::from_mode(dir.mode))
                .map_err(|e| fail(&e))?;
        }
        if let Some(owner) = dir.owner {
            if (meta.uid(), meta.gid()) != (owner.uid, owner.gid) {
                nix::unistd::chown(
                    &dir.path,
                    Some(nix::unistd::Uid::from_raw(owner.uid)),
                    Some(nix::unistd::Gid::from_raw(owner.gid)),
                )
                .map_err(|e| fail(&e))?;
                // chown takes away the set-group-id bit of some file systems.
                if std::fs::metadata(&dir.path).map_err(|e| fail(&e))?.mode() & 0o7777 != dir.mode {
                    std::fs::set_permissions(&dir.path, std::fs::Permissions::from_mode(dir.mode))
                        .map_err(|e| fail(&e))?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod layout_tests {
    use super::*;

    #[test]
    fn the_reserved_names_are_the_built_in_services() {
        let names: Vec<&str> = BUILTIN.iter().map(|b| b.name).collect();
        assert_eq!(names, crate::config::BUILTIN_SERVICES);
    }

    #[test]
    fn sockets_admit_the_services_that_name_them_as_peers() {
        let uids = Uids {
            admins: vec![0, 1000],
            extras: vec![2000],
            services: vec![("store", 11), ("axi", 12), ("web", 13), ("maxi", 14)],
        };
        assert_eq!(
            uids.allowed("store", true, true),
            [0, 12, 13, 14, 1000, 2000]
        );
        assert_eq!(
            uids.allowed("web", false, false),
            [14],
            "the TLS key goes to svc-maxi alone"
        );
        assert_eq!(uids.allowed("control", true, false), [0, 13, 1000]);
        let config = Config::parse("", Path::new("mom.toml")).expect("the defaults");
        let maxi = BUILTIN.iter().find(|b| b.name == "maxi").unwrap();
        let args = arguments(maxi, &config, &uids);
        for peer in ["--store-socket", "--axi-socket", "--web-socket"] {
            assert!(args.iter().any(|a| a == peer), "{peer} in {args:?}");
        }
        assert!(
            !args.iter().any(|a| a == "--socket"),
            "svc-maxi serves no socket"
        );
    }

    /// The tmpfiles.d lines of the package make exactly the supervisor's folders, with the
    /// same owners and modes: under systemd the supervisor cannot fix them itself.
    #[test]
    fn the_packaged_tmpfiles_make_the_supervisors_folders() {
        let text = include_str!("../../../packaging/tmpfiles.conf");
        let users = crate::config::Users::default();
        let packaged: Vec<(PathBuf, String, u32)> = text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                assert_eq!(f[0], "d", "{l}");
                assert_eq!(f[4], users.group, "{l}");
                (
                    PathBuf::from(f[1]),
                    f[3].to_owned(),
                    u32::from_str_radix(f[2], 8).unwrap(),
                )
            })
            .collect();
        let expected: Vec<(PathBuf, String, u32)> = layout(&crate::config::Paths::default())
            .into_iter()
            .map(|d| {
                let owner = match d.owner {
                    Owner::Root => "root",
                    Owner::Service(name) => {
                        let builtin = BUILTIN.iter().find(|b| b.name == name).unwrap();
                        (builtin.user)(&users)
                    }
                };
                (d.path, owner.to_owned(), d.mode)
            })
            .collect();
        assert_eq!(packaged, expected);
    }
}
