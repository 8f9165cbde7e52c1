//! Run as root (as CI does): every service runs as its own user in its sandbox, the
//! supervisor keeps only the capabilities it needs, and the database is private.

use mom_tests::{bin, listening_ports, proc_field, proc_status, socket_inodes, Mom, Options};
use std::process::Command;

const GROUP: &str = "mom";
const USERS: [&str; 4] = ["mom-store", "mom-axi", "mom-maxi", "mom-web"];

/// Creates the group and service users the package would create, if they are missing.
fn ensure_service_users() {
    let exists = |db: &str, name: &str| {
        Command::new("getent")
            .args([db, name])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !exists("group", GROUP) {
        let ok = Command::new("groupadd")
            .args(["--system", GROUP])
            .status()
            .unwrap();
        assert!(ok.success() || exists("group", GROUP), "groupadd {GROUP}");
    }
    for user in USERS {
        if !exists("passwd", user) {
            let ok = Command::new("useradd")
                .args([
                    "--system",
                    "--gid",
                    GROUP,
                    "--no-create-home",
                    "--home-dir",
                    "/nonexistent",
                    "--shell",
                    "/usr/sbin/nologin",
                    user,
                ])
                .status()
                .unwrap();
            assert!(ok.success() || exists("passwd", user), "useradd {user}");
        }
    }
}

fn uid_of(user: &str) -> u32 {
    nix::unistd::User::from_name(user)
        .unwrap()
        .unwrap()
        .uid
        .as_raw()
}

/// CAP_SETGID, CAP_SETUID, CAP_SETPCAP (no CAP_KILL: services are signalled from a helper
/// with their own uid).
const SUPERVISOR_CAPS: u64 = (1 << 6) | (1 << 7) | (1 << 8);

/// Production mode's options, once the service users exist; `None` when not root (and
/// the root tests are not required).
fn production() -> Option<Options> {
    if !mom_tests::root_or_required() {
        return None;
    }
    ensure_service_users();
    Some(Options {
        dev: false,
        ..Options::default()
    })
}

#[test]
fn as_root_every_service_runs_as_its_own_user_without_privileges() {
    let Some(options) = production() else {
        return;
    };
    let mom = Mom::start(&options);
    let mom_gid = nix::unistd::Group::from_name(GROUP)
        .unwrap()
        .unwrap()
        .gid
        .as_raw();

    // The supervisor: still uid 0, group mom, no supplementary groups, only its three caps,
    // and its own seccomp filter.
    let sup = mom.child.id();
    let creds = proc_status(sup);
    assert_eq!(creds.cap_eff, SUPERVISOR_CAPS, "supervisor CapEff");
    assert_eq!(creds.cap_bnd, SUPERVISOR_CAPS, "supervisor CapBnd");
    assert_eq!(creds.cap_amb, 0);
    assert!(creds.no_new_privs);
    assert_eq!(
        proc_field(sup, "Seccomp:"),
        "2",
        "supervisor seccomp filter"
    );
    assert!(
        creds.groups.is_empty(),
        "supervisor groups {:?}",
        creds.groups
    );
    assert!(proc_field(sup, "Gid:")
        .split_whitespace()
        .all(|g| g == mom_gid.to_string()));
    let sup_ports = listening_ports(sup);
    assert_eq!(sup_ports.len(), 4, "supervisor listeners {sup_ports:?}");

    let rows = mom.status();
    let expected = [
        ("store", "mom-store"),
        ("axi", "mom-axi"),
        ("web", "mom-web"),
        ("maxi", "mom-maxi"),
    ];
    for (service, user) in expected {
        let pid = rows
            .iter()
            .find(|r| r.name == service)
            .and_then(|r| r.pid)
            .unwrap();
        let c = proc_status(pid);
        let uid = uid_of(user);
        assert!(
            c.uids.iter().all(|u| *u == uid),
            "{service} uids {:?}, want {uid}",
            c.uids
        );
        assert!(c.groups.is_empty(), "{service} groups {:?}", c.groups);
        assert_eq!(c.cap_eff, 0, "{service} CapEff");
        assert_eq!(c.cap_bnd, 0, "{service} CapBnd");
        assert_eq!(
            proc_field(pid, "CapPrm:"),
            "0000000000000000",
            "{service} CapPrm"
        );
        assert_eq!(
            proc_field(pid, "CapInh:"),
            "0000000000000000",
            "{service} CapInh"
        );
        assert_eq!(c.cap_amb, 0);
        assert!(c.no_new_privs, "{service} NoNewPrivs");
        assert_eq!(proc_field(pid, "Seccomp:"), "2", "{service} seccomp filter");
        assert!(proc_field(pid, "Gid:")
            .split_whitespace()
            .all(|g| g == mom_gid.to_string()));
    }

    // Listeners: svc-web got exactly the https and http listeners, the store none.
    let store_pid = rows
        .iter()
        .find(|r| r.name == "store")
        .and_then(|r| r.pid)
        .unwrap();
    let web_pid = rows
        .iter()
        .find(|r| r.name == "web")
        .and_then(|r| r.pid)
        .unwrap();
    assert!(
        listening_ports(store_pid).is_empty(),
        "store holds listeners {:?}",
        listening_ports(store_pid)
    );
    let mut web_ports = listening_ports(web_pid);
    web_ports.sort_unstable();
    let mut expected_ports = vec![mom.listener("https").port(), mom.listener("http").port()];
    expected_ports.sort_unstable();
    assert_eq!(web_ports, expected_ports, "svc-web listeners");
    // It serves HTTPS there, as mom-web.
    let web = mom_tests::web::Web::new(mom.listener("https"), mom_tests::web::Offer::Any);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !web
        .try_send("GET", "/healthz", None)
        .is_ok_and(|a| a.status == 200)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "svc-web does not serve"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // svc-maxi holds the MAXI listeners and serves TLS with the MOM's certificate, which
    // svc-web hands to mom-maxi alone.
    let maxi_pid = rows
        .iter()
        .find(|r| r.name == "maxi")
        .and_then(|r| r.pid)
        .unwrap();
    let mut maxi_ports = listening_ports(maxi_pid);
    maxi_ports.sort_unstable();
    let mut expected_ports = vec![
        mom.listener("maxi").port(),
        mom.listener("maxi-debug").port(),
    ];
    expected_ports.sort_unstable();
    assert_eq!(maxi_ports, expected_ports, "svc-maxi listeners");
    let cmdline = std::fs::read(format!("/proc/{web_pid}/cmdline")).unwrap();
    let args: Vec<String> = cmdline
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let allowed: Vec<&String> = args
        .windows(2)
        .filter(|w| w[0] == "--allow-uid")
        .map(|w| &w[1])
        .collect();
    assert_eq!(
        allowed,
        vec![&uid_of("mom-maxi").to_string()],
        "web.sock admits svc-maxi alone"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let answered = mom_tests::maxi::Maxi::try_tls(mom.listener("maxi"))
            .ok()
            .and_then(|mut m| m.try_request("<Ping/>", std::time::Duration::from_secs(2)));
        if answered.is_some_and(|a| a.contains("errCode=\"EAuth\"")) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "svc-maxi does not serve TLS"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // The supervisor's control socket is not among a service's fds.
    let sup_sockets = socket_inodes(sup);
    let web_sockets = socket_inodes(web_pid);
    let shared: Vec<_> = web_sockets
        .iter()
        .filter(|i| sup_sockets.contains(i))
        .collect();
    assert_eq!(
        shared.len(),
        2,
        "svc-web shares sockets {shared:?} with the supervisor (only the https and http listeners are meant)"
    );
    // The certificate's key is svc-web's alone.
    {
        use std::os::unix::fs::MetadataExt;
        let web_dir = mom.state_dir.join("web");
        for (path, mode) in [(web_dir.clone(), 0o700), (web_dir.join("key.pem"), 0o600)] {
            let meta = std::fs::metadata(&path).unwrap();
            assert_eq!(meta.uid(), uid_of("mom-web"), "{} owner", path.display());
            assert_eq!(meta.mode() & 0o777, mode, "{} mode", path.display());
        }
    }

    // The database is the store's alone.
    use std::os::unix::fs::MetadataExt;
    let db_dir = mom.state_dir.join("store").join("db");
    let data = db_dir.join("data.mdb");
    for path in [&mom.state_dir.join("store"), &db_dir, &data] {
        let meta = std::fs::metadata(path).unwrap();
        assert_eq!(meta.uid(), uid_of("mom-store"), "{} owner", path.display());
        assert_eq!(
            meta.mode() & 0o077,
            0,
            "{} mode {:o}",
            path.display(),
            meta.mode()
        );
    }
    for other in ["mom-axi", "mom-maxi", "mom-web"] {
        let uid = uid_of(other);
        let read = Command::new("/bin/cat")
            .arg(&data)
            .uid(uid)
            .gid(mom_gid)
            .output()
            .unwrap();
        assert!(!read.status.success(), "{other} could read the database");
        assert!(String::from_utf8_lossy(&read.stderr).contains("Permission denied"));
    }
    // The services' /proc entries are not readable by another service's user (not dumpable).
    let peek = Command::new("/bin/cat")
        .arg(format!("/proc/{store_pid}/environ"))
        .uid(uid_of("mom-web"))
        .gid(mom_gid)
        .output()
        .unwrap();
    assert!(
        !peek.status.success(),
        "mom-web could read the store's environment"
    );
}

use std::os::unix::process::CommandExt;

#[test]
fn as_root_a_writable_config_is_refused() {
    if !mom_tests::root_or_required() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mom.toml");
    std::fs::write(&config, "").unwrap();
    std::fs::set_permissions(&config, std::os::unix::fs::PermissionsExt::from_mode(0o666)).unwrap();
    let out = Command::new(bin("sip-dect-mom"))
        .args(["--check", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&out.stderr).contains("writable by group or others"));
}

#[test]
fn as_root_reset_password_works_running_and_stopped_and_the_database_stays_the_stores() {
    use std::os::unix::fs::MetadataExt;
    let Some(options) = production() else {
        return;
    };
    let mut mom = Mom::start(&options);
    let logs_in = |mom: &Mom, password: &str| {
        mom.login("mom", password)
            .is_some_and(|a| a.must_change_password)
    };
    let running = mom_tests::temporary_password(&mom.cli(&["reset-password", "mom"]));
    assert!(logs_in(&mom, &running));
    mom.stop(std::time::Duration::from_secs(20));

    // Stopped: the CLI opens the database itself, as mom-store, and leaves it mom-store's.
    let stopped = mom_tests::temporary_password(&mom.cli(&["reset-password", "mom"]));
    let db_dir = mom.state_dir.join("store").join("db");
    for file in ["data.mdb", "lock.mdb"] {
        let meta = std::fs::metadata(db_dir.join(file)).unwrap();
        assert_eq!(
            meta.uid(),
            uid_of("mom-store"),
            "{file} owner after the offline reset"
        );
    }
    mom.start_again(&options);
    assert!(logs_in(&mom, &stopped));
    assert!(!logs_in(&mom, &running));

    // Not root: refused before anything is touched.
    let out = Command::new(bin("sip-dect-mom"))
        .arg("--config")
        .arg(&mom.config)
        .args(["reset-password", "mom"])
        .uid(uid_of("mom-web"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("root"),
        "{out:?}"
    );
    assert!(logs_in(&mom, &stopped));
}
