//! `sip-dect-mom status`: every service's state, then the OMM links and the health states.

use crate::client::{call, connect, store, EXIT_DEGRADED, EXIT_UNREACHABLE};
use ipc::api::control::{ControlApi, ControlRequest, ControlResponse, ServiceState, ServiceStatus};
use std::path::Path;

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
