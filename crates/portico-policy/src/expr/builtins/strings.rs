//! `string` methods and statics (Equals with StringComparison, StartsWith, Split, Substring,
//! Format, Join, …). Indices count characters (.NET counts UTF-16 units; the two agree outside
//! the astral planes) and are range-checked, so a bad index is an error, never a panic.

use super::super::convert::{need_i64, need_str, to_string};
use super::super::error::EvalError;
use super::super::eval::Eval;
use super::super::value::{lock, Value};
use super::{ctxobj, format_value, Call, Found, MAX_LEN};

fn ignore_case(v: &Value) -> bool {
    matches!(v, Value::Enum(_, name) if name.ends_with("IgnoreCase"))
        || matches!(v, Value::Bool(true))
}

fn fold(s: &str, ic: bool) -> String {
    if ic {
        s.to_lowercase()
    } else {
        s.to_string()
    }
}

/// A string or char argument as text.
fn text(v: &Value, what: &str) -> Result<String, EvalError> {
    match v {
        Value::Char(c) => Ok(c.to_string()),
        other => need_str(other, what).map(|s| String::from(&*s)),
    }
}

fn check_len(s: String) -> Result<Value, EvalError> {
    if s.len() > MAX_LEN {
        return Err(EvalError::msg("string grew beyond the 16 MiB limit"));
    }
    Ok(Value::str(s))
}

fn index_of(chars: &[char], needle: &[char], from: usize, last: bool) -> i32 {
    if needle.is_empty() {
        return if last {
            chars.len() as i32
        } else {
            from.min(chars.len()) as i32
        };
    }
    let mut hits = (0..chars.len().saturating_sub(needle.len() - 1))
        .filter(|&i| i >= from && chars[i..].starts_with(needle));
    let found = if last { hits.next_back() } else { hits.next() };
    found.map_or(-1, |i| i as i32)
}

fn position(v: &Value, len: usize, what: &str) -> Result<usize, EvalError> {
    let i = need_i64(v, what)?;
    usize::try_from(i)
        .ok()
        .filter(|i| *i <= len)
        .ok_or_else(|| EvalError::msg(format!("{what} {i} is outside the string (length {len})")))
}

fn trim_set(call: &Call<'_>) -> Result<Vec<char>, EvalError> {
    let mut set = Vec::new();
    for a in &call.args {
        match a {
            Value::Array(arr) => set.extend(lock(arr).items.iter().filter_map(|c| match c {
                Value::Char(c) => Some(*c),
                _ => None,
            })),
            other => set.extend(text(other, "the characters to trim")?.chars()),
        }
    }
    Ok(set)
}

pub fn char_at(s: &str, i: &Value) -> Found {
    let i = need_i64(i, "the index")?;
    usize::try_from(i)
        .ok()
        .and_then(|i| s.chars().nth(i))
        .map(|c| Some(Value::Char(c)))
        .ok_or_else(|| EvalError::msg(format!("index {i} is outside the string")))
}

