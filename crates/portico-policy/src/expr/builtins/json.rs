//! Newtonsoft-style JSON over serde_json: JObject/JArray/JToken/JProperty/JValue creation,
//! `Parse`, indexers (`obj["a"]["b"]`, `arr[0]`), `Value<T>`, `Property`, `Add`, `Remove`,
//! `SelectToken` with simple paths, `ToString()` (indented) and `ToString(Formatting.None)`.
//! Tokens are references into their document, so `body.Add(…)` changes what `body` prints.
//! Note: object keys print in sorted order (serde_json's map), not insertion order.

use super::super::convert::{self, need_i64, need_str, to_json};
use super::super::error::EvalError;
use super::super::eval::Eval;
use super::super::types::Ty;
use super::super::value::{json_kind, JsonRef, Seg, Value};
use super::{Call, Found};
use serde_json::Value as J;

fn parse(text: &str) -> Result<J, EvalError> {
    serde_json::from_str(text).map_err(|e| EvalError::msg(format!("invalid JSON: {e}")))
}

fn expect_kind(v: Value, ty: &Ty) -> Result<Value, EvalError> {
    convert::cast(&v, ty)
}

pub fn static_call(class: &str, call: &mut Call<'_>) -> Found {
    let ty = match class {
        "JObject" => Ty::JObject,
        "JArray" => Ty::JArray,
        _ => Ty::JToken,
    };
    Ok(Some(match call.name {
        "Parse" | "DeserializeObject" => expect_kind(
            Value::json(parse(&need_str(call.arg(0), "the JSON text")?)?),
            &ty,
        )?,
        "FromObject" => expect_kind(Value::json(to_json(call.arg(0))), &ty)?,
        "SerializeObject" => {
            let j = to_json(call.arg(0));
            let indented = matches!(call.arg(1), Value::Enum(_, "Indented"));
            Value::str(if indented {
                convert::pretty(&j)
            } else {
                j.to_string()
            })
        }
        _ => return Ok(None),
    }))
}

pub fn construct(ty: &Ty, args: Vec<Value>) -> Result<Value, EvalError> {
    Ok(match ty {
        Ty::JObject => {
            let mut map = serde_json::Map::new();
            for a in &args {
                match to_json(a) {
                    J::Object(m) => map.extend(m),
                    _ => return Err(EvalError::msg("new JObject(…) takes JProperty arguments")),
                }
            }
            Value::json(J::Object(map))
        }
        Ty::JArray => {
            let items = match args.as_slice() {
                [Value::Array(_)] => convert::to_json(&args[0])
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
                [Value::Json(r)] if r.with(J::is_array) == Some(true) => r
                    .get()
                    .and_then(|j| j.as_array().cloned())
                    .unwrap_or_default(),
                _ => args.iter().map(to_json).collect(),
            };
            Value::json(J::Array(items))
        }
        Ty::JProperty => {
            let name = need_str(args.first().unwrap_or(&Value::Null), "the property name")?;
            let value = match &args[1..] {
                [one] => to_json(one),
                many => J::Array(many.iter().map(to_json).collect()),
            };
            let mut map = serde_json::Map::new();
            map.insert(name.to_string(), value);
            Value::JProperty(JsonRef::new(J::Object(map)).child(Seg::Key(name.to_string())))
        }
        _ => Value::json(args.first().map_or(J::Null, to_json)),
    })
}

fn token(v: &Value) -> Option<&JsonRef> {
    match v {
        Value::Json(r) | Value::JProperty(r) => Some(r),
        _ => None,
    }
}

pub fn member(v: &Value, name: &str) -> Found {
    let Some(r) = token(v) else { return Ok(None) };
    if let Value::JProperty(_) = v {
        return Ok(match name {
            "Name" => match r.path.last() {
                Some(Seg::Key(k)) => Some(Value::str(k.as_str())),
                _ => None,
            },
            "Value" => Some(Value::Json(r.clone())),
            _ => None,
        });
    }
    let j = r.get().unwrap_or(J::Null);
    Ok(Some(match name {
        "Count" => Value::Int(match &j {
            J::Object(m) => m.len(),
            J::Array(a) => a.len(),
            _ => return Err(EvalError::msg("a JValue has no Count")),
        } as i32),
        "HasValues" => Value::Bool(match &j {
            J::Object(m) => !m.is_empty(),
            J::Array(a) => !a.is_empty(),
            _ => false,
        }),
        "First" | "Last" => {
            let items = iterate(v)?;
            let item = if name == "First" {
                items.first()
            } else {
                items.last()
            };
            item.cloned().unwrap_or(Value::Null)
        }
        "Type" => Value::str(match &j {
            J::Object(_) => "Object",
            J::Array(_) => "Array",
            J::String(_) => "String",
            J::Number(n) if n.is_f64() => "Float",
            J::Number(_) => "Integer",
            J::Bool(_) => "Boolean",
            J::Null => "Null",
        }),
        "Path" => Value::str(
            r.path
                .iter()
                .map(|s| match s {
                    Seg::Key(k) => format!(".{k}"),
                    Seg::Index(i) => format!("[{i}]"),
                })
                .collect::<String>()
                .trim_start_matches('.')
                .to_string(),
        ),
        _ => return Ok(None),
    }))
}

