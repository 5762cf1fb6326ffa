//! Policy values: literal text or a compiled expression, and typed attribute values that may
//! also be expressions. Values that a secret named value went into are marked, and their
//! `Debug` output hides them.

use std::fmt;
use std::sync::Arc;

use crate::expr::Expression;

/// A value written in a policy: text, or an `@(…)`/`@{…}` expression evaluated per request.
#[derive(Clone)]
pub enum Template {
    Literal(Literal),
    Expr(Expr),
}

impl Template {
    pub fn as_literal(&self) -> Option<&str> {
        match self {
            Template::Literal(l) => Some(l.as_str()),
            Template::Expr(_) => None,
        }
    }

    pub fn is_secret(&self) -> bool {
        match self {
            Template::Literal(l) => l.secret,
            Template::Expr(e) => e.secret,
        }
    }
}

impl fmt::Debug for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Template::Literal(l) => l.fmt(f),
            Template::Expr(e) => e.fmt(f),
        }
    }
}

/// Literal text (entities decoded, named values substituted).
#[derive(Clone, PartialEq, Eq)]
pub struct Literal {
    text: String,
    secret: bool,
}

impl Literal {
    pub(crate) fn new(text: String, secret: bool) -> Self {
        Self { text, secret }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether a secret named value went into this text (keep it out of logs and traces).
    pub fn is_secret(&self) -> bool {
        self.secret
    }
}

impl fmt::Debug for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.secret {
            f.write_str("Literal(<secret>)")
        } else {
            write!(f, "Literal({:?})", self.text)
        }
    }
}

/// A compiled expression. Cloning is cheap: composition shares one compiled expression
/// between every pipeline that contains it.
#[derive(Clone)]
pub struct Expr {
    expression: Arc<Expression>,
    secret: bool,
}

impl Expr {
    pub(crate) fn new(expression: Expression, secret: bool) -> Self {
        Self {
            expression: Arc::new(expression),
            secret,
        }
    }

    pub fn expression(&self) -> &Expression {
        &self.expression
    }

    /// Whether a secret named value went into the source (never log the source then).
    pub fn is_secret(&self) -> bool {
        self.secret
    }
}

impl fmt::Debug for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.secret {
            f.write_str("Expr(<secret>)")
        } else {
            write!(f, "Expr({:?})", self.expression.source())
        }
    }
}

/// A typed attribute that APIM also allows to be an expression (a status code, a timeout):
/// checked at compile time when it is a constant, converted at run time otherwise.
#[derive(Debug, Clone)]
pub enum Param<T> {
    Value(T),
    Expr(Expr),
}

impl<T: Copy> Param<T> {
    pub fn as_value(&self) -> Option<T> {
        match self {
            Param::Value(v) => Some(*v),
            Param::Expr(_) => None,
        }
    }
}
