//! Conversions between values as C# defines them: `ToString()`, explicit casts (`(int)x`,
//! `(string)token`, `(JObject)variable`), `is`/`as` type tests, and the scalar accessors the
//! builtins use to read their arguments. Newtonsoft's explicit JToken conversions are here too,
//! since `(string)json["a"]` is the most common cast in real policies.

use std::sync::Arc;

use super::error::EvalError;
use super::time::{self, DateTime, DateTimeOffset, DtKind};
use super::types::Ty;
use super::value::{json_kind, lock, Value};

/// .NET `ToString()` (null prints as empty, as in string concatenation).
pub fn to_string(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Bool(b) => if *b { "True" } else { "False" }.into(),
        Value::Char(c) => c.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Long(i) => i.to_string(),
        Value::Double(d) => double_to_string(*d),
        // Not `to_string()`: on an `Arc<str>` that goes through the formatting machinery.
        Value::Str(s) => String::from(&**s),
        Value::Json(r) => r.with(json_to_string).unwrap_or_default(),
        Value::JProperty(r) => {
            let key = match r.path.last() {
                Some(super::value::Seg::Key(k)) => k.clone(),
                _ => String::new(),
            };
            let value = r.get().unwrap_or(serde_json::Value::Null);
            format!("{}: {}", serde_json::Value::String(key), pretty(&value))
        }
        Value::DateTime(d) => time::format(d.ticks, d.kind, None, "").unwrap_or_default(),
        Value::DateTimeOffset(d) => time::format(
            d.ticks,
            DtKind::Unspecified,
            Some(d.offset_minutes),
            "MM/dd/yyyy HH:mm:ss zzz",
        )
        .unwrap_or_default(),
        Value::TimeSpan(t) => t.display(),
        Value::Guid(g) => guid_to_string(*g),
        Value::Exception(m) => format!("System.Exception: {m}"),
        Value::Enum(_, name) => (*name).into(),
        Value::Encoding(_) => "System.Text.UTF8Encoding".into(),
        Value::Regex(r) => r.text(),
        Value::Xml(x) => super::builtins::xml::to_string(x),
        Value::Array(a) => {
            let a = lock(a);
            if a.list {
                format!("System.Collections.Generic.List`1[{}]", a.elem)
            } else {
                format!("System.{}[]", net_name(&a.elem))
            }
        }
        other => other.type_name(),
    }
}

fn net_name(t: &Ty) -> String {
    match t {
        Ty::String => "String".into(),
        Ty::Byte => "Byte".into(),
        Ty::Int => "Int32".into(),
        Ty::Long => "Int64".into(),
        Ty::Object => "Object".into(),
        other => other.to_string(),
    }
}

/// .NET prints the shortest round-tripping form, like Rust, except for exponents.
pub fn double_to_string(d: f64) -> String {
    if d.is_nan() {
        return "NaN".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "∞" } else { "-∞" }.into();
    }
    let s = format!("{d}");
    if d != 0.0 && (d.abs() >= 1e15 || d.abs() < 1e-5) {
        let e = format!("{d:E}");
        if let Some((m, exp)) = e.split_once('E') {
            let exp: i32 = exp.parse().unwrap_or(0);
            let sign = if exp < 0 { '-' } else { '+' };
            return format!("{m}E{sign}{:02}", exp.abs());
        }
    }
    s
}

pub fn guid_to_string(g: u128) -> String {
    let h = format!("{g:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// A JToken's `ToString()`: strings raw, other primitives as .NET prints them, containers as
/// indented JSON (Newtonsoft's default).
pub fn json_to_string(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::Bool(b) => if *b { "True" } else { "False" }.into(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => pretty(v),
    }
}

pub fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// A value as JSON, for `new JProperty("a", value)`, `obj["a"] = value`, `JObject.FromObject`.
pub fn to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::Long(i) => J::from(*i),
        Value::Double(d) => serde_json::Number::from_f64(*d).map_or(J::Null, J::Number),
        Value::Char(c) => J::String(c.to_string()),
        Value::Str(s) => J::String(s.to_string()),
        Value::Json(r) => r.get().unwrap_or(J::Null),
        Value::JProperty(r) => {
            let mut m = serde_json::Map::new();
            if let Some(super::value::Seg::Key(k)) = r.path.last() {
                m.insert(k.clone(), r.get().unwrap_or(J::Null));
            }
            J::Object(m)
        }
        Value::Array(a) => J::Array(lock(a).items.iter().map(to_json).collect()),
        Value::Dict(d) => J::Object(
            lock(d)
                .iter()
                .map(|(k, v)| (k.clone(), to_json(v)))
                .collect(),
        ),
        Value::DateTime(d) => J::String(
            time::format(d.ticks, d.kind, None, "yyyy-MM-ddTHH:mm:ss.FFFFFFFK").unwrap_or_default(),
        ),
        Value::DateTimeOffset(d) => J::String(
            time::format(
                d.ticks,
                DtKind::Unspecified,
                Some(d.offset_minutes),
                "yyyy-MM-ddTHH:mm:ss.FFFFFFFK",
            )
            .unwrap_or_default(),
        ),
        other => J::String(to_string(other)),
    }
}

