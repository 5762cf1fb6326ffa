//! The .NET surface expressions call, split by area: `strings`, `numbers` (Parse, Math,
//! Convert), `encoding` (Base64, UTF-8, URI escaping, Guid), `time`, `json` (Newtonsoft), `seq`
//! (arrays, lists, dictionaries, LINQ), `ctxobj` (context dictionaries, bodies, messages,
//! certificates, JWT and Basic credentials), `crypto` (hashes, HMAC, AES) and `regex`. This module dispatches a member, call, indexer or
//! `new` to the area that knows the receiver, and reports what is missing when none does.

pub mod crypto;
mod ctxobj;
pub(crate) mod encoding;
mod json;
mod numbers;
pub mod regex;
mod seq;
mod strings;
mod time;
pub mod xml;

use super::ast::Lambda;
use super::catalog;
use super::error::EvalError;
use super::eval::Eval;
use super::types::Ty;
use super::value::Value;

/// Largest string an evaluation may build (bytes).
pub const MAX_LEN: usize = 16 * 1024 * 1024;
/// Largest array or list an evaluation may build.
pub const MAX_ITEMS: usize = 1024 * 1024;

/// A method call being dispatched: its name, evaluated arguments (`out` arguments start null
/// and are written back after the call), generic arguments and the lambda argument, if any.
#[derive(Debug)]
pub struct Call<'a> {
    pub name: &'a str,
    pub args: Vec<Value>,
    pub type_args: &'a [Ty],
    pub lambda: Option<&'a Lambda>,
}

impl Call<'_> {
    pub fn arg(&self, i: usize) -> &Value {
        self.args.get(i).unwrap_or(&Value::Null)
    }

    pub fn lambda(&self) -> Result<&Lambda, EvalError> {
        self.lambda.ok_or_else(|| {
            EvalError::msg(format!(
                "`{}` needs a lambda argument (`x => …`)",
                self.name
            ))
        })
    }

    /// The single generic argument, if written.
    pub fn type_arg(&self) -> Option<&Ty> {
        self.type_args.first()
    }
}

type Found = Result<Option<Value>, EvalError>;

pub fn static_prop(ev: &mut Eval<'_>, ty: &Ty, name: &str) -> Result<Value, EvalError> {
    let class = catalog::class_of(ty).unwrap_or("?");
    let found = match class {
        "DateTime" | "DateTimeOffset" | "TimeSpan" => time::static_prop(ev, class, name),
        "StringComparison" | "Formatting" => Some(Value::Enum(
            if class == "Formatting" {
                "Formatting"
            } else {
                "StringComparison"
            },
            catalog::STATIC_PROPS
                .iter()
                .flat_map(|(_, n)| n.iter())
                .find(|n| **n == name)
                .copied()
                .unwrap_or(""),
        )),
        "Encoding" => Some(Value::Encoding("UTF8")),
        "RegexOptions" => regex::static_prop(name),
        "string" if name == "Empty" => Some(Value::str("")),
        "Guid" if name == "Empty" => Some(Value::Guid(0)),
        _ => numbers::static_prop(class, name),
    };
    found.ok_or_else(|| EvalError::msg(format!("`{ty}.{name}` is not supported")))
}

pub fn call_static(ev: &mut Eval<'_>, ty: &Ty, call: &mut Call<'_>) -> Result<Value, EvalError> {
    let class = catalog::class_of(ty).unwrap_or("?");
    let found = match ty {
        Ty::Crypto(c) => crypto::static_call(*c, call)?,
        Ty::Regex => regex::static_call(call)?,
        _ => None,
    };
    if let Some(found) = found {
        return Ok(found);
    }
    let found = match class {
        "string" => strings::static_call(ev, call)?,
        "JObject" | "JArray" | "JToken" | "JsonConvert" => json::static_call(class, call)?,
        "DateTime" | "DateTimeOffset" | "TimeSpan" => time::static_call(ev, class, call)?,
        "Convert" | "Uri" | "WebUtility" | "Guid" | "BitConverter" => {
            match encoding::static_call(ev, class, call)? {
                Some(v) => Some(v),
                None => numbers::static_call(class, call)?,
            }
        }
        "Array" | "Enumerable" => seq::static_call(ev, class, call)?,
        "XDocument" | "XElement" => xml::static_call(class, call)?,
        _ => numbers::static_call(class, call)?,
    };
    found.ok_or_else(|| EvalError::msg(format!("`{ty}.{}(…)` is not supported", call.name)))
}

