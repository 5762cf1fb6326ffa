//! Query strings as policies see and change them: parsed into raw `(name, value)` pairs
//! only when a policy touches them, decoded for expressions, encoded for values policies
//! write.

use std::fmt::Write;

/// The raw pairs of a query string, in order (empty pieces skipped).
pub fn pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (n, v) = p.split_once('=').unwrap_or((p, ""));
            (n.to_owned(), v.to_owned())
        })
        .collect()
}

/// Pairs back into a query string; `None` when there are none.
pub fn join(pairs: &[(String, String)]) -> Option<String> {
    let mut out = String::new();
    for (n, v) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(n);
        out.push('=');
        out.push_str(v);
    }
    (!out.is_empty()).then_some(out)
}

/// The decoded values of parameter `name` (ASCII case ignored, as APIM does).
pub fn values(query: Option<&str>, name: &str) -> Option<Vec<String>> {
    let found: Vec<String> = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter_map(|p| {
            let (n, v) = p.split_once('=').unwrap_or((p, ""));
            let n = crate::query::percent_decode(n);
            n.eq_ignore_ascii_case(name)
                .then(|| crate::query::percent_decode(v).into_owned())
        })
        .collect();
    (!found.is_empty()).then_some(found)
}

/// The decoded, distinct parameter names.
pub fn names(query: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (n, _) in pairs(query) {
        let n = crate::query::percent_decode(&n).into_owned();
        if !out.iter().any(|o| o.eq_ignore_ascii_case(&n)) {
            out.push(n);
        }
    }
    out
}

/// Percent-encodes a name or value for a query string (unreserved characters stay).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_decodes_and_encodes() {
        let q = Some("a=1&B=x%20y&a=2&flag");
        assert_eq!(values(q, "b"), Some(vec!["x y".to_owned()]));
        assert_eq!(values(q, "a").unwrap().len(), 2);
        assert_eq!(names(q), vec!["a", "B", "flag"]);
        assert_eq!(join(&pairs(q)).as_deref(), Some("a=1&B=x%20y&a=2&flag="));
        assert_eq!(encode("a b&c=é"), "a%20b%26c%3D%C3%A9");
    }
}
