//! Objects reached from `context` and their relatives: the read-only dictionaries (headers,
//! query, matched parameters, variables, deployment certificates), message bodies
//! (`Body.As<T>(preserveContent: …)`), messages kept in variables, client certificates, and
//! the credentials `AsJwt()`/`AsBasic()` decode. Everything is read through the [`Context`]
//! trait at the moment it is asked for.
//!
//! [`Context`]: super::super::Context

use std::sync::Arc;

use base64::Engine;

use super::super::context::CtxObj;
use super::super::convert::{self, need_str};
use super::super::ctx_members;
use super::super::error::EvalError;
use super::super::eval::{default_of, Eval};
use super::super::time::{DateTime, DtKind, TICKS_PER_SECOND, UNIX_EPOCH_TICKS};
use super::super::types::Ty;
use super::super::value::{Jwt, Owner, Value};
use super::{seq, Call, Found};

pub fn member(ev: &mut Eval<'_>, v: &Value, name: &str) -> Found {
    Ok(match v {
        Value::Ctx(obj) => match ctx_members::member(*obj, name) {
            Some(m) => Some(ctx_members::read(ev.ctx, m)),
            None => match name {
                "Count" => Some(Value::Int(keys(ev, v).len() as i32)),
                "Keys" => Some(Value::strings(keys(ev, v))),
                "Values" => Some(seq::values_of(&snapshot(ev, v)?)),
                _ => None,
            },
        },
        Value::Headers(_) => match name {
            "Count" => Some(Value::Int(keys(ev, v).len() as i32)),
            "Keys" => Some(Value::strings(keys(ev, v))),
            _ => None,
        },
        Value::Message(m) => match name {
            "StatusCode" => Some(Value::Int(m.status_code)),
            "StatusReason" => Some(Value::str(m.status_reason.as_str())),
            "Headers" => Some(Value::Headers(Owner::Stored(m.clone()))),
            "Body" => Some(Value::Body(Owner::Stored(m.clone()))),
            _ => None,
        },
        Value::Certificate(c) => match name {
            "Subject" => Some(Value::str(c.subject.as_str())),
            "Issuer" => Some(Value::str(c.issuer.as_str())),
            "Thumbprint" => Some(Value::str(c.thumbprint.as_str())),
            "SerialNumber" => Some(Value::str(c.serial_number.as_str())),
            "NotBefore" => Some(Value::DateTime(c.not_before)),
            "NotAfter" => Some(Value::DateTime(c.not_after)),
            // X500DistinguishedName: only its `Name` is exposed.
            "SubjectName" => Some(Value::dict(vec![(
                "Name".into(),
                Value::str(c.subject.as_str()),
            )])),
            "IssuerName" => Some(Value::dict(vec![(
                "Name".into(),
                Value::str(c.issuer.as_str()),
            )])),
            _ => None,
        },
        Value::Jwt(j) => jwt_member(j, name),
        Value::Basic(b) => match name {
            "UserId" => Some(Value::str(b.0.as_str())),
            "Password" => Some(Value::str(b.1.as_str())),
            _ => None,
        },
        _ => None,
    })
}

pub fn method(ev: &mut Eval<'_>, v: &Value, call: &mut Call<'_>) -> Found {
    match (v, call.name) {
        (Value::Ctx(CtxObj::Url(k)), "ToString") => {
            let _ = k;
            Ok(Some(Value::str(ev.stringify(v))))
        }
        (Value::Body(owner), "As") => body_as(ev, owner, call).map(Some),
        (Value::Certificate(c), "Verify" | "VerifyNoRevocation") => {
            let revocation = call.name == "Verify";
            Ok(Some(Value::Bool(ev.ctx.verify_certificate(c, revocation))))
        }
        (Value::Ctx(_) | Value::Headers(_), "GetValueOrDefault") => {
            let key = need_str(call.arg(0), "the name")?;
            let found = lookup(ev, v, &key)?;
            let as_text = !matches!(v, Value::Ctx(CtxObj::Variables | CtxObj::Certificates));
            let value = match found {
                Some(Value::Array(a)) if as_text => {
                    Value::str(seq::strings_of(&Value::Array(a))?.join(","))
                }
                Some(found) => found,
                None if call.args.len() > 1 => call.arg(1).clone(),
                None => call.type_arg().map_or(Value::Null, default_of),
            };
            match call.type_arg() {
                Some(t) if !value.is_null() => convert::to_generic(value, t).map(Some),
                _ => Ok(Some(value)),
            }
        }
        (Value::Ctx(_) | Value::Headers(_), "ContainsKey") => {
            let key = need_str(call.arg(0), "the name")?;
            Ok(Some(Value::Bool(lookup(ev, v, &key)?.is_some())))
        }
        (Value::Ctx(_) | Value::Headers(_), "TryGetValue") => {
            let key = need_str(call.arg(0), "the name")?;
            let found = lookup(ev, v, &key)?;
            let yes = found.is_some();
            if let Some(slot) = call.args.get_mut(1) {
                *slot = found.unwrap_or(Value::Null);
            }
            Ok(Some(Value::Bool(yes)))
        }
        (Value::Ctx(_) | Value::Headers(_), _) => {
            let snap = snapshot(ev, v)?;
            seq::method(ev, &snap, call)
        }
        _ => Ok(None),
    }
}