pub fn get_member(ev: &mut Eval<'_>, v: &Value, name: &str) -> Result<Value, EvalError> {
    let found = match v {
        Value::Str(s) if name == "Length" => Some(Value::Int(s.encode_utf16().count() as i32)),
        Value::Ctx(_) | Value::Headers(_) | Value::Message(_) | Value::Certificate(_) => {
            ctxobj::member(ev, v, name)?
        }
        Value::Jwt(_) | Value::Basic(_) => ctxobj::member(ev, v, name)?,
        Value::DateTime(_) | Value::DateTimeOffset(_) | Value::TimeSpan(_) => time::member(v, name),
        Value::Json(_) | Value::JProperty(_) => json::member(v, name)?,
        Value::Array(_) | Value::Dict(_) | Value::Pair(_) => seq::member(v, name),
        Value::Exception(m) if name == "Message" => Some(Value::Str(m.clone())),
        Value::Crypto(_) => crypto::member(v, name),
        Value::Regex(_) => regex::member(v, name),
        Value::Xml(x) => xml::member(x, name),
        _ => None,
    };
    found.ok_or_else(|| EvalError::msg(format!("{} has no member `{name}`", v.type_name())))
}

pub fn call_method(ev: &mut Eval<'_>, v: &Value, call: &mut Call<'_>) -> Result<Value, EvalError> {
    let found = match v {
        Value::Str(_) => strings::method(ev, v, call)?,
        Value::Json(_) | Value::JProperty(_) => json::method(ev, v, call)?,
        Value::DateTime(_) | Value::DateTimeOffset(_) | Value::TimeSpan(_) => {
            time::method(v, call)?
        }
        Value::Guid(_) | Value::Encoding(_) | Value::Random(_) => encoding::method(ev, v, call)?,
        Value::Int(_) | Value::Long(_) | Value::Double(_) | Value::Bool(_) | Value::Char(_) => {
            numbers::method(v, call)?
        }
        Value::Array(_) if matches!(call.name, "Encrypt" | "Decrypt") => {
            crypto::byte_method(v, call)?
        }
        Value::Array(_) | Value::Dict(_) => seq::method(ev, v, call)?,
        Value::Crypto(_) => crypto::method(v, call)?,
        Value::Regex(_) => regex::method(v, call)?,
        Value::Xml(x) => xml::method(x, call)?,
        Value::Ctx(_) | Value::Headers(_) | Value::Body(_) | Value::Certificate(_) => {
            ctxobj::method(ev, v, call)?
        }
        _ => None,
    };
    if let Some(found) = found {
        return Ok(found);
    }
    match call.name {
        "ToString" if call.args.is_empty() => Ok(Value::str(ev.stringify(v))),
        "Equals" if call.args.len() == 1 => Ok(Value::Bool(super::eval::equals(v, call.arg(0)))),
        // Deterministic (FNV-1a of the text), unlike .NET's per-process randomised hash.
        "GetHashCode" if call.args.is_empty() => {
            let hash = ev.stringify(v).bytes().fold(0x811c_9dc5_u32, |h, b| {
                (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
            });
            Ok(Value::Int(hash as i32))
        }
        name => Err(EvalError::msg(format!(
            "{} has no method `{name}` taking {} argument(s)",
            v.type_name(),
            call.args.len()
        ))),
    }
}

pub fn index(ev: &mut Eval<'_>, v: &Value, idx: &[Value]) -> Result<Value, EvalError> {
    let [i] = idx else {
        return Err(EvalError::msg(
            "only single-argument indexers `[i]` are supported",
        ));
    };
    let found = match v {
        Value::Str(s) => strings::char_at(s, i)?,
        Value::Json(_) => json::index(v, i)?,
        Value::Array(_) | Value::Dict(_) => seq::index(v, i)?,
        Value::Ctx(_) | Value::Headers(_) => ctxobj::index(ev, v, i)?,
        Value::Regex(_) => regex::index(v, i)?,
        _ => None,
    };
    found.ok_or_else(|| EvalError::msg(format!("{} cannot be indexed", v.type_name())))
}

pub fn set_index(ev: &mut Eval<'_>, v: &Value, idx: &[Value], new: Value) -> Result<(), EvalError> {
    let _ = ev;
    let [i] = idx else {
        return Err(EvalError::msg(
            "only single-argument indexers `[i]` are supported",
        ));
    };
    match v {
        Value::Json(_) => json::set_index(v, i, new),
        Value::Array(_) | Value::Dict(_) => seq::set_index(v, i, new),
        other => Err(EvalError::msg(format!(
            "{} is read-only: it cannot be assigned through `[…]`",
            other.type_name()
        ))),
    }
}

/// `obj.Name = value` and object initializers `new T { Name = value }`.
pub fn set_member(v: &Value, name: &str, new: &Value) -> Result<(), EvalError> {
    match v {
        Value::Crypto(obj) => crypto::set_member(obj, name, new),
        Value::Null => Err(EvalError::msg(format!(
            "null reference: `{name}` was assigned on a null value"
        ))),
        other => Err(EvalError::msg(format!(
            "{}.{name} cannot be assigned",
            other.type_name()
        ))),
    }
}

pub fn construct(
    ev: &mut Eval<'_>,
    ty: &Ty,
    args: Vec<Value>,
    init: Vec<Vec<Value>>,
) -> Result<Value, EvalError> {
    match ty {
        Ty::JObject | Ty::JArray | Ty::JProperty | Ty::JValue => json::construct(ty, args),
        Ty::List(_) | Ty::Dictionary(..) => seq::construct(ty, args, init),
        Ty::DateTime | Ty::DateTimeOffset | Ty::TimeSpan => time::construct(ty, &args),
        Ty::Guid | Ty::Random | Ty::Uri | Ty::String => encoding::construct(ev, ty, &args),
        Ty::Crypto(c) if c.is_hmac() => crypto::construct(*c, &args),
        Ty::Regex => regex::construct(&args),
        Ty::Exception => Ok(Value::Exception(
            super::convert::to_string(args.first().unwrap_or(&Value::Null)).into(),
        )),
        other => Err(EvalError::msg(format!("`new {other}(…)` is not supported"))),
    }
}

/// What `foreach` and LINQ enumerate.
pub fn iterate(ev: &mut Eval<'_>, v: &Value) -> Result<Vec<Value>, EvalError> {
    match v {
        Value::Str(s) => Ok(s.chars().map(Value::Char).collect()),
        Value::Json(_) => json::iterate(v),
        Value::Array(_) | Value::Dict(_) => Ok(seq::iterate(v)),
        Value::Ctx(_) | Value::Headers(_) => ctxobj::iterate(ev, v),
        Value::Regex(_) => regex::iterate(v)
            .ok_or_else(|| EvalError::msg(format!("{} cannot be enumerated", v.type_name()))),
        Value::Null => Err(EvalError::msg("null reference: cannot enumerate null")),
        other => Err(EvalError::msg(format!(
            "{} cannot be enumerated",
            other.type_name()
        ))),
    }
}

/// `{value:format}` in an interpolated string, and `ToString(format)`.
pub fn format_value(ev: &mut Eval<'_>, v: &Value, fmt: &str) -> Result<String, EvalError> {
    match v {
        Value::DateTime(_) | Value::DateTimeOffset(_) => time::format(v, fmt),
        Value::Int(_) | Value::Long(_) | Value::Double(_) => numbers::format(v, fmt),
        Value::Guid(g) => encoding::format_guid(*g, fmt),
        other => Ok(ev.stringify(other)),
    }
}
