//! The errors a request can end in, each answered the way APIM answers it: the right status
//! and a JSON body `{"statusCode": N, "message": "…"}` that names no internals.

use crate::proxy::body::ResponseBody;
use http::{header, HeaderValue, Response, StatusCode};
use std::time::Duration;

/// Why the gateway answered instead of the backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayError {
    /// No API or operation matches, or the API does not accept this protocol.
    NotFound,
    /// The path has `.` or `..` segments, which could escape an API's base path.
    DotSegments,
    /// The gateway failed in a way that is its own fault (a bug); details are in the log.
    Internal,
    /// The API requires a subscription key and none was sent.
    MissingKey,
    /// The key is unknown, its subscription is not active, or it does not cover the API.
    InvalidKey,
    /// No configuration has been applied yet.
    NotConfigured,
    /// The backend could not be reached or broke the exchange; `reason` goes to logs and
    /// metrics (`connect`, `protocol`).
    BackendUnavailable { reason: &'static str },
    /// The backend did not send response headers in time.
    BackendTimeout(Duration),
    /// The backend's circuit breaker is open (for a pool: every member's).
    CircuitOpen,
    /// A policy failed and no `<on-error>` answered instead; what failed is in the log.
    PolicyFailed,
    /// A policy needed the request body in memory and it is larger than allowed.
    PayloadTooLarge,
    /// The client broke off while sending a body a policy needed.
    BadRequestBody,
    /// A policy refused the request with the status and message it was configured with
    /// (`validate-jwt`'s `failed-validation-httpcode` and `-error-message`).
    PolicyRefused { status: StatusCode, message: String },
}

impl GatewayError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::DotSegments => StatusCode::BAD_REQUEST,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::MissingKey | Self::InvalidKey => StatusCode::UNAUTHORIZED,
            Self::NotConfigured => StatusCode::SERVICE_UNAVAILABLE,
            Self::BackendUnavailable { .. } => StatusCode::BAD_GATEWAY,
            Self::BackendTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            Self::CircuitOpen => StatusCode::SERVICE_UNAVAILABLE,
            Self::PolicyFailed => StatusCode::INTERNAL_SERVER_ERROR,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BadRequestBody => StatusCode::BAD_REQUEST,
            Self::PolicyRefused { status, .. } => *status,
        }
    }

    pub fn message(&self) -> String {
        match self {
            Self::NotFound => "Resource not found".into(),
            Self::DotSegments => "The request path must not contain '.' or '..' segments.".into(),
            Self::Internal => "The gateway could not process the request.".into(),
            Self::MissingKey => "Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API.".into(),
            Self::InvalidKey => "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription.".into(),
            Self::NotConfigured => "The gateway has not received a configuration yet.".into(),
            Self::BackendUnavailable { .. } => "The backend service could not be reached.".into(),
            Self::BackendTimeout(t) => format!("The backend service did not respond within {} s.", t.as_secs_f64()),
            Self::CircuitOpen => "Service Unavailable: the backend's circuit breaker is open.".into(),
            Self::PolicyFailed => "Internal server error".into(),
            Self::PayloadTooLarge => format!("The request body is larger than the {} MiB a policy may buffer.", crate::policy::BODY_CAP / (1024 * 1024)),
            Self::BadRequestBody => "The request body could not be read.".into(),
            Self::PolicyRefused { message, .. } => message.clone(),
        }
    }

    /// A short word for logs and metrics, for errors that are the backend's.
    pub fn backend_reason(&self) -> Option<&'static str> {
        match self {
            Self::BackendUnavailable { reason } => Some(reason),
            Self::BackendTimeout(_) => Some("timeout"),
            Self::CircuitOpen => Some("circuit_open"),
            _ => None,
        }
    }

    /// A short word for the access log.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::DotSegments => "dot_segments",
            Self::Internal => "internal",
            Self::MissingKey => "missing_subscription_key",
            Self::InvalidKey => "invalid_subscription_key",
            Self::NotConfigured => "not_configured",
            Self::BackendUnavailable { reason } => reason,
            Self::BackendTimeout(_) => "timeout",
            Self::CircuitOpen => "circuit_open",
            Self::PolicyFailed => "policy_error",
            Self::PayloadTooLarge => "body_too_large",
            Self::BadRequestBody => "request_body_broken",
            Self::PolicyRefused { .. } => "policy_refused",
        }
    }

    pub fn into_response(self) -> Response<ResponseBody> {
        json_response(self.status(), &self.message())
    }
}

/// An APIM-shaped JSON answer.
pub fn json_response(status: StatusCode, message: &str) -> Response<ResponseBody> {
    let body = serde_json::json!({ "statusCode": status.as_u16(), "message": message });
    let mut resp = Response::new(ResponseBody::full(body.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    resp
}
