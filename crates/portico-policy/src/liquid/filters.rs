//! The filters APIM documents for `set-body` Liquid templates, with PascalCase names as APIM
//! requires, behaving as DotLiquid's default (2.0) syntax does: `Replace`, `ReplaceFirst` and
//! `RemoveFirst` take a regular expression, `Plus` on a string appends, `Capitalize`
//! capitalizes every word, `Sort` ignores case. A filter name in Shopify's snake_case (or any
//! other spelling) is refused at load time with the PascalCase name to use.

use super::value::{self, LValue};
use crate::expr::{dotnet, DateTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Filter {
    Abs,
    Append,
    AtLeast,
    AtMost,
    Capitalize,
    Compact,
    Currency,
    Date,
    Default,
    DividedBy,
    Downcase,
    Escape,
    First,
    Join,
    Last,
    Lstrip,
    Map,
    Minus,
    Modulo,
    NewlineToBr,
    Plus,
    Prepend,
    Remove,
    RemoveFirst,
    Replace,
    ReplaceFirst,
    Round,
    Rstrip,
    Size,
    Slice,
    Sort,
    Split,
    Strip,
    StripHtml,
    StripNewlines,
    Times,
    Truncate,
    TruncateWords,
    Uniq,
    Upcase,
    UrlDecode,
    UrlEncode,
}

use Filter as F;

/// Name, filter, and how many arguments it takes (least, most).
const FILTERS: [(&str, Filter, usize, usize); 43] = [
    ("Abs", F::Abs, 0, 0),
    ("Append", F::Append, 1, 1),
    ("AtLeast", F::AtLeast, 1, 1),
    ("AtMost", F::AtMost, 1, 1),
    ("Capitalize", F::Capitalize, 0, 0),
    ("Compact", F::Compact, 0, 0),
    ("Currency", F::Currency, 0, 0),
    ("Date", F::Date, 1, 1),
    ("Default", F::Default, 1, 1),
    ("DividedBy", F::DividedBy, 1, 1),
    ("Downcase", F::Downcase, 0, 0),
    ("Escape", F::Escape, 0, 0),
    ("First", F::First, 0, 0),
    ("H", F::Escape, 0, 0),
    ("Join", F::Join, 0, 1),
    ("Last", F::Last, 0, 0),
    ("Lstrip", F::Lstrip, 0, 0),
    ("Map", F::Map, 1, 1),
    ("Minus", F::Minus, 1, 1),
    ("Modulo", F::Modulo, 1, 1),
    ("NewlineToBr", F::NewlineToBr, 0, 0),
    ("Plus", F::Plus, 1, 1),
    ("Prepend", F::Prepend, 1, 1),
    ("Remove", F::Remove, 1, 1),
    ("RemoveFirst", F::RemoveFirst, 1, 1),
    ("Replace", F::Replace, 1, 2),
    ("ReplaceFirst", F::ReplaceFirst, 1, 2),
    ("Round", F::Round, 0, 1),
    ("Rstrip", F::Rstrip, 0, 0),
    ("Size", F::Size, 0, 0),
    ("Slice", F::Slice, 1, 2),
    ("Sort", F::Sort, 0, 1),
    ("Split", F::Split, 1, 1),
    ("Strip", F::Strip, 0, 0),
    ("StripHtml", F::StripHtml, 0, 0),
    ("StripNewlines", F::StripNewlines, 0, 0),
    ("Times", F::Times, 1, 1),
    ("Truncate", F::Truncate, 0, 2),
    ("TruncateWords", F::TruncateWords, 0, 2),
    ("Uniq", F::Uniq, 0, 0),
    ("Upcase", F::Upcase, 0, 0),
    ("UrlDecode", F::UrlDecode, 0, 0),
    ("UrlEncode", F::UrlEncode, 0, 0),
];

/// The most items a filter may build (a `Split` or `Times` of a huge input).
const MAX_ITEMS: usize = 100_000;

pub(crate) fn lookup(name: &str) -> Result<Filter, String> {
    if let Some((_, f, _, _)) = FILTERS.iter().find(|(n, ..)| *n == name) {
        return Ok(*f);
    }
    let folded: String = name.chars().filter(|c| *c != '_').collect();
    match FILTERS
        .iter()
        .find(|(n, ..)| n.eq_ignore_ascii_case(&folded))
    {
        Some((n, ..)) => Err(format!(
            "Liquid filter `{name}` is spelled `{n}` in APIM (filters are PascalCase)"
        )),
        None => Err(format!(
            "Liquid filter `{name}` is not supported; APIM's filters are: {}",
            FILTERS
                .iter()
                .map(|(n, ..)| *n)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn name_of(f: Filter) -> &'static str {
    FILTERS
        .iter()
        .find(|(_, g, ..)| *g == f)
        .map_or("?", |(n, ..)| n)
}

pub(crate) fn check_arity(f: Filter, n: usize) -> Result<(), String> {
    let (_, _, least, most) = FILTERS
        .iter()
        .find(|(_, g, ..)| *g == f)
        .copied()
        .unwrap_or(("", f, 0, usize::MAX));
    if n < least || n > most {
        let want = match (least, most) {
            (0, 0) => "no arguments".to_owned(),
            (a, b) if a == b => format!("{a} argument{}", if a == 1 { "" } else { "s" }),
            (a, b) => format!("{a} to {b} arguments"),
        };
        return Err(format!(
            "Liquid filter `{}` takes {want}, not {n}",
            name_of(f)
        ));
    }
    Ok(())
}

/// Applies a filter. `now` is asked for the time only by `Date` on "now"/"today".
pub(crate) fn apply(
    f: Filter,
    input: LValue,
    args: &[LValue],
    now: &mut dyn FnMut() -> DateTime,
) -> Result<LValue, String> {
    let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
    let text_arg = |i: usize| arg(i).text().unwrap_or_default();
    let input_text = input.text();
    // Filters over strings give nil for nil, as DotLiquid's do.
    let on_text = |g: &dyn Fn(&str) -> String| match &input_text {
        Some(s) => LValue::str(g(s)),
        None => LValue::Nil,
    };
    Ok(match f {
        F::Append => on_text(&|s| format!("{s}{}", text_arg(0))),
        F::Prepend => on_text(&|s| format!("{}{s}", text_arg(0))),
        F::Downcase => on_text(&|s| s.to_lowercase()),
        F::Upcase => on_text(&|s| s.to_uppercase()),
        F::Capitalize => on_text(&titleize),
        F::Strip => on_text(&|s| s.trim().to_owned()),
        F::Lstrip => on_text(&|s| s.trim_start().to_owned()),
        F::Rstrip => on_text(&|s| s.trim_end().to_owned()),
        F::Escape => on_text(&html_encode),
        F::UrlEncode => on_text(&|s| dotnet::escape(s, true)),
        F::UrlDecode => on_text(&|s| dotnet::unescape(s, true)),
        F::StripNewlines => on_text(&|s| s.replace("\r\n", "").replace('\n', "")),
        F::NewlineToBr => on_text(&newline_to_br),
        F::StripHtml => match &input_text {
            Some(s) => LValue::str(strip_html(s)?),
            None => LValue::Nil,
        },
        F::Remove => on_text(&|s| {
            let what = text_arg(0);
            if what.is_empty() {
                s.to_owned()
            } else {
                s.replace(&what, "")
            }
        }),
        F::Replace | F::ReplaceFirst | F::RemoveFirst => match &input_text {
            Some(s) if !s.is_empty() && !text_arg(0).is_empty() => {
                let re = dotnet::regex(&text_arg(0), 0)?;
                let with = if f == F::RemoveFirst {
                    String::new()
                } else {
                    dotnet::replacement_syntax(&text_arg(1))
                };
                let limit = if f == F::Replace { 0 } else { 1 };
                LValue::str(re.replacen(s, limit, with.as_str()).into_owned())
            }
            _ => input,
        },
        F::Truncate => on_text(&|s| {
            let len = arg(0).number().map_or(50, |n| n as i64);
            let suffix = args.get(1).map_or("...".to_owned(), |a| a.render());
            truncate(s, len, &suffix)
        }),
        F::TruncateWords => on_text(&|s| {
            let words = arg(0).number().map_or(15, |n| n as i64);
            let suffix = args.get(1).map_or("...".to_owned(), |a| a.render());
            truncate_words(s, words, &suffix)
        }),
        F::Default => match &input_text {
            Some(s) if !s.trim().is_empty() => LValue::str(s.as_str()),
            _ => LValue::str(text_arg(0)),
        },
        F::Size => LValue::Int(match &input {
            LValue::Str(s) => s.chars().count() as i64,
            LValue::Array(a) => a.len() as i64,
            LValue::Object(o) => o.entries.len() as i64,
            _ => 0,
        }),
        F::First | F::Last => {
            let items = sequence(&input);
            let pick = if f == F::First {
                items.first()
            } else {
                items.last()
            };
            pick.cloned().unwrap_or_default()
        }
        F::Join => match &input {
            LValue::Nil => LValue::Nil,
            _ => {
                let glue = args.first().map_or(" ".to_owned(), LValue::render);
                let parts: Vec<String> = sequence(&input).iter().map(LValue::render).collect();
                LValue::str(parts.join(&glue))
            }
        },
        F::Split => match &input_text {
            Some(s) if !s.trim().is_empty() => {
                let sep = text_arg(0);
                let parts: Vec<LValue> = if sep.is_empty() {
                    s.chars().map(|c| LValue::str(c.to_string())).collect()
                } else {
                    s.split(sep.as_str())
                        .filter(|p| !p.is_empty())
                        .map(LValue::str)
                        .collect()
                };
                cap(parts)?
            }
            _ => LValue::array(vec![input]),
        },
        F::Slice => slice(&input, &arg(0), args.get(1))?,
        F::Map => match &input {
            LValue::Nil => LValue::Nil,
            _ => {
                let key = text_arg(0);
                LValue::array(
                    sequence(&input)
                        .iter()
                        .map(|item| match item {
                            LValue::Object(o) => o.get(&key).cloned().unwrap_or_default(),
                            _ => LValue::Nil,
                        })
                        .collect(),
                )
            }
        },
        F::Sort => match &input {
            LValue::Nil => LValue::Nil,
            _ => {
                let key = args.first().and_then(LValue::text);
                let mut items = sequence(&input);
                let by = |v: &LValue| match (&key, v) {
                    (Some(k), LValue::Object(o)) => o.get(k).cloned().unwrap_or_default(),
                    _ => v.clone(),
                };
                items.sort_by(|a, b| sort_order(&by(a), &by(b)));
                LValue::array(items)
            }
        },
        F::Uniq => match &input {
            LValue::Nil => LValue::Nil,
            _ => {
                let mut out: Vec<LValue> = Vec::new();
                for item in sequence(&input) {
                    if !out.iter().any(|o| value::equal(o, &item)) {
                        out.push(item);
                    }
                }
                LValue::array(out)
            }
        },
        F::Compact => match &input {
            LValue::Nil => LValue::Nil,
            _ => LValue::array(
                sequence(&input)
                    .into_iter()
                    .filter(|v| !v.is_nil())
                    .collect(),
            ),
        },
        F::Plus | F::Minus | F::Times | F::DividedBy | F::Modulo => math(f, input, arg(0))?,
        F::Abs => LValue::Float(parse_number(&input).unwrap_or(0.0).abs()),
        F::AtLeast | F::AtMost => match (parse_number(&input), parse_number(&arg(0))) {
            (Some(n), Some(m)) => LValue::Float(if f == F::AtLeast { n.max(m) } else { n.min(m) }),
            _ => input,
        },
        F::Round => match parse_number(&input) {
            Some(n) => {
                let places = arg(0).number().unwrap_or(0.0).clamp(0.0, 15.0) as i32;
                let scale = 10f64.powi(places);
                let rounded = (n * scale).round_ties_even() / scale;
                if places == 0 && rounded.abs() < 9.0e15 {
                    LValue::Int(rounded as i64)
                } else {
                    LValue::Float(rounded)
                }
            }
            None => LValue::Nil,
        },
        F::Currency => match parse_number(&input) {
            Some(n) => LValue::str(currency(n)),
            None => LValue::str(input.render()),
        },
        F::Date => date(input, &text_arg(0), now)?,
    })
}

/// `<br />` before every line break (`\r\n` or `\n`).
fn newline_to_br(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\n' || (c == '\r' && chars.peek() == Some(&'\n')) {
            out.push_str("<br />");
        }
        out.push(c);
        if c == '\r' && chars.peek() == Some(&'\n') {
            out.push('\n');
            chars.next();
        }
    }
    out
}

fn cap(items: Vec<LValue>) -> Result<LValue, String> {
    if items.len() > MAX_ITEMS {
        return Err(format!("a Liquid filter built more than {MAX_ITEMS} items"));
    }
    Ok(LValue::array(items))
}

/// The items a sequence filter walks: an array's items, a string's characters (a .NET
/// string is a sequence of chars), an object's `{Key, Value}` pairs, or the value alone.
fn sequence(v: &LValue) -> Vec<LValue> {
    match v {
        LValue::Array(a) => a.to_vec(),
        LValue::Str(s) => s.chars().map(|c| LValue::str(c.to_string())).collect(),
        LValue::Object(o) => o
            .entries
            .iter()
            .map(|(k, v)| LValue::pair(k, v.clone()))
            .collect(),
        LValue::Nil => Vec::new(),
        other => vec![other.clone()],
    }
}

/// DotLiquid 2.0 sorts strings ignoring case; numbers by value; anything else after them.
fn sort_order(a: &LValue, b: &LValue) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a, b) {
        (LValue::Str(x), LValue::Str(y)) => x.to_lowercase().cmp(&y.to_lowercase()),
        (LValue::Nil, LValue::Nil) => Ordering::Equal,
        (LValue::Nil, _) => Ordering::Less,
        (_, LValue::Nil) => Ordering::Greater,
        _ => value::compare(a, b).unwrap_or(Ordering::Equal),
    }
}

