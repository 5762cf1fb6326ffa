//! Values as bytes, for a cache outside the process (`cache-store-value` with an external
//! cache): [`encode`] and [`decode`]. Plain data round-trips exactly (strings, numbers,
//! booleans, characters, GUIDs, dates and time spans, JSON tokens, arrays, lists and
//! dictionaries of those); values tied to this process or request (messages, JWT and
//! crypto objects, regexes, `context` objects) are refused, as APIM refuses values it
//! cannot serialize. The form is tagged JSON, so numbers keep their .NET type.

use super::time::{DateTime, DateTimeOffset, DtKind, TimeSpan};
use super::types::{self, Ty};
use super::value::{lock, Value};
use serde_json::{json, Value as Json};

/// A value that cannot leave the process; names its .NET type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotStorable(pub String);

/// The stored form of `v`.
pub fn encode(v: &Value) -> Result<Vec<u8>, NotStorable> {
    Ok(to_json(v)?.to_string().into_bytes())
}

/// A value from its stored form; `None` for bytes [`encode`] did not write (a cache entry
/// written by something else reads as a miss).
pub fn decode(bytes: &[u8]) -> Option<Value> {
    from_json(&serde_json::from_slice(bytes).ok()?)
}

fn to_json(v: &Value) -> Result<Json, NotStorable> {
    Ok(match v {
        Value::Null => Json::Null,
        Value::Bool(b) => json!({ "b": b }),
        Value::Char(c) => json!({ "c": c.to_string() }),
        Value::Int(i) => json!({ "i": i }),
        Value::Long(l) => json!({ "l": l }),
        // By its bits, so NaN and infinities survive.
        Value::Double(d) => json!({ "d": d.to_bits() }),
        Value::Str(s) => json!({ "s": &**s }),
        Value::Guid(g) => json!({ "g": format!("{g:032x}") }),
        Value::DateTime(d) => json!({ "t": [d.ticks, kind_name(d.kind)] }),
        Value::DateTimeOffset(d) => json!({ "o": [d.ticks, d.offset_minutes] }),
        Value::TimeSpan(t) => json!({ "ts": t.0 }),
        // A token removed from its document reads as null, as it does in expressions.
        Value::Json(r) => r.get().map_or(Json::Null, |j| json!({ "j": j })),
        Value::Array(a) => {
            let a = lock(a);
            let items = a.items.iter().map(to_json).collect::<Result<Vec<_>, _>>()?;
            json!({ "a": [ty_json(&a.elem), a.list, items] })
        }
        Value::Dict(d) => {
            let d = lock(d);
            let entries = d
                .iter()
                .map(|(k, v)| Ok(json!([k, to_json(v)?])))
                .collect::<Result<Vec<_>, NotStorable>>()?;
            json!({ "m": entries })
        }
        other => return Err(NotStorable(other.type_name())),
    })
}

fn from_json(j: &Json) -> Option<Value> {
    if j.is_null() {
        return Some(Value::Null);
    }
    let (tag, v) = j.as_object().filter(|o| o.len() == 1)?.iter().next()?;
    Some(match tag.as_str() {
        "b" => Value::Bool(v.as_bool()?),
        "c" => Value::Char(v.as_str()?.chars().next()?),
        "i" => Value::Int(i32::try_from(v.as_i64()?).ok()?),
        "l" => Value::Long(v.as_i64()?),
        "d" => Value::Double(f64::from_bits(v.as_u64()?)),
        "s" => Value::str(v.as_str()?),
        "g" => Value::Guid(u128::from_str_radix(v.as_str()?, 16).ok()?),
        "t" => Value::DateTime(DateTime {
            ticks: v.get(0)?.as_i64()?,
            kind: kind_of(v.get(1)?.as_str()?)?,
        }),
        "o" => Value::DateTimeOffset(DateTimeOffset {
            ticks: v.get(0)?.as_i64()?,
            offset_minutes: i32::try_from(v.get(1)?.as_i64()?).ok()?,
        }),
        "ts" => Value::TimeSpan(TimeSpan(v.as_i64()?)),
        "j" => Value::json(v.clone()),
        "a" => {
            let elem = ty_of(v.get(0)?)?;
            let items = v
                .get(2)?
                .as_array()?
                .iter()
                .map(from_json)
                .collect::<Option<Vec<_>>>()?;
            if v.get(1)?.as_bool()? {
                Value::list(elem, items)
            } else {
                Value::array(elem, items)
            }
        }
        "m" => Value::dict(
            v.as_array()?
                .iter()
                .map(|e| Some((e.get(0)?.as_str()?.to_owned(), from_json(e.get(1)?)?)))
                .collect::<Option<Vec<_>>>()?,
        ),
        _ => return None,
    })
}

