//! The declarative endpoints behind `portico apply` and `portico export` (Portico's own, not
//! APIM's): `POST /apply[?prune=true][&dryRun=true]` makes the stored configuration match a
//! declarative document in one atomic revision, and `GET /export` returns the configuration
//! as that document, secrets included (it is how a configuration is backed up and restored).
//!
//! The plan: resources the document holds are created or replaced when they differ; with
//! `prune`, stored resources it does not hold are deleted. Secrets the document leaves out (a
//! gateway's keys) keep their stored values, so applying an export changes nothing and keeps
//! the revision.

use super::error::ApiError;
use super::transaction::{self, Edit};
use super::{secrets, ApiState};
use crate::declarative::{document_of, resources_of};
use crate::store::{Precondition, ResourcePath};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use http::{header, HeaderValue, StatusCode};
use portico_model::Document;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashSet;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyQuery {
    #[serde(default)]
    prune: bool,
    #[serde(default)]
    dry_run: bool,
}

/// `POST /apply`: the body is a declarative document in JSON, its file references resolved.
/// Answers the changes made (or, with `dryRun`, that would be) and the revision committed.
pub async fn apply(
    State(state): State<ApiState>,
    query: Result<Query<ApplyQuery>, QueryRejection>,
    body: Bytes,
) -> Result<Response, ApiError> {
    // axum's own rejection is plain text; answer with the API's error shape.
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let doc: Document = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "the body must be a declarative document in JSON: line {}, column {}: {e}",
            e.line(),
            e.column()
        ))
    })?;
    // Checked alone first, so that errors name the document's own entries.
    doc.validate()
        .map_err(|errors| ApiError::invalid_configuration(StatusCode::BAD_REQUEST, &errors))?;
    let outcome = transaction::write(&state, StatusCode::BAD_REQUEST, query.dry_run, |edit| {
        plan(&doc, edit, query.prune)
    })
    .await?;
    let revision = match outcome.revision {
        Some(r) => r,
        None => state.store.revision().await?,
    };
    let body = json!({
        "dryRun": query.dry_run,
        "revision": revision,
        "changes": outcome.value,
    });
    Ok((StatusCode::OK, Json(body)).into_response())
}

/// `GET /export`: the whole configuration as a declarative document (JSON), with its revision
/// as the ETag.
pub async fn export(State(state): State<ApiState>) -> Result<Response, ApiError> {
    let (revision, all) = state.store.all().await?;
    let doc = document_of(&all)?;
    let mut resp = Json(doc).into_response();
    if let Ok(v) = HeaderValue::from_str(&crate::store::etag(revision)) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    Ok(resp)
}

/// One change of a plan, as `--dry-run` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlannedChange {
    /// `create`, `update` or `delete`.
    #[schema(value_type = String, pattern = "^(create|update|delete)$")]
    pub action: &'static str,
    pub path: String,
    /// For updates: the properties that differ (names only; values may be secrets).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<String>,
}

/// Edits `edit` to match `doc`; returns what changes, in order.
fn plan(doc: &Document, edit: &mut Edit, prune: bool) -> Result<Vec<PlannedChange>, ApiError> {
    let mut planned = Vec::new();
    let mut wanted = HashSet::new();
    for (path, mut properties) in resources_of(doc) {
        wanted.insert(path.key().to_owned());
        let previous = edit.get(&path).map(|s| s.properties.clone());
        if let Value::Object(map) = &mut properties {
            secrets::complete(
                path.kind(),
                map,
                previous.as_ref().and_then(Value::as_object),
            );
        }
        let changed = differing(previous.as_ref(), &properties);
        if edit.put(&path, properties, Precondition::None)? {
            planned.push(PlannedChange {
                action: if previous.is_some() {
                    "update"
                } else {
                    "create"
                },
                path: path.to_string(),
                properties: changed,
            });
        }
    }
    if prune {
        let mut stale: Vec<ResourcePath> = edit
            .all()
            .iter()
            .filter(|s| !wanted.contains(s.path.key()))
            .map(|s| s.path.clone())
            .collect();
        // Parents sort before their children; deleting a parent takes its children along.
        stale.sort_by(|a, b| a.key().cmp(b.key()));
        let mut deleted: Vec<String> = Vec::new();
        for path in stale {
            if deleted
                .iter()
                .any(|d| path.key().starts_with(&format!("{d}/")))
            {
                continue;
            }
            edit.delete(&path, Precondition::None);
            deleted.push(path.key().to_owned());
            planned.push(PlannedChange {
                action: "delete",
                path: path.to_string(),
                properties: Vec::new(),
            });
        }
    }
    Ok(planned)
}

/// The top-level properties whose values differ between `old` and `new`.
fn differing(old: Option<&Value>, new: &Value) -> Vec<String> {
    let (Some(Value::Object(old)), Value::Object(new)) = (old, new) else {
        return Vec::new();
    };
    let mut names: Vec<String> = old
        .keys()
        .chain(new.keys())
        .filter(|k| old.get(*k) != new.get(*k))
        .cloned()
        .collect();
    names.sort();
    names.dedup();
    names
}
