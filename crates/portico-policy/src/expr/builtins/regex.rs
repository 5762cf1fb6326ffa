//! `System.Text.RegularExpressions` on the `regex` crate: `Regex.IsMatch`, `Match`, `Matches`,
//! `Replace`, `Split`, `Escape`, `new Regex(pattern[, options])` with the same instance
//! methods, `Match`/`Group` (`Success`, `Value`, `Index`, `Length`, `Groups[n | name]`) and
//! `RegexOptions`.
//!
//! The `regex` crate guarantees linear-time matching, so a hostile pattern or input cannot
//! stall the gateway; the price is that .NET features needing backtracking (look-around,
//! backreferences, atomic groups) are refused with the crate's explanation. Compiled programs
//! are bounded ([`SIZE_LIMIT`]) and kept in a process-wide cache keyed by pattern and options:
//! literal patterns are compiled (and refused) when the policy is loaded, and no pattern is
//! recompiled per request while it stays in the cache.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use ::regex::{Regex, RegexBuilder};

use super::super::ast::{BinOp, Expr, ExprKind};
use super::super::convert::{need_i64, need_str};
use super::super::error::{EvalError, ExprError};
use super::super::types::{StaticClass, Ty};
use super::super::value::{lock, Value};
use super::{Call, MAX_ITEMS};

type Found = Result<Option<Value>, EvalError>;

/// Largest compiled program (and lazy DFA) one pattern may use, in bytes.
const SIZE_LIMIT: usize = 1 << 20;
/// Patterns kept compiled; the cache is emptied when full (policies use a handful).
const CACHE_ENTRIES: usize = 512;

/// `RegexOptions` members Portico honours, with their .NET flag values (so `|` combines them).
/// `Compiled` and `CultureInvariant` change nothing here and are accepted.
pub const OPTIONS: &[(&str, i32)] = &[
    ("None", 0),
    ("IgnoreCase", 1),
    ("Multiline", 2),
    ("Compiled", 8),
    ("Singleline", 16),
    ("IgnorePatternWhitespace", 32),
    ("CultureInvariant", 512),
];

/// Compiled patterns by pattern text and options.
type Cache = HashMap<(String, i32), Arc<Regex>>;

/// A regex value: the compiled `Regex`, a `Match` or `Group` (group 0 is the match), or a
/// match's `Groups`.
#[derive(Clone, Debug)]
pub enum RegexValue {
    Regex(Arc<Regex>),
    Match(Arc<MatchData>, usize),
    Groups(Arc<MatchData>),
}

/// One match: each group's UTF-16 index and text (`None` when it did not participate), and
/// the group names. A failed match has no groups.
#[derive(Debug)]
pub struct MatchData {
    groups: Vec<Option<(usize, String)>>,
    names: Vec<Option<String>>,
}

impl RegexValue {
    pub fn type_name(&self) -> &'static str {
        match self {
            RegexValue::Regex(_) => "Regex",
            RegexValue::Match(_, 0) => "Match",
            RegexValue::Match(..) => "Group",
            RegexValue::Groups(_) => "GroupCollection",
        }
    }

    /// `ToString()`: the pattern of a regex, the text of a match or group.
    pub fn text(&self) -> String {
        match self {
            RegexValue::Regex(re) => re.as_str().to_string(),
            RegexValue::Match(m, i) => group(m, *i).map(|g| g.1.clone()).unwrap_or_default(),
            RegexValue::Groups(_) => "System.Text.RegularExpressions.GroupCollection".into(),
        }
    }

    pub fn is_type(&self, ty: &Ty) -> bool {
        matches!(
            (self, ty),
            (RegexValue::Regex(_), Ty::Regex) | (RegexValue::Match(..), Ty::Match)
        )
    }
}

fn group(m: &MatchData, i: usize) -> Option<&(usize, String)> {
    m.groups.get(i).and_then(Option::as_ref)
}

