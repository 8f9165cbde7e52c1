//! The services the supervisor runs, as data: which binary, which user, which listeners,
//! which directories it owns, and who may use its socket.

use crate::config::Config;
use crate::sys::{self, Identity};
use std::path::{Path, PathBuf};

/// A built-in service of the MOM: everything the supervisor derives its start, its folders,
/// its socket's allow-list and its peers' arguments from.
struct Builtin {
    name: &'static str,
    binary: &'static str,
    user: fn(&crate::config::Users) -> &str,
    /// Its socket, if it serves one.
    socket: Option<Socket>,
    /// The sockets it connects to (`--<peer>-socket`): built-in services, or `control` for
    /// the supervisor's.
    peers: &'static [&'static str],
    /// The folders it owns (it may write beneath them, and the log folder).
    folders: &'static [Folder],
    /// Its other arguments, from the configuration.
    args: fn(&Config) -> Vec<String>,
    /// The listening sockets it is handed.
    listeners: &'static [&'static str],
    essential: bool,
    /// What the supervisor does when it ends.
    on_exit: ExitHook,
}

/// A service's socket under the runtime directory, and who may connect besides the
/// services that name it as a peer.
struct Socket {
    path: &'static str,
    /// Root, the supervisor's user and the administrators' uids may connect (the CLI).
    admins: bool,
    /// The `[[extra-service]]` users may connect.
    extras: bool,
}

/// Which of the MOM's directories a folder lies under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Under {
    Runtime,
    State,
}

/// A folder a service owns.
struct Folder {
    under: Under,
    path: &'static str,
    mode: u32,
}

/// What the supervisor does when a service ends, before it starts it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitHook {
    /// Nothing.
    None,
    /// The store learns that no OMM link is held any more (svc-axi): every link it shows as
    /// up is marked down, and the service starts again only once that is done.
    LinksLost,
}