/// .NET `Double.TryParse` of the value's text (a number stays a number).
fn parse_number(v: &LValue) -> Option<f64> {
    v.number().or_else(|| v.text()?.trim().parse().ok())
}

/// `Plus`, `Minus`, `Times`, `DividedBy`, `Modulo`: integers stay integers (division
/// truncates, as in C#), a float makes a float; DotLiquid 2.0 appends with `Plus` on a string
/// and repeats with `Times`; other strings are refused.
fn math(f: Filter, input: LValue, operand: LValue) -> Result<LValue, String> {
    if input.is_nil() || operand.is_nil() {
        return Ok(LValue::Nil);
    }
    match (&input, &operand, f) {
        (LValue::Str(s), _, F::Plus) => return Ok(LValue::str(format!("{s}{}", operand.render()))),
        (LValue::Str(s), LValue::Int(n), F::Times) => {
            let n = usize::try_from(*n).unwrap_or(0);
            if n > MAX_ITEMS {
                return Err(format!("a Liquid filter built more than {MAX_ITEMS} items"));
            }
            return Ok(LValue::array(vec![LValue::Str(s.clone()); n]));
        }
        _ => {}
    }
    let name = name_of(f);
    match (&input, &operand) {
        (LValue::Int(a), LValue::Int(b)) => {
            let (a, b) = (*a, *b);
            if matches!(f, F::DividedBy | F::Modulo) && b == 0 {
                return Err(format!("Liquid filter `{name}`: division by zero"));
            }
            let exact = match f {
                F::Plus => a.checked_add(b),
                F::Minus => a.checked_sub(b),
                F::Times => a.checked_mul(b),
                F::DividedBy => a.checked_div(b),
                _ => a.checked_rem(b),
            };
            Ok(match exact {
                Some(v) => LValue::Int(v),
                None => LValue::Float(float_op(f, a as f64, b as f64)),
            })
        }
        _ => match (input.number(), operand.number()) {
            (Some(a), Some(b)) => Ok(LValue::Float(float_op(f, a, b))),
            _ => Err(format!(
                "Liquid filter `{name}` needs numbers, not `{}` and `{}`",
                shorten(&input.render()),
                shorten(&operand.render())
            )),
        },
    }
}

