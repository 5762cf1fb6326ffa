//! Bytes and identifiers: `Convert.ToBase64String`/`FromBase64String`, `Encoding.UTF8`,
//! `Uri.EscapeDataString`, `WebUtility`, `BitConverter`, `Guid` and `Random` (both seeded from
//! the context, never from a hidden source).

use std::fmt::Write;
use std::sync::{Arc, Mutex};

use base64::Engine;

use super::super::convert::{self, guid_to_string, need_bytes, need_i64, need_str};
use super::super::error::EvalError;
use super::super::eval::Eval;
use super::super::types::Ty;
use super::super::value::{lock, Value};
use super::{Call, Found, MAX_LEN};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// RFC 3986 unreserved characters stay; everything else is percent-encoded (as .NET does).
pub(crate) fn escape(s: &str, plus_for_space: bool) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' if plus_for_space => out.push('+'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

pub(crate) fn unescape(s: &str, plus_is_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |j: usize| bytes.get(j).and_then(|c| (*c as char).to_digit(16));
        match bytes[i] {
            b'%' if hex(i + 1).is_some() && hex(i + 2).is_some() => {
                out.push((hex(i + 1).unwrap_or(0) * 16 + hex(i + 2).unwrap_or(0)) as u8);
                i += 3;
                continue;
            }
            b'+' if plus_is_space => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(crate) fn html(s: &str, encode: bool) -> String {
    const MAP: [(&str, &str); 5] = [
        ("&", "&amp;"),
        ("<", "&lt;"),
        (">", "&gt;"),
        ("\"", "&quot;"),
        ("'", "&#39;"),
    ];
    let mut out = s.to_string();
    if encode {
        for (c, e) in MAP {
            out = out.replace(c, e);
        }
    } else {
        for (c, e) in MAP.iter().rev() {
            out = out.replace(e, c);
        }
    }
    out
}

pub fn parse_guid(s: &str) -> Option<u128> {
    let hex: String = s
        .trim()
        .trim_matches(|c| c == '{' || c == '}')
        .chars()
        .filter(|c| *c != '-')
        .collect();
    (hex.len() == 32)
        .then(|| u128::from_str_radix(&hex, 16).ok())
        .flatten()
}

/// .NET's mixed-endian byte layout of a Guid.
fn guid_bytes(g: u128) -> [u8; 16] {
    let mut b = g.to_be_bytes();
    b[0..4].reverse();
    b[4..6].reverse();
    b[6..8].reverse();
    b
}

pub fn new_guid(ev: &mut Eval<'_>) -> u128 {
    let raw = (u128::from(ev.ctx.random()) << 64) | u128::from(ev.ctx.random());
    // Version 4, RFC 4122 variant.
    (raw & !(0xF << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62)
}

pub fn static_call(ev: &mut Eval<'_>, class: &str, call: &mut Call<'_>) -> Found {
    let arg = |i: usize| call.arg(i);
    Ok(Some(match (class, call.name) {
        ("Convert", "ToBase64String") => Value::str(B64.encode(need_bytes(arg(0), "the bytes")?)),
        ("Convert", "FromBase64String") => {
            let s = need_str(arg(0), "the Base64 text")?;
            let clean: String = s.chars().filter(|c| !c.is_whitespace()).collect();
            Value::bytes(
                &B64.decode(clean)
                    .map_err(|e| EvalError::msg(format!("invalid Base64: {e}")))?,
            )
        }
        ("Convert", "ToString") => Value::str(ev.stringify(arg(0))),
        ("Uri", "EscapeDataString") => Value::str(escape(&need_str(arg(0), "the text")?, false)),
        ("Uri", "UnescapeDataString") => {
            Value::str(unescape(&need_str(arg(0), "the text")?, false))
        }
        ("WebUtility", name) => match arg(0) {
            Value::Null => Value::Null,
            v => {
                let s = need_str(v, "the text")?;
                Value::str(match name {
                    "UrlEncode" => escape(&s, true),
                    "UrlDecode" => unescape(&s, true),
                    "HtmlEncode" => html(&s, true),
                    _ => html(&s, false),
                })
            }
        },
        ("Guid", "NewGuid") => Value::Guid(new_guid(ev)),
        ("Guid", "Parse") => {
            let s = need_str(arg(0), "the Guid text")?;
            Value::Guid(
                parse_guid(&s).ok_or_else(|| EvalError::msg(format!("\"{s}\" is not a Guid")))?,
            )
        }
        ("Guid", "TryParse") => {
            let g = match arg(0) {
                Value::Str(s) => parse_guid(s),
                _ => None,
            };
            call.args[1] = Value::Guid(g.unwrap_or(0));
            Value::Bool(g.is_some())
        }
        ("BitConverter", "ToInt32") => {
            let bytes = need_bytes(arg(0), "the bytes")?;
            let at = need_i64(arg(1), "startIndex")?;
            let slice = usize::try_from(at).ok().and_then(|i| bytes.get(i..i + 4));
            let four: [u8; 4] = slice
                .and_then(|s| s.try_into().ok())
                .ok_or_else(|| EvalError::msg("BitConverter.ToInt32 reads beyond the array"))?;
            Value::Int(i32::from_le_bytes(four))
        }
        ("BitConverter", "ToString") => {
            let bytes = need_bytes(arg(0), "the bytes")?;
            Value::str(
                bytes
                    .iter()
                    .map(|b| format!("{b:02X}"))
                    .collect::<Vec<_>>()
                    .join("-"),
            )
        }
        _ => return Ok(None),
    }))
}

fn next_random(state: &Mutex<u64>) -> u64 {
    // xorshift64*: small, fast and good enough for load balancing.
    let mut s = lock(state);
    let mut x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    x.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

pub fn method(ev: &mut Eval<'_>, v: &Value, call: &mut Call<'_>) -> Found {
    let arg = |i: usize| call.arg(i);
    Ok(Some(match (v, call.name) {
        (Value::Guid(g), "ToString") => Value::str(format_guid(
            *g,
            &match arg(0) {
                Value::Null => String::new(),
                f => need_str(f, "the format")?.to_string(),
            },
        )?),
        (Value::Guid(g), "ToByteArray") => Value::bytes(&guid_bytes(*g)),
        (Value::Encoding(_), "GetBytes") => Value::bytes(need_str(arg(0), "the text")?.as_bytes()),
        (Value::Encoding(_), "GetString") => {
            let bytes = need_bytes(arg(0), "the bytes")?;
            let bytes = match call.args.len() {
                3 => {
                    let (i, n) = (need_i64(arg(1), "index")?, need_i64(arg(2), "count")?);
                    let range = usize::try_from(i)
                        .ok()
                        .zip(usize::try_from(n).ok())
                        .and_then(|(i, n)| bytes.get(i..i.checked_add(n)?));
                    range
                        .ok_or_else(|| {
                            EvalError::msg("GetString: index and count are outside the array")
                        })?
                        .to_vec()
                }
                _ => bytes,
            };
            Value::str(String::from_utf8_lossy(&bytes).into_owned())
        }
        (Value::Random(state), "Next") => {
            let r = next_random(state) >> 33;
            let (lo, hi) = match call.args.len() {
                0 => (0, i64::from(i32::MAX)),
                1 => (0, need_i64(arg(0), "maxValue")?),
                _ => (need_i64(arg(0), "minValue")?, need_i64(arg(1), "maxValue")?),
            };
            if hi < lo {
                return Err(EvalError::msg(
                    "Random.Next: minValue is greater than maxValue",
                ));
            }
            let span = (hi - lo) as u64;
            Value::Int((lo + if span == 0 { 0 } else { (r % span) as i64 }) as i32)
        }
        (Value::Random(state), "NextDouble") => {
            Value::Double((next_random(state) >> 11) as f64 / (1u64 << 53) as f64)
        }
        _ => {
            let _ = ev;
            return Ok(None);
        }
    }))
}

pub fn construct(ev: &mut Eval<'_>, ty: &Ty, args: &[Value]) -> Result<Value, EvalError> {
    Ok(match (ty, args) {
        (Ty::Guid, [Value::Str(s)]) => Value::Guid(
            parse_guid(s).ok_or_else(|| EvalError::msg(format!("\"{s}\" is not a Guid")))?,
        ),
        (Ty::Guid, [bytes @ Value::Array(_)]) => {
            let b: [u8; 16] = need_bytes(bytes, "the bytes")?
                .try_into()
                .map_err(|_| EvalError::msg("new Guid(byte[]) needs exactly 16 bytes"))?;
            Value::Guid(u128::from_be_bytes(guid_bytes(u128::from_be_bytes(b))))
        }
        (Ty::Guid, []) => Value::Guid(0),
        (Ty::Random, []) => Value::Random(Arc::new(Mutex::new(ev.ctx.random() | 1))),
        (Ty::Random, [seed]) => Value::Random(Arc::new(Mutex::new(
            (need_i64(seed, "the seed")? as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
        ))),
        (Ty::Uri, [s]) => Value::Str(need_str(s, "the URI")?),
        (Ty::String, [Value::Char(c), n]) => {
            let n = usize::try_from(need_i64(n, "the count")?)
                .ok()
                .filter(|n| *n <= MAX_LEN)
                .ok_or_else(|| EvalError::msg("new string(c, n): n is out of range"))?;
            Value::str(std::iter::repeat_n(*c, n).collect::<String>())
        }
        (Ty::String, [chars @ Value::Array(_)]) => Value::str(
            ev.iterate(chars)?
                .iter()
                .map(convert::to_string)
                .collect::<String>(),
        ),
        _ => {
            return Err(EvalError::msg(format!(
                "new {ty}(…) with these arguments is not supported"
            )))
        }
    })
}

/// Guid formats: "D" (default), "N", "B", "P".
pub fn format_guid(g: u128, fmt: &str) -> Result<String, EvalError> {
    let d = guid_to_string(g);
    Ok(match fmt {
        "" | "D" | "d" => d,
        "N" | "n" => d.replace('-', ""),
        "B" | "b" => format!("{{{d}}}"),
        "P" | "p" => format!("({d})"),
        other => {
            return Err(EvalError::msg(format!(
                "Guid format \"{other}\" is not supported; use D, N, B or P"
            )))
        }
    })
}
