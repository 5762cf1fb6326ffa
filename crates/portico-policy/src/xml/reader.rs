//! Reading one parsed document: positions, the error list, and turning written values into
//! [`Template`]s (named values, then literal or compiled expression) for element text
//! ([`El::text`]) and, through [`Attrs`], for attributes — one path for every policy.

use std::cell::RefCell;
use std::ops::Range;

use roxmltree::Node;

use super::attrs::Attrs;
use super::offsets::{decode_entities, LineIndex, OffsetMap};
use crate::error::{PolicyError, Position};
use crate::expr::Expression;
use crate::liquid::LiquidTemplate;
use crate::named_values::{substitute, NamedValues};
use crate::template::{Expr, Literal, Template};

/// What one parse needs: the author's text, named values, and the errors found so far.
pub(crate) struct Cx<'s> {
    source: &'s str,
    lines: LineIndex,
    named_values: &'s NamedValues,
    errors: RefCell<Vec<PolicyError>>,
}

impl<'s> Cx<'s> {
    pub(crate) fn new(source: &'s str, named_values: &'s NamedValues) -> Self {
        Self {
            source,
            lines: LineIndex::new(source),
            named_values,
            errors: RefCell::new(Vec::new()),
        }
    }

    pub(crate) fn position(&self, offset: usize) -> Position {
        self.lines.position(self.source, offset)
    }

    pub(crate) fn error(&self, offset: usize, policy: Option<&str>, message: impl Into<String>) {
        let e = PolicyError::new(self.position(offset), policy, message);
        self.errors.borrow_mut().push(e);
    }

    pub(crate) fn error_count(&self) -> usize {
        self.errors.borrow().len()
    }

    pub(crate) fn into_errors(self) -> Vec<PolicyError> {
        let mut errors = self.errors.into_inner();
        errors.sort_by_key(|e| e.position);
        errors
    }

    /// A value as written at `raw` (a byte range of the source): entities decoded, named
    /// values substituted, then either literal text or a compiled expression.
    pub(super) fn value(&self, raw: Range<usize>, policy: &str, trim: bool) -> Option<Template> {
        let (decoded, entities) = decode_entities(&self.source[raw.clone()]);
        self.value_from(&decoded, &entities, raw.start, policy, trim)
    }

    fn value_from(
        &self,
        text: &str,
        entities: &OffsetMap,
        base: usize,
        policy: &str,
        trim: bool,
    ) -> Option<Template> {
        let (sub, unknown) = substitute(text, self.named_values);
        let to_source = |offset: usize| base + entities.to_input(sub.map.to_input(offset));
        for u in &unknown {
            self.error(
                base + entities.to_input(u.offset),
                Some(policy),
                format!(
                    "unknown named value `{{{{{}}}}}`: define it in namedValues or correct the name",
                    u.name
                ),
            );
        }
        if !unknown.is_empty() {
            return None;
        }
        let trimmed = sub.text.trim();
        if !(trimmed.starts_with("@(") || trimmed.starts_with("@{")) {
            let text = if trim { trimmed.to_owned() } else { sub.text };
            return Some(Template::Literal(Literal::new(text, sub.secret)));
        }
        let lead = sub.text.len() - sub.text.trim_start().len();
        match Expression::compile(trimmed) {
            Ok(e) => Some(Template::Expr(Expr::new(e, sub.secret))),
            Err(err) => {
                let message = if sub.secret {
                    "expression does not compile; it contains a secret named value, so the \
                     details are withheld: check the expression around this position"
                        .to_owned()
                } else {
                    format!("expression does not compile: {}", err.message)
                };
                self.error(to_source(lead + err.offset), Some(policy), message);
                None
            }
        }
    }
}

impl Cx<'_> {
    /// Compiles Liquid text. `to_source` maps an offset in `text` back into the document.
    /// Named values are substituted first; a `{{name}}` that is not one is left for Liquid,
    /// whose output tags look the same (`{{body.name}}`).
    fn liquid_from(
        &self,
        text: &str,
        to_source: &dyn Fn(usize) -> usize,
        policy: &str,
    ) -> Option<(LiquidTemplate, bool)> {
        let (sub, _liquid_outputs) = substitute(text, self.named_values);
        match LiquidTemplate::compile(&sub.text) {
            Ok(t) => Some((t, sub.secret)),
            Err(err) => {
                let message = if sub.secret {
                    "Liquid template does not compile; it contains a secret named value, so \
                     the details are withheld: check the template around this position"
                        .to_owned()
                } else {
                    format!("Liquid template does not compile: {}", err.message)
                };
                self.error(
                    to_source(sub.map.to_input(err.offset)),
                    Some(policy),
                    message,
                );
                None
            }
        }
    }
}