/// The uids a service's socket admits, resolved once for the plan.
struct Uids {
    /// Root, the supervisor's user and the administrators' uids.
    admins: Vec<u32>,
    /// The `[[extra-service]]` users.
    extras: Vec<u32>,
    /// Each built-in service's user (the supervisor's user in development mode, where
    /// every service runs as it); none for one that is not installed.
    services: Vec<(&'static str, u32)>,
}

impl Uids {
    /// Who may connect to the socket of `name` (`control` for the supervisor's).
    fn allowed(&self, name: &str, admins: bool, extras: bool) -> Vec<u32> {
        let mut out = Vec::new();
        if admins {
            out.extend(&self.admins);
        }
        if extras {
            out.extend(&self.extras);
        }
        for builtin in BUILTIN.iter().filter(|b| b.peers.contains(&name)) {
            out.extend(
                self.services
                    .iter()
                    .filter(|(n, _)| *n == builtin.name)
                    .map(|(_, uid)| *uid),
            );
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// The socket of a built-in service, or `control` for the supervisor's, under a runtime
/// directory.
fn socket_of(name: &str, runtime_dir: &Path) -> Option<PathBuf> {
    if name == "control" {
        return Some(control_socket(runtime_dir));
    }
    BUILTIN
        .iter()
        .find(|b| b.name == name)
        .and_then(|b| b.socket.as_ref())
        .map(|s| runtime_dir.join(s.path))
}

/// A built-in service's command line: its socket and who may use it, its peers' sockets,
/// then its own settings.
fn arguments(builtin: &Builtin, config: &Config, uids: &Uids) -> Vec<String> {
    let runtime = &config.paths.runtime_dir;
    let mut args = Vec::new();
    if let Some(socket) = &builtin.socket {
        args.push("--socket".to_owned());
        args.push(runtime.join(socket.path).display().to_string());
        for uid in uids.allowed(builtin.name, socket.admins, socket.extras) {
            args.push("--allow-uid".to_owned());
            args.push(uid.to_string());
        }
    }
    for peer in builtin.peers {
        if let Some(path) = socket_of(peer, runtime) {
            args.push(format!("--{peer}-socket"));
            args.push(path.display().to_string());
        }
    }
    args.extend((builtin.args)(config));
    args
}

fn store_args(config: &Config) -> Vec<String> {
    let store_state = config.paths.state_dir.join("store");
    let mut args = vec![
        "--db-dir".to_owned(),
        store_db_dir(&config.paths.state_dir).display().to_string(),
        "--transfer-dir".to_owned(),
        store_state.join("transfer").display().to_string(),
        "--sample-secs".to_owned(),
        config.statistics.sample_secs.to_string(),
    ];
    for key in &config.license.issuer_keys {
        args.push("--license-issuer".to_owned());
        args.push(key.clone());
    }
    args
}

fn axi_args(config: &Config) -> Vec<String> {
    vec![
        "--retry-secs".to_owned(),
        config.axi.retry_secs.to_string(),
        "--ping-secs".to_owned(),
        config.axi.ping_secs.to_string(),
        "--request-timeout-secs".to_owned(),
        config.axi.request_timeout_secs.to_string(),
        "--protocol-version".to_owned(),
        config.axi.protocol_version.to_string(),
    ]
}

fn web_args(config: &Config) -> Vec<String> {
    let mut args = vec![
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
        "--omm-upload-max-mib".to_owned(),
        config.web.omm_upload_max_mib.to_string(),
        "--upload-max-mib".to_owned(),
        config.web.upload_max_mib.to_string(),
    ];
    if config.web.metrics_loopback {
        args.push("--metrics-loopback".to_owned());
    }
    for name in &config.web.host_names {
        args.push("--host-name".to_owned());
        args.push(name.clone());
    }
    args
}

fn maxi_args(config: &Config) -> Vec<String> {
    vec![
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
        binary: "svc-store",
        user: |u| &u.store,
        socket: Some(Socket {
            path: "store/store.sock",
            admins: true,
            extras: true,
        }),
        peers: &[],
        folders: &[
            Folder {
                under: Under::Runtime,
                path: "store",
                mode: 0o750,
            },
            Folder {
                under: Under::State,
                path: "store",
                mode: 0o700,
            },
        ],
        args: store_args,
        listeners: &[],
        essential: true,
        on_exit: ExitHook::None,
    },
    Builtin {
        name: "axi",
        binary: "svc-axi",
        user: |u| &u.axi,
        socket: Some(Socket {
            path: "axi/axi.sock",
            admins: true,
            extras: true,
        }),
        peers: &["store"],
        folders: &[Folder {
            under: Under::Runtime,
            path: "axi",
            mode: 0o750,
        }],
        args: axi_args,
        listeners: &[],
        essential: false,
        on_exit: ExitHook::LinksLost,
    },
    Builtin {
        name: "web",
        binary: "svc-web",
        user: |u| &u.web,
        // It hands out the TLS key: svc-maxi alone may ask.
        socket: Some(Socket {
            path: "web/web.sock",
            admins: false,
            extras: false,
        }),
        peers: &["store", "axi", "control"],
        folders: &[
            Folder {
                under: Under::Runtime,
                path: "web",
                mode: 0o750,
            },
            Folder {
                under: Under::State,
                path: "web",
                mode: 0o700,
            },
        ],
        args: web_args,
        listeners: &["https", "http"],
        essential: false,
        on_exit: ExitHook::None,
    },
    Builtin {
        name: "maxi",
        binary: "svc-maxi",
        user: |u| &u.maxi,
        socket: None,
        peers: &["store", "axi", "web"],
        folders: &[],
        args: maxi_args,
        listeners: &["maxi", "maxi-debug"],
        essential: false,
        on_exit: ExitHook::None,
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
    /// What the supervisor does when it ends.
    pub on_exit: ExitHook,
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
    socket_of("store", runtime_dir).unwrap_or_default()
}

/// Path of svc-axi's socket under a runtime directory.
#[must_use]
pub fn axi_socket(runtime_dir: &Path) -> PathBuf {
    socket_of("axi", runtime_dir).unwrap_or_default()
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
fn folder_path(paths: &crate::config::Paths, folder: &Folder) -> PathBuf {
    match folder.under {
        Under::Runtime => paths.runtime_dir.join(folder.path),
        Under::State => paths.state_dir.join(folder.path),
    }
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
    // Each built-in service's user; one that is not installed yet has none, and its
    // service is simply not allowed on the sockets (development mode: every service runs
    // as the supervisor's user).
    let mut users: Vec<(&'static str, Option<Identity>)> = Vec::new();
    for builtin in BUILTIN {
        users.push((builtin.name, lookup((builtin.user)(&config.users))?));
    }
    let user_of = |name: &str| {
        users
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, id)| *id)
    };
    let mut admins = vec![0, me];
    admins.extend(&config.users.admin_uids);
    let mut extras = Vec::new();
    for extra in &config.extra_service {
        if let Some(id) = lookup(&extra.user)? {
            extras.push(id.uid);
        }
    }
    let uids = Uids {
        admins,
        extras,
        services: BUILTIN
            .iter()
            .filter_map(|b| match (user_of(b.name), dev) {
                (Some(id), _) => Some((b.name, id.uid)),
                (None, true) => Some((b.name, me)),
                (None, false) => None,
            })
            .collect(),
    };
    let dirs = layout(paths)
        .into_iter()
        .map(|d| DirSpec {
            path: d.path,
            owner: owner(match d.owner {
                Owner::Root => root,
                Owner::Service(name) => user_of(name),
            }),
            mode: d.mode,
        })
        .collect();
    let mut services = Vec::new();
    for builtin in BUILTIN {
        let identity = user_of(builtin.name).map(|i| Identity {
            uid: i.uid,
            gid: group_gid,
        });
        services.push(ServiceSpec {
            name: builtin.name.to_owned(),
            binary: paths.libexec_dir.join(builtin.binary),
            args: arguments(builtin, config, &uids),
            identity,
            listeners: builtin
                .listeners
                .iter()
                .filter(|l| config.listener(l).is_some())
                .map(|l| (*l).to_owned())
                .collect(),
            essential: builtin.essential,
            write_dirs: builtin
                .folders
                .iter()
                .map(|f| folder_path(paths, f))
                .chain([paths.log_dir.clone()])
                .collect(),
            on_exit: builtin.on_exit,
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
            on_exit: ExitHook::None,
        });
    }
    // The administrators, and the services that name `control` as a peer (svc-web, for the
    // log level).
    let control_uids = uids.allowed("control", true, false);
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
