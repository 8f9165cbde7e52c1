//! Harness for end-to-end tests: start the real `sip-dect-mom` with its real children in a
//! private folder, wait for `READY=1` on a notify socket the harness owns, and talk to it
//! over its real sockets.
//!
//! The binaries must be built first (`scripts/test` does `cargo build --workspace --bins`).
#![forbid(unsafe_code)]

pub mod bench;
pub mod cluster;
pub mod maxi;
pub mod netns;
pub mod sim;
pub mod web;

use ipc::api::control::{ControlApi, ControlRequest, ControlResponse, ServiceStatus};
use ipc::api::store::{StoreApi, StoreRequest, StoreResponse};
use ipc::{Api, ClientChannel, Envelope, Hello};
use model::Query;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// Directory of the workspace's built binaries (beside the test executable's `deps/`).
#[must_use]
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target dir")
        .to_owned();
    for bin in [
        "sip-dect-mom",
        "svc-store",
        "svc-axi",
        "svc-web",
        "svc-maxi",
        "mom-test-service",
        "omm-sim",
    ] {
        assert!(
            dir.join(bin).exists(),
            "{} is missing: run `cargo build --workspace --bins` first (scripts/test does)",
            dir.join(bin).display()
        );
    }
    dir
}

/// Path of one built binary.
#[must_use]
pub fn bin(name: &str) -> PathBuf {
    bin_dir().join(name)
}

/// How to start a MOM for a test.
#[derive(Debug, Clone)]
pub struct Options {
    /// Development mode (as the current user).
    pub dev: bool,
    /// TOML of the `[restart]` table's body.
    pub restart: String,
    /// Further TOML (e.g. `[[extra-service]]` tables).
    pub extra: String,
    /// Directory holding `svc-store` (default: the built binaries).
    pub libexec_dir: Option<PathBuf>,
    /// Wait for READY=1.
    pub wait_ready: bool,
    /// Extra environment for the supervisor.
    pub env: Vec<(String, String)>,
    /// Development mode's demo fleet of simulated OMMs (off: tests bring their own).
    pub fleet: bool,
    /// `[statistics] sample-secs` (1 so tests see samples soon; the product default is 60).
    pub sample_secs: u64,
    /// Files written under the state folder before the MOM starts (path relative to it,
    /// text), such as a cluster node's certificates.
    pub state_files: Vec<(PathBuf, String)>,
    /// The network namespace the MOM runs in (`ip netns exec`; root only). Its sockets in
    /// the filesystem (the store's, the notify socket) work from here as always.
    pub netns: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            dev: true,
            restart: "min-backoff-ms = 50\nmax-backoff-ms = 2000\nthrottle-ms = 200\nstable-after-secs = 30\nfailure-window-secs = 60\nmax-failures = 5\ngrace-period-ms = 2000\n".into(),
            extra: String::new(),
            libexec_dir: None,
            wait_ready: true,
            env: Vec::new(),
            fleet: false,
            sample_secs: 1,
            state_files: Vec::new(),
            netns: None,
        }
    }
}

/// A running `sip-dect-mom` under test.
pub struct Mom {
    /// Private folder (config, state, sockets).
    pub dir: tempfile::TempDir,
    /// The supervisor process.
    pub child: Child,
    /// Its config file.
    pub config: PathBuf,
    /// Runtime directory.
    pub runtime_dir: PathBuf,
    /// State directory.
    pub state_dir: PathBuf,
    notify: UnixDatagram,
    /// Every notification received so far.
    pub notifications: Vec<String>,
    dev: bool,
}