/// A policy element being read.
#[derive(Clone, Copy)]
pub(crate) struct El<'a, 'i> {
    pub cx: &'a Cx<'a>,
    pub node: Node<'a, 'i>,
}

impl<'a, 'i> El<'a, 'i> {
    pub(crate) fn new(cx: &'a Cx<'a>, node: Node<'a, 'i>) -> Self {
        Self { cx, node }
    }

    pub(crate) fn name(&self) -> &'a str {
        self.node.tag_name().name()
    }

    pub(crate) fn offset(&self) -> usize {
        self.node.range().start
    }

    pub(crate) fn position(&self) -> Position {
        self.cx.position(self.offset())
    }

    /// Records an error against this element.
    pub(crate) fn error(&self, message: impl Into<String>) {
        self.cx.error(self.offset(), Some(self.name()), message);
    }

    pub(crate) fn attrs(&self) -> Attrs<'a, 'i> {
        Attrs::new(*self)
    }

    /// Child elements; stray text is reported, comments are skipped.
    pub(crate) fn children(&self) -> impl Iterator<Item = El<'a, 'i>> + 'a
    where
        'i: 'a,
    {
        let el = *self;
        self.node.children().filter_map(move |child| {
            if child.is_element() {
                return Some(El::new(el.cx, child));
            }
            if child.is_text() && !child.text().unwrap_or("").trim().is_empty() {
                el.cx.error(
                    child.range().start,
                    Some(el.name()),
                    "unexpected text here: this element holds policy elements only",
                );
            }
            None
        })
    }

    /// Reports every child element: for policies whose content is text or nothing.
    fn refuse_children(&self) {
        for child in self.node.children().filter(|c| c.is_element()) {
            self.cx.error(
                child.range().start,
                Some(self.name()),
                format!("unexpected element <{}> here", child.tag_name().name()),
            );
        }
    }

    /// The element's text as a value; `None` (with an error) when empty or not text.
    pub(crate) fn text(&self, trim: bool) -> Option<Template> {
        self.refuse_children();
        let texts: Vec<_> = self.node.children().filter(|c| c.is_text()).collect();
        let (Some(first), Some(last)) = (texts.first(), texts.last()) else {
            self.error("expects a value as its text content");
            return None;
        };
        let range = first.range().start..last.range().end;
        let raw = &self.cx.source[range.clone()];
        if raw.contains("<![CDATA[") || texts.len() > 1 {
            // CDATA (or text split by comments): positions inside are approximate.
            let text: String = texts.iter().filter_map(|t| t.text()).collect();
            let map = OffsetMap::default();
            return self
                .cx
                .value_from(&text, &map, range.start, self.name(), trim);
        }
        self.cx.value(range, self.name(), trim)
    }

    /// The element's content as a Liquid template, and whether a secret named value went
    /// into it. Text has its entities decoded; content holding elements (a SOAP envelope
    /// written inline) is taken as written, without the policy document's comments.
    pub(crate) fn liquid(&self) -> Option<(LiquidTemplate, bool)> {
        let children: Vec<_> = self.node.children().filter(|c| !c.is_comment()).collect();
        let source = self.cx.source;
        if children.iter().any(|c| c.is_element()) {
            let mut text = String::new();
            let mut map = OffsetMap::default();
            for c in &children {
                map.copied(text.len(), c.range().start);
                text.push_str(&source[c.range()]);
            }
            return self
                .cx
                .liquid_from(&text, &|o| map.to_input(o), self.name());
        }
        if let [only] = children.as_slice() {
            let raw = only.range();
            if !source[raw.clone()].contains("<![CDATA[") {
                let (decoded, entities) = decode_entities(&source[raw.clone()]);
                return self.cx.liquid_from(
                    &decoded,
                    &|o| raw.start + entities.to_input(o),
                    self.name(),
                );
            }
        }
        // CDATA, or text split by comments: positions inside are approximate.
        let text: String = children.iter().filter_map(|t| t.text()).collect();
        let start = children.first().map_or(self.offset(), |c| c.range().start);
        self.cx.liquid_from(&text, &|o| start + o, self.name())
    }

    /// Whether the element has any text (an empty `<set-body/>` is an empty body).
    pub(crate) fn has_text(&self) -> bool {
        self.node.children().any(|c| c.is_text())
    }

    /// Reports everything inside an element that must be empty.
    pub(crate) fn expect_empty(&self) {
        self.refuse_children();
        if self
            .node
            .children()
            .any(|c| c.is_text() && !c.text().unwrap_or("").trim().is_empty())
        {
            self.error("must be empty");
        }
    }
}