fn float_op(f: Filter, a: f64, b: f64) -> f64 {
    match f {
        F::Plus => a + b,
        F::Minus => a - b,
        F::Times => a * b,
        F::DividedBy => a / b,
        _ => a % b,
    }
}

fn shorten(s: &str) -> String {
    s.chars().take(40).collect()
}

/// `WebUtility.HtmlEncode`: the five markup characters, and (as .NET does) Latin-1
/// characters from U+00A0 and characters outside the BMP as numeric references.
fn html_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if ('\u{a0}'..='\u{ff}').contains(&c) || u32::from(c) > 0xffff => {
                out.push_str(&format!("&#{};", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out
}

/// DotLiquid 2.0's `Capitalize`: the first letter of every word in upper case.
fn titleize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_word = false;
    for c in s.chars() {
        let word = c.is_alphanumeric() || c == '_';
        if word && !in_word {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        in_word = word;
    }
    out
}

fn strip_html(s: &str) -> Result<String, String> {
    let blocks = dotnet::regex(r"<script.*?</script>|<!--.*?-->|<style.*?</style>", 1 | 16)?;
    let tags = dotnet::regex(r"<.*?>", 16)?;
    let without_blocks = blocks.replace_all(s, "");
    Ok(tags.replace_all(&without_blocks, "").into_owned())
}

fn truncate(s: &str, len: i64, suffix: &str) -> String {
    if len < 0 {
        return suffix.to_owned();
    }
    let count = s.chars().count() as i64;
    if count <= len {
        return s.to_owned();
    }
    let keep = (len - suffix.chars().count() as i64).max(0) as usize;
    let mut out: String = s.chars().take(keep).collect();
    out.push_str(suffix);
    out
}

fn truncate_words(s: &str, words: i64, suffix: &str) -> String {
    if words <= 0 {
        return suffix.to_owned();
    }
    let parts: Vec<&str> = s.split(' ').collect();
    if parts.len() as i64 <= words {
        return s.to_owned();
    }
    let mut out = parts[..words as usize].join(" ");
    out.push_str(suffix);
    out
}

fn slice(input: &LValue, start: &LValue, len: Option<&LValue>) -> Result<LValue, String> {
    let start = start
        .number()
        .ok_or("Liquid filter `Slice` needs a number")? as i64;
    let len = len.and_then(LValue::number).unwrap_or(1.0) as i64;
    let cut = |n: i64| -> (usize, usize) {
        let mut s = if start < 0 { start + n } else { start };
        let mut l = len;
        if s < 0 {
            l = (l + s).max(0);
            s = 0;
        }
        let s = s.min(n);
        let l = l.clamp(0, n - s);
        (s as usize, l as usize)
    };
    Ok(match input {
        LValue::Str(text) => {
            let chars: Vec<char> = text.chars().collect();
            if start > chars.len() as i64 {
                return Ok(LValue::Nil);
            }
            let (s, l) = cut(chars.len() as i64);
            LValue::str(chars[s..s + l].iter().collect::<String>())
        }
        LValue::Array(items) => {
            let (s, l) = cut(items.len() as i64);
            LValue::str(
                items[s..s + l]
                    .iter()
                    .map(LValue::render)
                    .collect::<String>(),
            )
        }
        other => other.clone(),
    })
}

/// .NET's "C" format in the en-US culture, as the self-hosted gateway (.NET on Linux)
/// renders it: `$1,234.50`, `-$1,234.50`.
fn currency(n: f64) -> String {
    let cents = (n.abs() * 100.0).round_ties_even();
    let whole = (cents / 100.0).trunc() as u128;
    let frac = (cents % 100.0) as u32;
    let digits = whole.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if n < 0.0 && cents > 0.0 { "-" } else { "" };
    format!("{sign}${grouped}.{frac:02}")
}

/// `Date: "format"` with .NET format strings (APIM runs Liquid in C# mode). A string input is
/// parsed first ("now" and "today" are the current time); one that is not a date is returned
/// unchanged, as DotLiquid does.
fn date(input: LValue, format: &str, now: &mut dyn FnMut() -> DateTime) -> Result<LValue, String> {
    let d = match &input {
        LValue::Nil => return Ok(LValue::Nil),
        LValue::Date(d) => *d,
        other => {
            let text = other.render();
            let lower = text.trim().to_ascii_lowercase();
            if lower == "now" || lower == "today" {
                now()
            } else {
                match parse_date(&text) {
                    Some(d) if !format.trim().is_empty() => d,
                    _ => return Ok(LValue::str(text)),
                }
            }
        }
    };
    let offset = match d.kind {
        crate::expr::DtKind::Unspecified => None,
        _ => Some(0),
    };
    let fmt = if format.trim().is_empty() { "" } else { format };
    dotnet::format_time(d.ticks, d.kind, offset, fmt)
        .map(LValue::str)
        .map_err(|e| format!("Liquid filter `Date`: {e}"))
}

/// ISO 8601 dates, with `T` or a space before the time.
fn parse_date(s: &str) -> Option<DateTime> {
    dotnet::parse_iso(s).map(|(ticks, offset)| value::date_from(ticks, offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(f: &str, input: LValue, args: &[LValue]) -> String {
        let f = lookup(f).unwrap();
        apply(f, input, args, &mut || DateTime::default())
            .unwrap()
            .render()
    }

    fn s(v: &str) -> LValue {
        LValue::str(v)
    }

    #[test]
    fn names_are_pascal_case() {
        assert!(lookup("Upcase").is_ok());
        assert!(lookup("at_least").unwrap_err().contains("`AtLeast`"));
        assert!(lookup("Frobnicate").unwrap_err().contains("not supported"));
        assert!(check_arity(F::Append, 0)
            .unwrap_err()
            .contains("1 argument"));
    }

    #[test]
    fn strings() {
        assert_eq!(run("Upcase", s("abc"), &[]), "ABC");
        assert_eq!(
            run("Capitalize", s("hello big world"), &[]),
            "Hello Big World"
        );
        assert_eq!(run("Append", s("a"), &[s("b")]), "ab");
        assert_eq!(run("Replace", s("a1b22"), &[s(r"\d+"), s("#")]), "a#b#");
        assert_eq!(
            run("ReplaceFirst", s("a1b2"), &[s(r"(\d)"), s("<$1>")]),
            "a<1>b2"
        );
        assert_eq!(run("Remove", s("a.b.c"), &[s(".")]), "abc");
        assert_eq!(run("RemoveFirst", s("a.b.c"), &[s(r"\.")]), "ab.c");
        assert_eq!(run("Truncate", s("abcdefgh"), &[LValue::Int(5)]), "ab...");
        assert_eq!(
            run("TruncateWords", s("a b c d"), &[LValue::Int(2)]),
            "a b..."
        );
        assert_eq!(
            run("Escape", s("<a href='x'>é</a>"), &[]),
            "&lt;a href=&#39;x&#39;&gt;&#233;&lt;/a&gt;"
        );
        assert_eq!(run("UrlEncode", s("a b&c"), &[]), "a+b%26c");
        assert_eq!(run("UrlDecode", s("a+b%26c"), &[]), "a b&c");
        assert_eq!(run("StripHtml", s("<p>hi<!-- x --></p>"), &[]), "hi");
        assert_eq!(
            run("NewlineToBr", s("a\nb\r\nc"), &[]),
            "a<br />\nb<br />\r\nc"
        );
        assert_eq!(run("StripNewlines", s("a\nb\r\nc"), &[]), "abc");
        assert_eq!(
            run("Slice", s("hello"), &[LValue::Int(-3), LValue::Int(2)]),
            "ll"
        );
        assert_eq!(run("Default", LValue::Nil, &[s("d")]), "d");
        assert_eq!(run("Default", s("  "), &[s("d")]), "d");
        assert_eq!(run("Upcase", LValue::Nil, &[]), "");
    }

    #[test]
    fn sequences() {
        let list = LValue::array(vec![s("b"), s("A"), s("b"), LValue::Nil]);
        assert_eq!(run("Join", list.clone(), &[s(",")]), "b,A,b,");
        assert_eq!(run("Size", list.clone(), &[]), "4");
        assert_eq!(run("Uniq", list.clone(), &[]), "bA");
        assert_eq!(run("Sort", run_value("Compact", list), &[]), "Abb");
        assert_eq!(run("Split", s("a,,b"), &[s(",")]), "ab");
        assert_eq!(run("Size", run_value("Split", s("a,,b")), &[]), "2");
        let objs = LValue::array(vec![
            LValue::object(vec![("n".into(), s("x"))], false),
            LValue::object(vec![("n".into(), s("y"))], false),
        ]);
        assert_eq!(run("Map", objs, &[s("n")]), "xy");
        assert_eq!(run("First", s("abc"), &[]), "a");
    }

    fn run_value(f: &str, input: LValue) -> LValue {
        let args = if f == "Split" { vec![s(",")] } else { vec![] };
        apply(lookup(f).unwrap(), input, &args, &mut || {
            DateTime::default()
        })
        .unwrap()
    }

    #[test]
    fn numbers() {
        assert_eq!(run("Plus", LValue::Int(1), &[LValue::Int(2)]), "3");
        assert_eq!(run("Plus", s("1"), &[LValue::Int(2)]), "12");
        assert_eq!(run("DividedBy", LValue::Int(7), &[LValue::Int(2)]), "3");
        assert_eq!(
            run("DividedBy", LValue::Float(7.0), &[LValue::Int(2)]),
            "3.5"
        );
        assert_eq!(run("Modulo", LValue::Int(7), &[LValue::Int(4)]), "3");
        assert_eq!(run("Times", s("ab"), &[LValue::Int(2)]), "abab");
        assert!(
            apply(F::DividedBy, LValue::Int(1), &[LValue::Int(0)], &mut || {
                DateTime::default()
            })
            .is_err()
        );
        assert!(apply(F::Minus, s("x"), &[LValue::Int(1)], &mut || {
            DateTime::default()
        })
        .unwrap_err()
        .contains("needs numbers"));
        assert_eq!(run("Abs", s("-2.5"), &[]), "2.5");
        assert_eq!(run("AtLeast", LValue::Int(1), &[LValue::Int(5)]), "5");
        assert_eq!(run("AtMost", LValue::Int(1), &[LValue::Int(5)]), "1");
        assert_eq!(run("Round", LValue::Float(2.5), &[]), "2");
        assert_eq!(
            run("Round", LValue::Float(1.2345), &[LValue::Int(2)]),
            "1.23"
        );
        assert_eq!(run("Currency", LValue::Float(1234.5), &[]), "$1,234.50");
        assert_eq!(run("Currency", LValue::Int(-3), &[]), "-$3.00");
    }

    #[test]
    fn dates_use_dotnet_formats() {
        assert_eq!(
            run(
                "Date",
                s("2024-03-04T05:06:07Z"),
                &[s("yyyyMMddTHH:mm:ssZ")]
            ),
            "20240304T05:06:07Z"
        );
        assert_eq!(run("Date", s("not a date"), &[s("yyyy")]), "not a date");
        let f = lookup("Date").unwrap();
        let mut now = || DateTime {
            ticks: 638_000_000_000_000_000,
            kind: crate::expr::DtKind::Utc,
        };
        let out = apply(f, s("now"), &[s("yyyy")], &mut now).unwrap().render();
        assert_eq!(out, "2022");
    }
}
