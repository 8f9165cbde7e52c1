//! `kill -9` of the leader while an administrator's browser, a script on the CLI, a MAXI
//! application and the OMMs' own administrators all write, the browser's live events resumed on another node, and the
//! statistics the leader samples for the whole cluster.

use super::{free_port, leader, linked, node_options};
use ipc::api::store::{StoreRequest, StoreResponse};
use mom_tests::sim::{add_omm, omms, wait};
use mom_tests::web::Web;
use mom_tests::Mom;
use omm_sim::{Fleet, FleetOptions};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const ADMIN_PASSWORD: &str = "Cluster.Wal-2026";
const APP: &str = "ward-app";
const APP_PASSWORD: &str = "Ward.Server-88";

/// A write a client made: the user's number, whether its node acknowledged it, and when it
/// was answered.
struct Write {
    num: String,
    acked: bool,
    at: Instant,
}

/// The writes of every client, and the sign to stop.
#[derive(Default)]
struct Load {
    writes: Mutex<Vec<(&'static str, Write)>>,
    stop: AtomicBool,
}

impl Load {
    fn record(&self, client: &'static str, num: String, acked: bool) {
        let write = Write {
            num,
            acked,
            at: Instant::now(),
        };
        self.writes.lock().unwrap().push((client, write));
    }

