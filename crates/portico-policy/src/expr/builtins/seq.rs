//! Arrays (`T[]`), `List<T>`, `Dictionary<string, T>` and `KeyValuePair`, and the LINQ
//! operators real policies use on any sequence (Where, Select, Any, All, First…, Count, Sum,
//! Min, Max, OrderBy, Skip, Take, Distinct, Reverse, Concat, ElementAt, ToArray, ToList).

use std::cmp::Ordering;

use super::super::convert::{self, need_i64, need_str};
use super::super::error::EvalError;
use super::super::eval::{array_set, default_of, equals, Eval};
use super::super::types::Ty;
use super::super::value::{lock, Value};
use super::{Call, Found, MAX_ITEMS};

pub fn member(v: &Value, name: &str) -> Option<Value> {
    match v {
        Value::Array(a) if matches!(name, "Length" | "Count") => {
            Some(Value::Int(lock(a).items.len() as i32))
        }
        Value::Dict(d) => {
            let d = lock(d);
            match name {
                "Count" => Some(Value::Int(d.len() as i32)),
                "Keys" => Some(Value::strings(d.iter().map(|(k, _)| k.as_str()))),
                "Values" => Some(Value::array(
                    Ty::Object,
                    d.iter().map(|(_, v)| v.clone()).collect(),
                )),
                // Record-like dictionaries (a certificate's SubjectName) expose their entries.
                _ => d.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()),
            }
        }
        Value::Pair(p) => match name {
            "Key" => Some(p.0.clone()),
            "Value" => Some(p.1.clone()),
            _ => None,
        },
        _ => None,
    }
}

pub fn values_of(dict: &Value) -> Value {
    member(dict, "Values").unwrap_or(Value::Null)
}

pub fn strings_of(v: &Value) -> Result<Vec<String>, EvalError> {
    match v {
        Value::Array(a) => Ok(lock(a).items.iter().map(convert::to_string).collect()),
        other => Err(EvalError::msg(format!(
            "{} is not a string array",
            other.type_name()
        ))),
    }
}

pub fn iterate(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => lock(a).items.clone(),
        Value::Dict(d) => lock(d)
            .iter()
            .map(|(k, v)| Value::Pair(std::sync::Arc::new((Value::str(k.as_str()), v.clone()))))
            .collect(),
        _ => Vec::new(),
    }
}

pub fn index(v: &Value, i: &Value) -> Found {
    match v {
        Value::Array(a) => {
            let i = need_i64(i, "the index")?;
            let a = lock(a);
            let len = a.items.len();
            usize::try_from(i)
                .ok()
                .and_then(|i| a.items.get(i))
                .cloned()
                .map(Some)
                .ok_or_else(|| {
                    EvalError::msg(format!("index {i} is outside the array (length {len})"))
                })
        }
        Value::Dict(d) => {
            let key = need_str(i, "the key")?;
            let found = lock(d)
                .iter()
                .find(|(k, _)| **k == *key)
                .map(|(_, v)| v.clone());
            found.map(Some).ok_or_else(|| {
                EvalError::msg(format!(
                    "the key \"{key}\" is not present in the dictionary"
                ))
            })
        }
        _ => Ok(None),
    }
}

pub fn set_index(v: &Value, i: &Value, new: Value) -> Result<(), EvalError> {
    match v {
        Value::Array(a) => {
            let elem = lock(a).elem.clone();
            let new = if matches!(elem, Ty::Byte) {
                convert::cast(&new, &Ty::Byte)?
            } else {
                new
            };
            array_set(a, need_i64(i, "the index")?, new)
        }
        Value::Dict(d) => {
            let key = need_str(i, "the key")?.to_string();
            let mut d = lock(d);
            match d.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = new,
                None => d.push((key, new)),
            }
            Ok(())
        }
        _ => Err(EvalError::msg(
            "this value cannot be assigned through `[…]`",
        )),
    }
}

pub fn construct(ty: &Ty, args: Vec<Value>, init: Vec<Vec<Value>>) -> Result<Value, EvalError> {
    match ty {
        Ty::List(elem) => {
            let mut items = match args.first() {
                Some(Value::Int(_)) | None => Vec::new(),
                Some(seq) => iterate(seq),
            };
            items.extend(init.into_iter().flatten());
            Ok(Value::list((**elem).clone(), items))
        }
        _ => {
            let mut entries = Vec::new();
            for group in init {
                let [k, v] = <[Value; 2]>::try_from(group).map_err(|_| {
                    EvalError::msg("dictionary initializer entries are `{ key, value }`")
                })?;
                entries.push((need_str(&k, "the key")?.to_string(), v));
            }
            Ok(Value::dict(entries))
        }
    }
}

