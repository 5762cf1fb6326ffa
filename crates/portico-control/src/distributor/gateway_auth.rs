//! `Authorization: GatewayKey {gatewayId}&{expiry}&{signature}` on the gateway-facing routes:
//! the token must verify against the named gateway's current keys (401 otherwise, with the
//! reason: malformed, expired, or signed with a regenerated key), and may only be used on its
//! own gateway's paths (403 otherwise). The fleet view takes the admin token (`crate::api::check_admin`).

use crate::api::ApiError;
use crate::gateway_token::{self, TokenError};
use crate::store::{Kind, ResourcePath, Store};
use http::{header, HeaderMap, StatusCode};

/// The gateway id the request is authorised for (its canonical spelling from the path).
pub async fn authorise(
    store: &dyn Store,
    headers: &HeaderMap,
    path_gateway: &str,
) -> Result<(), ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("GatewayKey "))
        .ok_or_else(|| {
            unauthorised("send the gateway's token as `Authorization: GatewayKey {token}` (POST /gateways/{id}/generateToken issues one)")
        })?;
    let claimed = gateway_token::gateway_id_of(token).map_err(refused)?;
    // One path segment only: `a/hostnameConfigurations/h` must not address a child resource.
    let resource = ResourcePath::parse(&format!("gateways/{claimed}"))
        .ok()
        .filter(|r| r.kind() == Kind::Gateway)
        .ok_or_else(|| refused(TokenError::Malformed))?;
    let stored = store.get(&resource).await?.ok_or_else(|| {
        unauthorised(format!(
            "the token names gateway {claimed:?}, which does not exist"
        ))
    })?;
    let keys: Vec<&str> = ["primaryKey", "secondaryKey"]
        .iter()
        .filter_map(|k| stored.properties[*k].as_str())
        .collect();
    gateway_token::verify(token, &keys, time::OffsetDateTime::now_utc()).map_err(refused)?;
    if !claimed.eq_ignore_ascii_case(path_gateway) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            format!("this token belongs to gateway {claimed:?}; it cannot read or report for gateway {path_gateway:?}"),
        ));
    }
    Ok(())
}

fn refused(e: TokenError) -> ApiError {
    unauthorised(e.to_string())
}

fn unauthorised(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "Unauthorized", message)
}
