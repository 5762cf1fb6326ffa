//! C# operators on values: numeric promotion (int → long → double, with wrapping integer
//! arithmetic as in unchecked C#), string concatenation, date and time arithmetic, comparison
//! and equality (value equality for scalars and strings, reference equality for objects).

use std::cmp::Ordering;
use std::sync::Arc;

use super::super::ast::{BinOp, UnOp};
use super::super::error::EvalError;
use super::super::time::{DateTime, DateTimeOffset, TimeSpan, TICKS_PER_SECOND};
use super::super::value::{Value, XmlRef};
use super::Eval;

enum Num {
    I(i32),
    L(i64),
    D(f64),
}

fn num(v: &Value) -> Option<Num> {
    Some(match v {
        Value::Int(i) => Num::I(*i),
        Value::Long(i) => Num::L(*i),
        Value::Double(d) => Num::D(*d),
        Value::Char(c) => Num::I(u32::from(*c) as i32),
        Value::Json(r) => match r.get()? {
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Num::L(i),
                None => Num::D(n.as_f64()?),
            },
            _ => return None,
        },
        _ => return None,
    })
}

fn as_f64(n: &Num) -> f64 {
    match n {
        Num::I(i) => f64::from(*i),
        Num::L(i) => *i as f64,
        Num::D(d) => *d,
    }
}

fn as_i64(n: &Num) -> i64 {
    match n {
        Num::I(i) => i64::from(*i),
        Num::L(i) => *i,
        Num::D(d) => *d as i64,
    }
}

pub fn unary(op: UnOp, v: &Value) -> Result<Value, EvalError> {
    Ok(match (op, v) {
        (UnOp::Not, Value::Bool(b)) => Value::Bool(!b),
        (UnOp::Neg, Value::TimeSpan(t)) => Value::TimeSpan(TimeSpan(-t.0)),
        (UnOp::Plus, _) if num(v).is_some() => v.clone(),
        (UnOp::Neg, _) => match num(v) {
            Some(Num::I(i)) => Value::Int(i.wrapping_neg()),
            Some(Num::L(i)) => Value::Long(i.wrapping_neg()),
            Some(Num::D(d)) => Value::Double(-d),
            None => return Err(bad_operand("-", v)),
        },
        (UnOp::BitNot, Value::Int(i)) => Value::Int(!i),
        (UnOp::BitNot, Value::Long(i)) => Value::Long(!i),
        (UnOp::Not, _) => return Err(bad_operand("!", v)),
        (UnOp::Plus, _) => return Err(bad_operand("+", v)),
        (UnOp::BitNot, _) => return Err(bad_operand("~", v)),
    })
}

fn bad_operand(op: &str, v: &Value) -> EvalError {
    EvalError::msg(format!(
        "operator `{op}` cannot be applied to {}",
        v.type_name()
    ))
}

fn bad_operands(op: BinOp, l: &Value, r: &Value) -> EvalError {
    EvalError::msg(format!(
        "operator {op:?} cannot be applied to {} and {}",
        l.type_name(),
        r.type_name()
    ))
}

