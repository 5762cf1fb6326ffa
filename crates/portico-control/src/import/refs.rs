//! Local `$ref` resolution (`#/components/parameters/limit`) for the objects the importer reads
//! (path items and parameters). References to other files cannot be followed from text alone
//! and are refused, as APIM refuses them.

use super::error::{child, ImportError};
use super::parse::key_text;
use yaml_serde::Value;

/// How many references in a row are followed before assuming a cycle.
const MAX_HOPS: usize = 32;

/// Follows `value`'s `$ref` chain within `doc`; `at` locates `value` for errors.
pub(crate) fn resolve<'a>(
    doc: &'a Value,
    value: &'a Value,
    at: &str,
) -> Result<&'a Value, ImportError> {
    let at = child(at, "$ref");
    let mut current = value;
    for _ in 0..MAX_HOPS {
        let Some(reference) = current.get("$ref") else {
            return Ok(current);
        };
        let Some(reference) = reference.as_str() else {
            return Err(ImportError::at(at, "must be a string"));
        };
        let Some(pointer) = reference.strip_prefix('#') else {
            return Err(ImportError::at(
                at,
                format!("{reference:?} refers to another document; only local references (#/…) can be imported"),
            ));
        };
        current = lookup(doc, pointer).ok_or_else(|| {
            ImportError::at(
                &at,
                format!("{reference:?} does not point into this document"),
            )
        })?;
    }
    Err(ImportError::at(
        at,
        format!("more than {MAX_HOPS} references in a row; is there a cycle?"),
    ))
}

/// Follows a JSON pointer (RFC 6901) as written in a URI fragment: percent-decoded, then
/// `~1` for `/` and `~0` for `~`.
fn lookup<'a>(doc: &'a Value, pointer: &str) -> Option<&'a Value> {
    if pointer.is_empty() {
        return Some(doc);
    }
    let mut current = doc;
    for token in pointer.strip_prefix('/')?.split('/') {
        let token = percent_decode(token)?.replace("~1", "/").replace("~0", "~");
        current = match current {
            Value::Mapping(m) => m
                .iter()
                .find(|(k, _)| key_text(k).as_deref() == Some(token.as_str()))
                .map(|(_, v)| v)?,
            Value::Sequence(items) => items.get(token.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(current)
}

fn percent_decode(token: &str) -> Option<String> {
    if !token.contains('%') {
        return Some(token.to_owned());
    }
    let bytes = token.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = token.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Value {
        yaml_serde::from_str(
            r##"
a: {$ref: "#/b"}
b: {x: 1}
c: {$ref: "#/c"}
d: {$ref: "other.yaml#/x"}
e: {$ref: "#/nope"}
f: {$ref: "#/paths/~1pets~1%7Bid%7D/0"}
paths: {"/pets/{id}": [{y: 2}]}
"##,
        )
        .unwrap()
    }

    #[test]
    fn follows_chains_and_escaped_pointers() {
        let doc = doc();
        assert_eq!(resolve(&doc, &doc["a"], "a").unwrap()["x"], 1);
        assert_eq!(resolve(&doc, &doc["f"], "f").unwrap()["y"], 2);
    }

    #[test]
    fn refuses_cycles_external_and_dangling_refs() {
        let doc = doc();
        for bad in ["c", "d", "e"] {
            let e = resolve(&doc, &doc[bad], bad).unwrap_err();
            assert_eq!(e.problems()[0].path, format!("{bad}.$ref"));
        }
    }
}