pub fn index(ev: &mut Eval<'_>, v: &Value, i: &Value) -> Found {
    let key = need_str(i, "the key")?;
    match lookup(ev, v, &key)? {
        Some(found) => Ok(Some(found)),
        None => Err(EvalError::msg(format!(
            "the key \"{key}\" is not present in {} (use GetValueOrDefault or ContainsKey)",
            match v {
                Value::Ctx(o) => o.path(),
                _ => "the headers",
            }
        ))),
    }
}

pub fn iterate(ev: &mut Eval<'_>, v: &Value) -> Result<Vec<Value>, EvalError> {
    Ok(seq::iterate(&snapshot(ev, v)?))
}

/// One entry of a context dictionary; headers and query parameters are `string[]`.
fn lookup(ev: &mut Eval<'_>, v: &Value, key: &str) -> Found {
    Ok(match v {
        Value::Ctx(CtxObj::Query(k)) => ev.ctx.query(*k, key).map(Value::strings),
        Value::Ctx(CtxObj::MatchedParameters) => ev.ctx.matched_parameter(key).map(Value::str),
        Value::Ctx(CtxObj::Variables) => ev.ctx.variable(key),
        Value::Ctx(CtxObj::Certificates) => ev
            .ctx
            .deployment_certificates()
            .into_iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, c)| Value::Certificate(c)),
        Value::Headers(Owner::Ctx(msg)) => ev.ctx.header(*msg, key).map(Value::strings),
        Value::Headers(Owner::Stored(m)) => {
            let values: Vec<&str> = m
                .headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.as_str())
                .collect();
            (!values.is_empty()).then(|| Value::strings(values))
        }
        other => {
            return Err(EvalError::msg(format!(
                "{} is not a dictionary",
                other.type_name()
            )))
        }
    })
}

fn keys(ev: &mut Eval<'_>, v: &Value) -> Vec<String> {
    match v {
        Value::Ctx(CtxObj::Query(k)) => ev.ctx.query_names(*k),
        Value::Ctx(CtxObj::MatchedParameters) => ev.ctx.matched_parameter_names(),
        Value::Ctx(CtxObj::Variables) => ev.ctx.variable_names(),
        Value::Ctx(CtxObj::Certificates) => ev
            .ctx
            .deployment_certificates()
            .into_iter()
            .map(|(k, _)| k)
            .collect(),
        Value::Headers(Owner::Ctx(msg)) => ev.ctx.header_names(*msg),
        Value::Headers(Owner::Stored(m)) => {
            let mut names: Vec<String> = Vec::new();
            for (n, _) in &m.headers {
                if !names.iter().any(|x| x.eq_ignore_ascii_case(n)) {
                    names.push(n.clone());
                }
            }
            names
        }
        _ => Vec::new(),
    }
}

/// The whole dictionary as a `Dictionary` value, for enumeration and LINQ.
fn snapshot(ev: &mut Eval<'_>, v: &Value) -> Result<Value, EvalError> {
    if let Value::Ctx(obj) = v {
        if !matches!(
            obj,
            CtxObj::Query(_) | CtxObj::MatchedParameters | CtxObj::Variables | CtxObj::Certificates
        ) {
            return Err(EvalError::msg(format!(
                "{} cannot be enumerated",
                obj.path()
            )));
        }
    }
    let mut entries = Vec::new();
    for k in keys(ev, v) {
        if let Some(value) = lookup(ev, v, &k)? {
            entries.push((k, value));
        }
    }
    Ok(Value::dict(entries))
}

