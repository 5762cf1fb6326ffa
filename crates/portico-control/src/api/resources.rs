//! The resource endpoints: `GET`, `PUT` and `DELETE` on APIM-shaped paths
//! (`/apis/{id}`, `/apis/{id}/operations/{id}`, `/products/{id}/apis/{id}`, …), and `GET` on
//! their collections with `$top`/`$skip`/`nextLink`.
//!
//! Every write is checked against the whole configuration it would produce (the same
//! validation the gateway applies to a declarative file), as of the revision it was read at;
//! if another write lands in between, the check runs again.

use super::error::ApiError;
use super::{policy_format, secrets, ApiState};
use crate::declarative::document_of;
use crate::store::{
    Change, CollectionPath, Kind, Page, Precondition, ResourcePath, StoreError, Stored,
};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, StatusCode};
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// How often a write is re-validated when other writes keep landing first.
const WRITE_ATTEMPTS: usize = 5;
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
    Query(query): Query<ListQuery>,
) -> Result<Response, ApiError> {
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
            skip + top
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
    for _ in 0..WRITE_ATTEMPTS {
        let (base, mut all) = state.store.all().await?;
        let existing = all.iter().position(|s| s.path.key() == resource.key());
        let mut properties = body.properties.clone();
        policy_format::normalize(resource.kind(), &mut properties)?;
        let previous = existing.and_then(|i| all[i].properties.as_object());
        secrets::complete(resource.kind(), &mut properties, previous);
        let candidate = Stored {
            path: resource.clone(),
            revision: 0,
            properties: Value::Object(properties.clone()),
        };
        match existing {
            Some(i) => all[i] = candidate,
            None => all.push(candidate),
        }
        check(&all, StatusCode::BAD_REQUEST)?;
        let change = Change::Put {
            path: resource.clone(),
            properties: Value::Object(properties),
            precondition: precondition.clone(),
        };
        if commit(&state, base, vec![change]).await?.is_some() {
            let stored = state
                .store
                .get(&resource)
                .await?
                .ok_or_else(|| ApiError::not_found(&resource))?;
            let status = if existing.is_some() {
                StatusCode::OK
            } else {
                StatusCode::CREATED
            };
            return Ok(with_etag(status, &stored.etag(), representation(&stored)));
        }
    }
    Err(busy())
}

/// `DELETE` a resource and what belongs to it. Refused (409) if something else refers to it.
pub async fn delete(
    State(state): State<ApiState>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let resource = ResourcePath::parse(&path).map_err(|e| ApiError::not_found(e.0))?;
    let precondition = precondition(&headers)?;
    for _ in 0..WRITE_ATTEMPTS {
        let (base, mut all) = state.store.all().await?;
        if !all.iter().any(|s| s.path.key() == resource.key()) {
            return Err(ApiError::not_found(&resource));
        }
        let subtree = format!("{}/", resource.key());
        all.retain(|s| s.path.key() != resource.key() && !s.path.key().starts_with(&subtree));
        let mut changes = vec![Change::Delete {
            path: resource.clone(),
            precondition: precondition.clone(),
        }];
        changes.extend(memberships_of(&resource, &mut all));
        check(&all, StatusCode::CONFLICT)?;
        if commit(&state, base, changes).await?.is_some() {
            return Ok(StatusCode::OK.into_response());
        }
    }
    Err(busy())
}

/// As in APIM, deleting an API takes it out of every product and gateway it belonged to:
/// removes those memberships from `all` and returns their deletions.
fn memberships_of(resource: &ResourcePath, all: &mut Vec<Stored>) -> Vec<Change> {
    if resource.kind() != Kind::Api {
        return vec![];
    }
    let is_membership = |s: &Stored| {
        matches!(s.path.kind(), Kind::ProductApi | Kind::GatewayApi)
            && s.path.id().eq_ignore_ascii_case(resource.id())
    };
    let changes = all
        .iter()
        .filter(|s| is_membership(s))
        .map(|s| Change::Delete {
            path: s.path.clone(),
            precondition: Precondition::None,
        })
        .collect();
    all.retain(|s| !is_membership(s));
    changes
}

/// Commits `changes` if the store is still at `base` and announces the new revision; `None`
/// when another write landed first (the caller validates again).
async fn commit(
    state: &ApiState,
    base: u64,
    changes: Vec<Change>,
) -> Result<Option<u64>, ApiError> {
    match state.store.commit(Some(base), &changes).await {
        Err(StoreError::Stale { .. }) => Ok(None),
        Err(e) => Err(e.into()),
        Ok(revision) => {
            state.commits.send_replace(revision);
            Ok(Some(revision))
        }
    }
}

/// Validates the configuration `all` makes: clashes with other resources (a duplicate path,
/// key or name) are 409 Conflict, other problems `status`.
fn check(all: &[Stored], status: StatusCode) -> Result<(), ApiError> {
    let doc = document_of(all)?;
    doc.validate().map_err(|errors| {
        let status = if errors.all_conflicts() {
            StatusCode::CONFLICT
        } else {
            status
        };
        ApiError::invalid_configuration(status, &errors)
    })
}

fn busy() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "Conflict",
        "Other changes kept landing while this one was checked; retry.",
    )
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
