//! The declarative document: YAML or JSON, top-level collections named as in the management
//! REST API, each entry flattened (`id` beside its properties). Parsing reports syntax and
//! type errors with line and column; [`Document::validate`] then checks meaning and reports
//! every problem by field path.

use crate::certificates::Certificate;
use crate::errors::{ConfigError, ConfigErrors};
use crate::gateways::Gateway;
use crate::policies::PolicyFragment;
use crate::resources::{Api, Backend, NamedValue, Product, Subscription};
use serde::{Deserialize, Serialize};

/// Which syntax a document is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentFormat {
    Yaml,
    Json,
}

impl DocumentFormat {
    /// Picks the format from a file name, falling back to sniffing the text: JSON documents
    /// start with `{`.
    pub fn detect(file_name: &str, text: &str) -> Self {
        let lower = file_name.to_ascii_lowercase();
        if lower.ends_with(".json")
            || (!lower.ends_with(".yaml") && !lower.ends_with(".yml"))
                && text.trim_start().starts_with('{')
        {
            Self::Json
        } else {
            Self::Yaml
        }
    }
}

/// A whole declarative configuration.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Document {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub apis: Vec<Api>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub products: Vec<Product>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subscriptions: Vec<Subscription>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backends: Vec<Backend>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub named_values: Vec<NamedValue>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policy_fragments: Vec<PolicyFragment>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<Certificate>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gateways: Vec<Gateway>,
    /// The global policy (`<policies>…</policies>`), inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// The global policy in a file, relative to this document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_file: Option<String>,
}

impl Document {
    /// Parses a document. Errors carry line and column.
    pub fn parse(text: &str, format: DocumentFormat) -> Result<Self, ConfigErrors> {
        match format {
            DocumentFormat::Json => serde_json::from_str(text).map_err(|e| {
                ConfigErrors::from(ConfigError {
                    path: String::new(),
                    line: Some(e.line()),
                    column: Some(e.column()),
                    message: strip_location(&e.to_string()),
                    conflict: false,
                })
            }),
            DocumentFormat::Yaml => {
                if text.trim().is_empty() {
                    return Ok(Self::default());
                }
                yaml_serde::from_str(text).map_err(|e| {
                    let loc = e.location();
                    ConfigErrors::from(ConfigError {
                        path: String::new(),
                        line: loc.as_ref().map(|l| l.line()),
                        column: loc.as_ref().map(|l| l.column()),
                        message: strip_location(&e.to_string()),
                        conflict: false,
                    })
                })
            }
        }
    }

    /// Parses and validates: the one call a config source needs.
    pub fn parse_valid(text: &str, format: DocumentFormat) -> Result<Self, ConfigErrors> {
        let doc = Self::parse(text, format)?;
        doc.validate()?;
        Ok(doc)
    }
}

/// serde's messages end in " at line L column C"; the location is reported separately.
fn strip_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_syntax_errors_carry_line_and_column() {
        let err =
            Document::parse("apis:\n  - id: a\n    path: [\n", DocumentFormat::Yaml).unwrap_err();
        let e = &err.errors()[0];
        assert!(e.line.is_some() && e.column.is_some(), "{e:?}");
    }

    #[test]
    fn unknown_fields_are_refused_with_their_location() {
        let err = Document::parse(
            "apis:\n  - id: a\n    serviceUrl: http://x\n    colour: red\n",
            DocumentFormat::Yaml,
        )
        .unwrap_err();
        let e = &err.errors()[0];
        assert!(e.message.contains("colour"), "{e}");
        assert_eq!(e.line, Some(4));
    }

    #[test]
    fn json_errors_carry_line_and_column() {
        let err = Document::parse("{\n \"apis\": [1]\n}", DocumentFormat::Json).unwrap_err();
        assert_eq!(err.errors()[0].line, Some(2));
    }

    #[test]
    fn format_detection() {
        assert_eq!(DocumentFormat::detect("a.json", ""), DocumentFormat::Json);
        assert_eq!(DocumentFormat::detect("a.yaml", "{}"), DocumentFormat::Yaml);
        assert_eq!(
            DocumentFormat::detect("config", " {}"),
            DocumentFormat::Json
        );
        assert_eq!(
            DocumentFormat::detect("config", "apis: []"),
            DocumentFormat::Yaml
        );
    }
}

#[cfg(test)]
mod example_tests {
    use super::*;

    /// The shipped examples must always be valid documents.
    #[test]
    fn the_examples_are_valid() {
        for name in ["portico.yaml", "portico.json"] {
            let path = format!("{}/../../examples/{name}", env!("CARGO_MANIFEST_DIR"));
            let text = std::fs::read_to_string(&path).unwrap();
            let doc = Document::parse_valid(&text, DocumentFormat::detect(name, &text))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!doc.apis.is_empty(), "{name}");
        }
    }
}