impl Mom {
    /// Starts a MOM; panics with its output if it is not ready within 30 s.
    #[must_use]
    pub fn start(options: &Options) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("mom-e2e-")
            .tempdir()
            .expect("tempdir");
        // Service users must be able to reach their folders inside.
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .expect("chmod");
        let runtime_dir = dir.path().join("run");
        let state_dir = dir.path().join("state");
        let libexec = options.libexec_dir.clone().unwrap_or_else(bin_dir);
        let config = dir.path().join("mom.toml");
        let text = format!(
            "[paths]\nstate-dir = {:?}\nruntime-dir = {:?}\nlibexec-dir = {:?}\nlog-dir = {:?}\n\n[listen]\nhttps = \"127.0.0.1:0\"\nhttp = \"127.0.0.1:0\"\nmaxi = \"127.0.0.1:0\"\nmaxi-debug = \"127.0.0.1:0\"\n\n[statistics]\nsample-secs = {}\n\n[restart]\n{}\n{}\n",
            state_dir,
            runtime_dir,
            libexec,
            dir.path().join("log"),
            options.sample_secs,
            options.restart,
            options.extra
        );
        std::fs::write(&config, text).expect("write config");
        for (path, text) in &options.state_files {
            let path = state_dir.join(path);
            std::fs::create_dir_all(path.parent().expect("a folder")).expect("state folder");
            std::fs::write(&path, text).expect("state file");
        }
        std::fs::set_permissions(&config, std::os::unix::fs::PermissionsExt::from_mode(0o644))
            .expect("chmod");
        let notify_path = dir.path().join("notify.sock");
        let notify = UnixDatagram::bind(&notify_path).expect("notify socket");
        notify
            .set_read_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        let child = spawn(&config, &notify_path, options);
        let mut mom = Self {
            dir,
            child,
            config,
            runtime_dir,
            state_dir,
            notify,
            notifications: Vec::new(),
            dev: options.dev,
        };
        if options.wait_ready {
            mom.wait_notification("READY=1", Duration::from_secs(30));
        }
        mom
    }

    /// Starts the supervisor again with the same configuration and folders, after it
    /// exited (see [`Mom::stop`]); waits for READY=1 if `options` say so.
    ///
    /// # Panics
    /// When the previous supervisor still runs, or the new one is not ready within 30 s.
    pub fn start_again(&mut self, options: &Options) {
        assert!(
            matches!(self.child.try_wait(), Ok(Some(_))),
            "the supervisor still runs"
        );
        self.notifications.clear();
        self.child = spawn(&self.config, &self.dir.path().join("notify.sock"), options);
        if options.wait_ready {
            self.wait_notification("READY=1", Duration::from_secs(30));
        }
    }

    /// Waits until `state` was notified; panics after `timeout`.
    pub fn wait_notification(&mut self, state: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.notifications.iter().any(|n| n == state) {
            assert!(
                Instant::now() < deadline,
                "no {state} within {timeout:?}; got {:?}",
                self.notifications
            );
            let mut buf = [0u8; 256];
            if let Ok(n) = self.notify.recv(&mut buf) {
                self.notifications
                    .push(String::from_utf8_lossy(&buf[..n]).into_owned());
            } else if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "sip-dect-mom exited ({status}) before {state}; got {:?}",
                    self.notifications
                );
            }
        }
    }

    /// The store's socket.
    #[must_use]
    pub fn store_socket(&self) -> PathBuf {
        self.runtime_dir.join("store").join("store.sock")
    }

    /// Runs `sip-dect-mom` with this MOM's config and `args`.
    #[must_use]
    pub fn cli(&self, args: &[&str]) -> Output {
        self.cli_target().run(args)
    }

    /// What [`Mom::cli`] needs, to run the CLI from another thread while the `Mom` stays
    /// (and may be killed) here.
    #[must_use]
    pub fn cli_target(&self) -> CliTarget {
        CliTarget {
            config: self.config.clone(),
            dev: self.dev,
        }
    }

    /// How many users the store holds with exactly this name (letter case aside); 0 when
    /// the store does not answer.
    #[must_use]
    pub fn users_named(&self, name: &str) -> u64 {
        let query = Query {
            filters: vec![model::Filter {
                column: "name".into(),
                op: model::FilterOp::Equals,
                value: name.into(),
            }],
            limit: 1,
            ..Query::default()
        };
        match self.store(StoreRequest::QueryUsers(query)) {
            StoreResponse::Users(page) => page.total,
            _ => 0,
        }
    }

    /// How many users and devices the store holds.
    #[must_use]
    pub fn totals(&self) -> (u64, u64) {
        let count = Query {
            limit: 1,
            ..Query::default()
        };
        let users = match self.store(StoreRequest::QueryUsers(count.clone())) {
            StoreResponse::Users(p) => p.total,
            other => panic!("{other:?}"),
        };
        let devices = match self.store(StoreRequest::QueryDevices(count)) {
            StoreResponse::Devices(p) => p.total,
            other => panic!("{other:?}"),
        };
        (users, devices)
    }

    /// The current value of statistics counter `name` (0 when it does not exist yet).
    #[must_use]
    pub fn counter(&self, name: &str) -> u64 {
        match self.store(StoreRequest::ListCounters) {
            StoreResponse::Counters(c) => c
                .into_iter()
                .find(|c| c.name == name)
                .map_or(0, |c| c.value),
            other => panic!("{other:?}"),
        }
    }

    /// Development mode's issuer key, which every development-mode MOM trusts.
    #[must_use]
    pub fn dev_issuer_key(&self) -> PathBuf {
        self.state_dir.join("dev-issuer.key")
    }

    /// Issues a license with [`Mom::dev_issuer_key`] and installs it, both through the CLI;
    /// returns the install command's output (the issue step must succeed).
    #[must_use]
    pub fn install_license(&self, installation_id: &str, sari: &str) -> Output {
        let file = self
            .dir
            .path()
            .join(format!("license-{installation_id}-{sari}.txt"));
        let _ = std::fs::remove_file(&file);
        let key = self.dev_issuer_key();
        let issued = self.cli(&[
            "license",
            "issue",
            "--key",
            key.to_str().expect("utf-8 path"),
            "--installation-id",
            installation_id,
            "--customer",
            "Test customer",
            "--country",
            "GERMANY",
            "--system-license",
            "TEST-LICENSE",
            "--licensed-version",
            "10.1",
            "--sari",
            sari,
            "--out",
            file.to_str().expect("utf-8 path"),
        ]);
        assert!(issued.status.success(), "license issue: {issued:?}");
        self.cli(&["license", "install", file.to_str().expect("utf-8 path")])
    }

    /// The services' state, from the control socket.
    #[must_use]
    pub fn status(&self) -> Vec<ServiceStatus> {
        let socket = self.runtime_dir.join("supervisor.sock");
        block_on(async move {
            match request::<ControlApi>(&socket, ControlRequest::Status).await {
                ControlResponse::Status(rows) => rows,
                other => panic!("unexpected answer {other:?}"),
            }
        })
    }

    /// The address the supervisor bound for listener `name` (`https`, `http`, `maxi`).
    #[must_use]
    pub fn listener(&self, name: &str) -> std::net::SocketAddr {
        let socket = self.runtime_dir.join("supervisor.sock");
        let list = block_on(async move {
            match request::<ControlApi>(&socket, ControlRequest::Listeners).await {
                ControlResponse::Listeners(list) => list,
                other => panic!("unexpected answer {other:?}"),
            }
        });
        list.iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, a)| a.parse().ok())
            .unwrap_or_else(|| panic!("no listener {name} in {list:?}"))
    }

    /// One service's state row.
    #[must_use]
    pub fn service(&self, name: &str) -> ServiceStatus {
        self.status()
            .into_iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no service {name}"))
    }

    /// Waits until `cond` holds for the status; panics after `timeout`.
    pub fn wait_status(
        &self,
        what: &str,
        timeout: Duration,
        cond: impl Fn(&[ServiceStatus]) -> bool,
    ) -> Vec<ServiceStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            let rows = self.status();
            if cond(&rows) {
                return rows;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: not within {timeout:?}; status {rows:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// One request to the store on a fresh connection.
    #[must_use]
    pub fn store(&self, req: StoreRequest) -> StoreResponse {
        let socket = self.store_socket();
        block_on(async move { request::<StoreApi>(&socket, req).await })
    }

    /// The account `name` with `password` as the store checks a login: `None` when it is
    /// refused.
    ///
    /// # Panics
    /// On an answer that is neither an account nor an error.
    #[must_use]
    pub fn login(&self, name: &str, password: &str) -> Option<model::Account> {
        match self.store(StoreRequest::CheckLogin {
            name: name.into(),
            password: password.into(),
        }) {
            StoreResponse::Account(a) => Some(a),
            StoreResponse::Error(_) => None,
            other => panic!("unexpected answer to a login: {other:?}"),
        }
    }

    /// Sends SIGTERM to the supervisor and waits for it to exit.
    pub fn stop(&mut self, timeout: Duration) -> ExitStatus {
        signal(self.child.id(), nix::sys::signal::Signal::SIGTERM);
        self.wait_exit(timeout)
    }

    /// Waits for the supervisor to exit; panics after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "sip-dect-mom did not exit within {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// The temporary password `sip-dect-mom reset-password` printed.
///
/// # Panics
/// When the command failed or printed no 16-character temporary password.
#[must_use]
pub fn temporary_password(out: &Output) -> String {
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let password = text
        .lines()
        .find_map(|l| l.strip_prefix("Temporary password: "))
        .unwrap_or_else(|| panic!("no temporary password in {text}"));
    assert_eq!(password.len(), 16, "{password}");
    password.to_owned()
}

/// Starts `sip-dect-mom` with `config`, notifying on `notify_path`.
fn spawn(config: &Path, notify_path: &Path, options: &Options) -> Child {
    // `ip netns exec` execs the MOM: the child's pid is the supervisor's.
    let mut cmd = match &options.netns {
        Some(ns) => {
            let mut cmd = Command::new("ip");
            cmd.args(["netns", "exec", ns]).arg(bin("sip-dect-mom"));
            cmd
        }
        None => Command::new(bin("sip-dect-mom")),
    };
    cmd.arg("--config").arg(config);
    if options.dev {
        cmd.arg("--dev");
        if !options.fleet {
            cmd.arg("--no-fleet");
        }
    }
    // MOM_TEST_LOG sets the MOMs' level for one run (`info,openraft=info` to read elections).
    let level = std::env::var("MOM_TEST_LOG").unwrap_or_else(|_| "info".to_owned());
    cmd.env("NOTIFY_SOCKET", notify_path)
        .env("RUST_LOG", level)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    for (k, v) in &options.env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("start sip-dect-mom")
}

/// The admin CLI of one MOM: its config file and whether it runs in development mode.
#[derive(Debug, Clone)]
pub struct CliTarget {
    config: PathBuf,
    dev: bool,
}

impl CliTarget {
    /// Runs `sip-dect-mom` with the MOM's config and `args`.
    ///
    /// # Panics
    /// When the program cannot be started.
    #[must_use]
    pub fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(bin("sip-dect-mom"));
        cmd.arg("--config").arg(&self.config);
        if self.dev {
            cmd.arg("--dev");
        }
        cmd.args(args).output().expect("run sip-dect-mom")
    }
}

impl Drop for Mom {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            // Children die with it (PR_SET_PDEATHSIG and their supervision links).
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Sends `sig` to `pid`.
pub fn signal(pid: u32, sig: nix::sys::signal::Signal) {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(pid).expect("pid")),
        sig,
    );
}

