//! Whole policy documents: `<policies>` with its sections, parsed into the typed tree and
//! checked against where APIM allows each policy.

use crate::error::{PolicyError, PolicyErrors, Position};
use crate::named_values::NamedValues;
use crate::policies::{parse_list, PolicyNode};
use crate::section::{self, Section};
use crate::xml::prepare::blank_expressions;
use crate::xml::reader::{Cx, El};

/// One scope's policy document. A section that is absent behaves as `<base/>` (it inherits
/// the parent scope's section unchanged); a present section without `<base/>` does not.
#[derive(Debug, Clone, Default)]
pub struct PolicyDocument {
    pub inbound: Option<Vec<PolicyNode>>,
    pub backend: Option<Vec<PolicyNode>>,
    pub outbound: Option<Vec<PolicyNode>>,
    pub on_error: Option<Vec<PolicyNode>>,
}

impl PolicyDocument {
    /// Parses a document that uses no named values (`{{name}}` is then an error).
    pub fn parse(xml: &str) -> Result<Self, PolicyErrors> {
        Self::parse_with(xml, &NamedValues::new())
    }

    /// Parses a document, substituting `named_values` and compiling every expression.
    pub fn parse_with(xml: &str, named_values: &NamedValues) -> Result<Self, PolicyErrors> {
        parse_root(xml, named_values, "policies", |root, doc: &mut Self| {
            let mut errors = Vec::new();
            for el in root.children() {
                let Some(section) = Section::from_name(el.name()) else {
                    el.error(
                        "unknown section: <policies> holds <inbound>, <backend>, <outbound> \
                         and <on-error>",
                    );
                    continue;
                };
                el.attrs().finish();
                let nodes = parse_list(&el, true);
                section::check(&nodes, section, &mut errors);
                let slot = doc.section_mut(section);
                if slot.is_some() {
                    el.error("this section appears twice: merge the two");
                }
                *slot = Some(nodes);
            }
            errors
        })
    }

    pub fn section(&self, section: Section) -> Option<&[PolicyNode]> {
        match section {
            Section::Inbound => self.inbound.as_deref(),
            Section::Backend => self.backend.as_deref(),
            Section::Outbound => self.outbound.as_deref(),
            Section::OnError => self.on_error.as_deref(),
        }
    }

    pub(crate) fn section_mut(&mut self, section: Section) -> &mut Option<Vec<PolicyNode>> {
        match section {
            Section::Inbound => &mut self.inbound,
            Section::Backend => &mut self.backend,
            Section::Outbound => &mut self.outbound,
            Section::OnError => &mut self.on_error,
        }
    }
}

/// Parses `xml` whose root must be `<root_name>`, runs `body` on the root, and gathers every
/// error (the reader's and the ones `body` returns) in document order.
pub(crate) fn parse_root<T: Default>(
    xml: &str,
    named_values: &NamedValues,
    root_name: &str,
    body: impl FnOnce(&El<'_, '_>, &mut T) -> Vec<PolicyError>,
) -> Result<T, PolicyErrors> {
    let prepared = blank_expressions(xml);
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        // Policies are small; this bounds memory on hostile input.
        nodes_limit: 1_000_000,
    };
    let doc = roxmltree::Document::parse_with_options(&prepared, options)
        .map_err(|e| PolicyErrors::from(xml_error(&e)))?;
    let cx = Cx::new(xml, named_values);
    let root = El::new(&cx, doc.root_element());
    let mut out = T::default();
    let mut extra = Vec::new();
    if root.name() != root_name || root.node.tag_name().namespace().is_some() {
        root.error(format!("the document's root element must be <{root_name}>"));
    } else {
        root.attrs().finish();
        extra = body(&root, &mut out);
    }
    let mut errors = cx.into_errors();
    errors.extend(extra);
    errors.sort_by_key(|e| e.position);
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(PolicyErrors(errors))
    }
}

fn xml_error(e: &roxmltree::Error) -> PolicyError {
    let pos = e.pos();
    let message = e.to_string().replace(&format!(" at {pos}"), "");
    PolicyError::new(
        Position::new(pos.row, pos.col),
        None,
        format!("malformed XML: {message}"),
    )
}
