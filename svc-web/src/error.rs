//! The API's errors: an HTTP status and a JSON body `{"error": code, "message": text}` that
//! says what is wrong in the administrator's words. Every store refusal maps to a 4xx with
//! its own code; only an unreachable store is a 503, and nothing a client sends is a 500.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ipc::api::store::StoreError;
use serde::Serialize;

/// An error answer.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// What is wrong, for the administrator.
    pub message: String,
    /// Seconds for a `Retry-After` header (429 and 503 answers that have one).
    pub retry_after: Option<u32>,
    /// A `WWW-Authenticate` challenge (401 answers to HTTP authentication).
    pub www_authenticate: Option<&'static str>,
}

/// The JSON body of every error answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `duplicate_number`.
    pub error: String,
    /// What is wrong, for the administrator.
    pub message: String,
}

impl ApiError {
    /// An error with this status, code and message.
    #[must_use]
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
            www_authenticate: None,
        }
    }

    /// 400: the request is malformed.
    #[must_use]
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 422: well-formed but not acceptable.
    #[must_use]
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message)
    }

    /// 404 for a path parameter that names nothing.
    #[must_use]
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 403: the account may not do this.
    #[must_use]
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    /// 401: not logged in.
    #[must_use]
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    /// 503: the store cannot be reached.
    #[must_use]
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// 502-free internal failure (a state file cannot be written, say).
    #[must_use]
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        use StatusCode as S;
        let (status, code) = match &e {
            StoreError::NotFound { .. } => (S::NOT_FOUND, "not_found"),
            StoreError::InvalidIpei(_) => (S::UNPROCESSABLE_ENTITY, "invalid_ipei"),
            StoreError::DuplicateIpei(_) => (S::CONFLICT, "duplicate_ipei"),
            StoreError::DuplicateNumber(_) => (S::CONFLICT, "duplicate_number"),
            StoreError::DuplicateAccountName(_) => (S::CONFLICT, "duplicate_account_name"),
            StoreError::DuplicateRoomNumber(_) => (S::CONFLICT, "duplicate_room_number"),
            StoreError::TooManyPermanentUsers(_) => (S::CONFLICT, "too_many_permanent_users"),
            StoreError::PermanentMustBeInternal => {
                (S::UNPROCESSABLE_ENTITY, "permanent_must_be_internal")
            }
            StoreError::DefaultAccountUndeletable => (S::CONFLICT, "default_account_undeletable"),
            StoreError::RelationChange(_) => (S::CONFLICT, "relation_change"),
            StoreError::SourceChange(_) => (S::CONFLICT, "source_change"),
            StoreError::Invalid(_) => (S::UNPROCESSABLE_ENTITY, "invalid"),
            StoreError::Query(_) => (S::BAD_REQUEST, "bad_query"),
            StoreError::WrongPassword => (S::UNAUTHORIZED, "wrong_password"),
            StoreError::AccountDisabled => (S::FORBIDDEN, "account_disabled"),
            StoreError::LicenseMismatch { .. } => (S::CONFLICT, "license_mismatch"),
            StoreError::Import(_) => (S::UNPROCESSABLE_ENTITY, "import_refused"),
            StoreError::UnknownTransfer(_) => (S::NOT_FOUND, "unknown_transfer"),
            StoreError::Storage(_) => (S::SERVICE_UNAVAILABLE, "storage"),
            StoreError::LicenseRefused(_) => (S::UNPROCESSABLE_ENTITY, "license_refused"),
            StoreError::ForeignIdentity { .. } => (S::CONFLICT, "foreign_identity"),
            StoreError::NewerDatabase { .. } => (S::SERVICE_UNAVAILABLE, "newer_database"),
            StoreError::Busy { .. } => (S::SERVICE_UNAVAILABLE, "busy"),
        };
        let mut error = Self::new(status, code, e.to_string());
        if let StoreError::Busy { retry_after_secs } = e {
            error.retry_after = Some(retry_after_secs);
        }
        error
    }
}

impl From<ipc::store_client::Failure> for ApiError {
    fn from(failure: ipc::store_client::Failure) -> Self {
        match failure {
            ipc::store_client::Failure::Refused(e) => e.into(),
            ipc::store_client::Failure::Unreachable(e) => {
                Self::unavailable(format!("the store cannot be reached: {e}"))
            }
        }
    }
}

impl From<ipc::ClientError> for ApiError {
    fn from(e: ipc::ClientError) -> Self {
        Self::unavailable(format!("a service of the MOM cannot be reached: {e}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.code.to_owned(),
            message: self.message,
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        if let Some(challenge) = self.www_authenticate {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static(challenge),
            );
        }
        response
    }
}

/// The result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