fn cast_error(v: &Value, ty: &Ty) -> EvalError {
    EvalError::msg(format!("cannot cast {} to {ty}", v.type_name()))
}

/// Reads a JSON primitive for a numeric or boolean cast (Newtonsoft converts strings too).
fn json_scalar(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Long(i),
            None => Value::Double(n.as_f64().unwrap_or(0.0)),
        },
        serde_json::Value::String(s) => Value::str(s.as_str()),
        _ => Value::Null,
    }
}

/// An explicit cast `(ty)v`.
pub fn cast(v: &Value, ty: &Ty) -> Result<Value, EvalError> {
    if let Value::Xml(x) = v {
        use super::builtins::xml;
        return match ty {
            Ty::Object | Ty::Var => Ok(v.clone()),
            Ty::String => xml::cast_string(x)
                .map(Value::str)
                .ok_or_else(|| cast_error(v, ty)),
            _ if xml::is_type(x, ty) => Ok(v.clone()),
            _ => Err(cast_error(v, ty)),
        };
    }
    if let Ty::Nullable(inner) = ty {
        return if v.is_null() {
            Ok(Value::Null)
        } else {
            cast(v, inner)
        };
    }
    if let Value::Json(r) = v {
        let token = r.get().unwrap_or(serde_json::Value::Null);
        match ty {
            Ty::JToken | Ty::Object | Ty::Var => return Ok(v.clone()),
            Ty::JObject | Ty::JArray | Ty::JValue => {
                let kind = json_kind(&token);
                return if ty.to_string() == kind {
                    Ok(v.clone())
                } else {
                    Err(EvalError::msg(format!("cannot cast {kind} to {ty}")))
                };
            }
            Ty::String if token.is_null() => return Ok(Value::Null),
            Ty::String if !token.is_object() && !token.is_array() => {
                return Ok(Value::str(json_to_string(&token)));
            }
            _ if token.is_null() => {
                return Err(EvalError::msg(format!(
                    "cannot cast a null JSON value to {ty}"
                )))
            }
            _ if !token.is_object() && !token.is_array() => return cast(&json_scalar(&token), ty),
            _ => return Err(cast_error(v, ty)),
        }
    }
    let fail = || Err(cast_error(v, ty));
    Ok(match ty {
        Ty::Object | Ty::Var => v.clone(),
        Ty::String => match v {
            Value::Null | Value::Str(_) => v.clone(),
            _ => return fail(),
        },
        Ty::Bool => match v {
            Value::Bool(_) => v.clone(),
            Value::Str(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => return fail(),
            },
            _ => return fail(),
        },
        Ty::Byte | Ty::Short | Ty::Int | Ty::UInt | Ty::Long | Ty::ULong | Ty::Char => {
            let i = match v {
                Value::Int(i) => i64::from(*i),
                Value::Long(i) => *i,
                Value::Char(c) => i64::from(u32::from(*c)),
                Value::Double(d) if d.is_finite() => d.trunc() as i64,
                Value::Str(s) => s
                    .trim()
                    .parse::<i64>()
                    .map_err(|_| EvalError::msg(format!("\"{s}\" is not a valid {ty}")))?,
                _ => return fail(),
            };
            match ty {
                Ty::Byte => Value::Int(i32::from(i as u8)),
                Ty::Short => Value::Int(i32::from(i as i16)),
                Ty::Int => Value::Int(i as i32),
                Ty::UInt => Value::Long(i64::from(i as u32)),
                Ty::Char => Value::Char(char::from_u32(i as u32).unwrap_or('\u{fffd}')),
                _ => Value::Long(i),
            }
        }
        Ty::Float | Ty::Double | Ty::Decimal => match v {
            Value::Int(i) => Value::Double(f64::from(*i)),
            Value::Long(i) => Value::Double(*i as f64),
            Value::Double(_) => v.clone(),
            Value::Char(c) => Value::Double(f64::from(u32::from(*c))),
            Value::Str(s) => Value::Double(
                s.trim()
                    .parse()
                    .map_err(|_| EvalError::msg(format!("\"{s}\" is not a valid {ty}")))?,
            ),
            _ => return fail(),
        },
        Ty::DateTime => match v {
            Value::DateTime(_) => v.clone(),
            Value::Str(s) => match time::parse_iso(s) {
                Some((ticks, off)) => Value::DateTime(DateTime {
                    ticks: ticks - i64::from(off.unwrap_or(0)) * 60 * time::TICKS_PER_SECOND,
                    kind: if off.is_some() {
                        DtKind::Utc
                    } else {
                        DtKind::Unspecified
                    },
                }),
                None => return fail(),
            },
            _ => return fail(),
        },
        Ty::DateTimeOffset => match v {
            Value::DateTimeOffset(_) => v.clone(),
            Value::DateTime(d) => Value::DateTimeOffset(DateTimeOffset {
                ticks: d.ticks,
                offset_minutes: 0,
            }),
            _ => return fail(),
        },
        Ty::JToken | Ty::JValue => match v {
            Value::Null => Value::Null,
            Value::Str(_) | Value::Int(_) | Value::Long(_) | Value::Double(_) | Value::Bool(_) => {
                Value::json(to_json(v))
            }
            _ => return fail(),
        },
        _ if v.is_null() => Value::Null,
        _ if is_type(v, ty) => v.clone(),
        _ => return fail(),
    })
}

