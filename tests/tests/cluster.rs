//! Three whole MOMs as a cluster on this machine (each its own folders and ports, `[cluster]`
//! in its `mom.toml`, certificates from one CA) and a simulated OMM: only the leader's
//! svc-axi holds the OMM's link; a leader whose store freezes closes its link before another
//! node links (never two at once); after `kill -9` of the leader's whole process tree a new
//! leader takes the link over, and every acknowledged write is on both remaining nodes.

use ipc::api::store::{ClusterStatus, StoreRequest, StoreResponse};
use mom_tests::sim::{add_omm, omms, runtime, wait};
use mom_tests::web::Web;
use mom_tests::{Mom, Options};
use omm_sim::{Fleet, FleetOptions};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn status(mom: &Mom) -> Option<ClusterStatus> {
    match mom.store(StoreRequest::ClusterStatus) {
        StoreResponse::ClusterStatus(s) => Some(s),
        _ => None,
    }
}

/// The index in `moms` of the leader every one of them (alive) agrees on.
fn leader(moms: &[Option<Mom>]) -> usize {
    let mut found = None;
    wait("one leader all nodes know", Duration::from_secs(30), || {
        let seen: Vec<(usize, ClusterStatus)> = moms
            .iter()
            .enumerate()
            .filter_map(|(i, m)| Some((i, status(m.as_ref()?)?)))
            .collect();
        let alive = moms.iter().filter(|m| m.is_some()).count();
        let Some(l) = seen.first().and_then(|(_, s)| s.leader) else {
            return false;
        };
        let agreed = seen.len() == alive && seen.iter().all(|(_, s)| s.leader == Some(l));
        found = seen
            .iter()
            .find(|(_, s)| s.node == l && s.role == "leader")
            .map(|(i, _)| *i);
        agreed && found.is_some()
    });
    found.unwrap()
}

/// The sockets process `pid` holds to TCP port `port` (from its fds and /proc/net/tcp).
fn connections_to(pid: u32, port: u16) -> usize {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|dir| {
            dir.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
                .filter_map(|l| {
                    let l = l.to_string_lossy().into_owned();
                    Some(l.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned())
                })
                .collect()
        })
        .unwrap_or_default();
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let remote_port = f
                .get(2)
                .and_then(|r| r.split(':').nth(1))
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            // 01 = ESTABLISHED.
            remote_port == Some(port)
                && f.get(3) == Some(&"01")
                && f.get(9).is_some_and(|i| inodes.iter().any(|x| x == i))
        })
        .count()
}

fn axi_pid(mom: &Mom) -> Option<u32> {
    mom.service("axi").pid
}

