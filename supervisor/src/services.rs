//! The services the supervisor runs, as data: which binary, which user, which listeners,
//! which directories it owns, and who may use its socket.

use crate::config::Config;
use crate::sys::{self, Identity};
use std::path::{Path, PathBuf};

/// A built-in service of the MOM.
struct Builtin {
    name: &'static str,
    binary: &'static str,
    user: fn(&crate::config::Users) -> &str,
    /// Its command line, from the configuration and the uids resolved for the plan.
    args: fn(&Config, &Uids) -> Vec<String>,
    /// The folders it may write beneath.
    write_dirs: fn(&crate::config::Paths) -> Vec<PathBuf>,
    /// The listening sockets it is handed.
    listeners: &'static [&'static str],
    essential: bool,
}

/// The uids a service's socket admits, resolved once for the plan.
struct Uids {
    /// Every service, root, the supervisor's user and the admin uids: the store's socket
    /// and svc-axi's.
    services: Vec<u32>,
    /// svc-maxi's user alone (the supervisor's user in development mode, where every
    /// service runs as it): svc-web's socket, which hands out the TLS key.
    maxi: Vec<u32>,
}

fn store_args(config: &Config, uids: &Uids) -> Vec<String> {
    let store_uids = &uids.services;
    let store_state = config.paths.state_dir.join("store");
    let mut args = vec![
        "--db-dir".to_owned(),
        store_db_dir(&config.paths.state_dir).display().to_string(),
        "--transfer-dir".to_owned(),
        store_state.join("transfer").display().to_string(),
        "--socket".to_owned(),
        store_socket(&config.paths.runtime_dir)
            .display()
            .to_string(),
        "--sample-secs".to_owned(),
        config.statistics.sample_secs.to_string(),
    ];
    for key in &config.license.issuer_keys {
        args.push("--license-issuer".to_owned());
        args.push(key.clone());
    }
    for uid in store_uids {
        args.push("--allow-uid".to_owned());
        args.push(uid.to_string());
    }
    args
}

fn axi_args(config: &Config, uids: &Uids) -> Vec<String> {
    let allowed = &uids.services;
    let mut args = vec![
        "--socket".to_owned(),
        axi_socket(&config.paths.runtime_dir).display().to_string(),
        "--store-socket".to_owned(),
        store_socket(&config.paths.runtime_dir)
            .display()
            .to_string(),
        "--retry-secs".to_owned(),
        config.axi.retry_secs.to_string(),
        "--ping-secs".to_owned(),
        config.axi.ping_secs.to_string(),
        "--request-timeout-secs".to_owned(),
        config.axi.request_timeout_secs.to_string(),
        "--protocol-version".to_owned(),
        config.axi.protocol_version.to_string(),
    ];
    for uid in allowed {
        args.push("--allow-uid".to_owned());
        args.push(uid.to_string());
    }
    args
}

fn web_args(config: &Config, uids: &Uids) -> Vec<String> {
    let mut args = vec![
        "--store-socket".to_owned(),
        store_socket(&config.paths.runtime_dir)
            .display()
            .to_string(),
        "--state-dir".to_owned(),
        web_state(&config.paths.state_dir).display().to_string(),
        "--session-idle-secs".to_owned(),
        config.web.session_idle_secs.to_string(),
        "--session-max-secs".to_owned(),
        config.web.session_max_secs.to_string(),
        "--header-timeout-secs".to_owned(),
        config.web.header_timeout_secs.to_string(),
        "--max-connections".to_owned(),
        config.web.max_connections.to_string(),
        "--axi-socket".to_owned(),
        axi_socket(&config.paths.runtime_dir).display().to_string(),
        "--omm-upload-max-mib".to_owned(),
        config.web.omm_upload_max_mib.to_string(),
        "--upload-max-mib".to_owned(),
        config.web.upload_max_mib.to_string(),
        "--socket".to_owned(),
        web_socket(&config.paths.runtime_dir).display().to_string(),
        "--control-socket".to_owned(),
        control_socket(&config.paths.runtime_dir)
            .display()
            .to_string(),
    ];
    for uid in &uids.maxi {
        args.push("--allow-uid".to_owned());
        args.push(uid.to_string());
    }
    if config.web.metrics_loopback {
        args.push("--metrics-loopback".to_owned());
    }
    for name in &config.web.host_names {
        args.push("--host-name".to_owned());
        args.push(name.clone());
    }
    args
}