    /// Runs `write` with the numbers `first`, `first + 1`, … until told to stop, a write
    /// every 20 ms (the live-event replay holds the last 4,096 changes).
    fn run(&self, client: &'static str, first: u32, mut write: impl FnMut(&str) -> bool) {
        let mut num = first;
        while !self.stop.load(Ordering::Relaxed) {
            let text = num.to_string();
            let acked = write(&text);
            self.record(client, text, acked);
            num += 1;
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A logged-in browser-like client of the node at `https`.
fn admin(https: SocketAddr) -> Web {
    let mut web = Web::when_ready(https);
    // The new password, set on the leader, may reach this node a moment later.
    for _ in 0..20 {
        if web.login("mom", ADMIN_PASSWORD).status == 200 {
            return web;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!("no login on {https}");
}

fn user_json(num: &str) -> Value {
    let mut user = serde_json::to_value(model::User::default()).unwrap();
    user["num"] = json!(num);
    user["name"] = json!(format!("Load {num}"));
    // A secret, sealed at rest.
    user["pin"] = json!("2468");
    user
}

/// Every live event of `web`'s node after `from`, until none comes for 2 s.
fn replay(web: &Web, from: u64) -> Vec<Value> {
    let mut events = web.events(&format!("?from_rev={from}"));
    let hello = events.next(Duration::from_secs(5)).expect("hello");
    assert_eq!(hello["type"], "hello", "{hello}");
    std::iter::from_fn(|| events.next(Duration::from_secs(2))).collect()
}

#[test]
fn kill_9_of_the_leader_under_api_cli_and_maxi_writes_loses_no_acknowledged_write_and_live_events_resume_on_another_node(
) {
    let rt = mom_tests::sim::runtime();
    let fleet = rt
        .block_on(Fleet::start(FleetOptions {
            omms: 2,
            users: 5,
            devices: 5,
            ..FleetOptions::default()
        }))
        .expect("fleet");
    let omm_ports = [fleet.omm(1).addr.port(), fleet.omm(2).addr.port()];
    let shared = mom_tests::cluster::Shared::create();
    let peers: Vec<String> = (0..3)
        .map(|_| format!("127.0.0.1:{}", free_port()))
        .collect();
    let mut moms: Vec<Option<Mom>> = (0..3)
        .map(|i| Some(Mom::start(&node_options(&shared, i, &peers))))
        .collect();
    let first = leader(&moms);
    let (one, two) = ((first + 1) % 3, (first + 2) % 3);
    let node = |i: usize| moms[i].as_ref().unwrap();

    // The first login (EULA, a new password) and the application's account, made once for
    // the whole cluster.
    let mut web = Web::when_ready(node(first).listener("https"));
    web.first_login(ADMIN_PASSWORD);
    let made = node(first).store(StoreRequest::CreateAccount(ipc::api::store::NewAccount {
        name: APP.into(),
        password: APP_PASSWORD.into(),
        enabled: true,
        write: true,
        must_change_password: false,
    }));
    assert!(matches!(made, StoreResponse::Created(_)), "{made:?}");
    // The sites, linked by the leader alone; their users on every node.
    for index in 1..=2 {
        add_omm(node(first), &fleet, index);
    }
    for i in 0..3 {
        wait(
            "both OMMs linked, on every node's copy",
            Duration::from_secs(30),
            || {
                let seen = omms(node(i));
                seen.len() == 2 && seen.iter().all(|o| o.health.link == model::LinkState::Up)
            },
        );
    }
    for port in omm_ports {
        let mut expected = vec![0, 0, 0];
        expected[first] = 1;
        assert_eq!(linked(&moms, port), expected, "only the leader links");
    }

    // The browser on the leader follows live events; it has seen everything up to `seen`.
    let leaders_web = admin(node(first).listener("https"));
    let mut live = leaders_web.events("");
    let hello = live.next(Duration::from_secs(5)).expect("hello");
    let created = leaders_web.send("POST", "/api/v1/users", Some(&user_json("500000")));
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json["id"].as_u64().unwrap();
    let event = live
        .wait_for(Duration::from_secs(10), |e| {
            e["type"] == "change" && e["entity"] == "User" && e["id"] == id
        })
        .unwrap_or_else(|| panic!("the browser saw its own user (hello {hello})"));
    let seen = event["rev"].as_u64().unwrap();
    drop(live);

    let https: Vec<SocketAddr> = (0..3).map(|i| node(i).listener("https")).collect();
    let maxi = node(two).listener("maxi");
    let script = node(one).cli_target();
    let load = Load::default();
    let supervisor = node(first).child.id();
    // The last name an OMM's own administrator gave each of its users.
    let omm_names = Mutex::new(std::collections::BTreeMap::new());
    let (killed, elected) = std::thread::scope(|s| {
        // The browser writes on the leader (until it dies) and on a follower, the script
        // on a follower, the application on the other follower.
        for (client, at, first_num) in [("api-leader", first, 510_000), ("api", one, 520_000)] {
            let (load, https) = (&load, https[at]);
            s.spawn(move || {
                let web = admin(https);
                load.run(client, first_num, |num| {
                    web.try_send("POST", "/api/v1/users", Some(&user_json(num)))
                        .is_ok_and(|a| a.status == 201)
                });
            });
        }
        let (load_ref, script) = (&load, &script);
        s.spawn(move || {
            load_ref.run("cli", 530_000, |num| {
                script
                    .run(&["user", "add", "--num", num, "--name", "Script"])
                    .status
                    .success()
            });
        });
        let (load_ref, fleet, omm_names) = (&load, &fleet, &omm_names);
        s.spawn(move || {
            // At the OMMs: a change to a user every 20 ms, whoever holds the link.
            let mut k = 0u32;
            while !load_ref.stop.load(Ordering::Relaxed) {
                let (omm, uid) = (1 + k % 2, 1 + (k / 2) % 5);
                let name = format!("Site {omm} user {uid} edit {k}");
                fleet.admin_edit_user(omm, uid, "name", &name).unwrap();
                omm_names.lock().unwrap().insert((omm, uid), name);
                k += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        let load_ref = &load;
        s.spawn(move || {
            let mut app = mom_tests::maxi::Maxi::tls(maxi);
            let open = app.open(APP, APP_PASSWORD);
            assert!(!open.contains("errCode"), "{open}");
            load_ref.run("maxi", 540_000, |num| {
                let answer = app.request(&format!(
                    "<CreatePPUser><user num=\"{num}\"/></CreatePPUser>"
                ));
                !answer.contains("errCode")
            });
        });

        std::thread::sleep(Duration::from_secs(2));
        let killed = Instant::now();
        mom_tests::signal(supervisor, nix::sys::signal::Signal::SIGKILL);
        // A new leader, seen from the two that remain.
        let mut elected = None;
        mom_tests::sim::wait("a new leader", Duration::from_secs(30), || {
            elected = [one, two]
                .into_iter()
                .find(|&i| mom_tests::cluster::status(node(i)).is_some_and(|s| s.role == "leader"));
            elected.is_some()
        });
        let took = killed.elapsed();
        // Writes go on under the new leader for a while.
        std::thread::sleep(Duration::from_secs(3));
        load.stop.store(true, Ordering::Relaxed);
        (killed, (elected.unwrap(), took))
    });
    let dead = moms[first].take().unwrap();
    let (second, took) = elected;
    assert_eq!(leader(&moms), second);
    eprintln!("kill -9 of the leader under load: a new leader after {took:?}");

    // Every acknowledged write is on both remaining nodes, from every kind of client, and
    // each kind was acknowledged after the new leader took over (the API's on the old leader
    // only before its death).
    let writes = load.writes.into_inner().unwrap();
    for (client, write) in writes.iter().filter(|(_, w)| w.acked) {
        for i in [one, two] {
            let found = matches!(
                node_of(&moms, i).store(StoreRequest::GetUserByNumber(write.num.clone())),
                StoreResponse::User(_)
            );
            assert!(
                found,
                "{client}'s acknowledged user {} is on node {}",
                write.num,
                i + 1
            );
        }
    }
    for client in ["api", "cli", "maxi"] {
        let before = writes
            .iter()
            .filter(|(c, w)| *c == client && w.acked && w.at < killed);
        let after = writes
            .iter()
            .filter(|(c, w)| *c == client && w.acked && w.at > killed + took);
        assert!(before.count() > 0, "{client} wrote before the kill");
        assert!(after.count() > 0, "{client} wrote under the new leader");
    }
    // Every OMM linked again, by the new leader alone, and each user's last name at its OMM
    // on both remaining nodes (reconciled, or carried by the OMM's event).
    for port in omm_ports {
        wait(
            "the new leader links every OMM",
            Duration::from_secs(30),
            || linked(&moms, port)[second] == 1,
        );
        assert_eq!(
            linked(&moms, port).iter().sum::<usize>(),
            1,
            "one link per OMM"
        );
    }
    let omm_names = omm_names.into_inner().unwrap();
    assert_eq!(omm_names.len(), 10);
    for name in omm_names.values() {
        for i in [one, two] {
            wait(
                "the OMMs' last edits on both nodes",
                Duration::from_secs(30),
                || node_of(&moms, i).users_named(name) == 1,
            );
        }
    }
    let acked = writes.iter().filter(|(_, w)| w.acked).count();
    // The same users on both nodes: as many load users (numbers 5xxxxx) on each, at least
    // every acknowledged one, at most one per write tried.
    let load_users = |i: usize| {
        let query = model::Query {
            filters: vec![model::Filter {
                column: "num".into(),
                op: model::FilterOp::StartsWith,
                value: "5".into(),
            }],
            limit: 1,
            ..model::Query::default()
        };
        match node_of(&moms, i).store(StoreRequest::QueryUsers(query)) {
            StoreResponse::Users(page) => page.total,
            other => panic!("{other:?}"),
        }
    };
    wait(
        "both nodes hold the same users",
        Duration::from_secs(10),
        || load_users(one) == load_users(two),
    );
    let held = load_users(one);
    // The browser's first user (500000) is one of them too.
    assert!(
        held > acked as u64 && held <= writes.len() as u64 + 1,
        "{held}"
    );
    eprintln!(
        "{acked} of {} writes acknowledged, each on both remaining nodes",
        writes.len()
    );

    // The browser, its node gone, logs in on another node and resumes from the revision it
    // had seen: that node replays every change after it, the same changes (revision,
    // record, kind) the third node would, and among them the users written since.
    let (on_one, on_two) = (admin(https[one]), admin(https[two]));
    std::thread::sleep(Duration::from_secs(1));
    let resumed = replay(&on_one, seen);
    let again = replay(&on_two, seen);
    assert!(!resumed.is_empty());
    assert!(
        resumed.iter().all(|e| e["type"] == "change"),
        "no resync: {:?}",
        resumed.iter().find(|e| e["type"] != "change")
    );
    assert_eq!(resumed, again, "both nodes replay the same changes");
    let revs: Vec<u64> = resumed.iter().map(|e| e["rev"].as_u64().unwrap()).collect();
    assert!(
        revs[0] > seen,
        "the replay starts after the revision seen: {revs:?}"
    );
    assert!(revs.windows(2).all(|w| w[0] < w[1]), "{revs:?}");
    let latest = node_of(&moms, one).store(StoreRequest::GetUserByNumber(
        writes
            .iter()
            .rev()
            .find(|(c, w)| *c == "api" && w.acked)
            .unwrap()
            .1
            .num
            .clone(),
    ));
    let StoreResponse::User(latest) = latest else {
        panic!("{latest:?}")
    };
    assert!(
        resumed
            .iter()
            .any(|e| e["entity"] == "User" && e["id"] == latest.uid),
        "the last user the browser's API wrote is in the replay"
    );

    // The statistics: the leader takes one sample for the cluster through the log, so both
    // nodes hold the same histories (read again when a sample landed between the reads).
    mom_tests::sim::wait(
        "the same statistics on both nodes",
        Duration::from_secs(10),
        || {
            let (a, b) = (counters(node_of(&moms, one)), counters(node_of(&moms, two)));
            !a.is_empty() && a == b && a.iter().any(|c| c.history.len() >= 2)
        },
    );

    drop(dead);
}

fn counters(mom: &Mom) -> Vec<model::Counter> {
    match mom.store(StoreRequest::ListCounters) {
        StoreResponse::Counters(c) => c,
        other => panic!("{other:?}"),
    }
}

fn node_of(moms: &[Option<Mom>], i: usize) -> &Mom {
    moms[i].as_ref().unwrap()
}
