//! Liquid's values: what a variable, a literal or a filter yields, how each prints (as
//! DotLiquid prints it), what counts as true, and how two values compare. Objects reached from
//! `context` stay lazy ([`LValue::Ctx`]) and are read through the gateway only when used.

use std::cmp::Ordering;
use std::sync::Arc;

use super::bind::CtxNode;
use crate::expr::dotnet;
use crate::expr::DateTime;

#[derive(Clone, Debug, Default)]
pub(crate) enum LValue {
    #[default]
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Arc<str>),
    Date(DateTime),
    Array(Arc<Vec<LValue>>),
    Object(Arc<Object>),
    /// An object reached from `context`, resolved member by member.
    Ctx(CtxNode),
}

/// A JSON object, an XML element's children, or a `{Key, Value}` pair from a dictionary.
#[derive(Debug, Default)]
pub(crate) struct Object {
    pub entries: Vec<(String, LValue)>,
    /// XML bodies are looked up ignoring case: APIM's own SOAP templates write
    /// `body.envelope.body` for `<soap:Envelope><soap:Body>`.
    pub ignore_case: bool,
}

impl Object {
    pub(crate) fn get(&self, name: &str) -> Option<&LValue> {
        let exact = self.entries.iter().find(|(k, _)| k == name);
        match exact {
            Some((_, v)) => Some(v),
            None if self.ignore_case => self
                .entries
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v),
            None => None,
        }
    }
}

impl LValue {
    pub(crate) fn str(s: impl Into<Arc<str>>) -> Self {
        LValue::Str(s.into())
    }

    pub(crate) fn array(items: Vec<LValue>) -> Self {
        LValue::Array(Arc::new(items))
    }

    pub(crate) fn object(entries: Vec<(String, LValue)>, ignore_case: bool) -> Self {
        LValue::Object(Arc::new(Object {
            entries,
            ignore_case,
        }))
    }

    /// A `{Key, Value}` pair, as iterating a dictionary yields in DotLiquid.
    pub(crate) fn pair(key: &str, value: LValue) -> Self {
        LValue::object(
            vec![
                ("Key".to_owned(), LValue::str(key)),
                ("Value".to_owned(), value),
            ],
            false,
        )
    }

    pub(crate) fn is_nil(&self) -> bool {
        matches!(self, LValue::Nil)
    }

    /// Liquid truth: only `nil` and `false` are false (an empty string is true).
    pub(crate) fn truthy(&self) -> bool {
        !matches!(self, LValue::Nil | LValue::Bool(false))
    }

    /// A number, when the value is one.
    pub(crate) fn number(&self) -> Option<f64> {
        match self {
            LValue::Int(i) => Some(*i as f64),
            LValue::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// The value as text for a filter that takes a string; `None` for nil.
    pub(crate) fn text(&self) -> Option<String> {
        (!self.is_nil()).then(|| self.render())
    }

    /// How `{{ value }}` prints: nil as nothing, booleans in lower case, numbers and dates as
    /// .NET prints them, arrays as their items run together, objects as `[key, value]` pairs.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        self.render_into(&mut out);
        out
    }

    pub(crate) fn render_into(&self, out: &mut String) {
        match self {
            LValue::Nil => {}
            LValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            LValue::Int(i) => out.push_str(&i.to_string()),
            LValue::Float(f) => out.push_str(&dotnet::double_to_string(*f)),
            LValue::Str(s) => out.push_str(s),
            LValue::Date(d) => out.push_str(&dotnet::to_string(&crate::expr::Value::DateTime(*d))),
            LValue::Array(items) => items.iter().for_each(|i| i.render_into(out)),
            LValue::Object(o) => {
                for (k, v) in &o.entries {
                    out.push('[');
                    out.push_str(k);
                    out.push_str(", ");
                    v.render_into(out);
                    out.push(']');
                }
            }
            LValue::Ctx(node) => out.push_str(node.type_name()),
        }
    }

    /// `empty`: an empty string, array or object.
    pub(crate) fn is_empty(&self) -> bool {
        match self {
            LValue::Str(s) => s.is_empty(),
            LValue::Array(a) => a.is_empty(),
            LValue::Object(o) => o.entries.is_empty(),
            _ => false,
        }
    }

    /// `blank`: nil, false, whitespace, or empty.
    pub(crate) fn is_blank(&self) -> bool {
        match self {
            LValue::Nil | LValue::Bool(false) => true,
            LValue::Str(s) => s.trim().is_empty(),
            other => other.is_empty(),
        }
    }
}

/// `==`: numbers by value whatever their kind, strings by ordinal, arrays item by item;
/// values of different kinds are never equal.
pub(crate) fn equal(a: &LValue, b: &LValue) -> bool {
    match (a, b) {
        (LValue::Nil, LValue::Nil) => true,
        (LValue::Bool(x), LValue::Bool(y)) => x == y,
        (LValue::Str(x), LValue::Str(y)) => x == y,
        (LValue::Date(x), LValue::Date(y)) => x.ticks == y.ticks,
        (LValue::Array(x), LValue::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(a, b)| equal(a, b))
        }
        (LValue::Object(x), LValue::Object(y)) => Arc::ptr_eq(x, y),
        _ => match (a.number(), b.number()) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        },
    }
}

