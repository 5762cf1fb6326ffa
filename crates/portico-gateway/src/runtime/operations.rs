//! Operation selection within an API: method plus URL template, ignoring ASCII case in
//! literals, as APIM does. Templates are compiled once per snapshot and tried most specific
//! first, so `/users/me` beats `/users/{id}`, which beats `/users/*`, which beats `/*`.

use portico_model::template::{Part, Segment, UrlTemplate};
use std::cmp::Reverse;

/// Parameters captured from the path and query: `(name, raw value)`.
pub type Params<'a> = smallvec::SmallVec<[(&'a str, &'a str); 4]>;

/// One compiled operation.
#[derive(Debug)]
struct CompiledOperation {
    index: usize,
    /// Upper-case method, or `None` for `*`.
    method: Option<http::Method>,
    template: UrlTemplate,
}

/// All operations of one API, in the order they are tried.
#[derive(Debug, Default)]
pub struct OperationMatcher {
    operations: Vec<CompiledOperation>,
    /// Whether any template needs the query string parsed.
    uses_query: bool,
}

impl OperationMatcher {
    /// Compiles `(method, template, index)` triples. Templates were validated with the
    /// document, so parsing cannot fail here; a failure is reported as an error anyway.
    pub fn new<'a>(
        ops: impl IntoIterator<Item = (&'a str, &'a str, usize)>,
    ) -> Result<Self, String> {
        let mut operations = Vec::new();
        for (method, template, index) in ops {
            let template = UrlTemplate::parse(template).map_err(|e| e.to_string())?;
            let method = if method == "*" {
                None
            } else {
                Some(http::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?)
            };
            operations.push(CompiledOperation {
                index,
                method,
                template,
            });
        }
        operations.sort_by_cached_key(|op| specificity(&op.template, op.method.is_none()));
        let uses_query = operations.iter().any(|o| !o.template.query.is_empty());
        Ok(Self {
            operations,
            uses_query,
        })
    }

    /// Finds the operation for a method, API-relative path and raw query string.
    pub fn find(&self, method: &http::Method, path: &str, query: Option<&str>) -> Option<usize> {
        self.find_capturing(method, path, query, &mut Params::new())
    }

    /// As [`OperationMatcher::find`], appending the template parameters it captures to
    /// `params` (for policies that read `context.Request.MatchedParameters`).
    pub fn find_capturing<'r, 's: 'r>(
        &'s self,
        method: &http::Method,
        path: &'r str,
        query: Option<&'r str>,
        params: &mut Params<'r>,
    ) -> Option<usize> {
        let segments: smallvec::SmallVec<[&str; 16]> =
            path.split('/').filter(|s| !s.is_empty()).collect();
        let query = if self.uses_query { query } else { None };
        for op in &self.operations {
            if op.method.as_ref().is_some_and(|m| m != method) {
                continue;
            }
            let mark = params.len();
            if match_template(&op.template, &segments, query, params) {
                return Some(op.index);
            }
            params.truncate(mark);
        }
        None
    }
}

/// Sort key: exact paths before wildcards, longer wildcard prefixes first, literal segments
/// before patterns before parameters, more query requirements first, methods before `*`.
fn specificity(t: &UrlTemplate, any_method: bool) -> impl Ord {
    let ranks: Vec<u8> = t
        .segments
        .iter()
        .map(|s| match s {
            Segment::Literal(_) => 0,
            Segment::Pattern(_) => 1,
            Segment::Param(_) => 2,
        })
        .collect();
    let wildcard_depth = if t.wildcard {
        Reverse(t.segments.len())
    } else {
        Reverse(usize::MAX)
    };
    (
        t.wildcard,
        wildcard_depth,
        ranks,
        Reverse(t.query.len()),
        any_method,
    )
}

fn match_template<'r, 's: 'r>(
    t: &'s UrlTemplate,
    segments: &[&'r str],
    query: Option<&'r str>,
    params: &mut Params<'r>,
) -> bool {
    if segments.len() < t.segments.len() || (!t.wildcard && segments.len() != t.segments.len()) {
        return false;
    }
    for (pattern, actual) in t.segments.iter().zip(segments) {
        let ok = match pattern {
            Segment::Literal(l) => l.eq_ignore_ascii_case(actual),
            Segment::Param(name) => {
                params.push((name, actual));
                true
            }
            Segment::Pattern(parts) => match_parts(parts, actual, params),
        };
        if !ok {
            return false;
        }
    }
    t.query.iter().all(|req| {
        let found = query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .find_map(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                name.eq_ignore_ascii_case(&req.name).then_some(value)
            });
        match (&req.value, found) {
            (Part::Param(name), Some(value)) => {
                params.push((name, value));
                true
            }
            (Part::Literal(l), Some(value)) => l == value,
            (_, None) => false,
        }
    })
}

