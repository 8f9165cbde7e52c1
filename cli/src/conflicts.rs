//! `sip-dect-mom conflicts`: the records svc-axi holds back because two OMMs claim them or
//! the MOM refused them, with the OMMs involved and when they were seen. Exit 3 while there
//! are any, like `health`.

use crate::client::{fail, json, store, why};
use std::path::Path;

/// Prints the open conflicts.
pub async fn conflicts(socket: &Path, as_json: bool) -> i32 {
    let conflicts = match async { store(socket).await?.conflicts().await.map_err(why) }.await {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    if as_json {
        let rows: Vec<_> = conflicts
            .iter()
            .map(|c| {
                serde_json::json!({
                    "kind": c.kind.label(),
                    "omm": c.omm,
                    "record": format!("{:?} {}", c.entity, c.omm_record),
                    "key": c.key,
                    "other_omm": c.other_omm,
                    "reason": c.reason,
                    "first_seen": c.first_seen,
                    "last_seen": c.last_seen,
                    "count": c.count,
                })
            })
            .collect();
        json(&rows);
    } else if conflicts.is_empty() {
        println!("No conflicts.");
    } else {
        println!(
            "{:<26} {:>4} {:>5} {:<18} REASON",
            "KIND", "OMM", "OTHER", "NUMBER/IPEI"
        );
        for c in &conflicts {
            let other = if c.other_omm == 0 {
                "-".to_owned()
            } else {
                c.other_omm.to_string()
            };
            println!(
                "{:<26} {:>4} {:>5} {:<18} {} (seen {}×)",
                c.kind.label(),
                c.omm,
                other,
                model::printable(&c.key),
                model::printable(&c.reason),
                c.count
            );
        }
    }
    if conflicts.is_empty() {
        0
    } else {
        3
    }
}
