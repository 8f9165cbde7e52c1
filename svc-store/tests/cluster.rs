//! Three real svc-store processes as a cluster on this machine (each its own folder, socket
//! and peer port, mutual TLS with a CA made here): writes through any node are acknowledged
//! only once a majority holds them and reach every node; `kill -9` of the leader leaves a new
//! leader within seconds and no acknowledged write lost; the killed node catches up when it
//! comes back; a peer without the cluster's certificate gets nothing.

use cluster_tls::Ca;
use ipc::api::store::{ClusterStatus, StoreApi};
use ipc::store_client::Store;
use ipc::{Client, ClientOptions, Hello};
use model::User;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

struct Node {
    id: u64,
    dir: PathBuf,
    peer: String,
    child: Option<Child>,
}

impl Node {
    fn socket(&self) -> PathBuf {
        self.dir.join("store.sock")
    }

    fn start(&mut self, members: &[String]) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_svc-store"));
        cmd.arg("--db-dir")
            .arg(self.dir.join("db"))
            .arg("--transfer-dir")
            .arg(self.dir.join("transfer"))
            .arg("--socket")
            .arg(self.socket())
            .arg("--allow-uid")
            .arg(nix::unistd::getuid().as_raw().to_string())
            .arg("--dev")
            .arg("--cluster-node-id")
            .arg(self.id.to_string())
            .arg("--cluster-listen")
            .arg(&self.peer)
            .arg("--cluster-tls-dir")
            .arg(self.dir.join("tls"))
            .args([
                "--cluster-heartbeat-ms",
                "100",
                "--cluster-election-ms",
                "600",
            ]);
        for m in members {
            cmd.arg("--cluster-member").arg(m);
        }
        cmd.env("RUST_LOG", "warn");
        self.child = Some(cmd.spawn().expect("svc-store starts"));
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The secrets key every node of the tests' clusters shares (`secrets.key` beside the
/// database folder), as `cluster add-node` passes it on.
fn share_key(root: &Path, dir: &Path) {
    let shared = root.join("secrets.key");
    if !shared.exists() {
        std::fs::write(&shared, secret_seal::Key::generate().unwrap().file_text()).unwrap();
    }
    std::fs::copy(&shared, dir.join("secrets.key")).unwrap();
}

fn three_nodes(root: &Path) -> (Vec<Node>, Vec<String>) {
    let ca = Ca::create().unwrap();
    let mut nodes = Vec::new();
    for id in 1..=3u64 {
        let dir = root.join(format!("node{id}"));
        std::fs::create_dir_all(dir.join("tls")).unwrap();
        share_key(root, &dir);
        ca.save(&dir.join("tls")).unwrap();
        ca.issue(id).unwrap().save(&dir.join("tls")).unwrap();
        nodes.push(Node {
            id,
            dir,
            peer: format!("127.0.0.1:{}", free_port()),
            child: None,
        });
    }
    let members = nodes
        .iter()
        .map(|n| format!("{}={}", n.id, n.peer))
        .collect();
    (nodes, members)
}

fn client(socket: &Path) -> Store {
    let options = ClientOptions {
        request_timeout: Duration::from_secs(15),
        ..ClientOptions::default()
    };
    let (client, _events) =
        Client::<StoreApi>::start(socket.to_owned(), Hello::new("test", 0), options);
    Store::new(client)
}

async fn wait<T>(what: &str, within: Duration, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(x) = f().await {
            return x;
        }
        assert!(start.elapsed() < within, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The leader that every one of `stores` agrees on.
async fn agreed_leader(stores: &BTreeMap<u64, Store>) -> u64 {
    wait(
        "one leader all nodes know",
        Duration::from_secs(20),
        async || {
            let mut seen: Vec<ClusterStatus> = Vec::new();
            for store in stores.values() {
                seen.push(store.cluster_status().await.ok()?);
            }
            let leader = seen[0].leader?;
            let leads = seen.iter().any(|s| s.node == leader && s.role == "leader");
            (leads && seen.iter().all(|s| s.leader == Some(leader))).then_some(leader)
        },
    )
    .await
}

fn user(num: &str) -> User {
    User {
        num: num.into(),
        name: format!("User {num}"),
        ..User::default()
    }
}

/// Writes `count` users through `store` at once; their numbers.
async fn futures_concurrent(store: &Store, count: usize) -> Vec<String> {
    let mut writes = tokio::task::JoinSet::new();
    for i in 0..count {
        let store = store.clone();
        let num = format!("5{i:03}");
        writes.spawn(async move {
            store.put_user(user(&num)).await.expect("acknowledged");
            num
        });
    }
    writes.join_all().await
}

async fn numbers(store: &Store) -> Option<Vec<String>> {
    let query = model::Query {
        limit: model::MAX_PAGE,
        ..model::Query::default()
    };
    let mut nums: Vec<String> = store
        .query_users(query)
        .await
        .ok()?
        .items
        .into_iter()
        .map(|u| u.num)
        .collect();
    nums.sort();
    Some(nums)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_reach_every_node_and_survive_the_leaders_kill() {
    let root = tempfile::tempdir().unwrap();
    let (mut nodes, members) = three_nodes(root.path());
    for node in &mut nodes {
        node.start(&members);
    }
    let mut stores: BTreeMap<u64, Store> =
        nodes.iter().map(|n| (n.id, client(&n.socket()))).collect();
    let leader = agreed_leader(&stores).await;

    // A write through every node, the followers' forwarded to the leader.
    let mut acknowledged = Vec::new();
    for (id, store) in &stores {
        let num = format!("10{id}");
        store
            .put_user(user(&num))
            .await
            .expect("the write is acknowledged");
        acknowledged.push(num);
    }
    acknowledged.sort();
    for (id, store) in &stores {
        wait(
            &format!("every write on node {id}"),
            Duration::from_secs(10),
            async || (numbers(store).await? == acknowledged).then_some(()),
        )
        .await;
    }
    // A rule refuses alike everywhere, and the refusal reaches the client.
    let follower = *stores.keys().find(|id| **id != leader).unwrap();
    // Read-your-writes on a follower: its answer comes once it applied the write itself,
    // so a read right after finds it (twenty times, no waiting).
    for i in 0..20 {
        let num = format!("6{i:03}");
        stores[&follower]
            .put_user(user(&num))
            .await
            .expect("acknowledged");
        let read = stores[&follower].user_by_number(&num).await;
        assert!(
            matches!(read, Ok(Some(ref u)) if u.num == num),
            "write {i} through node {follower}, then a read there: {read:?}"
        );
        acknowledged.push(num);
    }
    // Forty writes at once through a follower, forwarded on connections of their own.
    let at_once = futures_concurrent(&stores[&follower], 40).await;
    acknowledged.extend(at_once);
    acknowledged.sort();
    let refused = stores[&follower].put_user(user("101")).await;
    assert!(
        refused.is_err(),
        "a duplicate number is refused: {refused:?}"
    );

    // kill -9 of the leader: the other two elect one and go on.
    let killed_at = Instant::now();
    nodes[(leader - 1) as usize].kill();
    stores.remove(&leader);
    // A write made at once, before anyone noticed: it waits for the next leader (it was
    // certainly not made: the old leader cannot be reached) instead of failing.
    stores[&follower]
        .put_user(user("150"))
        .await
        .expect("a write during the election is made once a leader is elected");
    acknowledged.push("150".into());
    acknowledged.sort();
    let new_leader = agreed_leader(&stores).await;
    let failover = killed_at.elapsed();
    assert_ne!(new_leader, leader);
    assert!(
        failover < Duration::from_secs(10),
        "failover took {failover:?}"
    );
    // The new leader's health states say which node is down.
    wait(
        "the Cluster health state names the killed node",
        Duration::from_secs(15),
        async || {
            let states = stores[&new_leader].health().await.ok()?;
            let cluster = states
                .into_iter()
                .find(|s| s.check == model::HealthCheck::Cluster)?;
            (cluster.severity == Some(model::Severity::Warning)
                && cluster.reason.contains(&format!("node {leader} down")))
            .then_some(())
        },
    )
    .await;
    for (id, store) in &stores {
        let num = format!("20{id}");
        store
            .put_user(user(&num))
            .await
            .expect("written after the failover");
        acknowledged.push(num);
    }
    acknowledged.sort();
    for (id, store) in &stores {
        wait(
            &format!("every write on node {id} after the failover"),
            Duration::from_secs(10),
            async || (numbers(store).await? == acknowledged).then_some(()),
        )
        .await;
    }

    // The killed node comes back and catches up from the log.
    nodes[(leader - 1) as usize].start(&members);
    let back = client(&nodes[(leader - 1) as usize].socket());
    wait(
        "the returned node caught up",
        Duration::from_secs(20),
        async || (numbers(&back).await? == acknowledged).then_some(()),
    )
    .await;
    eprintln!("failover to a new leader: {failover:?}");

    // A fourth node joins: it is sent a snapshot of the database (the log no longer starts
    // at the beginning), then votes once it has caught up.
    let ca = Ca::load(&nodes[0].dir.join("tls")).unwrap();
    let dir = root.path().join("node4");
    std::fs::create_dir_all(dir.join("tls")).unwrap();
    share_key(root.path(), &dir);
    // A record with a sealed secret goes with the snapshot.
    let leads = client(&nodes[(new_leader - 1) as usize].socket());
    let mut secret = user("700");
    secret.pin = "4711".into();
    leads.put_user(secret).await.expect("written");
    acknowledged.push("700".into());
    acknowledged.sort();
    ca.save(&dir.join("tls")).unwrap();
    ca.issue(4).unwrap().save(&dir.join("tls")).unwrap();
    let mut fourth = Node {
        id: 4,
        dir,
        peer: format!("127.0.0.1:{}", free_port()),
        child: None,
    };
    fourth.start(&[]);
    leads
        .cluster_add_node(4, fourth.peer.clone())
        .await
        .expect("the leader adds node 4");
    let joined = client(&fourth.socket());
    wait(
        "node 4 holds every write",
        Duration::from_secs(20),
        async || (numbers(&joined).await? == acknowledged).then_some(()),
    )
    .await;
    let sealed = joined.user_by_number("700").await.expect("read");
    assert_eq!(
        sealed.map(|u| u.pin).as_deref(),
        Some("4711"),
        "the PIN opens on node 4"
    );
    wait("node 4 votes", Duration::from_secs(20), async || {
        let status = leads.cluster_status().await.ok()?;
        (status.members.iter().filter(|m| m.voter).count() == 4).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_without_the_clusters_certificate_gets_nothing() {
    use cluster_tls::{server_name, PeerTls};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let root = tempfile::tempdir().unwrap();
    let (mut nodes, members) = three_nodes(root.path());
    nodes[0].start(&members[..1]);
    let store = client(&nodes[0].socket());
    wait("node 1 up", Duration::from_secs(10), async || {
        store.cluster_status().await.ok()
    })
    .await;

    // Another cluster's node: the TLS handshake fails, no frame is read.
    let other = Ca::create().unwrap();
    let stranger = PeerTls::new(&other.cert, &other.issue(2).unwrap()).unwrap();
    let tcp = tokio::net::TcpStream::connect(&nodes[0].peer)
        .await
        .unwrap();
    let connector = tokio_rustls::TlsConnector::from(stranger.client);
    assert!(connector
        .connect(server_name(1).unwrap(), tcp)
        .await
        .is_err());

    // Garbage instead of a TLS hello: the connection is closed, the node goes on.
    let mut tcp = tokio::net::TcpStream::connect(&nodes[0].peer)
        .await
        .unwrap();
    tcp.write_all(&[0xff; 64]).await.unwrap();
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(_)) | Ok(Err(_))),
        "the node answers or closes at once"
    );
    let status = store.cluster_status().await.expect("the node still serves");
    assert_eq!(status.node, 1);
    store
        .put_user(user("300"))
        .await
        .expect("a one-node cluster writes alone");
}

/// One task of a flood: opens a silent connection from 127.0.0.2 to `peer` again and again,
/// and records how long the node let each live.
async fn silent_connections(peer: String, lived: std::sync::Arc<std::sync::Mutex<Vec<Duration>>>) {
    use tokio::io::AsyncReadExt;
    let target: std::net::SocketAddr = peer.parse().unwrap();
    loop {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        let Ok(mut tcp) = socket.connect(target).await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let opened = Instant::now();
        let mut buf = [0u8; 16];
        let _ = tokio::time::timeout(Duration::from_secs(30), tcp.read(&mut buf)).await;
        lived.lock().unwrap().push(opened.elapsed());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_connections_from_one_host_do_not_keep_the_peers_apart() {
    let root = tempfile::tempdir().unwrap();
    let (mut nodes, members) = three_nodes(root.path());
    for node in &mut nodes {
        node.start(&members);
    }
    let stores: BTreeMap<u64, Store> = nodes.iter().map(|n| (n.id, client(&n.socket()))).collect();
    let leader = agreed_leader(&stores).await;

    // A host that never says a word holds 100 connections open to every peer port, and opens
    // a new one whenever the node closes one.
    let lived = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut flood = Vec::new();
    for node in &nodes {
        for _ in 0..100 {
            flood.push(tokio::spawn(silent_connections(
                node.peer.clone(),
                std::sync::Arc::clone(&lived),
            )));
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;

    // Meanwhile a follower is killed, misses a write, and must connect again to catch up.
    let follower = *stores.keys().find(|id| **id != leader).unwrap();
    nodes[(follower - 1) as usize].kill();
    stores[&leader]
        .put_user(user("400"))
        .await
        .expect("the leader and the other follower commit");
    nodes[(follower - 1) as usize].start(&members);
    let back = client(&nodes[(follower - 1) as usize].socket());
    let started = Instant::now();
    wait(
        "the follower caught up through the flood",
        Duration::from_secs(15),
        async || (numbers(&back).await? == ["400"]).then_some(()),
    )
    .await;
    eprintln!("caught up through the flood in {:?}", started.elapsed());
    for (id, store) in &stores {
        store
            .put_user(user(&format!("40{id}")))
            .await
            .unwrap_or_else(|e| panic!("a write through node {id} during the flood: {e:?}"));
    }

    for task in flood {
        task.abort();
    }
    let lived = lived.lock().unwrap().clone();
    assert!(
        lived.len() > 300,
        "connections over the limit are closed at once, so the host reopened many: {}",
        lived.len()
    );
    let longest = lived.iter().max().unwrap();
    assert!(
        *longest < Duration::from_secs(8),
        "a silent connection is closed after the handshake timeout: {longest:?}"
    );
}
