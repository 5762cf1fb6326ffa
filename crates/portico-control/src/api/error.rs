//! Management API errors, answered as APIM does: the right status and
//! `{"error": {"code", "message", "details": [{"code", "target", "message"}]}}` (details of
//! problems inside a policy also carry `line` and `column`, and say them in the message). Store
//! failures are logged and answered with a message that names no internals.

use crate::declarative::DeclarativeError;
use crate::store::StoreError;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::StatusCode;
use portico_model::ConfigErrors;
use serde_json::json;

/// One problem with a request.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    details: Vec<portico_model::ConfigError>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: Vec::new(),
        }
    }

    pub fn not_found(what: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            format!("{what} was not found"),
        )
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "ValidationError", message)
    }

    /// The configuration a change would produce is invalid: 400 for writes, 409 when a
    /// delete would leave references dangling.
    pub fn invalid_configuration(status: StatusCode, errors: &ConfigErrors) -> Self {
        let code = if status == StatusCode::CONFLICT {
            "Conflict"
        } else {
            "ValidationError"
        };
        let mut e = Self::new(
            status,
            code,
            "The change would make the configuration invalid.",
        );
        e.details = errors.errors().to_vec();
        e
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(path) => Self::not_found(path),
            StoreError::PreconditionFailed { path, current } => Self::new(
                StatusCode::PRECONDITION_FAILED,
                "PreconditionFailed",
                format!("{path} has changed since it was read (its ETag is now {current}); read it again and retry"),
            ),
            StoreError::AlreadyExists(path) => Self::new(StatusCode::CONFLICT, "Conflict", format!("{path} already exists")),
            other => {
                tracing::error!(error = %other, "store failure");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", "The control plane could not complete the request; see its log.")
            }
        }
    }
}

impl From<DeclarativeError> for ApiError {
    fn from(e: DeclarativeError) -> Self {
        Self::bad_request(e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let details: Vec<_> = self
            .details
            .iter()
            .map(|d| {
                let mut detail = json!({"code": self.code, "target": d.path, "message": d.message});
                if let (Some(line), Some(column)) = (d.line, d.column) {
                    detail["message"] =
                        format!("line {line}, column {column}: {}", d.message).into();
                    detail["line"] = line.into();
                    detail["column"] = column.into();
                }
                detail
            })
            .collect();
        let body =
            json!({"error": {"code": self.code, "message": self.message, "details": details}});
        (self.status, Json(body)).into_response()
    }
}