/// `Body.As<T>(preserveContent)`.
fn body_as(ev: &mut Eval<'_>, owner: &Owner, call: &Call<'_>) -> Result<Value, EvalError> {
    let preserve = match call.args.first() {
        Some(v) => convert::need_bool(v, "preserveContent")?,
        None => false,
    };
    let bytes: Arc<[u8]> = match owner {
        Owner::Ctx(msg) => ev.ctx.body(*msg, preserve).map_err(EvalError::msg)?,
        Owner::Stored(m) => m.body.clone(),
    };
    let text = || {
        std::str::from_utf8(&bytes)
            .map(str::to_string)
            .map_err(|_| EvalError::msg("the body is not valid UTF-8 text"))
    };
    match call.type_arg() {
        Some(Ty::String) => Ok(Value::str(text()?)),
        Some(Ty::Array(e)) if **e == Ty::Byte => Ok(Value::bytes(&bytes)),
        Some(t @ (Ty::JObject | Ty::JArray | Ty::JToken)) => {
            let parsed: serde_json::Value = serde_json::from_slice(&bytes)
                .map_err(|e| EvalError::msg(format!("the body is not valid JSON: {e}")))?;
            convert::cast(&Value::json(parsed), t)
        }
        Some(other) => Err(EvalError::msg(format!(
            "Body.As<{other}>() is not supported; use As<string>, As<byte[]>, As<JObject>, As<JArray> or As<JToken>"
        ))),
        None => Err(EvalError::msg("Body.As needs a type: As<string>(), As<JObject>(), …")),
    }
}

/// `"…".AsJwt()`: decodes without validating; null when the text is not a JWT.
pub fn as_jwt(s: &str) -> Value {
    let decode = |part: &str| -> Option<serde_json::Map<String, serde_json::Value>> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part.trim_end_matches('='))
            .ok()?;
        match serde_json::from_slice(&bytes).ok()? {
            serde_json::Value::Object(m) => Some(m),
            _ => None,
        }
    };
    let mut parts = s.trim().split('.');
    let (Some(h), Some(p)) = (parts.next(), parts.next()) else {
        return Value::Null;
    };
    match (decode(h), decode(p)) {
        (Some(header), Some(claims)) => Value::Jwt(Arc::new(Jwt { header, claims })),
        _ => Value::Null,
    }
}

/// `"Basic …".AsBasic()`: null when the text is not Basic credentials.
pub fn as_basic(s: &str) -> Value {
    let s = s.trim();
    let encoded = match s.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("basic") => rest.trim(),
        Some(_) => return Value::Null,
        None => s,
    };
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(encoded) else {
        return Value::Null;
    };
    let Ok(text) = String::from_utf8(bytes) else {
        return Value::Null;
    };
    match text.split_once(':') {
        Some((u, p)) => Value::Basic(Arc::new((u.to_string(), p.to_string()))),
        None => Value::Null,
    }
}

fn claim_strings(v: &serde_json::Value) -> Vec<String> {
    match v {
        serde_json::Value::Array(items) => items.iter().map(convert::json_to_string).collect(),
        other => vec![convert::json_to_string(other)],
    }
}

fn unix_time(v: Option<&serde_json::Value>) -> Value {
    match v.and_then(serde_json::Value::as_f64) {
        Some(secs) => Value::DateTime(DateTime {
            ticks: UNIX_EPOCH_TICKS + (secs as i64) * TICKS_PER_SECOND,
            kind: DtKind::Utc,
        }),
        None => Value::Null,
    }
}

fn jwt_member(j: &Jwt, name: &str) -> Option<Value> {
    let claim = |k: &str| {
        j.claims
            .get(k)
            .map_or(Value::Null, |v| Value::str(convert::json_to_string(v)))
    };
    Some(match name {
        "Header" => Value::dict(
            j.header
                .iter()
                .map(|(k, v)| (k.clone(), Value::str(convert::json_to_string(v))))
                .collect(),
        ),
        "Claims" => Value::dict(
            j.claims
                .iter()
                .map(|(k, v)| (k.clone(), Value::strings(claim_strings(v))))
                .collect(),
        ),
        "Subject" => claim("sub"),
        "Issuer" => claim("iss"),
        "Id" => claim("jti"),
        "Audiences" => Value::strings(j.claims.get("aud").map(claim_strings).unwrap_or_default()),
        "ExpirationTime" => unix_time(j.claims.get("exp")),
        "NotBefore" => unix_time(j.claims.get("nbf")),
        "IssuedAt" => unix_time(j.claims.get("iat")),
        "Algorithm" => j
            .header
            .get("alg")
            .map_or(Value::Null, |v| Value::str(convert::json_to_string(v))),
        _ => return None,
    })
}
