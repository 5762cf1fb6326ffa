//! Text to a generic tree. OpenAPI 2.0, 3.0 and 3.1 differ in shape, so the converter walks
//! a generic tree rather than three typed models. The tree is `yaml_serde`'s [`Value`] for
//! JSON input too: its mappings keep document order (`serde_json::Value` sorts keys unless
//! the crate-wide `preserve_order` feature is on, which would change every other user's JSON),
//! and operations must come out in document order.
//!
//! Syntax errors are reported with line and column.

use super::error::ImportError;
use yaml_serde::Value;

/// The syntax an OpenAPI document is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InputFormat {
    Json,
    Yaml,
    /// JSON when the text starts with `{`, YAML otherwise.
    #[default]
    Detect,
}

/// Parses the text as the given format.
pub(crate) fn parse(text: &str, format: InputFormat) -> Result<Value, ImportError> {
    // Editors on Windows save with a byte-order mark, which the JSON parser refuses.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let json = match format {
        InputFormat::Json => true,
        InputFormat::Yaml => false,
        InputFormat::Detect => text.trim_start().starts_with('{'),
    };
    if json {
        return serde_json::from_str(text).map_err(|e| {
            ImportError::syntax(
                Some(e.line()),
                Some(e.column()),
                strip_location(&e.to_string()),
            )
        });
    }
    let mut tree: Value = yaml_serde::from_str(text).map_err(|e| {
        let loc = e.location();
        ImportError::syntax(
            loc.as_ref().map(|l| l.line()),
            loc.as_ref().map(|l| l.column()),
            strip_location(&e.to_string()),
        )
    })?;
    // `<<: *anchor` merge keys are YAML sugar authors use to share parameters.
    tree.apply_merge()
        .map_err(|e| ImportError::syntax(None, None, e.to_string()))?;
    Ok(tree)
}

/// serde's messages say " at line L column C" (at the end for JSON, mid-sentence for YAML);
/// that location is reported separately, so the first such phrase is cut out. A later one
/// is context (where the enclosing YAML collection started) and stays.
fn strip_location(message: &str) -> String {
    let Some(start) = message.find(" at line ") else {
        return message.to_owned();
    };
    let after = &message[start..];
    let end = after
        .find(" column ")
        .map(|c| {
            let digits = after[c + 8..]
                .find(|ch: char| !ch.is_ascii_digit())
                .unwrap_or(after.len() - c - 8);
            c + 8 + digits
        })
        .unwrap_or(after.len());
    format!("{}{}", &message[..start], &after[end..])
}

/// A mapping key as text. YAML allows non-string keys (`200:` under `responses` is an
/// integer); OpenAPI means them as strings.
pub(crate) fn key_text(key: &Value) -> Option<String> {
    match key {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_keeps_document_order() {
        let v = parse(r#"{"paths": {"/b": 1, "/a": 2}}"#, InputFormat::Json).unwrap();
        let keys: Vec<_> = v["paths"]
            .as_mapping()
            .unwrap()
            .keys()
            .map(|k| k.as_str().unwrap())
            .collect();
        assert_eq!(keys, ["/b", "/a"]);
    }

    #[test]
    fn a_byte_order_mark_is_ignored() {
        let v = parse("\u{feff}{\"openapi\": \"3.0.0\"}", InputFormat::Detect).unwrap();
        assert_eq!(v["openapi"], "3.0.0");
    }

    #[test]
    fn detect_picks_json_for_braces() {
        let e = parse("{\n  \"a\": ,\n}", InputFormat::Detect).unwrap_err();
        assert_eq!(e.problems()[0].line, Some(2));
    }

    #[test]
    fn yaml_syntax_errors_have_line_and_column() {
        let e = parse("a: [1, 2\nb: c\n", InputFormat::Yaml).unwrap_err();
        let p = &e.problems()[0];
        assert!(p.line.is_some() && p.column.is_some(), "{p}");
        // The error's own location is cut; the context's ("while parsing … at line 1") stays.
        assert!(!p.message.contains("at line 2"), "{p}");
        assert!(p.message.contains("while parsing"), "{p}");
    }

    #[test]
    fn merge_keys_are_applied() {
        let v = parse(
            "base: &b {x: 1}\nderived:\n  <<: *b\n  y: 2\n",
            InputFormat::Yaml,
        )
        .unwrap();
        assert_eq!(v["derived"]["x"], 1);
    }

    #[test]
    fn integer_keys_read_as_text() {
        let v = parse(
            "200: ok
",
            InputFormat::Yaml,
        )
        .unwrap();
        let key = v.as_mapping().unwrap().keys().next().unwrap();
        assert_eq!(key_text(key).as_deref(), Some("200"));
    }
}
