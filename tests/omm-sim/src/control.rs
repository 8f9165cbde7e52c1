//! The control socket for scripts: JSON lines over a loopback TCP port. Each request line is
//! an object with `cmd`; each answer line is `{"ok":true,...}` or `{"ok":false,"error":...}`.
//!
//! Commands: `list`; `edit-user omm uid attr value`; `delete-user omm uid`;
//! `subscribe omm ipei [ac] [add_id]`; `roam ipei to [rfp_id]`; `message omm from to content`;
//! `app-data omm channel data`; `restart omm`; `drop-links omm`;
//! `behaviour omm mode [ms]` with mode `normal|slow|silent|garbage|oversize|byte-by-byte`.

use crate::{Behaviour, Fleet};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// Longest request line.
const MAX_LINE: usize = 64 * 1024;

fn field<'a>(v: &'a Value, name: &str) -> Result<&'a Value, String> {
    v.get(name).ok_or_else(|| format!("missing {name}"))
}

fn num(v: &Value, name: &str) -> Result<u32, String> {
    field(v, name)?
        .as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| format!("{name} must be a number"))
}

fn text<'a>(v: &'a Value, name: &str) -> Result<&'a str, String> {
    field(v, name)?
        .as_str()
        .ok_or_else(|| format!("{name} must be a string"))
}

fn ipei(v: &Value) -> Result<model::Ipei, String> {
    model::Ipei::parse(text(v, "ipei")?).map_err(|e| e.to_string())
}

/// Runs one command against the fleet.
///
/// # Errors
/// A text for an unknown command, a missing field or a refused action.
pub fn execute(fleet: &Fleet, request: &Value) -> Result<Value, String> {
    let cmd = text(request, "cmd")?;
    match cmd {
        "list" => Ok(Value::Array(
            fleet
                .omms
                .iter()
                .map(|o| {
                    let inner = o.lock();
                    json!({
                        "omm": inner.state.index, "port": o.addr.port(), "park": inner.state.park,
                        "cloud_id": inner.state.cloud_id(), "sari": inner.state.sari, "links": o.link_count_locked(&inner),
                        "users": inner.state.users.len(), "devices": inner.state.devices.len(),
                        "username": inner.state.config.username, "password": inner.state.config.password,
                    })
                })
                .collect(),
        )),
        "edit-user" => fleet.admin_edit_user(num(request, "omm")?, num(request, "uid")?, text(request, "attr")?, text(request, "value")?).map(|()| Value::Null),
        "delete-user" => fleet.admin_delete_user(num(request, "omm")?, num(request, "uid")?).map(|()| Value::Null),
        "subscribe" => {
            let ac = request.get("ac").and_then(Value::as_str).map(str::to_owned);
            let add_id = request.get("add_id").and_then(Value::as_str);
            fleet.subscribe_handset(num(request, "omm")?, ipei(request)?, ac, add_id).map(|()| Value::Null)
        }
        "roam" => fleet.roam(ipei(request)?, num(request, "to")?, request.get("rfp_id").and_then(Value::as_u64).unwrap_or(1) as u32).map(|()| Value::Null),
        "message" => fleet.handset_message(num(request, "omm")?, text(request, "from")?, text(request, "to")?, text(request, "content")?).map(|()| Value::Null),
        "app-data" => fleet.application_data(num(request, "omm")?, text(request, "channel")?, text(request, "data")?.as_bytes()).map(|()| Value::Null),
        "restart" => {
            fleet.omms.get(num(request, "omm")? as usize - 1).ok_or("no such OMM")?.restart();
            Ok(Value::Null)
        }
        "drop-links" => {
            fleet.omms.get(num(request, "omm")? as usize - 1).ok_or("no such OMM")?.drop_links();
            Ok(Value::Null)
        }
        "behaviour" => {
            let ms = Duration::from_millis(request.get("ms").and_then(Value::as_u64).unwrap_or(1000));
            let behaviour = match text(request, "mode")? {
                "normal" => Behaviour::Normal,
                "slow" => Behaviour::Slow(ms),
                "silent" => Behaviour::Silent,
                "garbage" => Behaviour::Garbage,
                "oversize" => Behaviour::Oversize,
                "byte-by-byte" => Behaviour::ByteByByte,
                "flood" => Behaviour::Flood(10_000),
                other => return Err(format!("unknown mode {other:?}")),
            };
            fleet.omms.get(num(request, "omm")? as usize - 1).ok_or("no such OMM")?.set_behaviour(behaviour);
            Ok(Value::Null)
        }
        other => Err(format!("unknown command {other:?}")),
    }
}

/// Serves the control socket until the task is dropped.
pub async fn serve(fleet: Arc<Fleet>, listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let fleet = Arc::clone(&fleet);
        tokio::spawn(async move {
            let (read, mut write) = stream.into_split();
            let mut lines = BufReader::new(read).take_lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let answer = match serde_json::from_str::<Value>(&line) {
                    Ok(request) => match execute(&fleet, &request) {
                        Ok(Value::Null) => json!({"ok": true}),
                        Ok(result) => json!({"ok": true, "result": result}),
                        Err(e) => json!({"ok": false, "error": e}),
                    },
                    Err(e) => json!({"ok": false, "error": format!("not JSON: {e}")}),
                };
                if write
                    .write_all(format!("{answer}\n").as_bytes())
                    .await
                    .is_err()
                {
                    break;
                }
            }
        });
    }
}

trait TakeLines {
    fn take_lines(
        self,
    ) -> tokio::io::Lines<BufReader<tokio::io::Take<tokio::net::tcp::OwnedReadHalf>>>;
}

impl TakeLines for BufReader<tokio::net::tcp::OwnedReadHalf> {
    /// Lines, with the whole connection bounded so a line without end cannot grow forever.
    fn take_lines(
        self,
    ) -> tokio::io::Lines<BufReader<tokio::io::Take<tokio::net::tcp::OwnedReadHalf>>> {
        use tokio::io::AsyncReadExt;
        BufReader::new(self.into_inner().take((MAX_LINE * 1024) as u64)).lines()
    }
}
