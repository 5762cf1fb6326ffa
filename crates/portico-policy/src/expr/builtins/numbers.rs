//! Numbers and booleans: `int/long/double/bool.Parse` and `TryParse` (with `out`), numeric
//! `Convert.ToInt32` and friends, `Math`, `char.IsDigit`…, and number `ToString(format)`.

use super::super::convert::{self, double_to_string, need_f64, need_i64, need_str};
use super::super::error::EvalError;
use super::super::types::Ty;
use super::super::value::Value;
use super::{Call, Found};

pub fn static_prop(class: &str, name: &str) -> Option<Value> {
    Some(match (class, name) {
        ("int", "MaxValue") => Value::Int(i32::MAX),
        ("int", "MinValue") => Value::Int(i32::MIN),
        ("long", "MaxValue") => Value::Long(i64::MAX),
        ("long", "MinValue") => Value::Long(i64::MIN),
        ("double", "MaxValue") => Value::Double(f64::MAX),
        ("double", "MinValue") => Value::Double(f64::MIN),
        ("double", "NaN") => Value::Double(f64::NAN),
        ("double", "PositiveInfinity") => Value::Double(f64::INFINITY),
        ("double", "NegativeInfinity") => Value::Double(f64::NEG_INFINITY),
        ("double", "Epsilon") => Value::Double(f64::from_bits(1)),
        ("Math", "PI") => Value::Double(std::f64::consts::PI),
        ("Math", "E") => Value::Double(std::f64::consts::E),
        _ => return None,
    })
}

/// Parses text as the class's type; `None` when it is not valid.
fn parse(class: &str, s: &str) -> Option<Value> {
    let s = s.trim();
    Some(match class {
        "int" => Value::Int(s.parse().ok()?),
        "long" => Value::Long(s.parse().ok()?),
        "byte" => Value::Int(i32::from(s.parse::<u8>().ok()?)),
        "double" => Value::Double(s.parse().ok().filter(|_| !s.is_empty())?),
        "bool" => match s.to_ascii_lowercase().as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return None,
        },
        _ => return None,
    })
}

fn zero(class: &str) -> Value {
    match class {
        "long" => Value::Long(0),
        "double" => Value::Double(0.0),
        "bool" => Value::Bool(false),
        _ => Value::Int(0),
    }
}

pub fn static_call(class: &str, call: &mut Call<'_>) -> Found {
    let arg = |i: usize| call.arg(i);
    Ok(Some(match (class, call.name) {
        (_, "Parse") => {
            let s = need_str(arg(0), "the text")?;
            parse(class, &s)
                .ok_or_else(|| EvalError::msg(format!("\"{s}\" is not a valid {class}")))?
        }
        (_, "TryParse") => {
            let parsed = match arg(0) {
                Value::Str(s) => parse(class, s),
                _ => None,
            };
            let ok = parsed.is_some();
            call.args[1] = parsed.unwrap_or_else(|| zero(class));
            Value::Bool(ok)
        }
        ("char", name) => {
            let c = match arg(0) {
                Value::Char(c) => *c,
                other => {
                    return Err(EvalError::msg(format!(
                        "char.{name} takes a char, not {}",
                        other.type_name()
                    )))
                }
            };
            Value::Bool(match name {
                "IsDigit" => c.is_ascii_digit(),
                "IsLetter" => c.is_alphabetic(),
                "IsLetterOrDigit" => c.is_alphanumeric(),
                "IsWhiteSpace" => c.is_whitespace(),
                "IsUpper" => c.is_uppercase(),
                _ => c.is_lowercase(),
            })
        }
        ("Convert", "ToInt32" | "ToInt64" | "ToDouble" | "ToBoolean" | "ToByte") => {
            let ty = match call.name {
                "ToInt32" => Ty::Int,
                "ToInt64" => Ty::Long,
                "ToDouble" => Ty::Double,
                "ToByte" => Ty::Byte,
                _ => Ty::Bool,
            };
            if let (Value::Str(s), Some(base)) = (arg(0), call.args.get(1)) {
                let base = need_i64(base, "the base")? as u32;
                let v = i64::from_str_radix(s.trim(), base)
                    .map_err(|_| EvalError::msg(format!("\"{s}\" is not a base-{base} number")))?;
                return Ok(Some(convert::cast(&Value::Long(v), &ty)?));
            }
            match arg(0) {
                Value::Null => zero(class_ty_name(&ty)),
                Value::Double(d) if ty != Ty::Double => {
                    convert::cast(&Value::Double(d.round_ties_even()), &ty)?
                }
                v if ty == Ty::Byte => {
                    let i = need_i64(&convert::cast(v, &Ty::Long)?, "the value")?;
                    u8::try_from(i)
                        .map(|b| Value::Int(i32::from(b)))
                        .map_err(|_| EvalError::msg(format!("{i} does not fit in a byte")))?
                }
                v => convert::cast(v, &ty)?,
            }
        }
        ("Math", "Abs") => match arg(0) {
            Value::Int(i) => Value::Int(i.wrapping_abs()),
            Value::Long(i) => Value::Long(i.wrapping_abs()),
            v => Value::Double(need_f64(v, "the value")?.abs()),
        },
        ("Math", "Min" | "Max") => {
            let (a, b) = (arg(0), arg(1));
            let less = super::super::eval::compare(a, b)
                .ok_or_else(|| EvalError::msg("Math.Min/Max take two numbers"))?
                == std::cmp::Ordering::Less;
            let pick = if (call.name == "Min") == less { a } else { b };
            match (a, b) {
                (Value::Int(_), Value::Int(_)) | (Value::Long(_), Value::Long(_)) => pick.clone(),
                (Value::Double(_), _) | (_, Value::Double(_)) => {
                    Value::Double(need_f64(pick, "the value")?)
                }
                _ => Value::Long(need_i64(pick, "the value")?),
            }
        }
        ("Math", "Round") => {
            let x = need_f64(arg(0), "the value")?;
            let digits = if call.args.len() > 1 {
                need_i64(arg(1), "the digits")?.clamp(0, 15) as i32
            } else {
                0
            };
            let scale = 10f64.powi(digits);
            Value::Double((x * scale).round_ties_even() / scale)
        }
        ("Math", "Floor") => Value::Double(need_f64(arg(0), "the value")?.floor()),
        ("Math", "Ceiling") => Value::Double(need_f64(arg(0), "the value")?.ceil()),
        ("Math", "Sqrt") => Value::Double(need_f64(arg(0), "the value")?.sqrt()),
        ("Math", "Pow") => {
            Value::Double(need_f64(arg(0), "the base")?.powf(need_f64(arg(1), "the exponent")?))
        }
        _ => return Ok(None),
    }))
}

