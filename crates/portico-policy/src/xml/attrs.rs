//! Reading a policy element's attributes: required, optional, typed, keyword and refused
//! attributes, with "unknown attribute" reported for whatever no policy asked for. Every
//! policy reads its attributes through this one helper.

use std::str::FromStr;

use super::reader::El;
use crate::template::{Param, Template};

/// Reads an element's attributes; [`Attrs::finish`] reports the ones nobody asked for.
pub(crate) struct Attrs<'a, 'i> {
    el: El<'a, 'i>,
    seen: Vec<&'static str>,
    refused: Vec<&'static str>,
}

impl<'a, 'i> Attrs<'a, 'i> {
    pub(super) fn new(el: El<'a, 'i>) -> Self {
        Self {
            el,
            seen: Vec::new(),
            refused: Vec::new(),
        }
    }

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
