//! The gateway-facing routes, merged into the management API's listener:
//!
//! - `GET /gateway/v1/{gatewayId}/config?after=N[&wait=S]` holds the request (up to [`HOLD`]) until the
//!   gateway's view is newer than revision `N`, then answers `{"revision", "document"}`
//!   (gzipped when the gateway sends `Accept-Encoding: gzip`); 204 when nothing changed in
//!   time (the gateway asks again at once).
//! - `POST /gateway/v1/{gatewayId}/heartbeat` keeps an instance's report (see [`super::fleet`]).
//!
//! Both take a GatewayKey token ([`super::gateway_auth`]), never the admin token.
//! `GET /gateways/{gatewayId}/instances`, the fleet view, sits beside them behind the admin
//! token.

use super::compress::{accepts_gzip, MIN_SIZE};
use super::fleet;
use super::gateway_auth::{authorise, recheck, refused, token_of};
use super::hub::{Compiled, Hub, HubError};
use super::per_gateway::Audience;
use crate::api::{ApiError, ApiState};
use crate::gateway_token::{self, TokenError};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use http::{header, HeaderMap, HeaderValue, StatusCode};
use serde::Deserialize;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// The longest a config request is held. Gateways time out their request well after this.
pub const HOLD: Duration = Duration::from_secs(30);

/// What the gateway routes share.
#[derive(Debug, Clone)]
pub struct Distributor {
    pub api: ApiState,
    pub hub: Arc<Hub>,
    pub hold: Duration,
}

/// The gateway-facing routes and the fleet view; merge them into the management router.
pub fn routes(api: ApiState, hub: Arc<Hub>) -> Router {
    let state = Distributor {
        api,
        hub,
        hold: HOLD,
    };
    Router::new()
        .route("/gateway/v1/{gateway_id}/config", get(config))
        .route("/gateway/v1/{gateway_id}/heartbeat", post(fleet::heartbeat))
        .route("/gateways/{gateway_id}/instances", get(fleet::instances))
        .route("/expiringCertificates", get(super::expiry::expiring))
        .with_state(state)
}

#[derive(Debug, Deserialize)]
pub struct ConfigQuery {
    #[serde(default)]
    after: u64,
    /// Seconds to hold at most (capped by [`HOLD`]); `0` answers at once, which a gateway
    /// uses after a failure to learn quickly that it is connected and its token accepted.
    wait: Option<u64>,
}

async fn config(
    State(state): State<Distributor>,
    Path(gateway_id): Path<String>,
    Query(query): Query<ConfigQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authorise(state.api.store.as_ref(), &headers, &gateway_id).await?;
    // The store's revision once the token was accepted: a compiled configuration at least
    // this new that refuses the token means the key changed since (or the gateway went). An
    // older one may simply predate the key or gateway the token was made with.
    let accepted_at = state.api.store.revision().await?;
    let token = token_of(&headers).unwrap_or_default();
    let audience = Audience::Gateway(gateway_id);
    // Held no longer than the token lives, so the gateway learns of the expiry when it asks
    // again; and refused as soon as a compiled revision no longer accepts the token.
    let lifetime = gateway_token::expiry_of(token)
        .ok()
        .and_then(|e| Duration::try_from(e - time::OffsetDateTime::now_utc()).ok())
        .unwrap_or_default();
    let hold = query
        .wait
        .map_or(state.hold, |w| Duration::from_secs(w).min(state.hold))
        .min(lifetime);
    let refusal = OnceLock::new();
    let allowed = |c: &Compiled| {
        let outcome = match c.revision < accepted_at {
            true => Ok(()),
            false => recheck(&c.document, token),
        };
        outcome.map_err(|e| refusal.set(e)).is_ok()
    };
    match state.hub.next(&audience, query.after, hold, allowed).await {
        Ok(Some(view)) => {
            let gzip = view.body.len() >= MIN_SIZE && accepts_gzip(&headers);
            let body = match gzip {
                true => view.gzipped().await,
                false => view.body.clone(),
            };
            let mut resp = body.into_response();
            let h = resp.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
            if gzip {
                h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            }
            Ok(resp)
        }
        Ok(None) => Ok(StatusCode::NO_CONTENT.into_response()),
        Err(e @ HubError::UnknownGateway(_)) => Err(ApiError::not_found(e)),
        Err(HubError::Revoked) => Err(refused(
            refusal.into_inner().unwrap_or(TokenError::BadSignature),
        )),
        Err(e @ HubError::NotCompiled) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            e.to_string(),
        )),
    }
}
