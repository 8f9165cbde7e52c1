//! The audit trail of writes through MAXI, like the web API's (`svc-web/src/audit.rs`): who
//! (the MOM account), from where (`maxi <address>`), what, and the records before and after
//! with every secret redacted.

use crate::requests::Caller;
use crate::service::Service;
use model::AuditEntry;
use serde::Serialize;

/// Nothing, for the side of an entry that has no record.
pub const NONE: Option<&()> = None;

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
        before: model::redact::audit_text(before),
        after: model::redact::audit_text(after),
        ..AuditEntry::default()
    };
    if let Err(e) = service.store.append_audit(entry).await {
        tracing::warn!(action, error = %e, "cannot write the audit trail");
    }
}
