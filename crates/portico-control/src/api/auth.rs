//! Admin authentication: `Authorization: Bearer TOKEN`, compared in constant time. The
//! management API's routes go through [`require_token`]; other routes that need the admin
//! token (the fleet view) call [`check_admin`].

use super::{error::ApiError, ApiState};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{header, HeaderMap, StatusCode};
use subtle::ConstantTimeEq;

pub async fn require_token(
    State(state): State<ApiState>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    check_admin(&state.admin_token, req.headers())?;
    Ok(next.run(req).await)
}

/// Whether `headers` carry the admin token.
pub fn check_admin(admin_token: &str, headers: &HeaderMap) -> Result<(), ApiError> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !presented.is_empty() && bool::from(presented.as_bytes().ct_eq(admin_token.as_bytes())) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "Send the admin token as `Authorization: Bearer TOKEN` (PORTICO_ADMIN_TOKEN).",
        ))
    }
}
