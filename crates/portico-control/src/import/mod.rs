//! OpenAPI import: a pure conversion from an OpenAPI 2.0 (Swagger), 3.0 or 3.1 document, in
//! JSON or YAML, to a Portico [`Api`] with one operation per path and method, the way APIM
//! imports it. No I/O and no store access: the management API and the CLI read the document,
//! call [`api_from_openapi`] and write the result (replacing the API's operations, so a
//! re-import updates in place).
//!
//! The conversion is deterministic (same document and options, same `Api`, operations in
//! document order), and a document it cannot import is refused with every problem located by
//! line and column (syntax) or by a path into the document (`paths./pets.get.operationId`).

// Test documents are written as JSON literals and turned into the parser's tree.
#[cfg(test)]
macro_rules! tree {
    ($($json:tt)+) => {
        yaml_serde::to_value(serde_json::json!($($json)+)).expect("JSON is valid YAML")
    };
}

mod error;
mod ids;
mod openapi;
mod params;
mod parse;
mod refs;
mod servers;

pub use error::ImportError;
pub use parse::InputFormat;

use portico_model::{Api, Operation};
use serde_json::json;

/// What the caller decides rather than the document.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportOptions {
    /// The id of the API to create or update.
    pub api_id: String,
    /// The API's path prefix under the gateway root (no leading or trailing slash).
    pub path: String,
    /// The backend URL to use instead of the one the document declares.
    pub service_url: Option<String>,
    /// The syntax of the text.
    pub format: InputFormat,
}

/// Converts an OpenAPI document to a Portico API.
///
/// The API takes its display name and description from `info`, its backend URL from
/// `options.service_url` or else the document (`servers[0]`, or Swagger's `host`); the
/// `serviceUrl` is `None` when neither gives an absolute URL, which the caller must fill in
/// (or keep the existing API's) before the API validates. Subscription settings and
/// protocols are Portico's defaults. Ids, path and service URL from `options` are not
/// checked here: [`portico_model::Document::validate`] checks them with the rest of the API.
pub fn api_from_openapi(text: &str, options: &ImportOptions) -> Result<Api, ImportError> {
    let doc = parse::parse(text, options.format)?;
    let imported = openapi::read(&doc, options.service_url.is_none())?;
    let operations = imported
        .operations
        .into_iter()
        .map(|op| {
            model(json!({
                "id": op.id,
                "displayName": op.display_name,
                "description": op.description,
                "method": op.method,
                "urlTemplate": op.url_template,
            }))
        })
        .collect::<Result<Vec<Operation>, _>>()?;
    let mut api: Api = model(json!({
        "id": options.api_id,
        "path": options.path,
        "displayName": imported.title,
        "description": imported.description,
        "serviceUrl": options.service_url.clone().or(imported.service_url),
    }))?;
    api.operations = operations;
    Ok(api)
}

/// Builds a model value from its serialised form, so that every property the converter does
/// not set takes the model's own default (the model gains properties, such as policies,
/// that an import leaves alone).
fn model<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, ImportError> {
    serde_json::from_value(value).map_err(|e| {
        ImportError::at(
            "",
            format!("internal error: the model refused an imported value: {e}"),
        )
    })
}
