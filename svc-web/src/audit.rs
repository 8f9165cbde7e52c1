//! The audit trail of the web API (beyond the original MOM): each change records who, when,
//! from where, what, and the record before and after, with every secret redacted
//! ([`redact`]), in the store. Reading it: `GET /api/v1/audit`.

use crate::app::App;
use crate::auth::{Caller, LoggedIn};
use crate::error::ApiResult;
use axum::extract::State;
use axum::Json;
use ipc::api::store::{StoreRequest, StoreResponse};
use model::AuditEntry;
use serde::Serialize;
use std::sync::Arc;

/// Field names whose values are secrets: never written to the trail, the dump or a log.
pub const SECRET_FIELDS: &[&str] = &[
    "password",
    "password_hash",
    "old_password",
    "new_password",
    "pin",
    "sip_pw",
    "sip_password",
    "credential_pw",
    "service_auth_password",
    "key_pem",
    "secret",
];

/// What stands in for a redacted secret.
pub const REDACTED: &str = "(redacted)";

/// `value` with every secret field (at any depth) replaced by [`REDACTED`] when set.
#[must_use]
pub fn redact(mut value: serde_json::Value) -> serde_json::Value {
    fn walk(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, inner) in map.iter_mut() {
                    if SECRET_FIELDS.contains(&k.as_str()) {
                        let set = !matches!(inner, serde_json::Value::String(s) if s.is_empty());
                        if set {
                            *inner = serde_json::Value::String(REDACTED.into());
                        }
                    } else {
                        walk(inner);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut value);
    value
}

fn text<T: Serialize>(record: Option<&T>) -> String {
    record
        .and_then(|r| serde_json::to_value(r).ok())
        .map(|v| redact(v).to_string())
        .unwrap_or_default()
}

/// Records a change by `who`. A trail that cannot be written (a full disk) is logged; the
/// change itself already happened and stands.
pub async fn record<B: Serialize, A: Serialize>(
    app: &App,
    who: &LoggedIn,
    action: &str,
    target: String,
    before: Option<&B>,
    after: Option<&A>,
) {
    let entry = AuditEntry {
        actor: who.account.name.clone(),
        source: who.source.ip().to_string(),
        action: action.to_owned(),
        target,
        before: text(before),
        after: text(after),
        ..AuditEntry::default()
    };
    if let Err(e) = app.done(StoreRequest::AppendAudit(entry)).await {
        tracing::warn!(action, error = %e.message, "cannot write the audit trail");
    }
}

/// Nothing, for the side of an audit entry that has no record.
pub const NONE: Option<&()> = None;

/// The audit trail, oldest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", responses((status = 200, body = [AuditEntry])))]
pub async fn list(State(app): State<Arc<App>>, _: Caller) -> ApiResult<Json<Vec<AuditEntry>>> {
    match app.call(StoreRequest::ListAudit).await? {
        StoreResponse::Audit(trail) => Ok(Json(trail)),
        other => Err(crate::app::unexpected(&other)),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_secret_is_redacted_at_any_depth_and_empty_ones_stay_empty() {
        let v = serde_json::json!({
            "name": "a", "pin": "1234", "sip_pw": "", "nested": [{"password": "x", "other": 1}],
        });
        let r = super::redact(v);
        assert_eq!(r["pin"], super::REDACTED);
        assert_eq!(r["sip_pw"], "");
        assert_eq!(r["nested"][0]["password"], super::REDACTED);
        assert_eq!(r["nested"][0]["other"], 1);
        assert_eq!(r["name"], "a");
    }
}