pub fn static_call(ev: &mut Eval<'_>, class: &str, call: &mut Call<'_>) -> Found {
    Ok(Some(match (class, call.name) {
        ("Array", "Exists") => {
            let items = iterate(call.arg(0));
            let l = call.lambda()?;
            let mut any = false;
            for it in items {
                if convert::need_bool(&ev.call_lambda(l, &[it])?, "the predicate")? {
                    any = true;
                    break;
                }
            }
            Value::Bool(any)
        }
        ("Array", "IndexOf") => {
            let items = iterate(call.arg(0));
            Value::Int(
                items
                    .iter()
                    .position(|x| equals(x, call.arg(1)))
                    .map_or(-1, |p| p as i32),
            )
        }
        ("Array", "Copy") => {
            let (src, si, dst, di, n) = match call.args.as_slice() {
                [s, d, n] => (s, 0, d, 0, n),
                [s, si, d, di, n] => (
                    s,
                    need_i64(si, "sourceIndex")?,
                    d,
                    need_i64(di, "destinationIndex")?,
                    n,
                ),
                _ => return Err(EvalError::msg("Array.Copy takes 3 or 5 arguments")),
            };
            let n = need_i64(n, "length")?;
            let items = iterate(src);
            let Value::Array(d) = dst else {
                return Err(EvalError::msg("Array.Copy needs an array destination"));
            };
            for k in 0..n.max(0) {
                let item = usize::try_from(si + k)
                    .ok()
                    .and_then(|i| items.get(i))
                    .cloned()
                    .ok_or_else(|| EvalError::msg("Array.Copy reads beyond the source array"))?;
                array_set(d, di + k, item)?;
            }
            Value::Null
        }
        ("Enumerable", "Range") => {
            let start = need_i64(call.arg(0), "start")?;
            let count = need_i64(call.arg(1), "count")?;
            if !(0..=MAX_ITEMS as i64).contains(&count) {
                return Err(EvalError::msg("Enumerable.Range count is out of range"));
            }
            Value::array(
                Ty::Int,
                (start..start + count)
                    .map(|i| Value::Int(i as i32))
                    .collect(),
            )
        }
        _ => return Ok(None),
    }))
}

pub fn method(ev: &mut Eval<'_>, v: &Value, call: &mut Call<'_>) -> Found {
    match v {
        Value::Array(a) => {
            let is_list = lock(a).list;
            match call.name {
                "Add" if is_list => {
                    let mut a = lock(a);
                    if a.items.len() >= MAX_ITEMS {
                        return Err(EvalError::msg("list grew beyond its size limit"));
                    }
                    a.items.push(call.arg(0).clone());
                    return Ok(Some(Value::Null));
                }
                "Clear" if is_list => {
                    lock(a).items.clear();
                    return Ok(Some(Value::Null));
                }
                "RemoveAt" if is_list => {
                    let i = need_i64(call.arg(0), "the index")?;
                    let mut a = lock(a);
                    if i < 0 || i as usize >= a.items.len() {
                        return Err(EvalError::msg(format!("index {i} is outside the list")));
                    }
                    a.items.remove(i as usize);
                    return Ok(Some(Value::Null));
                }
                "Remove" if is_list => {
                    let mut a = lock(a);
                    let pos = a.items.iter().position(|x| equals(x, call.arg(0)));
                    if let Some(p) = pos {
                        a.items.remove(p);
                    }
                    return Ok(Some(Value::Bool(pos.is_some())));
                }
                _ => {}
            }
        }
        Value::Dict(d) => match call.name {
            "GetValueOrDefault" | "ContainsKey" | "TryGetValue" | "Add" | "Remove" => {
                let key = need_str(call.arg(0), "the key")?;
                let found = lock(d)
                    .iter()
                    .find(|(k, _)| **k == *key)
                    .map(|(_, v)| v.clone());
                return Ok(Some(match call.name {
                    "ContainsKey" => Value::Bool(found.is_some()),
                    "TryGetValue" => {
                        let yes = found.is_some();
                        if let Some(slot) = call.args.get_mut(1) {
                            *slot = found.unwrap_or(Value::Null);
                        }
                        Value::Bool(yes)
                    }
                    "Add" if found.is_some() => {
                        return Err(EvalError::msg(format!(
                            "the key \"{key}\" is already in the dictionary"
                        )))
                    }
                    "Add" => {
                        lock(d).push((key.to_string(), call.arg(1).clone()));
                        Value::Null
                    }
                    "Remove" => {
                        lock(d).retain(|(k, _)| **k != *key);
                        Value::Bool(found.is_some())
                    }
                    _ => {
                        let value = match found {
                            Some(Value::Array(a)) if lock(&a).elem == Ty::String => {
                                Value::str(strings_of(&Value::Array(a))?.join(","))
                            }
                            Some(v) => v,
                            None if call.args.len() > 1 => call.arg(1).clone(),
                            None => call.type_arg().map_or(Value::Null, default_of),
                        };
                        match call.type_arg() {
                            Some(t) if !value.is_null() => convert::cast(&value, t)?,
                            _ => value,
                        }
                    }
                }));
            }
            _ => {}
        },
        _ => return Ok(None),
    }
    linq(ev, iterate(v), call)
}