fn class_ty_name(ty: &Ty) -> &'static str {
    match ty {
        Ty::Long => "long",
        Ty::Double => "double",
        Ty::Bool => "bool",
        _ => "int",
    }
}

pub fn method(v: &Value, call: &mut Call<'_>) -> Found {
    Ok(Some(match call.name {
        "ToString" if !call.args.is_empty() => {
            Value::str(format(v, &need_str(call.arg(0), "the format")?)?)
        }
        "CompareTo" => Value::Int(match super::super::eval::compare(v, call.arg(0)) {
            Some(std::cmp::Ordering::Less) => -1,
            Some(std::cmp::Ordering::Greater) => 1,
            _ => 0,
        }),
        _ => return Ok(None),
    }))
}

/// Most digits a numeric format may ask for.
const MAX_FORMAT_DIGITS: usize = 99;

/// Standard numeric formats: D/Dn, N/Nn, F/Fn, X/x, and "0000"-style zero padding.
pub fn format(v: &Value, fmt: &str) -> Result<String, EvalError> {
    let (kind, digits) = fmt.split_at(fmt.chars().next().map_or(0, char::len_utf8));
    let digits: Option<usize> = if digits.is_empty() {
        None
    } else {
        digits.parse().ok()
    };
    // .NET Framework's limit; also keeps `ToString("n99999")` from building huge strings.
    if digits.is_some_and(|d| d > MAX_FORMAT_DIGITS) || fmt.len() > MAX_FORMAT_DIGITS + 1 {
        return Err(EvalError::msg(format!(
            "the numeric format {fmt:?} asks for more than {MAX_FORMAT_DIGITS} digits"
        )));
    }
    let int = || need_i64(v, "the number");
    Ok(match kind {
        "D" | "d" => {
            let i = int()?;
            let w = digits.unwrap_or(0);
            if i < 0 {
                format!("-{:0w$}", i.unsigned_abs())
            } else {
                format!("{i:0w$}")
            }
        }
        "X" | "x" => {
            let i = int()?;
            let w = digits.unwrap_or(0);
            let s = match v {
                Value::Int(x) => format!("{:0w$x}", *x as u32),
                _ => format!("{:0w$x}", i as u64),
            };
            if kind == "X" {
                s.to_uppercase()
            } else {
                s
            }
        }
        "F" | "f" | "N" | "n" => {
            let x = need_f64(v, "the number")?;
            let s = format!("{:.*}", digits.unwrap_or(2), x);
            if kind.eq_ignore_ascii_case("n") {
                group_thousands(&s)
            } else {
                s
            }
        }
        _ if !fmt.is_empty() && fmt.chars().all(|c| c == '0') => {
            format!("{:0w$}", int()?, w = fmt.len())
        }
        "" => convert::to_string(v),
        _ => match v {
            Value::Double(d) if fmt == "R" || fmt == "G" => double_to_string(*d),
            _ => {
                return Err(EvalError::msg(format!(
                    "number format \"{fmt}\" is not supported; use D, N, F, X or 000…"
                )))
            }
        },
    })
}

fn group_thousands(s: &str) -> String {
    let (sign, s) = s.strip_prefix('-').map_or(("", s), |r| ("-", r));
    let (int, frac) = s.split_once('.').map_or((s, None), |(a, b)| (a, Some(b)));
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{out}.{f}"),
        None => format!("{sign}{out}"),
    }
}
