//! Administrator subcommands that talk to a running MOM: `status`, `db export`, `db import`.

use ipc::api::control::{ControlApi, ControlRequest, ControlResponse, ServiceState, ServiceStatus};
use ipc::api::store::{StoreApi, StoreRequest, StoreResponse, CHUNK_SIZE};
use ipc::{Api, ClientChannel, Envelope, Hello};
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
    let Ok(mut ch) = connect::<StoreApi>(store_socket).await else {
        return;
    };
    if let Ok(StoreResponse::Omms(omms)) =
        call::<StoreApi>(&mut ch, 1, StoreRequest::ListOmms).await
    {
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
    if let Ok(StoreResponse::Health(states)) =
        call::<StoreApi>(&mut ch, 2, StoreRequest::GetHealth).await
    {
        println!();
        for s in states {
            let severity = s.severity.map_or("OK".to_owned(), |v| format!("{v:?}"));
            println!("{:<16} {:<8} {}", s.check.label(), severity, s.reason);
        }
    }
}

fn store_error(resp: StoreResponse) -> String {
    match resp {
        StoreResponse::Error(e) => e.to_string(),
        other => format!("unexpected answer from the store: {other:?}"),
    }
}

/// Writes a consistent export of the database to `file`.
pub async fn export(socket: &Path, file: &Path) -> i32 {
    let result = async {
        let mut ch = connect::<StoreApi>(socket).await?;
        let (export, size) = match call::<StoreApi>(&mut ch, 1, StoreRequest::ExportBegin).await? {
            StoreResponse::ExportReady { export, size } => (export, size),
            other => return Err(store_error(other)),
        };
        let tmp = file.with_extension("partial");
        let mut out = std::fs::File::create(&tmp)
            .map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;
        let mut offset = 0u64;
        let mut id = 2;
        while offset < size {
            let chunk =
                match call::<StoreApi>(&mut ch, id, StoreRequest::ExportChunk { export, offset })
                    .await?
                {
                    StoreResponse::Chunk(c) if !c.is_empty() => c,
                    StoreResponse::Chunk(_) => return Err("the export ended early".into()),
                    other => return Err(store_error(other)),
                };
            id += 1;
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
        let mut ch = connect::<StoreApi>(socket).await?;
        let import = match call::<StoreApi>(
            &mut ch,
            1,
            StoreRequest::ImportBegin {
                size: bytes.len() as u64,
            },
        )
        .await?
        {
            StoreResponse::ImportReady { import } => import,
            other => return Err(store_error(other)),
        };
        let mut id = 2;
        let mut sent = 0;
        for chunk in bytes.chunks(CHUNK_SIZE) {
            match call::<StoreApi>(
                &mut ch,
                id,
                StoreRequest::ImportChunk {
                    import,
                    data: chunk.to_vec(),
                },
            )
            .await?
            {
                StoreResponse::Done => {}
                other => return Err(store_error(other)),
            }
            id += 1;
            sent += chunk.len();
            eprint!("\rsent {sent} of {} bytes", bytes.len());
        }
        eprintln!();
        if let Some(key) = key {
            match call::<StoreApi>(&mut ch, id, StoreRequest::ImportSecretsKey { import, key })
                .await?
            {
                StoreResponse::Done => {}
                other => return Err(store_error(other)),
            }
            id += 1;
        }
        let commit = if allow_foreign_identity {
            StoreRequest::ImportCommitForeign { import }
        } else {
            StoreRequest::ImportCommit { import }
        };
        match call::<StoreApi>(&mut ch, id, commit).await? {
            StoreResponse::Revision(rev) => {
                let mut entry = crate::admin::audit_of(
                    "DatabaseImport",
                    format!("{{\"bytes\":{}}}", bytes.len()),
                );
                entry.target = file.display().to_string();
                crate::admin::record(&mut ch, entry).await;
                Ok(rev)
            }
            other => Err(store_error(other)),
        }
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
