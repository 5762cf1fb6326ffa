//! Named values (`{{name}}` in policy text) and their substitution.
//!
//! APIM substitutes named values into the policy text before expressions are parsed, so a
//! named value may itself hold an expression. We substitute per attribute value and per
//! element text, which keeps every other position in the document exact. Secret values are
//! marked: nothing derived from them is shown by `Debug` or quoted in an error.

use std::collections::HashMap;
use std::fmt;

use crate::xml::offsets::OffsetMap;

/// A named value's content.
#[derive(Clone, PartialEq, Eq)]
pub struct NamedValue {
    value: String,
    secret: bool,
}

impl NamedValue {
    pub fn new(value: impl Into<String>, secret: bool) -> Self {
        Self {
            value: value.into(),
            secret,
        }
    }

    pub fn value(&self) -> &str {
        &self.value
    }

    pub fn is_secret(&self) -> bool {
        self.secret
    }
}

impl fmt::Debug for NamedValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: &dyn fmt::Debug = if self.secret {
            &"<secret>"
        } else {
            &self.value
        };
        f.debug_struct("NamedValue")
            .field("value", shown)
            .field("secret", &self.secret)
            .finish()
    }
}

/// The named values of a snapshot, by name. Lookup ignores ASCII case (names differing only
/// in case are one name to the control plane too).
#[derive(Debug, Clone, Default)]
pub struct NamedValues {
    by_name: HashMap<String, NamedValue>,
}

impl NamedValues {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, name: &str, value: NamedValue) {
        self.by_name.insert(name.to_ascii_lowercase(), value);
    }

    pub fn get(&self, name: &str) -> Option<&NamedValue> {
        self.by_name.get(&name.to_ascii_lowercase())
    }
}

/// Text after substitution (no `Debug`: it may hold secrets).
pub(crate) struct Substituted {
    pub text: String,
    /// Output offsets back to the input.
    pub map: OffsetMap,
    /// Whether any secret went into `text`.
    pub secret: bool,
}

/// A `{{name}}` reference to a named value that does not exist, with its input offset.
#[derive(Debug)]
pub(crate) struct UnknownNamedValue {
    pub name: String,
    pub offset: usize,
}

/// Replaces every `{{name}}` in `input`. Unknown names are reported and left as written.
pub(crate) fn substitute(
    input: &str,
    values: &NamedValues,
) -> (Substituted, Vec<UnknownNamedValue>) {
    let mut text = String::with_capacity(input.len());
    let mut map = OffsetMap::default();
    let mut unknown = Vec::new();
    let mut secret = false;
    map.copied(0, 0);
    let mut copied_from = 0;
    let mut i = 0;
    while let Some(rel) = input[i..].find("{{") {
        let start = i + rel;
        let Some(len) = input[start + 2..].find("}}") else {
            break;
        };
        let name = &input[start + 2..start + 2 + len];
        let end = start + 2 + len + 2;
        if !is_name(name) {
            i = start + 1;
            continue;
        }
        match values.get(name) {
            Some(v) => {
                text.push_str(&input[copied_from..start]);
                map.replaced(text.len(), start);
                text.push_str(&v.value);
                map.copied(text.len(), end);
                secret |= v.secret;
                copied_from = end;
            }
            None => unknown.push(UnknownNamedValue {
                name: name.to_owned(),
                offset: start,
            }),
        }
        i = end;
    }
    text.push_str(&input[copied_from..]);
    (Substituted { text, map, secret }, unknown)
}

/// APIM named value names: letters, digits, `.`, `-` and `_`. Anything else between braces
/// (a C# block `{{ }}` or JSON) is not a reference.
fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 256
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> NamedValues {
        let mut v = NamedValues::new();
        v.insert("Host", NamedValue::new("example.com", false));
        v.insert("key", NamedValue::new("s3cr3t", true));
        v
    }

    #[test]
    fn substitutes_and_maps() {
        let (s, unknown) = substitute("https://{{host}}/x?k={{key}}&{{nope}}", &values());
        assert_eq!(s.text, "https://example.com/x?k=s3cr3t&{{nope}}");
        assert!(s.secret);
        assert_eq!(unknown.len(), 1);
        assert_eq!(unknown[0].name, "nope");
        let x = s.text.find("/x").unwrap();
        assert_eq!(s.map.to_input(x), "https://{{host}}".len());
        assert!(!format!("{:?}", values()).contains("s3cr3t"));
    }

    #[test]
    fn braces_that_are_not_names_stay() {
        let (s, unknown) = substitute("{{ a }} {\"{{\": 1}", &values());
        assert_eq!(s.text, "{{ a }} {\"{{\": 1}");
        assert!(unknown.is_empty());
    }
}
