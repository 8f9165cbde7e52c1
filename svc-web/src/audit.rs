//! The audit trail of the web API (beyond the original MOM): each change records who, when,
//! from where, what, and the record before and after, with every secret redacted
//! ([`redact`]), in the store. Reading it: `GET /api/v1/audit`.

use crate::app::App;
use crate::auth::{Caller, LoggedIn};
use crate::error::ApiResult;
use axum::extract::State;
use axum::Json;
use ipc::api::store::Audit;
use ipc::store_client::Store;
use model::AuditEntry;
use serde::Serialize;
use std::sync::Arc;

pub use model::redact::{redact, REDACTED, SECRET_FIELDS};

/// An edit without the secrets a client sent back as [`REDACTED`]: they stay as they are
/// (a record read from the API and sent back whole must not set its PIN to the marker).
#[must_use]
pub fn without_unchanged_secrets(mut changes: serde_json::Value) -> serde_json::Value {
    if let Some(map) = changes.as_object_mut() {
        map.retain(|k, v| !(SECRET_FIELDS.contains(&k.as_str()) && v == REDACTED));
    }
    changes
}

/// The store for one change `who` makes: each write goes as an audited write, recorded by
/// the store in the write's own transaction with the records before and after (see
/// svc-store's `audit` module). The store names the records in the entry's target.
#[must_use]
pub fn store(app: &App, who: &LoggedIn, action: &str) -> Store {
    store_naming(app, who, action, String::new())
}

/// As [`store`], with the entry's target named here, for a write whose records the store
/// does not name itself (a counter).
#[must_use]
pub fn store_naming(app: &App, who: &LoggedIn, action: &str, target: String) -> Store {
    app.store.audited(Audit {
        actor: who.account.name.clone(),
        source: who.source.ip().to_string(),
        action: action.to_owned(),
        target,
    })
}

/// Records something `who` did that is no store write (a login, an export, a new
/// certificate). A trail that cannot be written (a full disk) is logged; what was done stands.
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
        before: model::redact::audit_text(before),
        after: model::redact::audit_text(after),
        ..AuditEntry::default()
    };
    if let Err(e) = app.store.append_audit(entry).await {
        tracing::warn!(action, error = %e, "cannot write the audit trail");
    }
}

/// Nothing, for the side of an audit entry that has no record.
pub const NONE: Option<&()> = None;

/// The audit trail, oldest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", responses((status = 200, body = [AuditEntry])))]
pub async fn list(State(app): State<Arc<App>>, _: Caller) -> ApiResult<Json<Vec<AuditEntry>>> {
    Ok(Json(app.store.audit().await?))
}
