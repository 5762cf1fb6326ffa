//! The `format` of policies and policy fragments written through the API. APIM accepts `xml`
//! and `rawxml` (inline policy XML; `rawxml` also allows unescaped `<` inside expressions) and
//! `xml-link`/`rawxml-link` (a URL APIM fetches). Portico accepts the inline forms and stores
//! them as `rawxml`, the form it exports; it does not fetch policies from URLs.

use super::error::ApiError;
use crate::declarative::POLICY_FORMAT;
use crate::store::Kind;
use serde_json::{Map, Value};

/// Checks and normalises `format` for policy kinds; other kinds pass untouched.
pub fn normalize(kind: Kind, properties: &mut Map<String, Value>) -> Result<(), ApiError> {
    let is_policy = matches!(
        kind,
        Kind::GlobalPolicy
            | Kind::ProductPolicy
            | Kind::ApiPolicy
            | Kind::OperationPolicy
            | Kind::PolicyFragment
    );
    if !is_policy {
        return Ok(());
    }
    match properties.get("format") {
        None | Some(Value::Null) => {}
        Some(Value::String(f)) if f == "xml" || f == "rawxml" => {}
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "properties.format: {other} is not supported; send the policy XML inline in value with format \"rawxml\" (or \"xml\")"
            )))
        }
    }
    if !properties.get("value").is_some_and(Value::is_string) {
        return Err(ApiError::bad_request(
            "properties.value: the policy XML is required",
        ));
    }
    properties.insert("format".into(), POLICY_FORMAT.into());
    Ok(())
}
