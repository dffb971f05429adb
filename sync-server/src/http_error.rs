//! The HTTP layer's error: a status, a stable code and a human message, sent as the protocol's
//! `ApiError` body. Service errors become HTTP errors here and nowhere else ([`status_of`]); the
//! HTTP layer's own refusals (a body too large, a wrong content type, a missing CSRF token) are
//! built here too.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use doorstep_protocol::ApiError;

use crate::error::{Failure, ServiceError};
use crate::store::StoreError;

#[derive(Debug)]
pub struct HttpError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds to wait before trying again (429, 503), sent as `Retry-After`.
    pub retry_after_s: Option<u64>,
}

/// The one mapping from what a service says went wrong to an HTTP status.
pub fn status_of(kind: Failure) -> StatusCode {
    match kind {
        Failure::Invalid => StatusCode::BAD_REQUEST,
        Failure::Unreadable => StatusCode::UNPROCESSABLE_ENTITY,
        Failure::Unauthenticated => StatusCode::UNAUTHORIZED,
        Failure::Forbidden => StatusCode::FORBIDDEN,
        Failure::NotFound => StatusCode::NOT_FOUND,
        Failure::Conflict => StatusCode::CONFLICT,
        Failure::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        Failure::TooMany => StatusCode::TOO_MANY_REQUESTS,
        Failure::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<ServiceError> for HttpError {
    fn from(e: ServiceError) -> Self {
        Self { status: status_of(e.kind), code: e.code, message: e.message, retry_after_s: e.retry_after_s }
    }
}

impl From<StoreError> for HttpError {
    fn from(e: StoreError) -> Self {
        ServiceError::from(e).into()
    }
}

impl HttpError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), retry_after_s: None }
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    pub fn internal(e: impl std::fmt::Display) -> Self {
        ServiceError::internal(e).into()
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        // (A phone told the server is busy is expected under load, not an error of the server.)
        if self.status.is_server_error() && self.code != "busy" {
            tracing::error!(status = self.status.as_u16(), code = self.code, message = %self.message, "server error");
        }
        let mut r =
            (self.status, Json(ApiError { code: self.code.to_string(), message: self.message })).into_response();
        if let Some(s) = self.retry_after_s {
            r.headers_mut().insert(axum::http::header::RETRY_AFTER, s.into());
        }
        r
    }
}

impl IntoResponse for ServiceError {
    fn into_response(self) -> Response {
        HttpError::from(self).into_response()
    }
}