#[test]
fn only_the_leader_links_the_omm_and_a_new_leader_takes_over_after_kill_9() {
    let rt = runtime();
    let fleet = rt
        .block_on(Fleet::start(FleetOptions {
            omms: 1,
            users: 5,
            devices: 5,
            ..FleetOptions::default()
        }))
        .expect("fleet");
    let omm_port = fleet.omm(1).addr.port();
    let ca = cluster_tls::Ca::create().unwrap();
    let peers: Vec<String> = (0..3)
        .map(|_| format!("127.0.0.1:{}", free_port()))
        .collect();
    let members: Vec<String> = peers
        .iter()
        .enumerate()
        .map(|(i, p)| format!("\"{}={p}\"", i + 1))
        .collect();
    let mut moms: Vec<Option<Mom>> = (0..3)
        .map(|i| {
            let id = i as u64 + 1;
            let node = ca.issue(id).unwrap();
            let dir = PathBuf::from("store/cluster");
            let options = Options {
                extra: format!(
                    "[web]\nmetrics-loopback = true\n\n[cluster]\nnode-id = {id}\nlisten = {:?}\nmembers = [{}]\nheartbeat-ms = 100\nelection-ms = 600\n",
                    peers[i],
                    members.join(", ")
                ),
                state_files: vec![
                    (dir.join(cluster_tls::CA_CERT), ca.cert.clone()),
                    (dir.join(cluster_tls::CA_KEY), ca.key.clone()),
                    (dir.join(cluster_tls::NODE_CERT), node.cert),
                    (dir.join(cluster_tls::NODE_KEY), node.key),
                ],
                ..Options::default()
            };
            Some(Mom::start(&options))
        })
        .collect();
    let first = leader(&moms);
    // /readyz and /metrics say each node's role and the leader.
    for (i, mom) in moms.iter().enumerate() {
        let web = Web::when_ready(mom.as_ref().unwrap().listener("https"));
        let ready = web.get("/readyz");
        let role = if i == first { "leader" } else { "follower" };
        assert_eq!(ready.json["cluster"]["role"], role, "{}", ready.text);
        assert_eq!(
            ready.json["cluster"]["leader"],
            first as u64 + 1,
            "{}",
            ready.text
        );
        let metrics = web.get("/metrics").text;
        let leads = format!("mom_cluster_leader {}", u8::from(i == first));
        assert!(metrics.contains(&leads), "{metrics}");
        assert!(metrics.contains("mom_cluster_term "), "{metrics}");
    }

    // The OMM record, written on the leader, reaches every node; only the leader links it.
    let id = add_omm(moms[first].as_ref().unwrap(), &fleet, 1);
    for mom in moms.iter().flatten() {
        wait(
            "the link up, on every node's copy",
            Duration::from_secs(30),
            || {
                omms(mom)
                    .iter()
                    .any(|o| o.id == id && o.health.link == model::LinkState::Up)
            },
        );
    }
    let linked = |moms: &[Option<Mom>]| -> Vec<usize> {
        moms.iter()
            .map(|m| {
                m.as_ref()
                    .and_then(axi_pid)
                    .map_or(0, |pid| connections_to(pid, omm_port))
            })
            .collect()
    };
    let mut expected = vec![0, 0, 0];
    expected[first] = 1;
    assert_eq!(
        linked(&moms),
        expected,
        "only the leader ({first}) holds the link"
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(linked(&moms), expected, "and keeps holding it alone");

    // The leader's store frozen (SIGSTOP: its Raft neither hears nor speaks, as when cut off):
    // its svc-axi, still running, closes the link when its lease runs out, before the other
    // node is elected and links; at no moment do two MOMs hold the OMM.
    let store_pid = moms[first].as_ref().unwrap().service("store").pid.unwrap();
    mom_tests::signal(store_pid, nix::sys::signal::Signal::SIGSTOP);
    let frozen = Instant::now();
    let mut closed_after = None;
    let mut taken_after = None;
    while frozen.elapsed() < Duration::from_secs(10) && taken_after.is_none() {
        let now = linked(&moms);
        let total: usize = now.iter().sum();
        assert!(total <= 1, "two MOMs held the OMM at once: {now:?}");
        if now[first] == 0 && closed_after.is_none() {
            closed_after = Some(frozen.elapsed());
        }
        if let Some(other) = (0..3).find(|i| *i != first && now[*i] == 1) {
            taken_after = Some((other, frozen.elapsed()));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    mom_tests::signal(store_pid, nix::sys::signal::Signal::SIGCONT);
    let closed_after = closed_after.expect("the frozen leader's svc-axi closed its link");
    let (other, taken_after) = taken_after.expect("another node took the link over");
    assert!(
        closed_after < taken_after,
        "closed {closed_after:?}, taken {taken_after:?}"
    );
    // The old leader, back, follows: still one link only, the new leader's.
    std::thread::sleep(Duration::from_secs(2));
    let now = linked(&moms);
    assert_eq!(now.iter().sum::<usize>(), 1, "{now:?}");
    assert_eq!(now[other], 1, "{now:?}");
    let first = leader(&moms);
    assert_eq!(first, other);
    eprintln!("leader's store frozen: its link closed after {closed_after:?}, another node linked after {taken_after:?}");

    // An acknowledged write on a follower (forwarded to the leader).
    let follower = (first + 1) % 3;
    let user = model::User {
        num: "777".into(),
        name: "Acked".into(),
        ..model::User::default()
    };
    assert!(matches!(
        moms[follower]
            .as_ref()
            .unwrap()
            .store(StoreRequest::PutUser(user)),
        StoreResponse::Created(_)
    ));

    // kill -9 of the leader's supervisor: its services die with it.
    let killed = Instant::now();
    let dead = moms[first].take().unwrap();
    mom_tests::signal(dead.child.id(), nix::sys::signal::Signal::SIGKILL);
    let second = leader(&moms);
    let elected = killed.elapsed();
    assert_ne!(second, first);
    wait(
        "the new leader links the OMM",
        Duration::from_secs(30),
        || linked(&moms)[second] == 1,
    );
    let relinked = killed.elapsed();
    let others: Vec<usize> = (0..3).filter(|i| *i != second && *i != first).collect();
    assert_eq!(linked(&moms)[others[0]], 0, "the follower holds no link");
    for mom in moms.iter().flatten() {
        let found = match mom.store(StoreRequest::GetUserByNumber("777".into())) {
            StoreResponse::User(u) => u.name == "Acked",
            _ => false,
        };
        assert!(found, "the acknowledged write is on every remaining node");
    }
    eprintln!("kill -9 of the leader: new leader after {elected:?}, the OMM linked again after {relinked:?}");
    drop(dead);
}

/// The `[cluster]` section a CLI command printed, with the tests' timings.
fn section(out: &std::process::Output) -> String {
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let start = text.find("[cluster]").expect("a [cluster] section");
    format!(
        "\n{}heartbeat-ms = 100\nelection-ms = 600\n",
        &text[start..]
    )
}

fn append(config: &std::path::Path, text: &str) {
    let mut old = std::fs::read_to_string(config).unwrap();
    old.push_str(text);
    std::fs::write(config, old).unwrap();
}

#[test]
fn the_readme_flow_init_add_node_join_makes_a_two_node_cluster_of_one_database() {
    // A MOM with records of its own becomes the first node.
    let mut one = Mom::start(&Options::default());
    let user = model::User {
        num: "555".into(),
        name: "Before the cluster".into(),
        ..model::User::default()
    };
    assert!(matches!(
        one.store(StoreRequest::PutUser(user)),
        StoreResponse::Created(_)
    ));
    let p1 = format!("127.0.0.1:{}", free_port());
    let init = one.cli(&["cluster", "init", "--address", &p1]);
    let again = one.cli(&["cluster", "init", "--address", &p1]);
    assert!(!again.status.success(), "a second init is refused");
    one.stop(Duration::from_secs(20));
    append(&one.config, &section(&init));
    one.start_again(&Options::default());
    let moms = vec![Some(one)];
    leader(&moms);

    // A second, fresh MOM joins with the token the leader prints.
    let mut two = Mom::start(&Options::default());
    two.stop(Duration::from_secs(20));
    let p2 = format!("127.0.0.1:{}", free_port());
    let added =
        moms[0]
            .as_ref()
            .unwrap()
            .cli(&["cluster", "add-node", "--id", "2", "--address", &p2]);
    let text = String::from_utf8_lossy(&added.stdout).into_owned();
    assert!(
        added.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let token = text
        .split_whitespace()
        .find(|w| w.starts_with("momjoin1."))
        .expect("a join token");
    let forged = two.cli(&["cluster", "join", "momjoin1.AAAA", "--listen", &p2]);
    assert!(!forged.status.success(), "a damaged token is refused");
    let joined = two.cli(&["cluster", "join", token, "--listen", &p2]);
    append(&two.config, &section(&joined));
    two.start_again(&Options::default());

    // The new node holds the first one's records (sent as a snapshot) and votes.
    wait(
        "node 2 holds the first node's records",
        Duration::from_secs(30),
        || {
            matches!(
                two.store(StoreRequest::GetUserByNumber("555".into())),
                StoreResponse::User(u) if u.name == "Before the cluster"
            )
        },
    );
    wait("node 2 votes", Duration::from_secs(30), || {
        status(moms[0].as_ref().unwrap())
            .is_some_and(|s| s.members.iter().filter(|m| m.voter).count() == 2)
    });
    let shown = moms[0].as_ref().unwrap().cli(&["cluster", "status"]);
    let shown = String::from_utf8_lossy(&shown.stdout).into_owned();
    assert!(shown.contains("leader") && shown.contains(&p2), "{shown}");
}
