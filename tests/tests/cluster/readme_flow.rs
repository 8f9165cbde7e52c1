//! The README's way to a cluster: init, add-node, join.

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
fn the_readme_flow_init_add_node_join_makes_a_two_node_cluster_of_one_database() {
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
        .find(|w| w.starts_with("momjoin2."))
        .expect("a join token");
    let forged = two.cli(&["cluster", "join", "momjoin2.AAAA", "--listen", &p2]);
    assert!(!forged.status.success(), "a damaged token is refused");
    let joined = two.cli(&["cluster", "join", token, "--listen", &p2]);
    append(&two.config, &section(&joined));
    two.start_again(&Options::default());

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
}
