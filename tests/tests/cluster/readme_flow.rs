//! The README's way to a cluster: init, add-node, join; replacing a dead node (remove-node,
//! then add-node and join under a new id); and a backup from any node the same file.

use super::{free_port, leader, status};
use ipc::api::store::{StoreRequest, StoreResponse};
use mom_tests::sim::wait;
use mom_tests::{Mom, Options};
use std::time::Duration;

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
fn the_readme_flow_init_add_node_join_makes_one_database_and_a_dead_node_is_replaced_under_a_new_id(
) {
    // A MOM with records of its own becomes the first node; some hold secrets sealed with
    // its secrets key (a user's PIN, an OMM's password).
    let mut one = Mom::start(&Options::default());
    let user = model::User {
        num: "555".into(),
        name: "Before the cluster".into(),
        pin: "4711".into(),
        ..model::User::default()
    };
    let omm = model::Omm {
        enabled: false,
        name: "Site A".into(),
        omm1: "192.0.2.10".into(),
        user: "omm".into(),
        password: "Omm.Secret-9".into(),
        ..model::Omm::default()
    };
    assert!(matches!(
        one.store(StoreRequest::PutOmm(omm)),
        StoreResponse::Created(_)
    ));
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
    let _ = leader(&moms);

    // A second, fresh MOM joins with the token the leader prints; a damaged token is refused.
    let mut stranger = Mom::start(&Options::default());
    stranger.stop(Duration::from_secs(20));
    let listen = format!("127.0.0.1:{}", free_port());
    let refused = stranger.cli(&["cluster", "join", "momjoin2.AAAA", "--listen", &listen]);
    assert!(!refused.status.success(), "a damaged token is refused");
    let (two, p2) = join(moms[0].as_ref().unwrap(), 2);
    // The new node holds the first one's records (sent as a snapshot), their secrets
    // readable with the secrets keys the token carried, and votes.
    wait(
        "node 2 holds the first node's records",
        Duration::from_secs(30),
        || {
            matches!(
                two.store(StoreRequest::GetUserByNumber("555".into())),
                StoreResponse::User(u) if u.name == "Before the cluster" && u.pin == "4711"
            )
        },
    );
    assert!(
        matches!(two.store(StoreRequest::ListOmms), StoreResponse::Omms(o) if o.len() == 1 && o[0].password == "Omm.Secret-9"),
        "the OMM's password reached node 2 and opens there"
    );
    wait("node 2 votes", Duration::from_secs(30), || {
        status(moms[0].as_ref().unwrap())
            .is_some_and(|s| s.members.iter().filter(|m| m.voter).count() == 2)
    });
    let shown = moms[0].as_ref().unwrap().cli(&["cluster", "status"]);
    let shown = String::from_utf8_lossy(&shown.stdout).into_owned();
    assert!(shown.contains("leader") && shown.contains(&p2), "{shown}");

    // A third node, then its machine dies (kill -9): the README's replacement. The two
    // left keep a majority; remove-node 3 on the leader, then a new machine joins as node 4.
    let one = moms.into_iter().next().flatten().unwrap();
    let (three, _) = join(&one, 3);
    wait("three voters", Duration::from_secs(30), || {
        voters(&one) == [1, 2, 3]
    });
    mom_tests::signal(three.child.id(), nix::sys::signal::Signal::SIGKILL);
    drop(three);
    let removed = one.cli(&["cluster", "remove-node", "3"]);
    assert!(removed.status.success(), "{removed:?}");
    assert_eq!(voters(&one), [1, 2]);
    let (four, _) = join(&one, 4);
    wait(
        "node 4 votes in node 3's place",
        Duration::from_secs(30),
        || voters(&one) == [1, 2, 4],
    );
    // Writes made now, with a secret and a password, are on the new node too.
    let later = model::User {
        num: "556".into(),
        name: "After the replacement".into(),
        pin: "1357".into(),
        ..model::User::default()
    };
    assert!(matches!(
        one.store(StoreRequest::PutUser(later)),
        StoreResponse::Created(_)
    ));
    let account = one.store(StoreRequest::CreateAccount(ipc::api::store::NewAccount {
        name: "night-shift".into(),
        password: "Night.Shift-2026".into(),
        enabled: true,
        write: false,
        must_change_password: false,
    }));
    assert!(matches!(account, StoreResponse::Created(_)), "{account:?}");
    for node in [&two, &four] {
        wait("the writes on every node", Duration::from_secs(30), || {
            node.login("night-shift", "Night.Shift-2026").is_some()
                && matches!(
                    node.store(StoreRequest::GetUserByNumber("556".into())),
                    StoreResponse::User(u) if u.pin == "1357"
                )
        });
    }

    // A backup from any node is the same file: the joined nodes began from the first
    // node's database, and every node applied each entry with its leader's time and the
    // randomness of its seed (the password's salt, the PIN's nonce). Taken again when an
    // entry (a statistics sample) landed between the exports.
    let dir = tempfile::tempdir().unwrap();
    let export = |node: &Mom, name: &str| {
        let file = dir.path().join(name);
        let out = node.cli(&["db", "export", file.to_str().unwrap()]);
        assert!(out.status.success(), "{out:?}");
        std::fs::read(file).unwrap()
    };
    wait(
        "the same backup from every node",
        Duration::from_secs(20),
        || {
            let first = export(&one, "1.momdb");
            first == export(&two, "2.momdb") && first == export(&four, "4.momdb")
        },
    );
}

/// The voters the leader `mom` knows, by id.
fn voters(mom: &Mom) -> Vec<u64> {
    status(mom)
        .map(|s| s.members.iter().filter(|m| m.voter).map(|m| m.id).collect())
        .unwrap_or_default()
}

/// A fresh MOM made node `id` as the README says: `cluster add-node` on the leader prints a
/// token, `cluster join` with it on the new machine, the printed section into its
/// `mom.toml`, and a start. Returns the running node and its peer address.
fn join(leader: &Mom, id: u64) -> (Mom, String) {
    let mut fresh = Mom::start(&Options::default());
    fresh.stop(Duration::from_secs(20));
    let address = format!("127.0.0.1:{}", free_port());
    let id = id.to_string();
    let added = leader.cli(&["cluster", "add-node", "--id", &id, "--address", &address]);
    let text = String::from_utf8_lossy(&added.stdout).into_owned();
    assert!(
        added.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let token = text
        .split_whitespace()
        .find(|w| w.starts_with("momjoin2."))
        .expect("a join token");
    let joined = fresh.cli(&["cluster", "join", token, "--listen", &address]);
    append(&fresh.config, &section(&joined));
    fresh.start_again(&Options::default());
    (fresh, address)
}