pub fn index(v: &Value, i: &Value) -> Found {
    let Value::Json(r) = v else { return Ok(None) };
    let j = r.get().unwrap_or(J::Null);
    Ok(Some(match (&j, i) {
        (J::Object(m), Value::Str(k)) => {
            if m.contains_key(&**k) {
                Value::Json(r.child(Seg::Key(k.to_string())))
            } else {
                Value::Null
            }
        }
        (J::Array(a), _) => {
            let ix = need_i64(i, "the index")?;
            match usize::try_from(ix).ok().filter(|ix| *ix < a.len()) {
                Some(ix) => Value::Json(r.child(Seg::Index(ix))),
                None => {
                    return Err(EvalError::msg(format!(
                        "index {ix} is outside the JArray (count {})",
                        a.len()
                    )))
                }
            }
        }
        (J::Object(_), other) => {
            return Err(EvalError::msg(format!(
                "a JObject is indexed by property name, not {}",
                other.type_name()
            )))
        }
        _ => {
            return Err(EvalError::msg(format!(
                "cannot index a {} with [{}]",
                json_kind(&j),
                convert::to_string(i)
            )))
        }
    }))
}

pub fn set_index(v: &Value, i: &Value, new: Value) -> Result<(), EvalError> {
    let Value::Json(r) = v else {
        return Err(EvalError::msg("not a JSON token"));
    };
    let new = to_json(&new);
    let done = r.with_mut(|j| match (j, i) {
        (J::Object(m), Value::Str(k)) => {
            m.insert(k.to_string(), new);
            Ok(())
        }
        (J::Array(a), i) => {
            let ix = need_i64(i, "the index")?;
            let len = a.len();
            let slot = usize::try_from(ix).ok().and_then(|ix| a.get_mut(ix));
            match slot {
                Some(s) => {
                    *s = new;
                    Ok(())
                }
                None => Err(EvalError::msg(format!(
                    "index {ix} is outside the JArray (count {len})"
                ))),
            }
        }
        _ => Err(EvalError::msg(
            "only a JObject or JArray can be assigned through `[…]`",
        )),
    });
    done.unwrap_or_else(|| Err(EvalError::msg("the JSON token no longer exists")))
}

pub fn iterate(v: &Value) -> Result<Vec<Value>, EvalError> {
    let Some(r) = token(v) else {
        return Ok(Vec::new());
    };
    let j = r.get().unwrap_or(J::Null);
    Ok(match j {
        J::Array(a) => (0..a.len())
            .map(|i| Value::Json(r.child(Seg::Index(i))))
            .collect(),
        J::Object(m) => m
            .keys()
            .map(|k| Value::JProperty(r.child(Seg::Key(k.clone()))))
            .collect(),
        _ => return Err(EvalError::msg("a JValue cannot be enumerated")),
    })
}

/// Removes the token a reference points at from its parent.
fn remove_self(r: &JsonRef) -> bool {
    let Some((last, parent)) = r.path.split_last() else {
        return false;
    };
    let parent = JsonRef {
        root: r.root.clone(),
        path: parent.into(),
    };
    parent
        .with_mut(|p| match (p, last) {
            (J::Object(m), Seg::Key(k)) => m.remove(k).is_some(),
            (J::Array(a), Seg::Index(i)) if *i < a.len() => {
                a.remove(*i);
                true
            }
            _ => false,
        })
        .unwrap_or(false)
}

/// `SelectToken("a.b[0].c")`, `"$.a"`, `"['a b'].c"`: simple paths only.
fn select(r: &JsonRef, path: &str) -> Result<Value, EvalError> {
    let mut cur = Value::Json(r.clone());
    let p = path.trim().trim_start_matches('$');
    let mut chars = p.chars().peekable();
    let mut name = String::new();
    let step = |cur: &Value, key: Value| -> Result<Value, EvalError> {
        if cur.is_null() {
            return Ok(Value::Null);
        }
        Ok(index(cur, &key)?.unwrap_or(Value::Null))
    };
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                if !name.is_empty() {
                    cur = step(&cur, Value::str(std::mem::take(&mut name)))?;
                }
            }
            '[' => {
                if !name.is_empty() {
                    cur = step(&cur, Value::str(std::mem::take(&mut name)))?;
                }
                let inner: String = chars.by_ref().take_while(|c| *c != ']').collect();
                let inner = inner.trim();
                let key =
                    if let Some(q) = inner.strip_prefix('\'').and_then(|q| q.strip_suffix('\'')) {
                        Value::str(q)
                    } else if inner == "*" || inner.contains(':') || inner.starts_with('?') {
                        return Err(EvalError::msg(format!(
                        "SelectToken(\"{path}\"): wildcards, slices and filters are not supported"
                    )));
                    } else {
                        Value::Int(inner.parse().map_err(|_| {
                            EvalError::msg(format!("SelectToken(\"{path}\"): bad index [{inner}]"))
                        })?)
                    };
                cur = step(&cur, key)?;
            }
            '*' | '?' | '@' => {
                return Err(EvalError::msg(format!(
                    "SelectToken(\"{path}\"): wildcards, slices and filters are not supported"
                )))
            }
            c => name.push(c),
        }
    }
    if !name.is_empty() {
        cur = step(&cur, Value::str(name))?;
    }
    Ok(cur)
}