fn kind_name(k: DtKind) -> &'static str {
    match k {
        DtKind::Unspecified => "unspecified",
        DtKind::Utc => "utc",
        DtKind::Local => "local",
    }
}

fn kind_of(name: &str) -> Option<DtKind> {
    Some(match name {
        "unspecified" => DtKind::Unspecified,
        "utc" => DtKind::Utc,
        "local" => DtKind::Local,
        _ => return None,
    })
}

/// An element type: a simple type by its C# name, a generic one by its shape.
fn ty_json(t: &Ty) -> Json {
    let b = |k: &str, inner: &Ty| json!({ k: ty_json(inner) });
    match t {
        Ty::Array(t) => b("a", t),
        Ty::List(t) => b("l", t),
        Ty::Enumerable(t) => b("e", t),
        Ty::Nullable(t) => b("n", t),
        Ty::Dictionary(k, v) => json!({ "d": [ty_json(k), ty_json(v)] }),
        Ty::KeyValuePair(k, v) => json!({ "p": [ty_json(k), ty_json(v)] }),
        simple => json!(simple.to_string()),
    }
}

fn ty_of(j: &Json) -> Option<Ty> {
    if let Some(name) = j.as_str() {
        return types::simple(name);
    }
    let (tag, v) = j.as_object().filter(|o| o.len() == 1)?.iter().next()?;
    let one = || ty_of(v).map(Box::new);
    let two = || Some((Box::new(ty_of(v.get(0)?)?), Box::new(ty_of(v.get(1)?)?)));
    Some(match tag.as_str() {
        "a" => Ty::Array(one()?),
        "l" => Ty::List(one()?),
        "e" => Ty::Enumerable(one()?),
        "n" => Ty::Nullable(one()?),
        "d" => {
            let (k, v) = two()?;
            Ty::Dictionary(k, v)
        }
        "p" => {
            let (k, v) = two()?;
            Ty::KeyValuePair(k, v)
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(v: &Value) -> Value {
        decode(&encode(v).unwrap()).expect("decodes what it encoded")
    }

    #[test]
    fn plain_data_round_trips_with_its_type() {
        let values = [
            Value::Null,
            Value::Bool(true),
            Value::Char('é'),
            Value::Int(-7),
            Value::Long(1 << 40),
            Value::Double(f64::NAN),
            Value::Double(0.1),
            Value::str("token ✓"),
            Value::Guid(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef),
            Value::DateTime(DateTime {
                ticks: 638_000_000_000_000_000,
                kind: DtKind::Utc,
            }),
            Value::DateTimeOffset(DateTimeOffset {
                ticks: 5,
                offset_minutes: -90,
            }),
            Value::TimeSpan(TimeSpan(-3)),
        ];
        for v in &values {
            let back = round(v);
            assert_eq!(back.type_name(), v.type_name());
            assert_eq!(format!("{back:?}"), format!("{v:?}"));
        }
    }

    #[test]
    fn containers_and_json_round_trip() {
        let list = Value::list(
            Ty::Array(Box::new(Ty::Int)),
            vec![Value::array(Ty::Int, vec![Value::Int(1), Value::Int(2)])],
        );
        let back = round(&list);
        assert_eq!(back.type_name(), "List<int[]>");
        assert_eq!(back.to_string(), list.to_string());
        let dict = Value::dict(vec![("a".into(), Value::str("x")), ("b".into(), list)]);
        let back = round(&dict);
        let Value::Dict(d) = back else { panic!() };
        assert_eq!(lock(&d)[0].0, "a");
        assert_eq!(lock(&d)[1].1.type_name(), "List<int[]>");
        let doc = Value::json(json!({"user": {"id": 7, "roles": ["a"]}}));
        let back = round(&doc);
        assert_eq!(back.type_name(), "JObject");
        let Value::Json(r) = back else { panic!() };
        assert_eq!(r.get().unwrap(), json!({"user": {"id": 7, "roles": ["a"]}}));
    }

    #[test]
    fn process_bound_values_are_refused_by_type_and_foreign_bytes_miss() {
        let e = encode(&Value::Random(Default::default())).unwrap_err();
        assert_eq!(e, NotStorable("Random".into()));
        let nested = Value::list(Ty::Object, vec![Value::Exception("boom".into())]);
        assert_eq!(encode(&nested).unwrap_err().0, "Exception");
        assert!(decode(b"not json").is_none());
        assert!(decode(br#"{"zz": 1}"#).is_none());
        assert!(
            decode(br#"{"i": 99999999999}"#).is_none(),
            "out of int range"
        );
    }
}
