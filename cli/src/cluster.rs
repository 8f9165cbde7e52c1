//! `sip-dect-mom cluster ...`: a MOM cluster from the console.
//!
//! - `init` makes the cluster's CA and this node's certificate (node 1 unless told) in the
//!   store's cluster folder and prints the `[cluster]` section to add to `mom.toml`;
//! - `add-node` (on the leader) makes a node's certificate, adds it as a learner, and prints
//!   its one-time join token; the leader lets it vote once it has caught up;
//! - `join TOKEN` (on the new node) writes what the token carries into the cluster folder and
//!   prints that node's `[cluster]` section;
//! - `remove-node` and `status` (`--json`).

use crate::client::{audit_of, fail, json, store, why, why_write};
use crate::SecretsKeyFile;
use crate::Sockets;
use clap::Subcommand;
use cluster_tls::{Ca, JoinToken, NodeId, SecretsKey};
use std::path::Path;

/// `sip-dect-mom cluster ...`
#[derive(Debug, Subcommand)]
pub enum ClusterAction {
    /// Make this MOM the first node of a new cluster: the cluster's CA and this node's
    /// certificate (its database becomes the cluster's).
    Init {
        /// This node's id.
        #[arg(long, default_value_t = 1)]
        id: NodeId,
        /// This node's peer address as the others reach it (`HOST:PORT`).
        #[arg(long)]
        address: String,
    },
    /// Add a node: prints its one-time join token (run on the leader).
    AddNode {
        /// The new node's id.
        #[arg(long)]
        id: NodeId,
        /// The new node's peer address as the others reach it (`HOST:PORT`).
        #[arg(long)]
        address: String,
    },
    /// Join a cluster with the token `add-node` printed (run on the new node, MOM stopped).
    Join {
        /// The token.
        token: String,
        /// This node's peer address to listen on.
        #[arg(long, default_value = "0.0.0.0:7946")]
        listen: String,
    },
    /// Remove a node from the cluster (run on the leader).
    RemoveNode {
        /// Its id.
        id: NodeId,
    },
    /// Every node's role, term and log as this node sees them (exit 3 without a leader).
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a `cluster` subcommand.
pub async fn cluster(sockets: &Sockets, action: &ClusterAction) -> i32 {
    match action {
        ClusterAction::Init { id, address } => init(sockets, *id, address),
        ClusterAction::AddNode { id, address } => add_node(sockets, *id, address).await,
        ClusterAction::Join { token, listen } => join(sockets, token, listen),
        ClusterAction::RemoveNode { id } => {
            let removed = async {
                let store = store(&sockets.store).await?;
                store.cluster_remove_node(*id).await.map_err(why_write)?;
                note(&store, "ClusterRemoveNode", *id, "").await;
                Ok::<(), String>(())
            };
            match removed.await {
                Ok(()) => {
                    println!("node {id} removed from the cluster");
                    0
                }
                Err(e) => fail(&e),
            }
        }
        ClusterAction::Status { json: as_json } => status(sockets, *as_json).await,
    }
}

fn init(sockets: &Sockets, id: NodeId, address: &str) -> i32 {
    let dir = &sockets.cluster_dir;
    if dir.join(cluster_tls::CA_CERT).exists() {
        return fail(&format!(
            "{} already holds a cluster's certificates; this node is in a cluster already",
            dir.display()
        ));
    }
    let made = (|| {
        let ca = Ca::create()?;
        prepare(dir, sockets.store_owner)?;
        ca.save(dir)?;
        ca.issue(id)?.save(dir)?;
        own(dir, sockets.store_owner)
    })();
    if let Err(e) = made {
        return fail(&e);
    }
    println!(
        "The cluster's certificate authority and node {id}'s certificate are in {}.",
        dir.display()
    );
    println!(
        "Add this to mom.toml and restart the MOM; this node's database becomes the cluster's:\n"
    );
    print_section(id, address, &[format!("{id}={address}")]);
    0
}

async fn add_node(sockets: &Sockets, id: NodeId, address: &str) -> i32 {
    let made = async {
        let ca = Ca::load(&sockets.cluster_dir)?;
        let store = store(&sockets.store).await?;
        let status = store.cluster_status().await.map_err(why)?;
        let contact = status
            .members
            .iter()
            .find(|m| m.id == status.node)
            .map(|m| m.address.clone())
            .unwrap_or_default();
        let mut secrets = Vec::new();
        for key in &sockets.secrets_keys {
            match std::fs::read_to_string(&key.path) {
                Ok(text) => secrets.push(SecretsKey {
                    service: key.service.to_owned(),
                    text,
                }),
                // svc-web makes its key at its first start: none yet, nothing sealed yet.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && key.service != "store" => {}
                Err(e) => return Err(format!("cannot read {}: {e}", key.path.display())),
            }
        }
        let token = JoinToken {
            node_id: id,
            contact,
            identity: ca.issue(id)?,
            ca,
            secrets,
        };
        store
            .cluster_add_node(id, address.to_owned())
            .await
            .map_err(why_write)?;
        note(&store, "ClusterAddNode", id, address).await;
        token.encode()
    };
    match made.await {
        Ok(token) => {
            println!("Node {id} is added as a learner; it votes once it has caught up.");
            println!("On node {id}, with its MOM stopped, run:\n");
            println!("  sip-dect-mom cluster join {token}\n");
            println!("The token holds that node's private key: pass it on like a password.");
            0
        }
        Err(e) => fail(&e),
    }
}

fn join(sockets: &Sockets, text: &str, listen: &str) -> i32 {
    let token = match JoinToken::decode(text) {
        Ok(token) => token,
        Err(e) => return fail(&e),
    };
    let dir = &sockets.cluster_dir;
    if dir.join(cluster_tls::CA_CERT).exists() {
        return fail(&format!(
            "{} already holds a cluster's certificates; remove this node from its cluster first",
            dir.display()
        ));
    }
    let written = (|| {
        prepare(dir, sockets.store_owner)?;
        token.ca.save(dir)?;
        token.identity.save(dir)?;
        own(dir, sockets.store_owner)?;
        // The cluster's secrets keys replace the ones this node made for itself: the
        // database it receives holds values sealed with them.
        for secret in &token.secrets {
            let Some(file) = sockets
                .secrets_keys
                .iter()
                .find(|f| f.service == secret.service)
            else {
                return Err(format!(
                    "the token carries a secrets key for {:?}, which this release does not know",
                    secret.service
                ));
            };
            write_key(file, &secret.text)?;
        }
        Ok(())
    })();
    if let Err(e) = written {
        return fail(&e);
    }
    println!(
        "Node {}'s certificate is in {}. Add this to mom.toml and start the MOM; the cluster's \
         leader ({}) then sends it the database:\n",
        token.node_id,
        dir.display(),
        token.contact
    );
    let listen = listen.to_owned();
    print_section(token.node_id, &listen, &[]);
    0
}

async fn status(sockets: &Sockets, as_json: bool) -> i32 {
    let status = async {
        store(&sockets.store)
            .await?
            .cluster_status()
            .await
            .map_err(why)
    };
    let status = match status.await {
        Ok(status) => status,
        Err(e) => return fail(&e),
    };
    if as_json {
        let code = json(&status);
        if code != 0 {
            return code;
        }
    } else {
        let leader = status
            .leader
            .map_or_else(|| "none".to_owned(), |l| format!("node {l}"));
        println!(
            "node {}: {}, term {}, leader {leader}, log {}, applied {}",
            status.node,
            status.role,
            status.term,
            index(status.last_log),
            index(status.applied)
        );
        // Matched, lag and last contact are known on the leader only.
        println!(
            "\n{:>4}  {:<24} {:<8} {:>8} {:>8}  LAST CONTACT",
            "NODE", "ADDRESS", "ROLE", "MATCHED", "LAG"
        );
        for m in &status.members {
            let contact = if m.id == status.node {
                "this node".to_owned()
            } else {
                m.last_contact_ms
                    .map_or_else(|| "-".to_owned(), |ms| format!("{ms} ms ago"))
            };
            println!(
                "{:>4}  {:<24} {:<8} {:>8} {:>8}  {contact}",
                m.id,
                m.address,
                if m.voter { "voter" } else { "learner" },
                index(m.matched),
                index(status.behind(m)),
            );
        }
    }
    if status.leader.is_some() {
        0
    } else {
        crate::EXIT_DEGRADED
    }
}

/// The audit entry of a membership change (no store write the store audits itself).
async fn note(store: &ipc::store_client::Store, kind: &str, id: NodeId, address: &str) {
    let mut entry = audit_of(kind, format!("{{\"node\":{id},\"address\":{address:?}}}"));
    entry.target = format!("node {id}");
    if let Err(e) = store.append_audit(entry).await {
        eprintln!(
            "sip-dect-mom: warning: the change is made but the audit trail could not record it: {}",
            why(e)
        );
    }
}

fn index(i: Option<u64>) -> String {
    i.map_or_else(|| "-".to_owned(), |i| i.to_string())
}

fn print_section(id: NodeId, listen: &str, members: &[String]) {
    println!("[cluster]");
    println!("node-id = {id}");
    println!("listen = {listen:?}");
    if !members.is_empty() {
        let list: Vec<String> = members.iter().map(|m| format!("{m:?}")).collect();
        println!("members = [{}]", list.join(", "));
    }
}

/// Writes a secrets key file (mode 0600, its folder made 0700 if missing) for its owner.
fn write_key(file: &SecretsKeyFile, text: &str) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let failed = |e: std::io::Error| format!("cannot write {}: {e}", file.path.display());
    if let Some(folder) = file.path.parent() {
        if !folder.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(folder)
                .map_err(failed)?;
            chown(folder, file.owner)?;
        }
    }
    let partial = file.path.with_extension("key.new");
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&partial)
        .map_err(failed)?;
    out.write_all(text.as_bytes())
        .and_then(|()| out.sync_all())
        .map_err(failed)?;
    chown(&partial, file.owner)?;
    std::fs::rename(&partial, &file.path).map_err(failed)
}

fn chown(path: &Path, owner: Option<(u32, u32)>) -> Result<(), String> {
    let Some((uid, gid)) = owner else {
        return Ok(());
    };
    std::os::unix::fs::chown(path, Some(uid), Some(gid))
        .map_err(|e| format!("cannot hand {} to its service: {e}", path.display()))
}

/// Makes the cluster folder (mode 0700).
fn prepare(dir: &Path, owner: Option<(u32, u32)>) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)))
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    own(dir, owner)
}

/// Gives the folder and its files to the store's user, which reads them.
fn own(dir: &Path, owner: Option<(u32, u32)>) -> Result<(), String> {
    if owner.is_none() {
        return Ok(());
    }
    chown(dir, owner)?;
    for entry in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        chown(&entry.path(), owner)?;
    }
    Ok(())
}