pub fn method(ev: &mut Eval<'_>, v: &Value, call: &mut Call<'_>) -> Found {
    let Value::Str(s) = v else { return Ok(None) };
    let chars = || s.chars().collect::<Vec<char>>();
    let arg = |i: usize| call.arg(i);
    let n = call.args.len();
    Ok(Some(match call.name {
        "Equals" => {
            let ic = n > 1 && ignore_case(arg(1));
            match arg(0) {
                Value::Str(o) => Value::Bool(fold(s, ic) == fold(o, ic)),
                _ => Value::Bool(false),
            }
        }
        "StartsWith" | "EndsWith" | "Contains" => {
            let ic = n > 1 && ignore_case(arg(1));
            let (hay, needle) = (fold(s, ic), fold(&text(arg(0), "the value")?, ic));
            Value::Bool(match call.name {
                "StartsWith" => hay.starts_with(&needle),
                "EndsWith" => hay.ends_with(&needle),
                _ => hay.contains(&needle),
            })
        }
        "IndexOf" | "LastIndexOf" => {
            let ic = n > 1 && ignore_case(&call.args[n - 1]);
            let hay: Vec<char> = fold(s, ic).chars().collect();
            let needle: Vec<char> = fold(&text(arg(0), "the value")?, ic).chars().collect();
            let from = match arg(1) {
                Value::Int(_) | Value::Long(_) if call.name == "IndexOf" => {
                    position(arg(1), hay.len(), "startIndex")?
                }
                _ => 0,
            };
            Value::Int(index_of(&hay, &needle, from, call.name == "LastIndexOf"))
        }
        "Substring" => {
            let cs = chars();
            let start = position(arg(0), cs.len(), "startIndex")?;
            let end = if n > 1 {
                start + position(arg(1), cs.len() - start, "length")?
            } else {
                cs.len()
            };
            Value::str(cs[start..end].iter().collect::<String>())
        }
        "Remove" if n >= 1 => {
            let mut cs = chars();
            let start = position(arg(0), cs.len(), "startIndex")?;
            let end = if n > 1 {
                start + position(arg(1), cs.len() - start, "count")?
            } else {
                cs.len()
            };
            cs.drain(start..end);
            Value::str(cs.into_iter().collect::<String>())
        }
        "Insert" => {
            let mut cs = chars();
            let at = position(arg(0), cs.len(), "startIndex")?;
            let ins: Vec<char> = text(arg(1), "the value")?.chars().collect();
            cs.splice(at..at, ins);
            check_len(cs.into_iter().collect())?
        }
        "Split" => {
            let mut seps: Vec<String> = Vec::new();
            let mut limit = usize::MAX;
            let mut remove_empty = false;
            for a in &call.args {
                match a {
                    Value::Array(arr) => seps.extend(lock(arr).items.iter().map(to_string)),
                    Value::Int(i) => limit = (*i).max(0) as usize,
                    Value::Enum(_, name) => remove_empty = *name == "RemoveEmptyEntries",
                    other => seps.push(text(other, "the separator")?),
                }
            }
            Value::strings(split(s, &seps, limit, remove_empty))
        }
        "Replace" => {
            let old = text(arg(0), "the old value")?;
            if old.is_empty() {
                return Err(EvalError::msg("Replace: the old value cannot be empty"));
            }
            let new = match arg(1) {
                Value::Null => String::new(),
                other => text(other, "the new value")?,
            };
            check_len(s.replace(&old, &new))?
        }
        "Trim" | "TrimStart" | "TrimEnd" => {
            let set = trim_set(call)?;
            let pred = |c: char| {
                if set.is_empty() {
                    c.is_whitespace()
                } else {
                    set.contains(&c)
                }
            };
            Value::str(match call.name {
                "Trim" => s.trim_matches(pred),
                "TrimStart" => s.trim_start_matches(pred),
                _ => s.trim_end_matches(pred),
            })
        }
        "ToLower" | "ToLowerInvariant" => Value::str(s.to_lowercase()),
        "ToUpper" | "ToUpperInvariant" => Value::str(s.to_uppercase()),
        "PadLeft" | "PadRight" => {
            let width = need_i64(arg(0), "totalWidth")?;
            let width = usize::try_from(width)
                .ok()
                .filter(|w| *w <= MAX_LEN)
                .ok_or_else(|| {
                    EvalError::msg(format!("PadLeft/PadRight width {width} is out of range"))
                })?;
            let pad = match arg(1) {
                Value::Char(c) => *c,
                _ => ' ',
            };
            let missing = width.saturating_sub(s.chars().count());
            let fill: String = std::iter::repeat_n(pad, missing).collect();
            Value::str(if call.name == "PadLeft" {
                fill + s
            } else {
                s.to_string() + &fill
            })
        }
        "CompareTo" => Value::Int(match s.as_ref().cmp(&*need_str(arg(0), "the value")?) {
            std::cmp::Ordering::Less => -1,
            std::cmp::Ordering::Equal => 0,
            std::cmp::Ordering::Greater => 1,
        }),
        "ToCharArray" => Value::array(
            super::super::types::Ty::Char,
            s.chars().map(Value::Char).collect(),
        ),
        "ToString" if n == 0 => v.clone(),
        "AsJwt" => ctxobj::as_jwt(s),
        "AsBasic" => ctxobj::as_basic(s),
        _ => return super::seq::linq(ev, s.chars().map(Value::Char).collect(), call),
    }))
}

fn split(s: &str, seps: &[String], limit: usize, remove_empty: bool) -> Vec<String> {
    let seps: Vec<&str> = seps
        .iter()
        .map(String::as_str)
        .filter(|x| !x.is_empty())
        .collect();
    let mut parts = Vec::new();
    let mut rest = s;
    loop {
        if parts.len() + 1 >= limit {
            break;
        }
        let next = seps
            .iter()
            .filter_map(|sep| rest.find(sep).map(|i| (i, sep.len())))
            .min_by_key(|(i, _)| *i);
        let Some((i, len)) = next else { break };
        let part = &rest[..i];
        if !(remove_empty && part.is_empty()) {
            parts.push(part.to_string());
        }
        rest = &rest[i + len..];
    }
    if !(remove_empty && rest.is_empty()) {
        parts.push(rest.to_string());
    }
    if seps.is_empty() {
        return s.split_whitespace().map(str::to_string).collect();
    }
    parts
}