/// Matches a segment such as `{name}.json` or `v{major}-{minor}`. A parameter takes the
/// shortest non-empty text up to the next literal (or the rest of the segment).
fn match_parts<'r, 's: 'r>(parts: &'s [Part], actual: &'r str, params: &mut Params<'r>) -> bool {
    let mut rest = actual;
    for (i, part) in parts.iter().enumerate() {
        match part {
            Part::Literal(l) => match rest.get(..l.len()) {
                // `get` refuses to cut inside a multi-byte character.
                Some(head) if head.eq_ignore_ascii_case(l) => rest = &rest[l.len()..],
                _ => return false,
            },
            Part::Param(name) => {
                // A parameter takes at least one character.
                let Some(first) = rest.chars().next().map(char::len_utf8) else {
                    return false;
                };
                let end = match parts.get(i + 1) {
                    Some(Part::Literal(next)) => match find_ignore_case(&rest[first..], next) {
                        Some(pos) => first + pos,
                        None => return false,
                    },
                    _ => rest.len(),
                };
                let Some(value) = rest.get(..end) else {
                    return false;
                };
                params.push((name, value));
                rest = &rest[end..];
            }
        }
    }
    rest.is_empty()
}

fn find_ignore_case(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher() -> OperationMatcher {
        OperationMatcher::new([
            ("GET", "/users/{id}", 0),
            ("GET", "/users/me", 1),
            ("GET", "/users/*", 2),
            ("*", "/*", 3),
            ("GET", "/search?q={q}", 4),
            ("GET", "/search", 5),
            ("GET", "/files/{name}.json", 6),
            ("POST", "/users/{id}", 7),
        ])
        .unwrap()
    }

    fn find(method: &str, path: &str, query: Option<&str>) -> (usize, Vec<(String, String)>) {
        let m = matcher();
        let mut params = Params::new();
        let method = http::Method::from_bytes(method.as_bytes()).unwrap();
        let op = m
            .find_capturing(&method, path, query, &mut params)
            .expect("a match");
        (
            op,
            params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn literal_beats_param_beats_wildcard() {
        assert_eq!(find("GET", "/users/me", None).0, 1);
        assert_eq!(
            find("GET", "/Users/42", None),
            (0, vec![("id".into(), "42".into())])
        );
        assert_eq!(find("GET", "/users/42/posts", None).0, 2);
        assert_eq!(find("DELETE", "/users/42", None).0, 3);
        assert_eq!(find("POST", "/users/42", None).0, 7);
        assert_eq!(find("GET", "/", None).0, 3);
        assert_eq!(find("GET", "", None).0, 3);
    }

    #[test]
    fn query_templates_require_their_parameters() {
        assert_eq!(
            find("GET", "/search", Some("x=1&q=rust")),
            (4, vec![("q".into(), "rust".into())])
        );
        assert_eq!(find("GET", "/search", Some("x=1")).0, 5);
        assert_eq!(find("GET", "/search", None).0, 5);
    }

    #[test]
    fn patterns_capture_inside_a_segment() {
        assert_eq!(
            find("GET", "/files/report.v2.JSON", None),
            (6, vec![("name".into(), "report.v2".into())])
        );
        assert_eq!(find("GET", "/files/.json", None).0, 3);
    }

    #[test]
    fn no_operation_no_match() {
        let m = OperationMatcher::new([("GET", "/a", 0)]).unwrap();
        assert_eq!(m.find(&http::Method::GET, "/b", None), None);
        assert_eq!(m.find(&http::Method::POST, "/a", None), None);
    }

    #[test]
    fn non_ascii_paths_never_panic() {
        let m = OperationMatcher::new([
            ("GET", "/v{major}", 0),
            ("GET", "/{name}.json", 1),
            ("GET", "/é{x}ü", 2),
        ])
        .unwrap();
        for path in [
            "/é",
            "/vé",
            "/éé.json",
            "/é.json",
            "/ééü",
            "/ü",
            "/v",
            "/.json",
        ] {
            let _ = m.find(&http::Method::GET, path, None);
        }
        assert_eq!(m.find(&http::Method::GET, "/vé", None), Some(0));
        assert_eq!(m.find(&http::Method::GET, "/éé.json", None), Some(1));
        assert_eq!(m.find(&http::Method::GET, "/éaü", None), Some(2));
    }

    proptest::proptest! {
        /// Any path against any template: an answer, never a panic.
        #[test]
        fn matching_arbitrary_paths_never_panics(path in "\\PC*", literal in "\\PC{0,4}") {
            let template = format!("/{literal}{{a}}{literal}/x{{b}}.{literal}");
            if let Ok(m) = OperationMatcher::new([("GET", template.as_str(), 0)]) {
                let _ = m.find(&http::Method::GET, &path, Some(&path));
            }
        }
    }
}
