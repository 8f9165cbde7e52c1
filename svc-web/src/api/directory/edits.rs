//! What the edits of users and DECT phones share: a record by id, the id of a created one,
//! and the multi-edit of a selection, each record with its own result.

use crate::app::App;
use crate::audit;
use crate::error::{ApiError, ApiResult};
use crate::json::patch;
use axum::http::StatusCode;
use axum::Json;
use model::MAX_PAGE;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One user or device by id.
pub(super) async fn record<K: crate::api::bulk::Kind>(app: &App, id: u32) -> ApiResult<K> {
    K::get(&app.store, id).await?.ok_or_else(|| {
        ApiError::from(ipc::api::store::StoreError::NotFound {
            entity: K::ENTITY,
            id,
        })
    })
}

/// The id of a created record.
#[derive(Debug, Serialize, ToSchema)]
pub struct Created {
    /// Its id.
    pub id: u32,
}

pub(super) fn created(id: u32) -> (StatusCode, Json<Created>) {
    (StatusCode::CREATED, Json(Created { id }))
}

/// A multi-edit: the same changes to each record of a selection.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MultiEdit {
    /// The records' ids.
    pub ids: Vec<u32>,
    /// The fields to change.
    #[schema(value_type = Object)]
    pub changes: serde_json::Value,
}

/// The result for one record of a multi-edit.
#[derive(Debug, Serialize, ToSchema)]
pub struct EditResult {
    /// The record's id.
    pub id: u32,
    /// Empty when it was changed, else why not.
    pub error: Option<crate::error::ErrorBody>,
}

pub(super) fn result_of(id: u32, outcome: ApiResult<()>) -> EditResult {
    EditResult {
        id,
        error: outcome.err().map(|e| crate::error::ErrorBody {
            error: e.code.to_owned(),
            message: e.message,
        }),
    }
}

/// The largest selection of one multi-edit (a page).
pub(super) const MAX_SELECTION: usize = MAX_PAGE as usize;

/// The same changes to each record of a selection, each with its own result.
pub(super) async fn multi_edit<K: crate::api::bulk::Kind>(
    app: &App,
    who: &crate::auth::LoggedIn,
    edit: MultiEdit,
) -> ApiResult<Vec<EditResult>> {
    if edit.ids.len() > MAX_SELECTION {
        return Err(ApiError::bad_request(format!(
            "at most {MAX_SELECTION} records per multi-edit"
        )));
    }
    let mut out = Vec::new();
    let store = audit::store(app, who, &format!("{}.multi_edit", K::NAME));
    for id in edit.ids {
        let outcome = async {
            let current: K = record(app, id).await?;
            let mut edited: K = patch(
                &current,
                audit::without_unchanged_secrets(edit.changes.clone()),
            )?;
            edited.set_id(id);
            K::put(&store, edited).await?;
            Ok(())
        }
        .await;
        out.push(result_of(id, outcome));
    }
    Ok(out)
}