pub fn method(ev: &mut Eval<'_>, v: &Value, call: &mut Call<'_>) -> Found {
    let Some(r) = token(v) else { return Ok(None) };
    let arg = |i: usize| call.arg(i);
    if let Value::JProperty(_) = v {
        return Ok(match call.name {
            "Remove" => {
                remove_self(r);
                Some(Value::Null)
            }
            "ToString" => Some(Value::str(convert::to_string(v))),
            _ => None,
        });
    }
    let j = r.get().unwrap_or(J::Null);
    Ok(Some(match (call.name, &j) {
        ("ToString", _) => {
            let compact = matches!(arg(0), Value::Enum(_, "None"));
            Value::str(match &j {
                J::Object(_) | J::Array(_) if compact => j.to_string(),
                _ => convert::json_to_string(&j),
            })
        }
        ("Value", _) => {
            let child = index(v, arg(0))?.unwrap_or(Value::Null);
            match call.type_arg() {
                Some(t) if !child.is_null() => convert::cast(&child, t)?,
                _ => child,
            }
        }
        ("ToObject", _) => match call.type_arg() {
            Some(t) => convert::cast(v, t)?,
            None => v.clone(),
        },
        ("SelectToken", _) => select(r, &need_str(arg(0), "the path")?)?,
        ("DeepClone", _) => Value::json(j.clone()),
        ("Children", _) => Value::array(Ty::JToken, iterate(v)?),
        ("Property", J::Object(m)) => {
            let k = need_str(arg(0), "the property name")?;
            if m.contains_key(&*k) {
                Value::JProperty(r.child(Seg::Key(k.to_string())))
            } else {
                Value::Null
            }
        }
        ("Properties", J::Object(_)) => Value::array(Ty::JProperty, iterate(v)?),
        ("ContainsKey", J::Object(m)) => {
            Value::Bool(m.contains_key(&*need_str(arg(0), "the key")?))
        }
        ("TryGetValue", J::Object(_)) => {
            let found = index(v, arg(0))?.unwrap_or(Value::Null);
            let yes = !found.is_null();
            if let Some(slot) = call.args.get_mut(1) {
                *slot = found;
            }
            Value::Bool(yes)
        }
        ("Add", J::Object(m)) => {
            let (key, value) = match (arg(0), call.args.len()) {
                (Value::JProperty(p), 1) => match p.path.last() {
                    Some(Seg::Key(k)) => (k.clone(), p.get().unwrap_or(J::Null)),
                    _ => return Err(EvalError::msg("invalid JProperty")),
                },
                (name, 2) => (
                    need_str(name, "the property name")?.to_string(),
                    to_json(arg(1)),
                ),
                _ => {
                    return Err(EvalError::msg(
                        "JObject.Add takes a JProperty, or a name and a value",
                    ))
                }
            };
            if m.contains_key(&key) {
                return Err(EvalError::msg(format!(
                    "the JObject already has a property named \"{key}\""
                )));
            }
            r.with_mut(|o| o.as_object_mut().map(|o| o.insert(key, value)));
            Value::Null
        }
        ("Add", J::Array(_)) => {
            let item = to_json(arg(0));
            r.with_mut(|a| a.as_array_mut().map(|a| a.push(item)));
            Value::Null
        }
        ("Remove", J::Object(_)) if call.args.len() == 1 => {
            let k = need_str(arg(0), "the property name")?.to_string();
            Value::Bool(
                r.with_mut(|o| o.as_object_mut().and_then(|o| o.remove(&k)).is_some())
                    .unwrap_or(false),
            )
        }
        ("Remove", _) if call.args.is_empty() => {
            remove_self(r);
            Value::Null
        }
        ("RemoveAt", J::Array(a)) => {
            let i = need_i64(arg(0), "the index")?;
            let ix = usize::try_from(i)
                .ok()
                .filter(|i| *i < a.len())
                .ok_or_else(|| EvalError::msg(format!("index {i} is outside the JArray")))?;
            r.with_mut(|a| a.as_array_mut().map(|a| a.remove(ix)));
            Value::Null
        }
        (_, J::Array(_) | J::Object(_)) => return super::seq::linq(ev, iterate(v)?, call),
        _ => return Ok(None),
    }))
}
