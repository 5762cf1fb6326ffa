//! OpenAPI import over REST, as APIM does it: `PUT /apis/{apiId}` whose properties carry
//! `format` (`openapi` for YAML or JSON, `openapi+json`, `swagger-json`) and `value` (the
//! document's text), with `path` and optionally `serviceUrl` and other API properties that
//! override what the document says. The API is created or updated in place: its operations
//! become exactly the document's (operations no longer in it are deleted with their policies),
//! while its policies, products and subscriptions stay. `*-link` formats (APIM fetches a URL)
//! are refused: Portico does not fetch documents on the operator's behalf.

use super::error::ApiError;
use super::transaction::Edit;
use crate::import::{api_from_openapi, ImportOptions, InputFormat};
use crate::store::{Kind, Precondition, ResourcePath};
use http::StatusCode;
use portico_model::ConfigErrors;
use serde_json::{Map, Value};

/// Whether a `PUT /apis/{id}` body is an import rather than plain properties.
pub fn is_import(kind: Kind, properties: &Map<String, Value>) -> bool {
    kind == Kind::Api && properties.contains_key("format")
}

/// Edits `edit` to hold the imported API and exactly its operations.
pub fn import(
    resource: &ResourcePath,
    request: &Map<String, Value>,
    precondition: &Precondition,
    edit: &mut Edit,
) -> Result<(), ApiError> {
    let format = match request.get("format").and_then(Value::as_str) {
        Some("openapi") => InputFormat::Detect,
        Some("openapi+json" | "swagger-json") => InputFormat::Json,
        Some(link) if link.ends_with("link") || link.ends_with("link-json") => {
            return Err(ApiError::bad_request(format!(
                "properties.format: {link:?} asks Portico to fetch the document, which it does not do; send its text in value with format \"openapi\", \"openapi+json\" or \"swagger-json\""
            )))
        }
        _ => {
            return Err(ApiError::bad_request(
                "properties.format: use \"openapi\" (YAML or JSON), \"openapi+json\" or \"swagger-json\"",
            ))
        }
    };
    let text = request
        .get("value")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ApiError::bad_request("properties.value: the OpenAPI document's text is required")
        })?;
    let existing = edit.get(resource).map(|s| s.properties.clone());
    let kept = |field: &str| {
        request
            .get(field)
            .or_else(|| existing.as_ref().and_then(|e| e.get(field)))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let options = ImportOptions {
        api_id: resource.id().to_owned(),
        path: kept("path")
            .ok_or_else(|| ApiError::bad_request("properties.path: the API's path is required"))?,
        service_url: request
            .get("serviceUrl")
            .and_then(Value::as_str)
            .map(str::to_owned),
        format,
    };
    let api = api_from_openapi(text, &options).map_err(|e| {
        ApiError::invalid_configuration(StatusCode::BAD_REQUEST, &ConfigErrors::from(e))
    })?;
    let mut properties = match serde_json::to_value(&api) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    for field in ["id", "operations", "policy"] {
        properties.remove(field);
    }
    // A document without an absolute server keeps the API's current backend.
    if api.service_url.is_none() {
        for field in ["serviceUrl", "backendId"] {
            if let Some(v) = existing.as_ref().and_then(|e| e.get(field)) {
                properties.insert(field.into(), v.clone());
            }
        }
    }
    for (field, value) in request {
        if !matches!(field.as_str(), "format" | "value") {
            properties.insert(field.clone(), value.clone());
        }
    }
    edit.put(resource, Value::Object(properties), precondition.clone())?;

    let operations = format!("{}/operations/", resource.key());
    let stale: Vec<ResourcePath> = edit
        .all()
        .iter()
        .filter(|s| s.path.kind() == Kind::Operation && s.path.key().starts_with(&operations))
        .filter(|s| {
            !api.operations
                .iter()
                .any(|o| o.id.eq_ignore_ascii_case(s.path.id()))
        })
        .map(|s| s.path.clone())
        .collect();
    for path in stale {
        edit.delete(&path, Precondition::None);
    }
    for op in &api.operations {
        let path = ResourcePath::parse(&format!("{}/operations/{}", resource.as_str(), op.id))
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        let mut props = match serde_json::to_value(op) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        props.remove("id");
        edit.put(&path, Value::Object(props), Precondition::None)?;
    }
    Ok(())
}
