//! "Update OMM" for one, several or all OMMs, through svc-axi.

use crate::app::App;
use crate::audit;
use crate::auth::Writer;
use crate::error::{ApiError, ApiResult};
use crate::json::Body as JsonBody;
use axum::extract::State;
use axum::Json;
use ipc::api::axi::{AxiRequest, AxiResponse};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

/// Which OMMs "Update OMM" is for: a list, or all that the MOM provisions.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRequest {
    /// These OMMs.
    #[serde(default)]
    pub omms: Vec<u32>,
    /// Every OMM with Provisioning enabled (then `omms` must be empty).
    #[serde(default)]
    pub all: bool,
}

/// The outcome of "Update OMM" for one OMM.
#[derive(Debug, Serialize, ToSchema)]
pub struct UpdateResult {
    /// OMM id.
    pub id: u32,
    /// Why it was not sent, when it was not (not linked, Provisioning disabled, …).
    pub error: Option<String>,
}

/// "Update OMM": the OMMs are told to fetch their configuration now (`SoftwareUpdate`);
/// each fetch is then recorded with its OMM, and an OMM that does not fetch in time gets a
/// warning health state.
#[utoipa::path(post, path = "/api/v1/omms/update", tag = "provisioning", request_body = UpdateRequest,
    responses((status = 200, body = [UpdateResult]), (status = 422, body = crate::error::ErrorBody),
        (status = 503, body = crate::error::ErrorBody)))]
pub async fn update(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    JsonBody(request): JsonBody<UpdateRequest>,
) -> ApiResult<Json<Vec<UpdateResult>>> {
    let omms = crate::api::omms::all(&app).await?;
    let ids: Vec<u32> = match (request.all, request.omms.is_empty()) {
        (true, true) => omms
            .iter()
            .filter(|o| o.provisioning)
            .map(|o| o.id)
            .collect(),
        (false, false) => {
            if let Some(missing) = request
                .omms
                .iter()
                .find(|id| !omms.iter().any(|o| o.id == **id))
            {
                return Err(ApiError::not_found(format!("OMM {missing} does not exist")));
            }
            request.omms.iter().copied().take(10_000).collect()
        }
        (true, false) => return Err(ApiError::invalid("give either `omms` or `all`, not both")),
        (false, true) => return Err(ApiError::invalid("give `omms` or `all: true`")),
    };
    let axi = app
        .axi
        .as_ref()
        .ok_or_else(|| ApiError::unavailable("svc-axi cannot be reached from svc-web"))?;
    let outcome = match axi.request(AxiRequest::SoftwareUpdate(ids.clone())).await? {
        AxiResponse::Updated(o) => o,
        AxiResponse::Error(why) => return Err(ApiError::unavailable(why)),
        other => {
            return Err(ApiError::internal(format!(
                "unexpected answer from svc-axi: {other:?}"
            )))
        }
    };
    let sent = outcome.iter().filter(|(_, e)| e.is_none()).count();
    tracing::info!(account = %who.account.name, asked = ids.len(), sent, "Update OMM");
    audit::record(
        &app,
        &who,
        "omms.update",
        format!("{} OMM(s)", ids.len()),
        audit::NONE,
        Some(&ids),
    )
    .await;
    Ok(Json(
        outcome
            .into_iter()
            .map(|(id, error)| UpdateResult { id, error })
            .collect(),
    ))
}
