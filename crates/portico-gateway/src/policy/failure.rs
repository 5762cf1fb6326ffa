//! Why a pipeline stopped: a [`Failure`] names the reason and message that
//! `context.LastError` shows in `<on-error>`, and the answer the client gets when no
//! `<on-error>` handles it — an APIM-shaped error that names no internals.

use super::body::TooLarge;
use super::plan::Site;
use super::state::LastError;
use crate::errors::GatewayError;
use std::sync::Arc;

/// A runtime failure inside a pipeline.
#[derive(Debug)]
pub struct Failure {
    /// `context.LastError.Reason`: a short APIM-style word.
    pub reason: &'static str,
    /// `context.LastError.Message`.
    pub message: String,
    /// What the client gets when the failure is not handled.
    pub answer: GatewayError,
}

impl Failure {
    /// An expression that threw, a value of the wrong shape: a 500 when unhandled.
    pub fn policy(reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
            answer: GatewayError::PolicyFailed,
        }
    }

    pub fn expression(e: &portico_policy::expr::EvalError) -> Self {
        Self::policy(
            "ExpressionValueEvaluationFailure",
            format!("Expression evaluation failed. {}", e.message),
        )
    }

    /// A body a policy needed in memory was too large or broken off.
    pub fn body(e: TooLarge, request: bool) -> Self {
        match (e, request) {
            (TooLarge::Cap, true) => Self {
                reason: "RequestEntityTooLarge",
                message: "The request body is larger than a policy may buffer.".into(),
                answer: GatewayError::PayloadTooLarge,
            },
            (TooLarge::Cap, false) => Self::policy(
                "ResponseEntityTooLarge",
                "The backend's response body is larger than a policy may buffer.",
            ),
            (TooLarge::Broken, true) => Self {
                reason: "ClientConnectionFailure",
                message: "The client broke off while sending the request body.".into(),
                answer: GatewayError::BadRequestBody,
            },
            (TooLarge::Broken, false) => Self {
                reason: "BackendConnectionFailure",
                message: "The backend broke off while sending the response body.".into(),
                answer: GatewayError::BackendUnavailable { reason: "protocol" },
            },
        }
    }

    /// A backend that could not be reached or did not answer in time.
    pub fn backend(e: GatewayError) -> Self {
        let reason = match e {
            GatewayError::BackendTimeout(_) => "Timeout",
            _ => "BackendConnectionFailure",
        };
        Self {
            reason,
            message: e.message(),
            answer: e,
        }
    }

    /// `context.LastError` for this failure at `site`.
    pub fn last_error(&self, site: &Site) -> LastError {
        LastError {
            source: Arc::from(site.policy),
            reason: Arc::from(self.reason),
            message: Arc::from(self.message.as_str()),
            scope: site.scope.clone(),
            section: Arc::from(site.section.name()),
            path: Arc::from(&*site.path),
            policy_id: Arc::from(&*site.policy_id),
        }
    }
}
