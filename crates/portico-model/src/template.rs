//! Operation URL templates as APIM writes them: `/users/{id}`, `/files/{name}.json`,
//! `/search?q={q}`, and a trailing wildcard `/*`. Parsing and validation live here; matching
//! requests against compiled templates lives in the gateway's router.
//!
//! Empty path segments are ignored, so `/users/` and `/users` are the same template.

use std::fmt;

/// A parsed URL template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlTemplate {
    /// Path segments between slashes.
    pub segments: Vec<Segment>,
    /// `true` when the template ends in `/*`: any remaining path matches.
    pub wildcard: bool,
    /// Query parameters the request must carry (`?q={q}&lang=en`).
    pub query: Vec<QueryRequirement>,
}

/// One path segment of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Matches this text, ignoring ASCII case.
    Literal(String),
    /// Matches any one non-empty segment and captures it.
    Param(String),
    /// A segment mixing literal text and parameters, such as `{name}.json` or `{a}-{b}`.
    Pattern(Vec<Part>),
}

/// A piece of a [`Segment::Pattern`] or a query requirement's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Literal(String),
    Param(String),
}

/// A query parameter a template requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryRequirement {
    pub name: String,
    /// `Param` captures whatever value is given; `Literal` requires exactly that value.
    pub value: Part,
}

/// Why a template could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError(pub String);

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl UrlTemplate {
    /// Parses a template, checking every rule the router relies on.
    pub fn parse(template: &str) -> Result<Self, TemplateError> {
        let err = |m: String| Err(TemplateError(m));
        if !template.starts_with('/') {
            return err(format!("must start with '/' (got {template:?})"));
        }
        if template.contains('#') {
            return err("must not contain '#'".into());
        }
        let (path, query) = match template.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (template, None),
        };
        let mut names: Vec<String> = Vec::new();
        let mut segments = Vec::new();
        let mut wildcard = false;
        let raw: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        for (i, seg) in raw.iter().enumerate() {
            if *seg == "*" {
                if i + 1 != raw.len() {
                    return err("'*' is only allowed as the last path segment".into());
                }
                wildcard = true;
                continue;
            }
            let parts = parse_parts(seg, &mut names)?;
            segments.push(match parts.as_slice() {
                [Part::Literal(l)] => Segment::Literal(l.clone()),
                [Part::Param(p)] => Segment::Param(p.clone()),
                _ => Segment::Pattern(parts),
            });
        }
        let mut requirements = Vec::new();
        for pair in query.unwrap_or("").split('&').filter(|s| !s.is_empty()) {
            let Some((name, value)) = pair.split_once('=') else {
                return err(format!(
                    "query part {pair:?} must be name={{param}} or name=value"
                ));
            };
            if name.is_empty() || name.contains(['{', '}']) {
                return err(format!("query parameter name {name:?} is invalid"));
            }
            let value = match parse_parts(value, &mut names)?.as_slice() {
                [single] => single.clone(),
                _ => {
                    return err(format!(
                        "query value {value:?} must be one {{param}} or one literal"
                    ))
                }
            };
            requirements.push(QueryRequirement {
                name: name.to_owned(),
                value,
            });
        }
        Ok(Self {
            segments,
            wildcard,
            query: requirements,
        })
    }

    /// A canonical form used to find duplicate operations: case-folded literals, parameter
    /// names erased (`/Users/{id}` and `/users/{userId}` are the same route).
    pub fn canonical(&self) -> String {
        let mut out = String::new();
        for s in &self.segments {
            out.push('/');
            match s {
                Segment::Literal(l) => out.push_str(&l.to_ascii_lowercase()),
                Segment::Param(_) => out.push_str("{}"),
                Segment::Pattern(parts) => push_parts(&mut out, parts),
            }
        }
        if self.wildcard {
            out.push_str("/*");
        }
        let mut query: Vec<String> = self
            .query
            .iter()
            .map(|q| {
                let mut s = q.name.to_ascii_lowercase();
                s.push('=');
                push_parts(&mut s, std::slice::from_ref(&q.value));
                s
            })
            .collect();
        query.sort();
        if !query.is_empty() {
            out.push('?');
            out.push_str(&query.join("&"));
        }
        out
    }
}

fn push_parts(out: &mut String, parts: &[Part]) {
    for p in parts {
        match p {
            Part::Literal(l) => out.push_str(&l.to_ascii_lowercase()),
            Part::Param(_) => out.push_str("{}"),
        }
    }
}

/// Splits `abc{x}def{y}` into literal and parameter parts.
fn parse_parts(text: &str, names: &mut Vec<String>) -> Result<Vec<Part>, TemplateError> {
    let mut parts = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        match rest.find('{') {
            Some(0) => {
                let Some(end) = rest.find('}') else {
                    return Err(TemplateError(format!("unclosed '{{' in {text:?}")));
                };
                let name = &rest[1..end];
                if name.is_empty()
                    || !name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
                {
                    return Err(TemplateError(format!(
                        "parameter name {name:?} must be letters, digits, '_', '-' or '.'"
                    )));
                }
                if names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
                    return Err(TemplateError(format!("parameter {{{name}}} appears twice")));
                }
                if matches!(parts.last(), Some(Part::Param(_))) {
                    return Err(TemplateError(format!(
                        "parameters in {text:?} need literal text between them"
                    )));
                }
                names.push(name.to_owned());
                parts.push(Part::Param(name.to_owned()));
                rest = &rest[end + 1..];
            }
            found => {
                let end = found.unwrap_or(rest.len());
                let literal = &rest[..end];
                if literal.contains('}') {
                    return Err(TemplateError(format!("unmatched '}}' in {text:?}")));
                }
                if literal.contains(['*', ' ']) {
                    return Err(TemplateError(format!(
                        "{literal:?} contains '*' or a space; a wildcard must be a whole last segment"
                    )));
                }
                parts.push(Part::Literal(literal.to_owned()));
                rest = &rest[end..];
            }
        }
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> Segment {
        Segment::Literal(s.into())
    }

    #[test]
    fn parses_params_patterns_query_and_wildcard() {
        let t = UrlTemplate::parse("/users/{id}/files/{name}.json?q={q}&v=2").unwrap();
        assert_eq!(
            t.segments,
            vec![
                lit("users"),
                Segment::Param("id".into()),
                lit("files"),
                Segment::Pattern(vec![
                    Part::Param("name".into()),
                    Part::Literal(".json".into())
                ]),
            ]
        );
        assert_eq!(t.query.len(), 2);
        assert_eq!(t.query[1].value, Part::Literal("2".into()));
        assert!(!t.wildcard);
        assert!(UrlTemplate::parse("/files/*").unwrap().wildcard);
        assert!(UrlTemplate::parse("/*").unwrap().segments.is_empty());
    }

    #[test]
    fn refuses_bad_templates() {
        for bad in [
            "users",
            "/a/*/b",
            "/{id}/{id}",
            "/{a}{b}",
            "/{",
            "/a}",
            "/{bad name}",
            "/x?q",
            "/x?q={a}{b}",
            "/fi*les",
        ] {
            assert!(UrlTemplate::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn canonical_form_ignores_case_param_names_and_query_order() {
        let a = UrlTemplate::parse("/Users/{id}?b={x}&a={y}").unwrap();
        let b = UrlTemplate::parse("/users/{userId}/?a={p}&b={q}").unwrap();
        assert_eq!(a.canonical(), b.canonical());
    }
}
