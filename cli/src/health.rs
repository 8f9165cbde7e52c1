//! `sip-dect-mom health`: the "Health states" pane for scripts; exit 3 when a state needs
//! attention.

use crate::client::{self, fail, json, why};
use std::path::Path;

/// `sip-dect-mom health`: the "Health states" pane; exit 3 when a state needs attention.
pub async fn health(socket: &Path, as_json: bool) -> i32 {
    let states = match async { client::store(socket).await?.health().await.map_err(why) }.await {
        Ok(h) => h,
        Err(e) => return fail(&e),
    };
    let attention = states.iter().any(|s| s.severity.is_some());
    if as_json {
        let rows: Vec<_> = states
            .iter()
            .map(|s| {
                serde_json::json!({
                    "health_state": s.check.label(),
                    "severity": s.severity.map(|v| format!("{v:?}")),
                    "reason": s.reason,
                })
            })
            .collect();
        json(&rows);
    } else {
        println!("{:<18} {:<9} REASON", "HEALTH STATE", "SEVERITY");
        for s in &states {
            let severity = s.severity.map_or("OK".to_owned(), |v| format!("{v:?}"));
            println!("{:<18} {:<9} {}", s.check.label(), severity, s.reason);
        }
    }
    if attention {
        3
    } else {
        0
    }
}
