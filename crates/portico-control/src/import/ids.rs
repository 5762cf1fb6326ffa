//! Operation ids: an OpenAPI `operationId` made into a valid Portico id, one derived from
//! method and template when the document has none (as APIM does: `get-pets-petid`), and
//! de-duplication within the API.

use std::collections::HashSet;

/// Longest id Portico accepts (APIM's resource name limit).
const MAX_ID_LEN: usize = 256;
/// Characters ids may not hold, besides whitespace and control characters: they would
/// break the management API's resource paths (see the store's `valid_id`).
const FORBIDDEN: &str = "/*#&+:<>?%\\";
/// Longest APIM-style derived id before a de-duplication suffix (APIM keeps 76 of 80).
const MAX_DERIVED_LEN: usize = 76;

/// Hands out unique ids in the order operations are imported.
#[derive(Debug, Default)]
pub(crate) struct Ids {
    /// Lower-cased, as the model compares ids case-insensitively.
    taken: HashSet<String>,
}

impl Ids {
    /// A unique id for an operation: its `operationId` sanitised, or one derived from method
    /// and URL template. A clash gets APIM's suffix `-1`, `-2`, … .
    pub(crate) fn assign(
        &mut self,
        operation_id: Option<&str>,
        method: &str,
        template: &str,
    ) -> String {
        let base = operation_id
            .map(sanitise)
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| derive(method, template));
        let mut candidate = base.clone();
        let mut n = 0u32;
        while !self.taken.insert(candidate.to_ascii_lowercase()) {
            n += 1;
            let suffix = format!("-{n}");
            candidate = format!("{}{suffix}", truncate(&base, MAX_ID_LEN - suffix.len()));
        }
        candidate
    }
}

/// Replaces each run of characters an id may not hold with one `-`, trims dashes that would
/// lead or trail, and cuts the result to the longest id accepted.
fn sanitise(operation_id: &str) -> String {
    let mut out = String::with_capacity(operation_id.len());
    for c in operation_id.chars() {
        if c.is_whitespace() || c.is_control() || FORBIDDEN.contains(c) {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c);
        }
    }
    let trimmed = out.trim_matches('-');
    truncate(trimmed, MAX_ID_LEN).to_owned()
}

/// APIM's rule for operations without `operationId`: `METHOD-template`, lower-cased, each run
/// of non-alphanumeric characters made one dash, dashes trimmed, cut to 76 characters.
fn derive(method: &str, template: &str) -> String {
    let mut out = String::new();
    for c in format!("{method}-{template}").chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    truncate(out.trim_matches('-'), MAX_DERIVED_LEN)
        .trim_end_matches('-')
        .to_owned()
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitises_forbidden_characters() {
        assert_eq!(sanitise("find pet by id"), "find-pet-by-id");
        assert_eq!(sanitise("  a/b::c?  "), "a-b-c");
        assert_eq!(sanitise("listPets"), "listPets");
        assert_eq!(sanitise("###"), "");
        assert_eq!(sanitise(&"é".repeat(200)).len(), 256);
    }

    #[test]
    fn derives_like_apim() {
        assert_eq!(derive("GET", "/pets/{petId}"), "get-pets-petid");
        assert_eq!(
            derive("GET", "/foo/{bar}?buzz={quix}"),
            "get-foo-bar-buzz-quix"
        );
        assert_eq!(derive("GET", "/"), "get");
        assert!(derive("GET", &"/segment".repeat(40)).len() <= MAX_DERIVED_LEN);
    }

    #[test]
    fn dedupes_case_insensitively_with_suffixes() {
        let mut ids = Ids::default();
        assert_eq!(ids.assign(Some("op"), "GET", "/a"), "op");
        assert_eq!(ids.assign(Some("OP"), "GET", "/b"), "OP-1");
        assert_eq!(ids.assign(Some("op"), "GET", "/c"), "op-2");
        // A later id that equals an earlier generated one is suffixed in turn.
        assert_eq!(ids.assign(Some("op-1"), "GET", "/d"), "op-1-1");
        // An operationId with nothing usable falls back to the derived id.
        assert_eq!(ids.assign(Some("%%"), "GET", "/e"), "get-e");
        assert_eq!(ids.assign(None, "GET", "/e/"), "get-e-1");
    }

    #[test]
    fn suffixes_fit_the_length_limit() {
        let mut ids = Ids::default();
        let long = "x".repeat(MAX_ID_LEN);
        assert_eq!(ids.assign(Some(&long), "GET", "/a"), long);
        let second = ids.assign(Some(&long), "GET", "/b");
        assert_eq!(second.len(), MAX_ID_LEN);
        assert!(second.ends_with("-1"));
    }
}
