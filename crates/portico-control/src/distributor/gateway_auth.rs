//! `Authorization: GatewayKey {gatewayId}&{expiry}&{signature}` on the gateway-facing routes:
//! the token must verify against the named gateway's current keys (401 otherwise, with the
//! reason: malformed, expired, or signed with a regenerated key), and may only be used on its
//! own gateway's paths (403 otherwise). The fleet view takes the admin token (`crate::api::check_admin`).
//! A held config request checks its token again against every newly compiled configuration
//! ([`keys_accept`]), so regenerating a key refuses waiting gateways at once.

use crate::api::ApiError;
use crate::gateway_token::{self, TokenError};
use crate::store::{Kind, ResourcePath, Store};
use http::{header, HeaderMap, StatusCode};
use portico_model::Document;

/// The token of a request (the part after `GatewayKey `).
pub fn token_of(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("GatewayKey "))
}

/// Whether `token` still verifies against its gateway's keys in `document` (false once the
/// gateway is gone or the key that signed it was regenerated, or the token expired).
pub fn keys_accept(document: &Document, token: &str) -> bool {
    let Ok(claimed) = gateway_token::gateway_id_of(token) else {
        return false;
    };
    let Some(gateway) = document
        .gateways
        .iter()
        .find(|g| g.id.eq_ignore_ascii_case(claimed))
    else {
        return false;
    };
    let keys: Vec<&str> = [&gateway.primary_key, &gateway.secondary_key]
        .into_iter()
        .flatten()
        .map(|k| k.expose())
        .collect();
    gateway_token::verify(token, &keys, time::OffsetDateTime::now_utc()).is_ok()
}

/// The gateway id the request is authorised for (its canonical spelling from the path).
pub async fn authorise(
    store: &dyn Store,
    headers: &HeaderMap,
    path_gateway: &str,
) -> Result<(), ApiError> {
    let token = token_of(headers).ok_or_else(|| {
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

pub fn refused(e: TokenError) -> ApiError {
    unauthorised(e.to_string())
}

fn unauthorised(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "Unauthorized", message)
}
