//! Reading one parsed document: positions, the error list, and the single helper every policy
//! uses to read its attributes ([`Attrs`]) and text ([`El::text`]), so that "missing",
//! "invalid", "unknown attribute", named values and expression compilation are handled the
//! same way everywhere.

use std::cell::RefCell;
use std::ops::Range;
use std::str::FromStr;

use roxmltree::Node;

use super::offsets::{decode_entities, LineIndex, OffsetMap};
use crate::error::{PolicyError, Position};
use crate::expr::Expression;
use crate::named_values::{substitute, NamedValues};
use crate::template::{Expr, Literal, Param, Template};

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
    fn value(&self, raw: Range<usize>, policy: &str, trim: bool) -> Option<Template> {
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
        Attrs {
            el: *self,
            seen: Vec::new(),
            refused: Vec::new(),
        }
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

/// Reads an element's attributes; [`Attrs::finish`] reports the ones nobody asked for.
pub(crate) struct Attrs<'a, 'i> {
    el: El<'a, 'i>,
    seen: Vec<&'static str>,
    refused: Vec<&'static str>,
}

impl<'a, 'i> Attrs<'a, 'i> {
    fn raw(&mut self, name: &'static str) -> Option<roxmltree::Attribute<'a, 'i>> {
        if !self.seen.contains(&name) {
            self.seen.push(name);
        }
        self.find(name)
    }

    fn find(&self, name: &str) -> Option<roxmltree::Attribute<'a, 'i>> {
        self.el
            .node
            .attributes()
            .find(|a| a.name() == name && a.namespace().is_none())
    }

    fn attr_error(&self, attr: &roxmltree::Attribute<'_, '_>, message: String) {
        self.el
            .cx
            .error(attr.range().start, Some(self.el.name()), message);
    }

    /// An optional value, literal or expression.
    pub(crate) fn template(&mut self, name: &'static str) -> Option<Template> {
        let attr = self.raw(name)?;
        self.el.cx.value(attr.range_value(), self.el.name(), false)
    }

    /// Reports `name` missing; true when it is present.
    fn require(&mut self, name: &'static str) -> bool {
        if self.find(name).is_some() {
            return true;
        }
        if !self.seen.contains(&name) {
            self.seen.push(name);
        }
        self.el.error(format!("the {name} attribute is required"));
        false
    }

    /// A value that must be present.
    pub(crate) fn required(&mut self, name: &'static str) -> Option<Template> {
        self.require(name).then(|| self.template(name)).flatten()
    }

    /// A `true`/`false` (or expression) that must be present.
    pub(crate) fn required_flag(&mut self, name: &'static str) -> Option<Param<bool>> {
        self.require(name).then(|| self.flag(name)).flatten()
    }

    /// Literal text only (ids and names that APIM resolves when the policy is saved).
    pub(crate) fn literal(&mut self, name: &'static str, required: bool) -> Option<String> {
        let Some(attr) = self.raw(name) else {
            if required {
                self.el.error(format!("the {name} attribute is required"));
            }
            return None;
        };
        match self
            .el
            .cx
            .value(attr.range_value(), self.el.name(), false)?
        {
            Template::Literal(l) if !l.as_str().trim().is_empty() => Some(l.as_str().to_owned()),
            Template::Literal(_) => {
                self.attr_error(&attr, format!("{name} must not be empty"));
                None
            }
            Template::Expr(_) => {
                self.attr_error(
                    &attr,
                    format!("{name} must be a fixed value, not an expression"),
                );
                None
            }
        }
    }

    /// A typed value or an expression; `what` completes "must be …" in the error.
    pub(crate) fn param<T: FromStr>(
        &mut self,
        name: &'static str,
        what: &str,
        valid: impl Fn(&T) -> bool,
    ) -> Option<Param<T>> {
        let attr = self.raw(name)?;
        match self
            .el
            .cx
            .value(attr.range_value(), self.el.name(), false)?
        {
            Template::Expr(e) => Some(Param::Expr(e)),
            Template::Literal(l) => match l.as_str().trim().parse::<T>() {
                Ok(v) if valid(&v) => Some(Param::Value(v)),
                _ => {
                    let shown = if l.is_secret() {
                        "a secret named value"
                    } else {
                        l.as_str()
                    };
                    self.attr_error(&attr, format!("{name} must be {what}, not `{shown}`"));
                    None
                }
            },
        }
    }

    /// A typed value or expression that must be present.
    pub(crate) fn required_param<T: FromStr>(
        &mut self,
        name: &'static str,
        what: &str,
        valid: impl Fn(&T) -> bool,
    ) -> Option<Param<T>> {
        self.require(name)
            .then(|| self.param(name, what, valid))
            .flatten()
    }

    /// A typed value where APIM allows no expression.
    pub(crate) fn constant<T: FromStr>(
        &mut self,
        name: &'static str,
        what: &str,
        valid: impl Fn(&T) -> bool,
    ) -> Option<T> {
        match self.param(name, what, valid)? {
            Param::Value(v) => Some(v),
            Param::Expr(_) => {
                let attr = self.find(name)?;
                self.attr_error(
                    &attr,
                    format!("{name} must be a fixed value, not an expression"),
                );
                None
            }
        }
    }

    /// `true`/`false` (any case, as .NET parses it), or an expression.
    pub(crate) fn flag(&mut self, name: &'static str) -> Option<Param<bool>> {
        let attr = self.raw(name)?;
        match self
            .el
            .cx
            .value(attr.range_value(), self.el.name(), false)?
        {
            Template::Expr(e) => Some(Param::Expr(e)),
            Template::Literal(l) => match l.as_str().trim().to_ascii_lowercase().as_str() {
                "true" => Some(Param::Value(true)),
                "false" => Some(Param::Value(false)),
                _ => {
                    self.attr_error(&attr, format!("{name} must be true or false"));
                    None
                }
            },
        }
    }

    /// One of a fixed set of keywords (no expressions, as in APIM).
    pub(crate) fn choice<T: Copy>(
        &mut self,
        name: &'static str,
        options: &[(&str, T)],
    ) -> Option<T> {
        let attr = self.raw(name)?;
        let value = attr.value().trim();
        if let Some((_, v)) = options.iter().find(|(k, _)| k.eq_ignore_ascii_case(value)) {
            return Some(*v);
        }
        let names: Vec<&str> = options.iter().map(|(k, _)| *k).collect();
        let list = match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => names.join(""),
        };
        self.attr_error(&attr, format!("{name} must be {list}"));
        None
    }

    /// Attributes APIM documents but Portico does not implement: refused by name.
    pub(crate) fn refuse(&mut self, names: &[&'static str], why: &str) {
        for &name in names {
            self.refused.push(name);
            if let Some(attr) = self.find(name) {
                self.attr_error(
                    &attr,
                    format!("the {name} attribute is not supported by Portico yet{why}"),
                );
            }
        }
    }

    /// Reports attributes that no reader asked for.
    pub(crate) fn finish(self) {
        for attr in self.el.node.attributes() {
            let name = attr.name();
            if attr.namespace().is_some()
                || self.seen.contains(&name)
                || self.refused.contains(&name)
            {
                continue;
            }
            let list = if self.seen.is_empty() {
                "it takes no attributes".to_owned()
            } else {
                format!("expected {}", self.seen.join(", "))
            };
            self.attr_error(&attr, format!("unknown attribute {}: {list}", attr.name()));
        }
    }
}
