//! `POST` actions on resources, as APIM names them: `listSecrets`, `regeneratePrimaryKey` and
//! `regenerateSecondaryKey` on subscriptions, `listValue` on named values. Reads never return
//! secrets; these actions are the only way to see them.

use super::error::ApiError;
use super::ApiState;
use crate::store::{Change, Kind, Precondition, ResourcePath, StoreError};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::StatusCode;
use serde_json::{json, Value};

/// Attempts before giving up when the resource keeps changing underneath.
const ATTEMPTS: usize = 5;

pub async fn post(
    State(state): State<ApiState>,
    Path(path): Path<String>,
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
        _ => Err(ApiError::not_found(format!("/{trimmed}"))),
    }
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
        "The subscription kept changing; retry.",
    ))
}
