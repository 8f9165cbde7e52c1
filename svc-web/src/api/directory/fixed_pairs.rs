//! "Add fixed user/device": a user and a DECT phone made and bound Fixed in one write.

use super::*;
use crate::app::App;
use crate::audit;
use crate::auth::Writer;
use crate::error::ApiResult;
use crate::json::{create, Body};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use model::{Device, User};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

/// A fixed user/device pair to add: the fields of each (absent ones take their defaults).
#[derive(Debug, Deserialize, ToSchema)]
pub struct FixedPair {
    /// The user's fields.
    #[schema(value_type = User)]
    pub user: serde_json::Value,
    /// The device's fields (`ipei` required).
    #[schema(value_type = Device)]
    pub device: serde_json::Value,
}

/// The ids of a new fixed pair.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedPair {
    /// User id.
    pub uid: u32,
    /// Device id.
    pub ppn: u32,
}

/// Adds a fixed user/device pair in one step.
#[utoipa::path(post, path = "/api/v1/fixed-pairs", tag = "users and DECT phones", request_body = FixedPair,
    responses((status = 201, body = CreatedPair), (status = 409, body = crate::error::ErrorBody)))]
pub async fn create_fixed(
    State(app): State<Arc<App>>,
    Writer(who): Writer,
    Body(pair): Body<FixedPair>,
) -> ApiResult<(StatusCode, Json<CreatedPair>)> {
    let mut user: User = create(pair.user)?;
    let mut device = new_device(pair.device)?;
    user.uid = 0;
    device.ppn = 0;
    let (uid, ppn) = audit::store(&app, &who, "fixed_pairs.create")
        .create_fixed(user, device)
        .await?;
    Ok((StatusCode::CREATED, Json(CreatedPair { uid, ppn })))
}
