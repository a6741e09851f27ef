//! One error type for every REST response and WebSocket `error` frame. Internal
//! causes are logged here and never reach the client.

use crate::domain::TransitionError;
use crate::domain::validation::ValidationError;
use crate::store::StoreError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    InvalidJson(String),
    #[error(transparent)]
    Validation(#[from] ValidationError),
    #[error("authentication required")]
    Unauthorized,
    #[error("wrong email or password")]
    InvalidCredentials,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("user_hash does not verify user_id")]
    IdentityUnverified,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("this method is not allowed on this route")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    InvalidTransition(String),
    #[error("the ticket is closed")]
    TicketClosed,
    #[error(
        "this client_msg_id was already used for a different message; send a new one under a new key"
    )]
    ClientMsgIdReused,
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("the request body must be JSON, sent with Content-Type: application/json")]
    UnsupportedMediaType,
    /// An upload over `MAX_UPLOAD_BYTES`.
    #[error("the file is larger than the limit of {0} bytes")]
    FileTooLarge(u64),
    /// An upload whose sniffed type is not allowed; the message names it.
    #[error("{0}")]
    FileTypeNotAllowed(String),
    #[error("too many requests; retry in {} s", retry_after.as_secs().max(1))]
    RateLimited { retry_after: Duration },
    #[error("the service is unavailable; retry shortly")]
    Unavailable,
    /// The node is at a cap of work in progress (uploads): 503 with `Retry-After`.
    #[error("too much is in progress on this node; retry in {} s", .0.as_secs().max(1))]
    Busy(Duration),
    #[error("internal error")]
    Internal,
}

impl ApiError {
    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        ApiError::Validation(ValidationError::new(field, message))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidJson(_) | ApiError::Validation(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized | ApiError::InvalidCredentials => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::IdentityUnverified => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_)
            | ApiError::InvalidTransition(_)
            | ApiError::TicketClosed
            | ApiError::ClientMsgIdReused => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) | ApiError::FileTooLarge(_) => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            ApiError::UnsupportedMediaType | ApiError::FileTypeNotAllowed(_) => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable | ApiError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidJson(_) => "invalid_json",
            ApiError::Validation(_) => "validation_failed",
            ApiError::Unauthorized => "unauthorized",
            ApiError::InvalidCredentials => "invalid_credentials",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::IdentityUnverified => "identity_unverified",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::InvalidTransition(_) => "invalid_transition",
            ApiError::TicketClosed => "ticket_closed",
            ApiError::ClientMsgIdReused => "client_msg_id_reused",
            ApiError::PayloadTooLarge(_) | ApiError::FileTooLarge(_) => "payload_too_large",
            ApiError::UnsupportedMediaType | ApiError::FileTypeNotAllowed(_) => {
                "unsupported_media_type"
            }
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Unavailable | ApiError::Busy(_) => "unavailable",
            ApiError::Internal => "internal",
        }
    }

    /// The `{"code","message","field"?}` object of the error body and frames.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code(),
            message: self.to_string(),
            field: match self {
                ApiError::Validation(v) => Some(v.field.clone()),
                _ => None,
            },
            retry_after: match self {
                ApiError::RateLimited { retry_after } => Some(retry_after_secs(*retry_after)),
                _ => None,
            },
        }
    }
}

/// The `error` object of every error response and WebSocket `error` frame.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A fixed word per kind of failure (docs/API.md § Error).
    #[schema(value_type = String, example = "validation_failed")]
    pub code: &'static str,
    /// For people; never a driver's or the server's internals.
    pub message: String,
    /// The field or query parameter at fault, on `validation_failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Whole seconds to wait, on `rate_limited` (the `Retry-After` header's value), so a
    /// socket's `error` frame says it too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

/// A wait in whole seconds, rounded up, at least 1.
fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

/// Every non-2xx REST answer: `{"error": ErrorBody}`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub struct ErrorEnvelope {
    error: ErrorBody,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status(),
            axum::Json(ErrorEnvelope { error: self.body() }),
        )
            .into_response();
        if let ApiError::RateLimited { retry_after } | ApiError::Busy(retry_after) = &self {
            let seconds = retry_after_secs(*retry_after);
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => ApiError::NotFound("ticket"),
            StoreError::TicketClosed => ApiError::TicketClosed,
            StoreError::ClientMsgIdReused => ApiError::ClientMsgIdReused,
            StoreError::Conflict(what) => ApiError::Conflict(format!("{what} already exists")),
            StoreError::Transition(t) => t.into(),
            ref unavailable if unavailable.is_unavailable() => {
                tracing::warn!(cause = %err, "store unavailable");
                ApiError::Unavailable
            }
            other => {
                tracing::error!(cause = %other, "store operation failed");
                ApiError::Internal
            }
        }
    }
}

impl From<TransitionError> for ApiError {
    fn from(err: TransitionError) -> Self {
        match err {
            TransitionError::Closed => ApiError::TicketClosed,
            invalid => ApiError::InvalidTransition(invalid.to_string()),
        }
    }
}
