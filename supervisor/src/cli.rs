//! Administrator subcommands that talk to a running MOM: `status`, `db export`, `db import`.

use ipc::api::control::{ControlApi, ControlRequest, ControlResponse, ServiceState, ServiceStatus};
use ipc::api::store::Audit;
use ipc::api::store::{StoreApi, CHUNK_SIZE};
use ipc::store_client::{Failure, Store};
use ipc::{Api, Client, ClientChannel, ClientOptions, Envelope, Hello};
use std::io::Write;
use std::path::Path;

/// Exit code when the MOM is not running or not reachable.
pub const EXIT_UNREACHABLE: i32 = 2;
/// Exit code when some service is not running.
pub const EXIT_DEGRADED: i32 = 3;

pub(crate) async fn connect<A: Api>(socket: &Path) -> Result<ClientChannel<A>, String> {
    let stream = tokio::net::UnixStream::connect(socket).await.map_err(|e| {
        format!(
            "cannot reach the MOM at {}: {e} (is it running?)",
            socket.display()
        )
    })?;
    ClientChannel::<A>::handshake(stream, &Hello::new("cli", 0), A::MAX_FRAME)
        .await
        .map_err(|e| format!("{}: {e}", socket.display()))
}

/// The store as the admin CLI uses it: the typed client on a connection of its own, every
/// write audited by the store as `cli.<request>`, by the user that runs the CLI, from `local`.
///
/// # Errors
/// A message when the MOM is not running or not reachable.
pub(crate) async fn store(socket: &Path) -> Result<Store, String> {
    // A clear message at once when nobody listens (the client would keep trying).
    drop(connect::<StoreApi>(socket).await?);
    let (client, _events) = Client::<StoreApi>::start(
        socket.to_owned(),
        Hello::new("cli", 0),
        ClientOptions::default(),
    );
    Ok(Store::new(client).audited(Audit {
        actor: crate::admin::actor(),
        source: "local".into(),
        action: "cli.".into(),
        target: String::new(),
    }))
}

/// Why a read failed, in the CLI's words.
pub(crate) fn why(failure: Failure) -> String {
    match failure {
        Failure::Refused(e) => e.to_string(),
        Failure::Unreachable(e) => e,
    }
}

/// Why a write failed; one the store did not answer may have been made.
pub(crate) fn why_write(failure: Failure) -> String {
    match failure {
        Failure::Refused(e) => e.to_string(),
        Failure::Unreachable(e) => format!(
            "{e}; the store did not answer, so the change may or may not have been made: \
             check with the matching list command before trying again"
        ),
    }
}

pub(crate) async fn call<A: Api>(
    ch: &mut ClientChannel<A>,
    id: u64,
    body: A::Request,
) -> Result<A::Response, String> {
    ch.tx
        .send(&Envelope { id, body })
        .await
        .map_err(|e| e.to_string())?;
    loop {
        match ch.rx.recv().await {
            Ok(Some(Envelope { id: got, body })) if got == id => return Ok(body),
            Ok(Some(_)) => {}
            Ok(None) => return Err("the service closed the connection".into()),
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// Prints the state of every service; exit code 0 only when all are running.
pub async fn status(socket: &Path, store_socket: &Path, json: bool) -> i32 {
    let rows = async {
        let mut ch = connect::<ControlApi>(socket).await?;
        match call::<ControlApi>(&mut ch, 1, ControlRequest::Status).await? {
            ControlResponse::Status(rows) => Ok::<Vec<ServiceStatus>, String>(rows),
            other => Err(format!("unexpected answer from the supervisor: {other:?}")),
        }
    }
    .await;
    let rows = match rows {
        Ok(rows) => rows,
        Err(e) => {
            eprintln!("sip-dect-mom: {e}");
            return EXIT_UNREACHABLE;
        }
    };
    if json {
        let list: Vec<_> = rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "service": r.name, "state": r.state.to_string(), "pid": r.pid,
                    "uptime_secs": r.uptime_secs, "restarts": r.restarts,
                    "generation": r.generation, "last_exit": r.last_exit,
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(list));
    } else {
        println!(
            "{:<12} {:<9} {:>8} {:>10} {:>8}  LAST EXIT",
            "SERVICE", "STATE", "PID", "UPTIME", "RESTARTS"
        );
        for r in &rows {
            let pid = r.pid.map_or_else(|| "-".to_owned(), |p| p.to_string());
            println!(
                "{:<12} {:<9} {:>8} {:>9}s {:>8}  {}",
                r.name,
                r.state.to_string(),
                pid,
                r.uptime_secs,
                r.restarts,
                r.last_exit
            );
        }
        if rows.iter().any(|r| r.pid.is_some_and(runs_as_root)) {
            println!("\nWARNING: services run as root without their sandbox (development mode started as root).");
        }
        print_links_and_health(store_socket).await;
    }
    if rows.iter().all(|r| r.state == ServiceState::Running) {
        0
    } else {
        EXIT_DEGRADED
    }
}

/// Whether process `pid` runs as root (its real uid in `/proc`): a service never does in
/// production mode.
fn runs_as_root(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|status| {
        status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().next())
            == Some("0")
    })
}

