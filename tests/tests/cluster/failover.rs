//! Only the leader links; a frozen leader lets go first; a new leader after `kill -9`.

use super::{free_port, leader, linked, node_options};
use ipc::api::store::{StoreRequest, StoreResponse};
use mom_tests::sim::{add_omm, omms, runtime, wait};
use mom_tests::web::Web;
use mom_tests::Mom;
use omm_sim::{Fleet, FleetOptions};
use std::time::{Duration, Instant};

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
    let ca = mom_tests::cluster::Shared::create();
    let peers: Vec<String> = (0..3)
        .map(|_| format!("127.0.0.1:{}", free_port()))
        .collect();
    let mut moms: Vec<Option<Mom>> = (0..3)
        .map(|i| Some(Mom::start(&node_options(&ca, i, &peers))))
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
    let linked = |moms: &[Option<Mom>]| linked(moms, omm_port);
    let mut expected = vec![0, 0, 0];
    expected[first] = 1;
    assert_eq!(
        linked(&moms),
        expected,
        "only the leader ({first}) holds the link"
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(linked(&moms), expected, "and keeps holding it alone");

    // An application's message: the leader delivers it; a follower, which holds no link,
    // answers with the leader's name instead of "no such number".
    let answer = moms[first]
        .as_ref()
        .unwrap()
        .store(StoreRequest::CreateAccount(ipc::api::store::NewAccount {
            name: "alarm-app".into(),
            password: "Alarm.Server-77".into(),
            enabled: true,
            write: true,
            must_change_password: false,
        }));
    assert!(matches!(answer, StoreResponse::Created(_)), "{answer:?}");
    let num = omms_users(moms[first].as_ref().unwrap());
    let message = format!(
        "<SendMessage><msg toAddr=\"tel:{num}\" fromAddr=\"alarm\" content=\"Fire drill\"/></SendMessage>"
    );
    let follower = (first + 1) % 3;
    for (i, mom) in [(first, "leader"), (follower, "follower")] {
        let mut maxi = maxi_session(moms[i].as_ref().unwrap());
        let sent = maxi.request(&message);
        if mom == "leader" {
            assert!(!sent.contains("errCode"), "the leader delivers: {sent}");
        } else {
            assert!(
                sent.contains("errCode=\"EFailed\"")
                    && sent.contains(&format!("ask the leader, node {} (127.0.0.1)", first + 1)),
                "a follower names the leader: {sent}"
            );
        }
    }

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

/// The number of a user the simulated OMM brought.
fn omms_users(mom: &Mom) -> String {
    let query = model::Query {
        limit: 1,
        ..model::Query::default()
    };
    match mom.store(StoreRequest::QueryUsers(query)) {
        StoreResponse::Users(page) => page.items[0].num.clone(),
        other => panic!("{other:?}"),
    }
}

/// A MAXI session of `mom` as the application account, once svc-maxi answers.
fn maxi_session(mom: &Mom) -> mom_tests::maxi::Maxi {
    let addr = mom.listener("maxi");
    let started = Instant::now();
    loop {
        if let Ok(mut m) = mom_tests::maxi::Maxi::try_tls(addr) {
            if m.try_request("<Ping/>", Duration::from_secs(2)).is_some() {
                // The account, written on the leader, may reach this node a moment later.
                let open = m.open("alarm-app", "Alarm.Server-77");
                if !open.contains("errCode") {
                    return m;
                }
                assert!(started.elapsed() < Duration::from_secs(20), "{open}");
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "svc-maxi does not answer on {addr}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