pub fn binary(ev: &mut Eval<'_>, op: BinOp, l: &Value, r: &Value) -> Result<Value, EvalError> {
    match op {
        BinOp::Eq => return Ok(Value::Bool(equals(l, r))),
        BinOp::Ne => return Ok(Value::Bool(!equals(l, r))),
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
            let ord = compare(l, r).ok_or_else(|| bad_operands(op, l, r))?;
            return Ok(Value::Bool(match op {
                BinOp::Lt => ord == Ordering::Less,
                BinOp::Le => ord != Ordering::Greater,
                BinOp::Gt => ord == Ordering::Greater,
                _ => ord != Ordering::Less,
            }));
        }
        _ => {}
    }
    let is_text = |v: &Value| {
        matches!(v, Value::Str(_))
            || matches!(v, Value::Json(j) if j.with(|t| t.is_string()).unwrap_or(false))
    };
    if op == BinOp::Add
        && (matches!(l, Value::Str(_)) || matches!(r, Value::Str(_)) || (is_text(l) && is_text(r)))
    {
        let mut s = ev.stringify(l);
        match r {
            Value::Str(r) => s.push_str(r),
            other => s.push_str(&ev.stringify(other)),
        }
        if s.len() > super::super::builtins::MAX_LEN {
            return Err(EvalError::msg("string grew beyond the 16 MiB limit"));
        }
        return Ok(Value::Str(Arc::from(s)));
    }
    if let Some(v) = time_op(op, l, r) {
        return Ok(v);
    }
    if let (Value::Bool(a), Value::Bool(b)) = (l, r) {
        return Ok(Value::Bool(match op {
            BinOp::BitAnd => a & b,
            BinOp::BitOr => a | b,
            BinOp::BitXor => a ^ b,
            _ => return Err(bad_operands(op, l, r)),
        }));
    }
    let (Some(a), Some(b)) = (num(l), num(r)) else {
        return Err(bad_operands(op, l, r));
    };
    if matches!(op, BinOp::Shl | BinOp::Shr) {
        let n = as_i64(&b) as u32;
        return Ok(match a {
            Num::I(i) if op == BinOp::Shl => Value::Int(i.wrapping_shl(n & 31)),
            Num::I(i) => Value::Int(i.wrapping_shr(n & 31)),
            Num::L(i) if op == BinOp::Shl => Value::Long(i.wrapping_shl(n & 63)),
            Num::L(i) => Value::Long(i.wrapping_shr(n & 63)),
            Num::D(_) => return Err(bad_operands(op, l, r)),
        });
    }
    match (&a, &b) {
        (Num::D(_), _) | (_, Num::D(_)) => {
            let (x, y) = (as_f64(&a), as_f64(&b));
            Ok(Value::Double(match op {
                BinOp::Add => x + y,
                BinOp::Sub => x - y,
                BinOp::Mul => x * y,
                BinOp::Div => x / y,
                BinOp::Rem => x % y,
                _ => return Err(bad_operands(op, l, r)),
            }))
        }
        (Num::I(x), Num::I(y)) => match int_op(op, i64::from(*x), i64::from(*y)) {
            Some(r) => r.map(|v| Value::Int(v as i32)),
            None => Err(bad_operands(op, l, r)),
        },
        _ => match int_op(op, as_i64(&a), as_i64(&b)) {
            Some(r) => r.map(Value::Long),
            None => Err(bad_operands(op, l, r)),
        },
    }
}

/// Integer arithmetic; `None` for an operator that does not apply, `Some(Err)` for x / 0.
fn int_op(op: BinOp, x: i64, y: i64) -> Option<Result<i64, EvalError>> {
    let zero = || EvalError::msg("division by zero");
    Some(Ok(match op {
        BinOp::Add => x.wrapping_add(y),
        BinOp::Sub => x.wrapping_sub(y),
        BinOp::Mul => x.wrapping_mul(y),
        BinOp::Div if y == 0 => return Some(Err(zero())),
        BinOp::Div => x.wrapping_div(y),
        BinOp::Rem if y == 0 => return Some(Err(zero())),
        BinOp::Rem => x.wrapping_rem(y),
        BinOp::BitAnd => x & y,
        BinOp::BitOr => x | y,
        BinOp::BitXor => x ^ y,
        _ => return None,
    }))
}

fn time_op(op: BinOp, l: &Value, r: &Value) -> Option<Value> {
    let shift = |t: i64, s: i64| {
        if op == BinOp::Add {
            t.checked_add(s)
        } else {
            t.checked_sub(s)
        }
    };
    Some(match (l, r, op) {
        (Value::DateTime(a), Value::DateTime(b), BinOp::Sub) => {
            Value::TimeSpan(TimeSpan(a.ticks - b.ticks))
        }
        (Value::DateTimeOffset(a), Value::DateTimeOffset(b), BinOp::Sub) => {
            Value::TimeSpan(TimeSpan(utc_ticks(a) - utc_ticks(b)))
        }
        (Value::DateTime(a), Value::TimeSpan(t), BinOp::Add | BinOp::Sub) => {
            Value::DateTime(DateTime {
                ticks: shift(a.ticks, t.0)?,
                kind: a.kind,
            })
        }
        (Value::DateTimeOffset(a), Value::TimeSpan(t), BinOp::Add | BinOp::Sub) => {
            Value::DateTimeOffset(DateTimeOffset {
                ticks: shift(a.ticks, t.0)?,
                offset_minutes: a.offset_minutes,
            })
        }
        (Value::TimeSpan(a), Value::TimeSpan(b), BinOp::Add | BinOp::Sub) => {
            Value::TimeSpan(TimeSpan(shift(a.0, b.0)?))
        }
        _ => return None,
    })
}