fn maxi_args(config: &Config, _: &Uids) -> Vec<String> {
    vec![
        "--store-socket".to_owned(),
        store_socket(&config.paths.runtime_dir)
            .display()
            .to_string(),
        "--axi-socket".to_owned(),
        axi_socket(&config.paths.runtime_dir).display().to_string(),
        "--web-socket".to_owned(),
        web_socket(&config.paths.runtime_dir).display().to_string(),
        "--protocol-version".to_owned(),
        config.axi.protocol_version.to_string(),
        "--handshake-timeout-secs".to_owned(),
        config.maxi.handshake_timeout_secs.to_string(),
        "--idle-timeout-secs".to_owned(),
        config.maxi.idle_timeout_secs.to_string(),
    ]
}

/// Gives svc-axi the port the `https` listener was bound on: the OMMs' configuration URL
/// points there (it is known only after binding, and may be chosen by the system).
pub fn tell_web_port(plan: &mut Plan, port: u16) {
    for spec in plan.services.iter_mut().filter(|s| s.name == "axi") {
        spec.args.push("--web-port".to_owned());
        spec.args.push(port.to_string());
    }
}

/// svc-store's database folder under the state directory.
#[must_use]
pub fn store_db_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("store").join("db")
}

/// svc-web's state folder (certificate, sessions, tokens) under the state directory.
#[must_use]
pub fn web_state(state_dir: &Path) -> PathBuf {
    state_dir.join("web")
}

/// The built-in services, in start order.
const BUILTIN: &[Builtin] = &[
    Builtin {
        name: "store",
        write_dirs: |p| {
            vec![
                p.state_dir.join("store"),
                p.runtime_dir.join("store"),
                p.log_dir.clone(),
            ]
        },
        binary: "svc-store",
        user: |u| &u.store,
        args: store_args,
        listeners: &[],
        essential: true,
    },
    Builtin {
        name: "axi",
        write_dirs: |p| vec![p.runtime_dir.join("axi"), p.log_dir.clone()],
        binary: "svc-axi",
        user: |u| &u.axi,
        args: axi_args,
        listeners: &[],
        essential: false,
    },
    Builtin {
        name: "web",
        write_dirs: |p| {
            vec![
                web_state(&p.state_dir),
                p.runtime_dir.join("web"),
                p.log_dir.clone(),
            ]
        },
        binary: "svc-web",
        user: |u| &u.web,
        args: web_args,
        listeners: &["https", "http"],
        essential: false,
    },
    Builtin {
        name: "maxi",
        write_dirs: |p| vec![p.log_dir.clone()],
        binary: "svc-maxi",
        user: |u| &u.maxi,
        args: maxi_args,
        listeners: &["maxi", "maxi-debug"],
        essential: false,
    },
];

/// Everything needed to start one service.
#[derive(Debug, Clone)]
pub struct ServiceSpec {
    /// Name in status and logs.
    pub name: String,
    /// Program.
    pub binary: PathBuf,
    /// Arguments.
    pub args: Vec<String>,
    /// User to run as (`None` in development mode: the current user).
    pub identity: Option<Identity>,
    /// Listening sockets it receives.
    pub listeners: Vec<String>,
    /// The daemon cannot run without it (svc-store).
    pub essential: bool,
    /// The folders it may write beneath (its own and the log folder; Landlock enforces it
    /// where the kernel can).
    pub write_dirs: Vec<PathBuf>,
}

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

/// The resolved plan of a run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Services in start order.
    pub services: Vec<ServiceSpec>,
    /// Directories to create, parents first.
    pub dirs: Vec<DirSpec>,
    /// The store's socket.
    pub store_socket: PathBuf,
    /// The supervisor's control socket.
    pub control_socket: PathBuf,
    /// Uids allowed on the control socket.
    pub control_uids: Vec<u32>,
    /// Gid of the services' common group (the supervisor's gid after the drop).
    pub group_gid: u32,
    /// Development mode.
    pub dev: bool,
}

/// Path of the store's socket under a runtime directory.
#[must_use]
pub fn store_socket(runtime_dir: &Path) -> PathBuf {
    runtime_dir.join("store").join("store.sock")
}

/// Path of svc-axi's socket under a runtime directory.
#[must_use]
pub fn axi_socket(runtime_dir: &Path) -> PathBuf {
    runtime_dir.join("axi").join("axi.sock")
}

/// Path of svc-web's socket under a runtime directory.
#[must_use]
pub fn web_socket(runtime_dir: &Path) -> PathBuf {
    runtime_dir.join("web").join("web.sock")
}

/// Path of the control socket under a runtime directory.
#[must_use]
pub fn control_socket(runtime_dir: &Path) -> PathBuf {
    runtime_dir.join("supervisor.sock")
}

