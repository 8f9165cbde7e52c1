//! Sessions, API tokens and second factors live in svc-web's own files and name accounts
//! by their numeric id. A database import replaces the accounts: the same id may then name
//! another account (a read-only user's session would act as the administrator of the
//! imported file). The store gives every database a random id, made anew at creation and at
//! every import (`StoreRequest::DatabaseId`); svc-web remembers the id its state was made
//! under and, when the store's differs (an import, seen at start or in the change feed),
//! ends every session, revokes every API token and drops every second-factor enrolment,
//! with a log line and an event-log entry. Dropping is the rule chosen over carrying the
//! state across: an import may map any id to any account.

use crate::app::App;
use crate::persist::StateFile;
use std::sync::Mutex;

/// The database id svc-web's state was made under, kept in `database-id.json`.
pub struct Known {
    file: StateFile,
    id: Mutex<u64>,
}

impl Known {
    /// The id remembered in `file` (0 when none yet).
    #[must_use]
    pub fn load(file: StateFile) -> Self {
        let id: u64 = file.load();
        Self {
            file,
            id: Mutex::new(id),
        }
    }
}

/// Compares the store's database id with the remembered one; on a difference the state
/// keyed by account ids is dropped. Quiet when the store cannot be asked (the next change
/// of the feed or the next start asks again).
pub async fn check(app: &App) {
    let current = match app.store.database_id().await {
        Ok(id) => id,
        Err(e) => {
            tracing::debug!(error = %e, "the store did not tell its database id");
            return;
        }
    };
    let known = *app
        .database
        .id
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if known == current {
        return;
    }
    if known != 0 {
        drop_account_state(app).await;
    }
    *app.database
        .id
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = current;
    if let Err(e) = app.database.file.save(&current) {
        tracing::warn!(error = %e, "cannot remember the database id");
    }
}

/// Ends every session, revokes every API token, drops every second factor.
async fn drop_account_state(app: &App) {
    let sessions = app
        .sessions
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clear();
    let tokens = app
        .tokens
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clear();
    let factors = app
        .second_factors
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clear();
    let count = |r: Result<usize, String>| {
        r.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot write svc-web's state");
            0
        })
    };
    let (sessions, tokens, factors) = (count(sessions), count(tokens), count(factors));
    tracing::warn!(
        sessions,
        tokens,
        second_factors = factors,
        "the database was replaced (import): every session ended, every API token revoked and every authenticator enrolment dropped; log in again and enrol again"
    );
    let text = format!(
        "database replaced: {sessions} sessions ended, {tokens} API tokens revoked, {factors} authenticator enrolments dropped (account ids may name other accounts now)"
    );
    app.store.log(model::Severity::Warning, "web", text).await;
}
