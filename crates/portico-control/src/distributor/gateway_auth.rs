//! `Authorization: GatewayKey {gatewayId}&{expiry}&{signature}` on the gateway-facing routes:
//! the token must verify against the named gateway's current keys (401 otherwise, with the
//! reason: malformed, expired, or signed with a regenerated key), and may only be used on its
//! own gateway's paths (403 otherwise). The fleet view takes the admin token (`crate::api::check_admin`).
//! A held config request checks its token again against every newly compiled configuration
//! ([`recheck`]), so regenerating a key refuses waiting gateways at once.

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

/// Checks `token` again against its gateway's keys in `document`: refused once the key that
/// signed it was regenerated or it expired. A gateway missing from `document` is left to the
/// caller, which answers that it does not exist.
pub fn recheck(document: &Document, token: &str) -> Result<(), TokenError> {
    let claimed = gateway_token::gateway_id_of(token)?;
    match document
        .gateways
        .iter()
        .find(|g| g.id.eq_ignore_ascii_case(claimed))
    {
        Some(g) => verify(
            token,
            [&g.primary_key, &g.secondary_key].map(|k| k.as_ref().map(|k| k.expose())),
        ),
        None => Ok(()),
    }
}

/// Verifies `token` now against a gateway's two keys (either may be unset).
fn verify(token: &str, keys: [Option<&str>; 2]) -> Result<(), TokenError> {
    let keys: Vec<&str> = keys.into_iter().flatten().collect();
    gateway_token::verify(token, &keys, time::OffsetDateTime::now_utc()).map(drop)
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
    let keys = ["primaryKey", "secondaryKey"].map(|k| stored.properties[k].as_str());
    verify(token, keys).map_err(refused)?;
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
