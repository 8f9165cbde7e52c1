//! The audit trail of writes through MAXI, like the web API's (`svc-web/src/audit.rs`): who
//! (the MOM account), from where (`maxi <address>`), what, and the records before and after
//! with every secret redacted.

use crate::requests::Caller;
use crate::service::Service;
use ipc::api::store::StoreRequest;
use model::AuditEntry;
use serde::Serialize;

/// Nothing, for the side of an entry that has no record.
pub const NONE: Option<&()> = None;

fn text<T: Serialize>(record: Option<&T>) -> String {
    record
        .and_then(|r| serde_json::to_value(r).ok())
        .map(|v| model::redact::redact(v).to_string())
        .unwrap_or_default()
}

/// Records a change by `caller`. A trail that cannot be written (a full disk) is logged;
/// the change itself already happened and stands.
pub async fn record<B: Serialize, A: Serialize>(
    service: &Service,
    caller: &Caller,
    action: &str,
    target: String,
    before: Option<&B>,
    after: Option<&A>,
) {
    let entry = AuditEntry {
        actor: caller.account.clone(),
        source: format!("maxi {}", caller.source),
        action: action.to_owned(),
        target,
        before: text(before),
        after: text(after),
        ..AuditEntry::default()
    };
    if let Err(e) = service
        .store
        .request(StoreRequest::AppendAudit(entry))
        .await
    {
        tracing::warn!(action, error = %e, "cannot write the audit trail");
    }
}
