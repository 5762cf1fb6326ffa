//! Turning policy values into what a step needs: templates into text or values, typed
//! attributes (`Param<T>`) into numbers and flags. Literals cost nothing; expressions were
//! compiled with the snapshot and are only evaluated here.

use super::context::Ctx;
use super::failure::Failure;
use portico_policy::expr::Value;
use portico_policy::{Param, Template};
use std::borrow::Cow;

/// A template as text (`null` becomes empty, anything else its `ToString()`).
pub fn text<'t>(t: &'t Template, cx: &mut Ctx<'_, '_>) -> Result<Cow<'t, str>, Failure> {
    match t {
        Template::Literal(l) => Ok(Cow::Borrowed(l.as_str())),
        Template::Expr(e) => e
            .expression()
            .evaluate_to_string(cx)
            .map(Cow::Owned)
            .map_err(|e| Failure::expression(&e)),
    }
}

/// A template as a value: a literal is a string, an expression keeps its type.
pub fn value(t: &Template, cx: &mut Ctx<'_, '_>) -> Result<Value, Failure> {
    match t {
        Template::Literal(l) => Ok(Value::str(l.as_str())),
        Template::Expr(e) => e
            .expression()
            .evaluate(cx)
            .map_err(|e| Failure::expression(&e)),
    }
}

/// A typed attribute's value.
pub fn param<T: FromValue>(p: &Param<T>, cx: &mut Ctx<'_, '_>) -> Result<T, Failure> {
    match p {
        Param::Value(v) => Ok(*v),
        Param::Expr(e) => {
            let v = e
                .expression()
                .evaluate(cx)
                .map_err(|e| Failure::expression(&e))?;
            T::from_value(&v).ok_or_else(|| {
                Failure::policy(
                    "InvalidValue",
                    format!("The expression gave {}, not {}.", v.type_name(), T::WHAT),
                )
            })
        }
    }
}

/// Types a `Param` can hold.
pub trait FromValue: Copy {
    const WHAT: &'static str;
    fn from_value(v: &Value) -> Option<Self>;
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(f64::from(*i)),
        Value::Long(l) => Some(*l as f64),
        Value::Double(d) => Some(*d),
        Value::Str(s) => s.trim().parse().ok(),
        _ => None,
    }
}

impl FromValue for bool {
    const WHAT: &'static str = "a bool";
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Bool(b) => Some(*b),
            Value::Str(s) => s.trim().to_ascii_lowercase().parse().ok(),
            _ => None,
        }
    }
}

impl FromValue for f64 {
    const WHAT: &'static str = "a number";
    fn from_value(v: &Value) -> Option<Self> {
        number(v).filter(|n| n.is_finite())
    }
}

impl FromValue for u16 {
    const WHAT: &'static str = "a status code";
    fn from_value(v: &Value) -> Option<Self> {
        number(v)
            .filter(|n| n.fract() == 0.0 && (100.0..=599.0).contains(n))
            .map(|n| n as u16)
    }
}

impl FromValue for u32 {
    const WHAT: &'static str = "a whole number";
    fn from_value(v: &Value) -> Option<Self> {
        number(v)
            .filter(|n| n.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(n))
            .map(|n| n as u32)
    }
}
