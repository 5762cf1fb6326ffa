//! Secrets in resource properties: subscription and gateway keys are generated when the
//! resource is created without them and never returned by reads (APIM's `listSecrets` is the
//! way to see subscription keys); secret named values are write-only; a certificate's PFX,
//! password and private key are never returned, reads show its subject, thumbprint and
//! expiration date instead.

use crate::store::Kind;
use serde_json::{Map, Value};

/// Fills in subscription keys the request left out, keeping those of the existing version.
pub fn complete(
    kind: Kind,
    properties: &mut Map<String, Value>,
    existing: Option<&Map<String, Value>>,
) {
    if !matches!(kind, Kind::Subscription | Kind::Gateway) {
        return;
    }
    for field in ["primaryKey", "secondaryKey"] {
        if properties.get(field).is_none_or(Value::is_null) {
            let kept = existing
                .and_then(|e| e.get(field))
                .filter(|v| !v.is_null())
                .cloned();
            properties.insert(
                field.into(),
                kept.unwrap_or_else(|| Value::String(crate::keys::random_key())),
            );
        }
    }
}

/// Properties as reads may show them.
pub fn redact(kind: Kind, properties: &Value) -> Value {
    let mut shown = properties.clone();
    if let Value::Object(map) = &mut shown {
        match kind {
            Kind::Subscription | Kind::Gateway => {
                map.remove("primaryKey");
                map.remove("secondaryKey");
            }
            Kind::Certificate => {
                if let Some(info) = certificate_info(map) {
                    map.extend(info);
                }
                for field in ["data", "password", "key"] {
                    map.remove(field);
                }
            }
            Kind::NamedValue if map.get("secret") == Some(&Value::Bool(true)) => {
                map.remove("value");
            }
            _ => {}
        }
    }
    shown
}

/// What a stored certificate's material says about it: subject, issuer, names, thumbprints,
/// validity and warnings.
fn certificate_info(properties: &Map<String, Value>) -> Option<Map<String, Value>> {
    match serde_json::to_value(parse_certificate(properties).ok()?.info) {
        Ok(Value::Object(info)) => Some(info),
        _ => None,
    }
}

/// Refuses a certificate being uploaded whose leaf is expired or not yet valid. (Parse errors
/// and a key that does not match are refused by validation, for files and uploads alike.)
pub fn check_uploaded_certificate(properties: &Value) -> Result<(), String> {
    let Some(map) = properties.as_object() else {
        return Ok(());
    };
    let Ok(parsed) = parse_certificate(map) else {
        return Ok(()); // validation names the problem with its field path
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    parsed.info.check_valid_at(now)
}

fn parse_certificate(
    properties: &Map<String, Value>,
) -> Result<portico_model::ParsedCertificate, String> {
    let mut with_id = properties.clone();
    with_id.insert("id".into(), Value::String(String::new()));
    let cert: portico_model::Certificate =
        serde_json::from_value(Value::Object(with_id)).map_err(|e| e.to_string())?;
    cert.parse()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_generated_kept_and_never_shown() {
        let mut props = json!({"scope": "/apis"}).as_object().unwrap().clone();
        complete(Kind::Subscription, &mut props, None);
        let primary = props["primaryKey"].as_str().unwrap().to_owned();
        assert_eq!(primary.len(), 64);
        assert_ne!(props["secondaryKey"], props["primaryKey"]);
        let mut update = json!({"scope": "/apis", "displayName": "x"})
            .as_object()
            .unwrap()
            .clone();
        complete(Kind::Subscription, &mut update, Some(&props));
        assert_eq!(
            update["primaryKey"],
            primary.as_str(),
            "an update keeps the keys"
        );
        let shown = redact(Kind::Subscription, &Value::Object(update));
        assert!(shown.get("primaryKey").is_none() && shown.get("secondaryKey").is_none());
        let nv = redact(
            Kind::NamedValue,
            &json!({"value": "s3cret", "secret": true}),
        );
        assert!(nv.get("value").is_none());
        let plain = redact(
            Kind::NamedValue,
            &json!({"value": "shown", "secret": false}),
        );
        assert_eq!(plain["value"], "shown");
    }
}