/// Compiles (or fetches from the cache) `pattern` with .NET `options`. The error names what is
/// unsupported; patterns are policy text, not secrets, so they may be quoted.
pub fn compile(pattern: &str, options: i32) -> Result<Arc<Regex>, String> {
    static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = (pattern.to_string(), options);
    if let Some(re) = lock(cache).get(&key) {
        return Ok(re.clone());
    }
    let known = OPTIONS.iter().fold(0, |acc, (_, v)| acc | v);
    if options & !known != 0 {
        return Err(format!(
            "RegexOptions value {options} is not supported; supported options are None, IgnoreCase, Multiline, Singleline, IgnorePatternWhitespace, Compiled, CultureInvariant"
        ));
    }
    let re = RegexBuilder::new(pattern)
        .case_insensitive(options & 1 != 0)
        .multi_line(options & 2 != 0)
        .dot_matches_new_line(options & 16 != 0)
        .ignore_whitespace(options & 32 != 0)
        .size_limit(SIZE_LIMIT)
        .dfa_size_limit(SIZE_LIMIT)
        .build()
        .map_err(|e| {
            let why = match &e {
                ::regex::Error::CompiledTooBig(_) => "it compiles to more than 1 MiB".to_string(),
                // The crate's message ends with the reason after a caret diagram.
                other => other.to_string().lines().last().unwrap_or("").to_string(),
            };
            let shown: String = pattern.chars().take(80).collect();
            format!("regular expression \"{shown}\" is not supported: {why}")
        })?;
    let re = Arc::new(re);
    let mut cache = lock(cache);
    if cache.len() >= CACHE_ENTRIES {
        cache.clear();
    }
    cache.insert(key, re.clone());
    Ok(re)
}

/// Compiles a regex pattern written as a string literal now, so an unsupported pattern is a
/// compile error and the compiled program is cached before the first request. Options are
/// taken into account when they are constants (`RegexOptions.A | RegexOptions.B`).
pub fn check_literal(pattern: &Expr, options: Option<&Expr>) -> Result<(), ExprError> {
    let ExprKind::Lit(Value::Str(p)) = &pattern.kind else {
        return Ok(());
    };
    let Some(opts) = options.map_or(Some(0), const_options) else {
        return Ok(());
    };
    compile(p, opts).map(drop).map_err(|message| ExprError {
        offset: pattern.at,
        message,
    })
}

fn const_options(e: &Expr) -> Option<i32> {
    match &e.kind {
        ExprKind::Member { target, name, .. }
            if matches!(
                target.kind,
                ExprKind::Type(Ty::Static(StaticClass::RegexOptions))
            ) =>
        {
            OPTIONS.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
        }
        ExprKind::Binary(BinOp::BitOr, a, b) => Some(const_options(a)? | const_options(b)?),
        _ => None,
    }
}

/// `RegexOptions.IgnoreCase`, …
pub fn static_prop(name: &str) -> Option<Value> {
    OPTIONS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| Value::Int(*v))
}

fn options(v: Option<&Value>) -> Result<i32, EvalError> {
    match v {
        None => Ok(0),
        Some(v) => Ok(need_i64(v, "the RegexOptions")? as i32),
    }
}

fn regex_arg(pattern: &Value, opts: Option<&Value>) -> Result<Arc<Regex>, EvalError> {
    let pattern = need_str(pattern, "the pattern")?;
    compile(&pattern, options(opts)?).map_err(EvalError::msg)
}

/// `new Regex(pattern[, options])`.
pub fn construct(args: &[Value]) -> Result<Value, EvalError> {
    match args {
        [p] | [p, _] => Ok(Value::Regex(RegexValue::Regex(regex_arg(p, args.get(1))?))),
        _ => Err(EvalError::msg("`new Regex(…)` takes a pattern and options")),
    }
}

/// `Regex.IsMatch(input, pattern[, options])` and its siblings; `Regex.Escape(text)`.
pub fn static_call(call: &Call<'_>) -> Found {
    if call.name == "Escape" {
        return Ok(Some(Value::str(escape(&need_str(
            call.arg(0),
            "the text",
        )?))));
    }
    // The pattern follows the input; `Replace` has its replacement before the options.
    let opts = if call.name == "Replace" { 3 } else { 2 };
    let re = regex_arg(call.arg(1), call.args.get(opts))?;
    let mut rest = call.args.clone();
    rest.remove(1);
    rest.truncate(opts - 1);
    apply(&re, call.name, &rest)
}

/// Methods of a `Regex` instance.
pub fn method(v: &Value, call: &Call<'_>) -> Found {
    match v {
        Value::Regex(RegexValue::Regex(re)) => apply(re, call.name, &call.args),
        _ => Ok(None),
    }
}

/// `IsMatch(input)`, `Match(input)`, `Matches(input)`, `Replace(input, replacement)`,
/// `Split(input)`.
fn apply(re: &Arc<Regex>, name: &str, args: &[Value]) -> Found {
    let input = || {
        need_str(
            args.first().unwrap_or(&Value::Null),
            "the input of the regular expression",
        )
    };
    Ok(Some(match (name, args.len()) {
        ("IsMatch", 1) => Value::Bool(re.is_match(&input()?)),
        ("Match", 1) => {
            let input = input()?;
            Value::Regex(RegexValue::Match(
                match_data(re, re.captures(&input), &input),
                0,
            ))
        }
        ("Matches", 1) => {
            let input = input()?;
            let items = re
                .captures_iter(&input)
                .take(MAX_ITEMS)
                .map(|c| Value::Regex(RegexValue::Match(match_data(re, Some(c), &input), 0)))
                .collect();
            Value::array(Ty::Match, items)
        }
        ("Replace", 2) => {
            let replacement = need_str(&args[1], "the replacement")?;
            let input = input()?;
            let out = re.replace_all(&input, replacement_syntax(&replacement).as_str());
            Value::str(out.as_ref())
        }
        ("Split", 1) => Value::strings(re.split(&input()?).take(MAX_ITEMS).map(str::to_string)),
        _ => return Ok(None),
    }))
}

fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

fn match_data(re: &Regex, caps: Option<::regex::Captures<'_>>, input: &str) -> Arc<MatchData> {
    let groups = caps.map_or_else(Vec::new, |c| {
        c.iter()
            .map(|g| g.map(|g| (utf16_len(&input[..g.start()]), g.as_str().to_string())))
            .collect()
    });
    let names = re.capture_names().map(|n| n.map(str::to_string)).collect();
    Arc::new(MatchData { groups, names })
}

/// .NET substitutions in the `regex` crate's syntax: `$1` → `${1}` (so `$1a` stays group 1
/// followed by `a`), `$&` → `${0}`, `${name}` and `$$` unchanged, any other `$` literal.
pub(crate) fn replacement_syntax(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        match chars.peek() {
            Some('$') => {
                chars.next();
                out.push_str("$$");
            }
            Some('&') => {
                chars.next();
                out.push_str("${0}");
            }
            Some('{') => out.push('$'),
            Some(d) if d.is_ascii_digit() => {
                out.push_str("${");
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    out.push(*d);
                    chars.next();
                }
                out.push('}');
            }
            _ => out.push_str("$$"),
        }
    }
    out
}

/// .NET's `Regex.Escape`: metacharacters, `#` and white space are escaped.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '*' | '+' | '?' | '|' | '{' | '[' | '(' | ')' | '^' | '$' | '.' | '#' | ' ' => {
                out.push('\\');
                out.push(c);
            }
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\u{c}' => out.push_str("\\f"),
            _ => out.push(c),
        }
    }
    out
}

/// `Success`, `Value`, `Index`, `Length`, `Name`, `Groups` of a match or group; `Count` of
/// `Groups`.
pub fn member(v: &Value, name: &str) -> Option<Value> {
    let Value::Regex(r) = v else { return None };
    match (r, name) {
        (RegexValue::Match(m, i), _) => {
            let g = group(m, *i);
            Some(match name {
                "Success" => Value::Bool(g.is_some()),
                "Value" => Value::str(g.map_or("", |g| g.1.as_str())),
                "Index" => Value::Int(g.map_or(0, |g| g.0) as i32),
                "Length" => Value::Int(g.map_or(0, |g| utf16_len(&g.1)) as i32),
                "Name" => Value::str(match m.names.get(*i) {
                    Some(Some(n)) => n.clone(),
                    _ => i.to_string(),
                }),
                "Groups" if *i == 0 => Value::Regex(RegexValue::Groups(m.clone())),
                _ => return None,
            })
        }
        (RegexValue::Groups(m), "Count") => Some(Value::Int(m.groups.len() as i32)),
        _ => None,
    }
}

/// `Groups[1]`, `Groups["name"]`: a group that does not exist is unsuccessful, never null.
pub fn index(v: &Value, i: &Value) -> Found {
    let Value::Regex(RegexValue::Groups(m)) = v else {
        return Ok(None);
    };
    let missing = usize::MAX;
    let at = match i {
        Value::Str(name) => match name.parse::<usize>() {
            Ok(n) => n,
            Err(_) => m
                .names
                .iter()
                .position(|n| n.as_deref() == Some(name.as_ref()))
                .unwrap_or(missing),
        },
        other => usize::try_from(need_i64(other, "the group number")?).unwrap_or(missing),
    };
    Ok(Some(Value::Regex(RegexValue::Match(m.clone(), at))))
}

/// `foreach (Group g in match.Groups)`.
pub fn iterate(v: &Value) -> Option<Vec<Value>> {
    let Value::Regex(RegexValue::Groups(m)) = v else {
        return None;
    };
    Some(
        (0..m.groups.len())
            .map(|i| Value::Regex(RegexValue::Match(m.clone(), i)))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacements_follow_dotnet_and_patterns_are_cached() {
        assert_eq!(
            replacement_syntax("$1a$&-$$-${n}-$x"),
            "${1}a${0}-$$-${n}-$$x"
        );
        let a = compile("ab+c", 1).unwrap();
        let b = compile("ab+c", 1).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert!(compile("(?<=a)b", 0).unwrap_err().contains("not supported"));
        assert!(compile("a", 64).is_err());
    }
}
