//! The services the supervisor runs, as data: which binary, which user, which listeners,
//! which directories it owns, and who may use its socket.
//!
//! Each service's command line is built in [`arguments`]; the folders and their owners are
//! [`layout`](mod@layout).

use crate::config::Config;
use crate::sys::{self, Identity};
use std::path::{Path, PathBuf};

pub mod arguments;
pub use arguments::*;
pub mod layout;
pub use layout::*;

/// A built-in service of the MOM: everything the supervisor derives its start, its folders,
/// its socket's allow-list and its peers' arguments from.
pub(super) struct Builtin {
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
pub(super) struct Socket {
    path: &'static str,
    /// Root, the supervisor's user and the administrators' uids may connect (the CLI).
    admins: bool,
    /// The `[[extra-service]]` users may connect.
    extras: bool,
}

/// Which of the MOM's directories a folder lies under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Under {
    Runtime,
    State,
}

/// A folder a service owns.
pub(super) struct Folder {
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
pub(super) struct Uids {
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
pub(super) const BUILTIN: &[Builtin] = &[
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
        listeners: &["cluster"],
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

/// The store's cluster folder (the cluster's certificates) under a state directory.
#[must_use]
pub fn store_cluster_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("store").join("cluster")
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