/// Who owns one of the MOM's folders (always with the services' group).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// The supervisor.
    Root,
    /// svc-store's user.
    Store,
    /// svc-axi's user.
    Axi,
    /// svc-web's user.
    Web,
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
    vec![
        dir(paths.runtime_dir.clone(), Owner::Root, 0o750),
        dir(paths.state_dir.clone(), Owner::Root, 0o750),
        dir(paths.runtime_dir.join("store"), Owner::Store, 0o750),
        dir(paths.state_dir.join("store"), Owner::Store, 0o700),
        dir(paths.runtime_dir.join("axi"), Owner::Axi, 0o750),
        dir(paths.runtime_dir.join("web"), Owner::Web, 0o750),
        dir(web_state(&paths.state_dir), Owner::Web, 0o700),
        // Every service appends to the day's trace file; set-group-id so its group is mom.
        dir(paths.log_dir.clone(), Owner::Root, 0o2770),
    ]
}

/// Resolves users and paths into a [`Plan`].
///
/// # Errors
/// A message when a user or group is missing.
pub fn plan(config: &Config, dev: bool) -> Result<Plan, String> {
    let me = nix::unistd::getuid().as_raw();
    let lookup = |name: &str| {
        if dev {
            Ok(None)
        } else {
            sys::user(name).map(Some)
        }
    };
    let group_gid = if dev {
        nix::unistd::getgid().as_raw()
    } else {
        sys::group(&config.users.group)?
    };
    let root = Some(Identity {
        uid: 0,
        gid: group_gid,
    });
    let owner = |id: Option<Identity>| {
        if dev {
            None
        } else {
            id.map(|i| Identity {
                uid: i.uid,
                gid: group_gid,
            })
        }
    };
    let paths = &config.paths;
    let store_user = lookup(&config.users.store)?;
    let axi_user = lookup(&config.users.axi)?;
    let web_user = lookup(&config.users.web)?;
    let maxi_user = lookup(&config.users.maxi)?;
    let mut store_uids = vec![0, me];
    store_uids.extend(&config.users.admin_uids);
    for name in [&config.users.axi, &config.users.maxi, &config.users.web] {
        // Services that are not installed yet have no user; they are simply not allowed.
        if let Ok(Some(id)) = lookup(name) {
            store_uids.push(id.uid);
        }
    }
    for extra in &config.extra_service {
        if let Some(id) = lookup(&extra.user)? {
            store_uids.push(id.uid);
        }
    }
    store_uids.sort_unstable();
    store_uids.dedup();

    let dirs = layout(paths)
        .into_iter()
        .map(|d| DirSpec {
            path: d.path,
            owner: owner(match d.owner {
                Owner::Root => root,
                Owner::Store => store_user,
                Owner::Axi => axi_user,
                Owner::Web => web_user,
            }),
            mode: d.mode,
        })
        .collect();
    let uids = Uids {
        maxi: maxi_user.map_or(vec![me], |m| vec![m.uid]),
        services: store_uids,
    };
    let mut services = Vec::new();
    for builtin in BUILTIN {
        let identity = lookup((builtin.user)(&config.users))?.map(|i| Identity {
            uid: i.uid,
            gid: group_gid,
        });
        services.push(ServiceSpec {
            name: builtin.name.to_owned(),
            binary: paths.libexec_dir.join(builtin.binary),
            args: (builtin.args)(config, &uids),
            identity,
            listeners: builtin
                .listeners
                .iter()
                .filter(|l| config.listener(l).is_some())
                .map(|l| (*l).to_owned())
                .collect(),
            essential: builtin.essential,
            write_dirs: (builtin.write_dirs)(paths),
        });
    }
    for extra in &config.extra_service {
        let identity = lookup(&extra.user)?.map(|i| Identity {
            uid: i.uid,
            gid: group_gid,
        });
        services.push(ServiceSpec {
            name: extra.name.clone(),
            binary: extra.binary.clone(),
            args: extra.args.clone(),
            identity,
            listeners: extra.listeners.clone(),
            essential: false,
            // Its folders are its own business: no Landlock rules from the supervisor.
            write_dirs: Vec::new(),
        });
    }
    let mut control_uids = vec![0, me];
    control_uids.extend(&config.users.admin_uids);
    // svc-web reads and changes the log level for the API.
    if let Some(web) = web_user {
        control_uids.push(web.uid);
    }
    Ok(Plan {
        services,
        dirs,
        store_socket: store_socket(&paths.runtime_dir),
        control_socket: control_socket(&paths.runtime_dir),
        control_uids,
        group_gid,
        dev,
    })
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

    /// The tmpfiles.d lines of the package make exactly the supervisor's folders, with the
    /// same owners and modes: under systemd the supervisor cannot fix them itself.
    #[test]
    fn the_packaged_tmpfiles_make_the_supervisors_folders() {
        let text = include_str!("../../packaging/tmpfiles.conf");
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
                    Owner::Store => &users.store,
                    Owner::Axi => &users.axi,
                    Owner::Web => &users.web,
                };
                (d.path, owner.to_owned(), d.mode)
            })
            .collect();
        assert_eq!(packaged, expected);
    }
}