pub fn static_call(ev: &mut Eval<'_>, call: &mut Call<'_>) -> Found {
    let arg = |i: usize| call.arg(i);
    Ok(Some(match call.name {
        "IsNullOrEmpty" => Value::Bool(match arg(0) {
            Value::Str(s) => s.is_empty(),
            _ => arg(0).is_null(),
        }),
        "IsNullOrWhiteSpace" => Value::Bool(match arg(0) {
            Value::Str(s) => s.trim().is_empty(),
            _ => arg(0).is_null(),
        }),
        "Format" => {
            let fmt = need_str(arg(0), "the format")?;
            let rest: Vec<Value> = match call.args.get(1..) {
                Some([Value::Array(a)]) => lock(a).items.clone(),
                Some(r) => r.to_vec(),
                None => Vec::new(),
            };
            check_len(format(ev, &fmt, &rest)?)?
        }
        "Join" => {
            let sep = text(arg(0), "the separator")?;
            let items: Vec<Value> = match call.args.get(1..) {
                Some([single]) if !matches!(single, Value::Str(_)) => ev.iterate(single)?,
                Some(r) => r.to_vec(),
                None => Vec::new(),
            };
            let parts: Vec<String> = items.iter().map(|v| ev.stringify(v)).collect();
            check_len(parts.join(&sep))?
        }
        "Concat" => {
            let items: Vec<Value> = match call.args.as_slice() {
                [single @ Value::Array(_)] => ev.iterate(single)?,
                all => all.to_vec(),
            };
            let mut out = String::new();
            for v in &items {
                out.push_str(&ev.stringify(v));
            }
            check_len(out)?
        }
        "Equals" | "Compare" => {
            let ic = call.args.len() > 2 && ignore_case(arg(2));
            let a = match arg(0) {
                Value::Null => None,
                v => Some(fold(&need_str(v, "the first string")?, ic)),
            };
            let b = match arg(1) {
                Value::Null => None,
                v => Some(fold(&need_str(v, "the second string")?, ic)),
            };
            if call.name == "Equals" {
                Value::Bool(a == b)
            } else {
                Value::Int(a.cmp(&b) as i32)
            }
        }
        _ => return Ok(None),
    }))
}

/// .NET composite formatting: `{0}`, `{1:yyyy-MM-dd}`, `{0,5}`, `{{`/`}}`.
pub fn format(ev: &mut Eval<'_>, fmt: &str, args: &[Value]) -> Result<String, EvalError> {
    let mut out = String::new();
    let mut it = fmt.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        match c {
            '{' if it.peek().map(|p| p.1) == Some('{') => {
                it.next();
                out.push('{');
            }
            '}' if it.peek().map(|p| p.1) == Some('}') => {
                it.next();
                out.push('}');
            }
            '{' => {
                let close = fmt[i..].find('}').map(|j| i + j).ok_or_else(|| {
                    EvalError::msg(format!("format string \"{fmt}\" has an unclosed `{{`"))
                })?;
                let spec = &fmt[i + 1..close];
                let (head, item_fmt) = match spec.split_once(':') {
                    Some((h, f)) => (h, Some(f)),
                    None => (spec, None),
                };
                let (index, align) = match head.split_once(',') {
                    Some((ix, al)) => (ix, al.trim().parse::<i64>().ok()),
                    None => (head, None),
                };
                let index: usize = index.trim().parse().map_err(|_| {
                    EvalError::msg(format!("format item `{{{spec}}}` is not a number"))
                })?;
                let value = args.get(index).ok_or_else(|| {
                    EvalError::msg(format!(
                        "format item {{{index}}} has no argument (only {} given)",
                        args.len()
                    ))
                })?;
                let mut text = match item_fmt {
                    Some(f) => format_value(ev, value, f)?,
                    None => ev.stringify(value),
                };
                if let Some(a) = align {
                    let width = a.unsigned_abs().min(MAX_LEN as u64) as usize;
                    let missing = width.saturating_sub(text.chars().count());
                    let fill = " ".repeat(missing);
                    text = if a < 0 { text + &fill } else { fill + &text };
                }
                out.push_str(&text);
                while it.peek().is_some_and(|(j, _)| *j <= close) {
                    it.next();
                }
            }
            '}' => {
                return Err(EvalError::msg(format!(
                    "format string \"{fmt}\" has a lone `}}`"
                )))
            }
            c => out.push(c),
        }
    }
    Ok(out)
}