pub fn utc_ticks(d: &DateTimeOffset) -> i64 {
    d.ticks - i64::from(d.offset_minutes) * 60 * TICKS_PER_SECOND
}

fn json_scalar(v: &Value) -> Option<Value> {
    let Value::Json(r) = v else { return None };
    r.with(|t| match t {
        serde_json::Value::String(s) => Some(Value::str(s.as_str())),
        serde_json::Value::Bool(b) => Some(Value::Bool(*b)),
        serde_json::Value::Number(_) => None,
        _ => None,
    })
    .flatten()
}

/// `==`: values for scalars and strings (a JValue compares by its value, which is what policy
/// authors mean by `json["a"] == "x"`), references for objects.
pub fn equals(l: &Value, r: &Value) -> bool {
    if let Some(j) = json_scalar(l) {
        return equals(&j, r);
    }
    if let Some(j) = json_scalar(r) {
        return equals(l, &j);
    }
    if let (Some(a), Some(b)) = (num(l), num(r)) {
        return match (&a, &b) {
            (Num::D(_), _) | (_, Num::D(_)) => as_f64(&a) == as_f64(&b),
            _ => as_i64(&a) == as_i64(&b),
        };
    }
    match (l, r) {
        (Value::Null, x) | (x, Value::Null) => x.is_null(),
        (Value::Bool(a), Value::Bool(b)) => a == b,
        (Value::Str(a), Value::Str(b)) => a == b,
        (Value::DateTime(a), Value::DateTime(b)) => a.ticks == b.ticks,
        (Value::DateTimeOffset(a), Value::DateTimeOffset(b)) => utc_ticks(a) == utc_ticks(b),
        (Value::TimeSpan(a), Value::TimeSpan(b)) => a == b,
        (Value::Guid(a), Value::Guid(b)) => a == b,
        (Value::Enum(a, x), Value::Enum(b, y)) => a == b && x == y,
        (Value::Ctx(a), Value::Ctx(b)) => a == b,
        (Value::Array(a), Value::Array(b)) => Arc::ptr_eq(a, b),
        (Value::Dict(a), Value::Dict(b)) => Arc::ptr_eq(a, b),
        (Value::Json(a), Value::Json(b)) | (Value::JProperty(a), Value::JProperty(b)) => a.same(b),
        (Value::Jwt(a), Value::Jwt(b)) => Arc::ptr_eq(a, b),
        (Value::Message(a), Value::Message(b)) => Arc::ptr_eq(a, b),
        (Value::Certificate(a), Value::Certificate(b)) => a == b,
        (Value::Xml(a), Value::Xml(b)) => super::super::builtins::xml::same(a, b),
        // An XName compares with a string through .NET's implicit conversion.
        (Value::Xml(n @ XmlRef::Name(..)), Value::Str(s))
        | (Value::Str(s), Value::Xml(n @ XmlRef::Name(..))) => {
            super::super::builtins::xml::to_string(n) == **s
        }
        _ => false,
    }
}

/// Ordering for `<`, `>`, …, `OrderBy`, `Min`, `Max`; `None` when the values do not compare.
pub fn compare(l: &Value, r: &Value) -> Option<Ordering> {
    if let (Some(a), Some(b)) = (num(l), num(r)) {
        return match (&a, &b) {
            (Num::D(_), _) | (_, Num::D(_)) => as_f64(&a).partial_cmp(&as_f64(&b)),
            _ => Some(as_i64(&a).cmp(&as_i64(&b))),
        };
    }
    match (l, r) {
        (Value::Str(a), Value::Str(b)) => Some(a.cmp(b)),
        (Value::DateTime(a), Value::DateTime(b)) => Some(a.ticks.cmp(&b.ticks)),
        (Value::DateTimeOffset(a), Value::DateTimeOffset(b)) => {
            Some(utc_ticks(a).cmp(&utc_ticks(b)))
        }
        (Value::TimeSpan(a), Value::TimeSpan(b)) => Some(a.cmp(b)),
        _ => None,
    }
}