/// Whether a process exists (and is not a zombie).
#[must_use]
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "))
}

/// Runs a future on a fresh current-thread runtime.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// One request on a fresh connection to `socket`.
pub async fn request<A: Api>(socket: &Path, body: A::Request) -> A::Response {
    let stream = tokio::net::UnixStream::connect(socket)
        .await
        .unwrap_or_else(|e| panic!("connect {}: {e}", socket.display()));
    let mut ch = ClientChannel::<A>::handshake(stream, &Hello::new("test", 0), A::MAX_FRAME)
        .await
        .expect("handshake");
    ch.tx.send(&Envelope { id: 1, body }).await.expect("send");
    loop {
        let msg = ch.rx.recv().await.expect("recv").expect("answer");
        if msg.id == 1 {
            return msg.body;
        }
    }
}

/// Credentials and capabilities of a process, from `/proc/PID/status`.
#[must_use]
pub fn proc_status(pid: u32) -> service_kit::sandbox::ProcessCredentials {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc status");
    service_kit::sandbox::parse_status(&text)
}

/// A field of `/proc/PID/status` as text.
#[must_use]
pub fn proc_field(pid: u32, field: &str) -> String {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc status");
    text.lines()
        .find_map(|l| l.strip_prefix(field).map(|v| v.trim().to_owned()))
        .unwrap_or_default()
}

