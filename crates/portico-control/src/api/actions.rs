//! `POST` actions on resources, as APIM names them: `listSecrets`, `regeneratePrimaryKey` and
//! `regenerateSecondaryKey` on subscriptions, `listValue` on named values, `generateToken` and
//! `regenerateKey` on gateways. Reads never return secrets; these actions are the only way to
//! see them.

use super::error::ApiError;
use super::ApiState;
use crate::gateway_token;
use crate::store::{Change, Kind, Precondition, ResourcePath, StoreError};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;

/// Attempts before giving up when the resource keeps changing underneath.
const ATTEMPTS: usize = 5;

pub async fn post(
    State(state): State<ApiState>,
    Path(path): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let trimmed = path.trim_matches('/');
    let (resource, action) = trimmed
        .rsplit_once('/')
        .ok_or_else(|| ApiError::not_found(format!("/{trimmed}")))?;
    let resource = ResourcePath::parse(resource).map_err(|e| ApiError::not_found(e.0))?;
    match (resource.kind(), action) {
        (Kind::Subscription, "listSecrets") => {
            let props = read(&state, &resource).await?;
            Ok(Json(
                json!({"primaryKey": props["primaryKey"], "secondaryKey": props["secondaryKey"]}),
            )
            .into_response())
        }
        (Kind::Subscription, "regeneratePrimaryKey") => {
            regenerate(&state, &resource, "primaryKey").await
        }
        (Kind::Subscription, "regenerateSecondaryKey") => {
            regenerate(&state, &resource, "secondaryKey").await
        }
        (Kind::NamedValue, "listValue") => {
            let props = read(&state, &resource).await?;
            Ok(Json(json!({"value": props["value"]})).into_response())
        }
        (Kind::Gateway, "generateToken") => {
            let request: TokenRequest = parse_body(&body)?;
            let props = read(&state, &resource).await?;
            let key = props[request.key_type.field()].as_str().unwrap_or_default();
            let expiry = time::OffsetDateTime::parse(&request.expiry, &Rfc3339).map_err(|_| {
                ApiError::bad_request(
                    "expiry must be an RFC 3339 date-time, such as 2026-12-01T00:00:00Z",
                )
            })?;
            let token = gateway_token::generate(
                resource.id(),
                key,
                expiry,
                time::OffsetDateTime::now_utc(),
            )
            .map_err(|e| ApiError::bad_request(format!("expiry: {e}")))?;
            Ok(Json(json!({"value": token})).into_response())
        }
        (Kind::Gateway, "regenerateKey") => {
            let request: KeyRequest = parse_body(&body)?;
            regenerate(&state, &resource, request.key_type.field()).await
        }
        _ => Err(ApiError::not_found(format!("/{trimmed}"))),
    }
}

/// Which of a gateway's two keys an action uses.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub(super) enum KeyType {
    Primary,
    Secondary,
}

impl KeyType {
    fn field(self) -> &'static str {
        match self {
            KeyType::Primary => "primaryKey",
            KeyType::Secondary => "secondaryKey",
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct TokenRequest {
    key_type: KeyType,
    /// RFC 3339; at most 30 days ahead.
    #[schema(format = DateTime)]
    expiry: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct KeyRequest {
    key_type: KeyType,
}

fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("invalid body: {e}")))
}

async fn read(state: &ApiState, resource: &ResourcePath) -> Result<Value, ApiError> {
    Ok(state
        .store
        .get(resource)
        .await?
        .ok_or_else(|| ApiError::not_found(resource))?
        .properties)
}

/// Replaces one key with a new random one; 204 as APIM answers.
async fn regenerate(
    state: &ApiState,
    resource: &ResourcePath,
    field: &str,
) -> Result<Response, ApiError> {
    for _ in 0..ATTEMPTS {
        let current = state
            .store
            .get(resource)
            .await?
            .ok_or_else(|| ApiError::not_found(resource))?;
        let mut properties = current.properties.clone();
        if let Value::Object(map) = &mut properties {
            map.insert(field.into(), Value::String(crate::keys::random_key()));
        }
        let change = Change::Put {
            path: resource.clone(),
            properties,
            precondition: Precondition::Matches(current.etag()),
        };
        match state.store.commit(None, &[change]).await {
            Ok(revision) => {
                state.commits.send_replace(revision);
                return Ok(StatusCode::NO_CONTENT.into_response());
            }
            Err(StoreError::PreconditionFailed { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::new(
        StatusCode::CONFLICT,
        "Conflict",
        "The resource kept changing; retry.",
    ))
}
