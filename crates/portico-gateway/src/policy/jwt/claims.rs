//! Checks on a verified token's claims, as `validate-jwt` makes them: lifetime (`exp`,
//! `nbf`, with clock skew), audiences, issuers and required claims. Pure functions; each
//! refusal is APIM's reason code and a message for `context.LastError`.

use serde_json::{Map, Value};

/// A refusal: `context.LastError.Reason` and `.Message`.
pub type Refusal = (&'static str, String);

/// The claim's values as text: a string (split by `separator` when given), or each element
/// of an array; numbers and booleans as JSON writes them.
pub fn values(claims: &Map<String, Value>, name: &str, separator: Option<&str>) -> Vec<String> {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match claims.get(name) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().map(text).collect(),
        Some(Value::String(s)) => match separator {
            Some(sep) => s
                .split(sep)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect(),
            None => vec![s.clone()],
        },
        Some(other) => vec![text(other)],
    }
}

/// `exp` and `nbf` against `now` (Unix seconds).
pub fn lifetime(
    claims: &Map<String, Value>,
    now: i64,
    skew: i64,
    require_exp: bool,
) -> Result<(), Refusal> {
    let time = |name: &str| claims.get(name).and_then(Value::as_f64).map(|t| t as i64);
    match time("exp") {
        Some(exp) if now > exp.saturating_add(skew) => {
            return Err((
                "TokenExpired",
                "Lifetime validation failed. The token is expired.".into(),
            ))
        }
        None if require_exp => {
            return Err((
                "TokenExpired",
                "Lifetime validation failed. The token is missing an Expiration Time.".into(),
            ))
        }
        _ => {}
    }
    if let Some(nbf) = time("nbf") {
        if now.saturating_add(skew) < nbf {
            return Err((
                "TokenNotYetValid",
                "Lifetime validation failed. The token is not yet valid.".into(),
            ));
        }
    }
    Ok(())
}

/// `aud` must hold one of `allowed` (when any are configured).
pub fn audience(claims: &Map<String, Value>, allowed: &[String]) -> Result<(), Refusal> {
    if allowed.is_empty()
        || values(claims, "aud", None)
            .iter()
            .any(|a| allowed.contains(a))
    {
        return Ok(());
    }
    Err((
        "TokenAudienceNotAllowed",
        "Audience validation failed.".into(),
    ))
}

/// `iss` must be one of `allowed` (when any are configured).
pub fn issuer(claims: &Map<String, Value>, allowed: &[String]) -> Result<(), Refusal> {
    if allowed.is_empty()
        || values(claims, "iss", None)
            .iter()
            .any(|i| allowed.contains(i))
    {
        return Ok(());
    }
    Err(("TokenIssuerNotAllowed", "Issuer validation failed.".into()))
}

/// One `<claim>`: present, and holding all (or any) of `required` when values are listed.
pub fn required(
    claims: &Map<String, Value>,
    name: &str,
    separator: Option<&str>,
    match_all: bool,
    required: &[String],
) -> Result<(), Refusal> {
    let present = values(claims, name, separator);
    if present.is_empty() {
        return Err((
            "TokenClaimNotFound",
            format!("Claim `{name}` is required but not present."),
        ));
    }
    let has = |v: &String| present.contains(v);
    let ok = required.is_empty()
        || if match_all {
            required.iter().all(has)
        } else {
            required.iter().any(has)
        };
    if ok {
        Ok(())
    } else {
        Err((
            "TokenClaimValueNotAllowed",
            format!("Claim `{name}` does not hold the required value."),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn lifetime_honours_skew_and_requirement() {
        let c = claims(json!({"exp": 100, "nbf": 50}));
        assert!(lifetime(&c, 100, 0, true).is_ok());
        assert_eq!(lifetime(&c, 101, 0, true).unwrap_err().0, "TokenExpired");
        assert!(lifetime(&c, 101, 5, true).is_ok());
        assert_eq!(lifetime(&c, 49, 0, true).unwrap_err().0, "TokenNotYetValid");
        let none = claims(json!({}));
        assert!(lifetime(&none, 1, 0, false).is_ok());
        assert!(lifetime(&none, 1, 0, true).is_err());
    }

    #[test]
    fn required_claims_match_all_or_any_with_separator() {
        let c = claims(json!({"scp": "read write", "roles": ["a", "b"]}));
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(required(&c, "scp", Some(" "), true, &s(&["read", "write"])).is_ok());
        assert!(required(&c, "scp", None, true, &s(&["read"])).is_err());
        assert!(required(&c, "roles", None, false, &s(&["x", "b"])).is_ok());
        assert!(required(&c, "roles", None, true, &s(&["x", "b"])).is_err());
        assert_eq!(
            required(&c, "missing", None, true, &[]).unwrap_err().0,
            "TokenClaimNotFound"
        );
        assert!(audience(&claims(json!({"aud": ["x", "y"]})), &s(&["y"])).is_ok());
        assert!(issuer(&claims(json!({"iss": "i"})), &s(&["j"])).is_err());
    }
}
