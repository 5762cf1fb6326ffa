//! Admin authentication: `Authorization: Bearer TOKEN`, compared in constant time.

use super::{error::ApiError, ApiState};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{header, StatusCode};
use subtle::ConstantTimeEq;

pub async fn require_token(
    State(state): State<ApiState>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if bool::from(presented.as_bytes().ct_eq(state.admin_token.as_bytes())) && !presented.is_empty()
    {
        Ok(next.run(req).await)
    } else {
        Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "Send the admin token as `Authorization: Bearer TOKEN` (PORTICO_ADMIN_TOKEN).",
        ))
    }
}
