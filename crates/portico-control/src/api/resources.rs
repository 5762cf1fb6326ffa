//! The resource endpoints: `GET`, `PUT` and `DELETE` on APIM-shaped paths
//! (`/apis/{id}`, `/apis/{id}/operations/{id}`, `/products/{id}/apis/{id}`, …), and `GET` on
//! their collections with `$top`/`$skip`/`nextLink`.
//!
//! Every write goes through [`transaction::write`]: checked against the whole configuration
//! it would produce, as of the revision it was read at.

use super::error::ApiError;
use super::transaction::{self, Edit};
use super::{import, policy_format, secrets, ApiState};
use crate::store::{CollectionPath, Kind, Page, Precondition, ResourcePath, Stored};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, StatusCode};
use serde::Deserialize;
use serde_json::{json, Map, Value};

const DEFAULT_TOP: u64 = 100;
const MAX_TOP: u64 = 1000;

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(rename = "$top")]
    top: Option<u64>,
    #[serde(rename = "$skip")]
    skip: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PutBody {
    #[serde(default)]
    properties: Map<String, Value>,
}

/// `GET` a resource or a collection.
pub async fn get(
    State(state): State<ApiState>,
    Path(path): Path<String>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    // axum's own rejection is plain text; answer with the API's error shape.
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    if let Ok(resource) = ResourcePath::parse(&path) {
        let stored = state
            .store
            .get(&resource)
            .await?
            .ok_or_else(|| ApiError::not_found(&resource))?;
        return Ok(with_etag(
            StatusCode::OK,
            &stored.etag(),
            representation(&stored),
        ));
    }
    let collection =
        CollectionPath::parse(&path).ok_or_else(|| ApiError::not_found(format!("/{path}")))?;
    let top = query.top.unwrap_or(DEFAULT_TOP).clamp(1, MAX_TOP);
    let skip = query.skip.unwrap_or(0);
    let revision = state.store.revision().await?;
    let mut items = state
        .store
        .list(
            collection.kind,
            collection.parent_key.as_deref(),
            Page { skip, top: top + 1 },
        )
        .await?;
    let more = items.len() as u64 > top;
    items.truncate(top as usize);
    let mut body = json!({"value": items.iter().map(representation).collect::<Vec<_>>()});
    if more {
        body["nextLink"] = Value::String(format!(
            "/{}?$top={top}&$skip={}",
            path.trim_matches('/'),
            skip.saturating_add(top)
        ));
    }
    Ok(with_etag(
        StatusCode::OK,
        &crate::store::etag(revision),
        body,
    ))
}

/// `PUT` a resource: `{"properties": {…}}`. 201 when created, 200 when replaced.
pub async fn put(
    State(state): State<ApiState>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let resource = ResourcePath::parse(&path).map_err(|e| ApiError::not_found(e.0))?;
    let body: PutBody = if body.is_empty() {
        PutBody {
            properties: Map::new(),
        }
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::bad_request(format!("the body must be {{\"properties\": {{…}}}}: {e}"))
        })?
    };
    let precondition = precondition(&headers)?;
    let kind = resource.kind();
    let outcome = transaction::write(&state, StatusCode::BAD_REQUEST, false, |edit| {
        if import::is_import(kind, &body.properties) {
            let existed = edit.get(&resource).is_some();
            import::import(&resource, &body.properties, &precondition, edit)?;
            return Ok(existed);
        }
        let mut properties = body.properties.clone();
        policy_format::normalize(kind, &mut properties)?;
        let previous = edit.get(&resource).map(|s| s.properties.clone());
        secrets::complete(
            kind,
            &mut properties,
            previous.as_ref().and_then(Value::as_object),
        );
        edit.put(&resource, Value::Object(properties), precondition.clone())?;
        Ok(previous.is_some())
    })
    .await?;
    let stored = state
        .store
        .get(&resource)
        .await?
        .ok_or_else(|| ApiError::not_found(&resource))?;
    let status = if outcome.value {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok(with_etag(status, &stored.etag(), representation(&stored)))
}

/// `DELETE` a resource and what belongs to it. Refused (409) if something else refers to it.
pub async fn delete(
    State(state): State<ApiState>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let resource = ResourcePath::parse(&path).map_err(|e| ApiError::not_found(e.0))?;
    let precondition = precondition(&headers)?;
    transaction::write(&state, StatusCode::CONFLICT, false, |edit| {
        if edit.get(&resource).is_none() {
            return Err(ApiError::not_found(&resource));
        }
        edit.delete(&resource, precondition.clone());
        delete_memberships(&resource, edit);
        Ok(())
    })
    .await?;
    Ok(StatusCode::OK.into_response())
}

/// As in APIM, deleting an API takes it out of every product and gateway it belonged to.
fn delete_memberships(resource: &ResourcePath, edit: &mut Edit) {
    if resource.kind() != Kind::Api {
        return;
    }
    let memberships: Vec<ResourcePath> = edit
        .all()
        .iter()
        .filter(|s| {
            matches!(s.path.kind(), Kind::ProductApi | Kind::GatewayApi)
                && s.path.id().eq_ignore_ascii_case(resource.id())
        })
        .map(|s| s.path.clone())
        .collect();
    for path in memberships {
        edit.delete(&path, Precondition::None);
    }
}

/// `If-Match` (an ETag or `*`) or `If-None-Match: *` (create only).
fn precondition(headers: &HeaderMap) -> Result<Precondition, ApiError> {
    if let Some(v) = headers.get(header::IF_MATCH) {
        let v = v
            .to_str()
            .map_err(|_| ApiError::bad_request("If-Match must be an ETag or *"))?;
        return Ok(Precondition::Matches(v.trim().to_owned()));
    }
    if headers.get(header::IF_NONE_MATCH).is_some_and(|v| v == "*") {
        return Ok(Precondition::Absent);
    }
    Ok(Precondition::None)
}

/// A resource as the API shows it: APIM's `id`, `type`, `name`, `properties`.
fn representation(s: &Stored) -> Value {
    json!({
        "id": format!("/{}", s.path),
        "type": s.path.kind().as_str(),
        "name": s.path.id(),
        "properties": secrets::redact(s.path.kind(), &s.properties),
    })
}

fn with_etag(status: StatusCode, etag: &str, body: Value) -> Response {
    let mut resp = (status, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(etag) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    resp
}