/// OMM links shown by `status` before "and N more".
const LINKS_SHOWN: usize = 20;

/// The OMM links and health states under `status` (nothing when the store cannot be asked).
async fn print_links_and_health(store_socket: &Path) {
    let Ok(store) = store(store_socket).await else {
        return;
    };
    if let Ok(omms) = store.omms().await {
        let enabled: Vec<_> = omms.iter().filter(|o| o.enabled).collect();
        let up = enabled
            .iter()
            .filter(|o| o.health.link == model::LinkState::Up)
            .count();
        println!("\nOMM links: {up} of {} enabled up", enabled.len());
        for o in omms.iter().take(LINKS_SHOWN) {
            let state = if o.enabled {
                format!("{:?}", o.health.link)
            } else {
                "disabled".to_owned()
            };
            println!(
                "  {:>4}  {:<24} {:<9} {}",
                o.id, o.name, state, o.health.last_error
            );
        }
        if omms.len() > LINKS_SHOWN {
            println!(
                "  … and {} more (sip-dect-mom omm list)",
                omms.len() - LINKS_SHOWN
            );
        }
    }
    if let Ok(states) = store.health().await {
        println!();
        for s in states {
            let severity = s.severity.map_or("OK".to_owned(), |v| format!("{v:?}"));
            println!("{:<16} {:<8} {}", s.check.label(), severity, s.reason);
        }
    }
}

/// Writes a consistent export of the database to `file`.
pub async fn export(socket: &Path, file: &Path) -> i32 {
    let result = async {
        let store = store(socket).await?;
        let (export, size) = store.export_begin().await.map_err(why)?;
        let tmp = file.with_extension("partial");
        let mut out = std::fs::File::create(&tmp)
            .map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;
        let mut offset = 0u64;
        while offset < size {
            let chunk = store.export_chunk(export, offset).await.map_err(why)?;
            if chunk.is_empty() {
                return Err::<u64, String>("the export ended early".into());
            }
            out.write_all(&chunk)
                .map_err(|e| format!("writing {}: {e}", tmp.display()))?;
            offset += chunk.len() as u64;
            eprint!("\rexported {} of {} bytes", offset, size);
        }
        out.sync_all().map_err(|e| e.to_string())?;
        std::fs::rename(&tmp, file).map_err(|e| e.to_string())?;
        eprintln!();
        Ok(size)
    }
    .await;
    match result {
        Ok(size) => {
            println!("exported {size} bytes to {}", file.display());
            0
        }
        Err(e) => {
            eprintln!("sip-dect-mom: export failed: {e}");
            1
        }
    }
}

/// Replaces the database with the export in `file`, after the store validated all of it.
pub async fn import(
    socket: &Path,
    file: &Path,
    allow_foreign_identity: bool,
    secrets_key: Option<&Path>,
) -> i32 {
    let result = async {
        let bytes =
            std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let key = secrets_key
            .map(|k| {
                std::fs::read_to_string(k).map_err(|e| format!("cannot read {}: {e}", k.display()))
            })
            .transpose()?;
        let store: Store = store(socket).await?;
        let import: u64 = store
            .import_begin(bytes.len() as u64)
            .await
            .map_err(why)?;
        let mut sent = 0;
        for chunk in bytes.chunks(CHUNK_SIZE) {
            store
                .import_chunk(import, chunk.to_vec())
                .await
                .map_err(why)?;
            sent += chunk.len();
            eprint!("\rsent {sent} of {} bytes", bytes.len());
        }
        eprintln!();
        if let Some(key) = key {
            store
                .import_secrets_key(import, key)
                .await
                .map_err(why)?;
        }
        let committed = if allow_foreign_identity {
            store.import_commit_foreign(import).await
        } else {
            store.import_commit(import).await
        };
        let rev = committed.map_err(why_write)?;
        // An import is no write the store audits itself: its entry is appended after it.
        let mut entry = crate::admin::audit_of(
            "DatabaseImport",
            format!("{{\"bytes\":{}}}", bytes.len()),
        );
        entry.target = file.display().to_string();
        if let Err(e) = store.append_audit(entry).await {
            eprintln!("sip-dect-mom: warning: the change is made but the audit trail could not record it: {e}");
        }
        Ok::<u64, String>(rev)
    }
    .await;
    match result {
        Ok(rev) => {
            println!("database imported from {} (revision {rev})", file.display());
            0
        }
        Err(e) if secrets_key.is_none() && e.contains("secrets.key") => {
            eprintln!("sip-dect-mom: {e}");
            eprintln!(
                "sip-dect-mom: give it with: sip-dect-mom db import {} --secrets-key KEYFILE",
                file.display()
            );
            1
        }
        Err(e) => {
            eprintln!("sip-dect-mom: {e}");
            1
        }
    }
}