/// `<`, `>`…: numbers, strings (ordinal) and dates; anything else does not compare.
pub(crate) fn compare(a: &LValue, b: &LValue) -> Option<Ordering> {
    match (a, b) {
        (LValue::Str(x), LValue::Str(y)) => Some(x.cmp(y)),
        (LValue::Date(x), LValue::Date(y)) => Some(x.ticks.cmp(&y.ticks)),
        _ => a.number()?.partial_cmp(&b.number()?),
    }
}

/// `contains`: a substring of a string, an item of an array, a key of an object.
pub(crate) fn contains(haystack: &LValue, needle: &LValue) -> bool {
    match haystack {
        LValue::Str(s) => needle.text().is_some_and(|n| s.contains(n.as_str())),
        LValue::Array(items) => items.iter().any(|i| equal(i, needle)),
        LValue::Object(o) => needle.text().is_some_and(|n| o.get(&n).is_some()),
        _ => false,
    }
}

/// Converts a JSON document; with `parse_dates`, strings holding an ISO 8601 date and time
/// become dates, as Newtonsoft's reader makes them for APIM (`parse-date="true"`).
pub(crate) fn from_json(v: &serde_json::Value, parse_dates: bool) -> LValue {
    match v {
        serde_json::Value::Null => LValue::Nil,
        serde_json::Value::Bool(b) => LValue::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => LValue::Int(i),
            None => LValue::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => match parse_dates.then(|| json_date(s)).flatten() {
            Some(d) => LValue::Date(d),
            None => LValue::str(s.as_str()),
        },
        serde_json::Value::Array(items) => {
            LValue::array(items.iter().map(|i| from_json(i, parse_dates)).collect())
        }
        serde_json::Value::Object(map) => LValue::object(
            map.iter()
                .map(|(k, v)| (k.clone(), from_json(v, parse_dates)))
                .collect(),
            false,
        ),
    }
}

/// Newtonsoft reads a date only when the string has a time part too (`2024-01-02T03:04:05`,
/// with optional fraction and zone); a plain `2024-01-02` stays a string.
fn json_date(s: &str) -> Option<DateTime> {
    if s.len() < 19 || s.as_bytes().get(10) != Some(&b'T') {
        return None;
    }
    let (ticks, offset) = dotnet::parse_iso(s)?;
    Some(date_from(ticks, offset))
}

/// A parsed date: `Z` gives a UTC date, another offset a local one (gateways keep UTC, so
/// local is UTC), no zone an unspecified one.
pub(crate) fn date_from(ticks: i64, offset: Option<i32>) -> DateTime {
    use crate::expr::DtKind;
    match offset {
        None => DateTime {
            ticks,
            kind: DtKind::Unspecified,
        },
        Some(0) => DateTime {
            ticks,
            kind: DtKind::Utc,
        },
        Some(m) => DateTime {
            ticks: ticks - i64::from(m) * 60 * 10_000_000,
            kind: DtKind::Local,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_as_dotliquid_does() {
        assert_eq!(LValue::Bool(true).render(), "true");
        assert_eq!(LValue::Float(1.5).render(), "1.5");
        let a = LValue::array(vec![LValue::str("a"), LValue::Int(1), LValue::Nil]);
        assert_eq!(a.render(), "a1");
        assert_eq!(
            LValue::pair("k", LValue::str("v")).render(),
            "[Key, k][Value, v]"
        );
    }

    #[test]
    fn truth_equality_and_order() {
        assert!(LValue::str("").truthy());
        assert!(!LValue::Nil.truthy());
        assert!(equal(&LValue::Int(2), &LValue::Float(2.0)));
        assert!(!equal(&LValue::str("2"), &LValue::Int(2)));
        assert_eq!(
            compare(&LValue::str("a"), &LValue::str("b")),
            Some(Ordering::Less)
        );
        assert_eq!(compare(&LValue::str("a"), &LValue::Int(1)), None);
        assert!(contains(&LValue::str("hello"), &LValue::str("ell")));
    }

    #[test]
    fn json_dates_need_a_time() {
        let v: serde_json::Value =
            serde_json::from_str(r#"{"a":"2024-01-02","b":"2024-01-02T03:04:05Z"}"#).unwrap();
        let LValue::Object(o) = from_json(&v, true) else {
            panic!("an object")
        };
        assert!(matches!(o.get("a"), Some(LValue::Str(_))));
        assert_eq!(o.get("b").unwrap().render(), "01/02/2024 03:04:05");
        let LValue::Object(o) = from_json(&v, false) else {
            panic!("an object")
        };
        assert!(matches!(o.get("b"), Some(LValue::Str(_))));
    }
}