/// `v is ty` (null is never of any type).
pub fn is_type(v: &Value, ty: &Ty) -> bool {
    match (v, ty) {
        (Value::Null, _) => false,
        (_, Ty::Object | Ty::Var) => true,
        (_, Ty::Nullable(inner)) => is_type(v, inner),
        (Value::Bool(_), Ty::Bool)
        | (Value::Char(_), Ty::Char)
        | (Value::Int(_), Ty::Int)
        | (Value::Long(_), Ty::Long)
        | (Value::Double(_), Ty::Double)
        | (Value::Str(_), Ty::String)
        | (Value::DateTime(_), Ty::DateTime)
        | (Value::DateTimeOffset(_), Ty::DateTimeOffset)
        | (Value::TimeSpan(_), Ty::TimeSpan)
        | (Value::Guid(_), Ty::Guid)
        | (Value::Jwt(_), Ty::Jwt)
        | (Value::Basic(_), Ty::BasicCredentials)
        | (Value::Certificate(_), Ty::Certificate)
        | (Value::Message(_), Ty::Message)
        | (Value::Random(_), Ty::Random)
        | (Value::Exception(_), Ty::Exception)
        | (Value::Json(_), Ty::JToken)
        | (Value::JProperty(_), Ty::JProperty | Ty::JToken)
        | (Value::Dict(_), Ty::Dictionary(..)) => true,
        (Value::Ctx(super::context::CtxObj::Response), Ty::Message) => true,
        (Value::Crypto(c), Ty::Crypto(class)) => lock(c).class == *class,
        (Value::Regex(r), _) => r.is_type(ty),
        (Value::Xml(x), _) => super::builtins::xml::is_type(x, ty),
        (Value::Json(r), Ty::JObject | Ty::JArray | Ty::JValue) => {
            r.with(json_kind).is_some_and(|k| k == ty.to_string())
        }
        (Value::Array(a), Ty::Array(_) | Ty::List(_) | Ty::Enumerable(_)) => {
            let list = lock(a).list;
            matches!(ty, Ty::Enumerable(_)) || list == matches!(ty, Ty::List(_))
        }
        _ => false,
    }
}

pub fn need_str(v: &Value, what: &str) -> Result<Arc<str>, EvalError> {
    match v {
        Value::Str(s) => Ok(s.clone()),
        Value::Null => Err(EvalError::msg(format!("{what} is null"))),
        Value::Char(c) => Ok(c.to_string().into()),
        other => Err(EvalError::msg(format!(
            "{what} must be a string, not {}",
            other.type_name()
        ))),
    }
}

pub fn need_i64(v: &Value, what: &str) -> Result<i64, EvalError> {
    match v {
        Value::Int(i) => Ok(i64::from(*i)),
        Value::Long(i) => Ok(*i),
        Value::Char(c) => Ok(i64::from(u32::from(*c))),
        Value::Json(_) => need_i64(&cast(v, &Ty::Long)?, what),
        other => Err(EvalError::msg(format!(
            "{what} must be an integer, not {}",
            other.type_name()
        ))),
    }
}

pub fn need_f64(v: &Value, what: &str) -> Result<f64, EvalError> {
    match v {
        Value::Double(d) => Ok(*d),
        Value::Json(_) => need_f64(&cast(v, &Ty::Double)?, what),
        other => need_i64(other, what).map(|i| i as f64),
    }
}

pub fn need_bool(v: &Value, what: &str) -> Result<bool, EvalError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::Json(_) => need_bool(&cast(v, &Ty::Bool)?, what),
        other => Err(EvalError::msg(format!(
            "{what} must be a bool, not {}",
            other.type_name()
        ))),
    }
}

/// A byte array argument as bytes.
pub fn need_bytes(v: &Value, what: &str) -> Result<Vec<u8>, EvalError> {
    match v {
        Value::Array(a) => lock(a)
            .items
            .iter()
            .map(|b| need_i64(b, what).map(|b| b as u8))
            .collect(),
        Value::Null => Err(EvalError::msg(format!("{what} is null"))),
        other => Err(EvalError::msg(format!(
            "{what} must be a byte[], not {}",
            other.type_name()
        ))),
    }
}

/// Converts to the generic argument of `GetValueOrDefault<T>`, `Value<T>`, `As<T>`: the same
/// conversion as a cast, so `GetValueOrDefault<string>` on an int variable fails loudly.
pub fn to_generic(v: Value, ty: &Ty) -> Result<Value, EvalError> {
    cast(&v, ty)
}