fn elem_of(items: &[Value]) -> Ty {
    match items.first() {
        Some(Value::Str(_)) => Ty::String,
        Some(Value::Int(_)) => Ty::Int,
        Some(Value::Json(_)) => Ty::JToken,
        _ => Ty::Object,
    }
}

/// LINQ over a snapshot of a sequence's items.
pub fn linq(ev: &mut Eval<'_>, items: Vec<Value>, call: &mut Call<'_>) -> Found {
    let pred = |ev: &mut Eval<'_>, it: &Value| -> Result<bool, EvalError> {
        match call.lambda {
            Some(l) => convert::need_bool(
                &ev.call_lambda(l, std::slice::from_ref(it))?,
                "the predicate",
            ),
            None => Ok(true),
        }
    };
    let name = call.name;
    Ok(Some(match name {
        "Any" | "All" | "Count" | "First" | "FirstOrDefault" | "Last" | "LastOrDefault"
        | "Where" => {
            let mut kept = Vec::new();
            for it in items {
                let yes = pred(ev, &it)?;
                if name == "All" && !yes {
                    return Ok(Some(Value::Bool(false)));
                }
                if yes {
                    if matches!(name, "Any" | "First" | "FirstOrDefault") {
                        return Ok(Some(if name == "Any" { Value::Bool(true) } else { it }));
                    }
                    kept.push(it);
                }
            }
            match name {
                "Any" => Value::Bool(false),
                "All" => Value::Bool(true),
                "Count" => Value::Int(kept.len() as i32),
                "First" => {
                    return Err(EvalError::msg(
                        "First(): the sequence has no matching element",
                    ))
                }
                "Last" => kept.pop().ok_or_else(|| {
                    EvalError::msg("Last(): the sequence has no matching element")
                })?,
                "LastOrDefault" => kept.pop().unwrap_or(Value::Null),
                "Where" => Value::array(elem_of(&kept), kept),
                _ => Value::Null,
            }
        }
        "Select" => {
            let l = call.lambda()?;
            let mut out = Vec::with_capacity(items.len());
            for it in items {
                out.push(ev.call_lambda(l, &[it])?);
            }
            Value::array(elem_of(&out), out)
        }
        "Sum" | "Min" | "Max" | "OrderBy" | "OrderByDescending" => {
            let mut keyed = Vec::with_capacity(items.len());
            for it in items {
                let key = match call.lambda {
                    Some(l) => ev.call_lambda(l, std::slice::from_ref(&it))?,
                    None => it.clone(),
                };
                keyed.push((key, it));
            }
            let cmp =
                |a: &Value, b: &Value| super::super::eval::compare(a, b).unwrap_or(Ordering::Equal);
            match name {
                "Sum" => {
                    let mut total = Value::Int(0);
                    for (k, _) in &keyed {
                        total = super::super::eval::add(ev, &total, k)?;
                    }
                    total
                }
                "Min" | "Max" => {
                    let best = keyed.into_iter().map(|(k, _)| k).reduce(|a, b| {
                        let ord = cmp(&a, &b);
                        if (name == "Min") == (ord == Ordering::Greater) {
                            b
                        } else {
                            a
                        }
                    });
                    best.ok_or_else(|| EvalError::msg(format!("{name}(): the sequence is empty")))?
                }
                _ => {
                    keyed.sort_by(|a, b| cmp(&a.0, &b.0));
                    if name == "OrderByDescending" {
                        keyed.reverse();
                    }
                    let out: Vec<Value> = keyed.into_iter().map(|(_, v)| v).collect();
                    Value::array(elem_of(&out), out)
                }
            }
        }
        "Skip" | "Take" | "ElementAt" => {
            let n = need_i64(call.arg(0), "the count")?.max(0) as usize;
            match name {
                "Skip" => Value::array(elem_of(&items), items.into_iter().skip(n).collect()),
                "Take" => Value::array(elem_of(&items), items.into_iter().take(n).collect()),
                _ => items
                    .get(n)
                    .cloned()
                    .ok_or_else(|| EvalError::msg(format!("ElementAt({n}) is beyond the end")))?,
            }
        }
        "Distinct" => {
            let mut out: Vec<Value> = Vec::new();
            for it in items {
                if !out.iter().any(|x| equals(x, &it)) {
                    out.push(it);
                }
            }
            Value::array(elem_of(&out), out)
        }
        "Reverse" => Value::array(elem_of(&items), items.into_iter().rev().collect()),
        "Concat" => {
            let mut out = items;
            out.extend(iterate(call.arg(0)));
            Value::array(elem_of(&out), out)
        }
        "Contains" => Value::Bool(items.iter().any(|x| equals(x, call.arg(0)))),
        "IndexOf" => Value::Int(
            items
                .iter()
                .position(|x| equals(x, call.arg(0)))
                .map_or(-1, |p| p as i32),
        ),
        "ToArray" => Value::array(elem_of(&items), items),
        "ToList" => Value::list(elem_of(&items), items),
        _ => return Ok(None),
    }))
}