/// Socket inodes among a process's open fds.
#[must_use]
pub fn socket_inodes(pid: u32) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("fd dir")
        .flatten()
    {
        if let Ok(target) = std::fs::read_link(entry.path()) {
            let t = target.to_string_lossy().into_owned();
            if let Some(inode) = t.strip_prefix("socket:[").and_then(|s| s.strip_suffix(']')) {
                out.push(inode.to_owned());
            }
        }
    }
    out
}

/// Local TCP listening ports of a process.
#[must_use]
pub fn listening_ports(pid: u32) -> Vec<u16> {
    let inodes = socket_inodes(pid);
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let port = u16::from_str_radix(cols.get(1)?.rsplit(':').next()?, 16).ok()?;
            let inode = *cols.get(9)?;
            (*cols.get(3)? == "0A" && inodes.iter().any(|i| i == inode)).then_some(port)
        })
        .collect()
}

/// Resident memory of a process in kB (`VmRSS`), 0 when it is gone.
#[must_use]
pub fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Whether this run is root. Not being root skips a root-only test, unless the run asks for
/// every test (`MOM_REQUIRE_ROOT_TESTS=1`, which `.ci/run` sets): then it fails.
///
/// # Panics
/// When `MOM_REQUIRE_ROOT_TESTS` is set and the run is not root.
#[must_use]
pub fn root_or_required() -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    assert!(
        std::env::var_os("MOM_REQUIRE_ROOT_TESTS").is_none(),
        "MOM_REQUIRE_ROOT_TESTS is set but this run is not root: the root-only tests cannot run"
    );
    eprintln!("SKIPPED: this test needs root (CI runs as root)");
    false
}
