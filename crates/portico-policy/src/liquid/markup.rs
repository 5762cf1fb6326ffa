//! The markup inside `{{ }}` and `{% %}`: values (literals, variable paths such as
//! `context.Request.Headers["Accept"]` or `body.items[0].name`, ranges `(1..n)`), filter
//! chains (`| Replace: "a", "b"`) and conditions (`a == b and c contains "x"`), parsed into
//! the tree the renderer walks. Every node keeps its offset in the template for errors.

use super::filters::{self, Filter};
use super::value::LValue;
use super::LiquidError;

#[derive(Debug, Clone)]
pub(crate) enum Expr {
    Lit(LValue),
    Path(Path),
    /// `(a..b)`: the integers from a to b.
    Range(Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone)]
pub(crate) struct Path {
    pub root: String,
    pub segs: Vec<Seg>,
    pub at: usize,
}

#[derive(Debug, Clone)]
pub(crate) enum Seg {
    /// `.name`
    Name(String),
    /// `[expr]`
    Index(Expr),
}

/// A value followed by filters: `body.name | Upcase | Append: "!"`.
#[derive(Debug, Clone)]
pub(crate) struct Filtered {
    pub value: Expr,
    pub filters: Vec<(Filter, Vec<Expr>, usize)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    Contains,
}

#[derive(Debug, Clone)]
pub(crate) enum Cond {
    Test(Expr, Option<(Op, Expr)>),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Int(i64),
    Float(f64),
    Punct(&'static str),
}

/// Tokens of one piece of markup, with their offsets in the template.
pub(crate) struct Markup {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    end: usize,
    /// Values nested in values (`a[b[c]]`, `((1..2)..3)`), bounded to keep the stack small.
    depth: usize,
}

const MAX_NESTING: usize = 64;

const PUNCT: [&str; 16] = [
    "==", "!=", "<>", "<=", ">=", "..", "<", ">", "=", ".", "[", "]", "(", ")", "|", ":",
];

impl Markup {
    pub(crate) fn new(src: &str, base: usize) -> Result<Self, LiquidError> {
        let mut toks = Vec::new();
        let b = src.as_bytes();
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            let at = base + i;
            if c.is_ascii_whitespace() {
                i += 1;
            } else if c == b'"' || c == b'\'' {
                let Some(len) = src[i + 1..].find(c as char) else {
                    return Err(LiquidError::new(at, "a string is not closed"));
                };
                toks.push((Tok::Str(src[i + 1..i + 1 + len].to_owned()), at));
                i += len + 2;
            } else if c.is_ascii_digit()
                || (c == b'-' && b.get(i + 1).is_some_and(u8::is_ascii_digit))
            {
                let mut j = i + 1;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                let float = b.get(j) == Some(&b'.') && b.get(j + 1).is_some_and(u8::is_ascii_digit);
                if float {
                    j += 1;
                    while j < b.len() && b[j].is_ascii_digit() {
                        j += 1;
                    }
                }
                let text = &src[i..j];
                let tok = if float {
                    text.parse().map(Tok::Float).ok()
                } else {
                    text.parse().map(Tok::Int).ok()
                };
                let Some(tok) = tok else {
                    return Err(LiquidError::new(at, format!("`{text}` is not a number")));
                };
                toks.push((tok, at));
                i = j;
            } else if c.is_ascii_alphabetic() || c == b'_' {
                let mut j = i + 1;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] == b'-')
                {
                    j += 1;
                }
                if b.get(j) == Some(&b'?') {
                    j += 1;
                }
                toks.push((Tok::Ident(src[i..j].to_owned()), at));
                i = j;
            } else if c == b',' {
                toks.push((Tok::Punct(","), at));
                i += 1;
            } else if let Some(p) = PUNCT.iter().find(|p| src[i..].starts_with(**p)) {
                toks.push((Tok::Punct(p), at));
                i += p.len();
            } else {
                let ch = src[i..].chars().next().unwrap_or(' ');
                return Err(LiquidError::new(
                    at,
                    format!("unexpected `{ch}` in Liquid markup"),
                ));
            }
        }
        Ok(Self {
            toks,
            pos: 0,
            end: base + src.len(),
            depth: 0,
        })
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(t, _)| t)
    }

    fn at(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end, |(_, at)| *at)
    }

    fn eat(&mut self, p: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Punct(q)) if *q == p) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(crate) fn eat_word(&mut self, w: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Ident(i)) if i == w) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, p: &str) -> Result<(), LiquidError> {
        if self.eat(p) {
            Ok(())
        } else {
            Err(self.error(format!("expected `{p}`")))
        }
    }

    pub(crate) fn error(&self, message: impl Into<String>) -> LiquidError {
        let found = match self.peek() {
            None => " but the markup ends".to_owned(),
            Some(Tok::Ident(i)) => format!(" but found `{i}`"),
            Some(Tok::Punct(p)) => format!(" but found `{p}`"),
            Some(Tok::Str(_)) => " but found a string".to_owned(),
            Some(_) => " but found a number".to_owned(),
        };
        LiquidError::new(self.at(), format!("{}{found}", message.into()))
    }

    pub(crate) fn is_done(&self) -> bool {
        self.pos >= self.toks.len()
    }

    pub(crate) fn finish(&self) -> Result<(), LiquidError> {
        if self.is_done() {
            Ok(())
        } else {
            Err(self.error("expected the end of the markup"))
        }
    }

    /// A variable name (for `assign`, `for`, `capture`).
    pub(crate) fn name(&mut self) -> Result<(String, usize), LiquidError> {
        let at = self.at();
        match self.peek().cloned() {
            Some(Tok::Ident(i)) => {
                self.pos += 1;
                Ok((i, at))
            }
            _ => Err(self.error("expected a variable name")),
        }
    }

    pub(crate) fn expect_eq(&mut self) -> Result<(), LiquidError> {
        self.expect("=")
    }

    pub(crate) fn eat_colon(&mut self) -> Result<(), LiquidError> {
        self.expect(":")
    }

    pub(crate) fn eat_comma(&mut self) -> bool {
        self.eat(",")
    }

    /// A value: a literal, a path or a range.
    pub(crate) fn expr(&mut self) -> Result<Expr, LiquidError> {
        if self.depth >= MAX_NESTING {
            return Err(self.error(format!("values nest deeper than {MAX_NESTING}")));
        }
        self.depth += 1;
        let e = self.expr_inner();
        self.depth -= 1;
        e
    }

    fn expr_inner(&mut self) -> Result<Expr, LiquidError> {
        let at = self.at();
        let Some(tok) = self.peek().cloned() else {
            return Err(self.error("expected a value"));
        };
        self.pos += 1;
        Ok(match tok {
            Tok::Str(s) => Expr::Lit(LValue::str(s)),
            Tok::Int(i) => Expr::Lit(LValue::Int(i)),
            Tok::Float(f) => Expr::Lit(LValue::Float(f)),
            Tok::Punct("(") => {
                let from = self.expr()?;
                self.expect("..")?;
                let to = self.expr()?;
                self.expect(")")?;
                Expr::Range(Box::new(from), Box::new(to))
            }
            Tok::Ident(word) => match word.as_str() {
                "true" => Expr::Lit(LValue::Bool(true)),
                "false" => Expr::Lit(LValue::Bool(false)),
                "nil" | "null" => Expr::Lit(LValue::Nil),
                _ => self.path(word, at)?,
            },
            Tok::Punct(p) => {
                self.pos -= 1;
                return Err(self.error(format!("expected a value, not `{p}`")));
            }
        })
    }

    fn path(&mut self, root: String, at: usize) -> Result<Expr, LiquidError> {
        let mut segs = Vec::new();
        loop {
            if self.eat(".") {
                match self.peek().cloned() {
                    Some(Tok::Ident(name)) => {
                        self.pos += 1;
                        segs.push(Seg::Name(name));
                    }
                    _ => return Err(self.error("expected a name after `.`")),
                }
            } else if self.eat("[") {
                segs.push(Seg::Index(self.expr()?));
                self.expect("]")?;
            } else {
                break;
            }
        }
        Ok(Expr::Path(Path { root, segs, at }))
    }

    /// A value and its filters, up to the end of the markup.
    pub(crate) fn filtered(&mut self) -> Result<Filtered, LiquidError> {
        let value = self.expr()?;
        let mut chain = Vec::new();
        while self.eat("|") {
            let (name, at) = self.name()?;
            let filter = filters::lookup(&name).map_err(|m| LiquidError::new(at, m))?;
            let mut args = Vec::new();
            if self.eat(":") {
                args.push(self.expr()?);
                while self.eat(",") {
                    args.push(self.expr()?);
                }
            }
            filters::check_arity(filter, args.len()).map_err(|m| LiquidError::new(at, m))?;
            chain.push((filter, args, at));
        }
        Ok(Filtered {
            value,
            filters: chain,
        })
    }

    /// `a op b`, combined with `and`/`or`; like Liquid, evaluated right to left
    /// (`a or b and c` is `a or (b and c)`).
    pub(crate) fn condition(&mut self) -> Result<Cond, LiquidError> {
        if self.depth >= MAX_NESTING {
            return Err(self.error(format!("a condition joins more than {MAX_NESTING} tests")));
        }
        self.depth += 1;
        let c = self.condition_inner();
        self.depth -= 1;
        c
    }

    fn condition_inner(&mut self) -> Result<Cond, LiquidError> {
        let left = self.expr()?;
        let op = match self.peek() {
            Some(Tok::Punct("==")) => Some(Op::Eq),
            Some(Tok::Punct("!=" | "<>")) => Some(Op::Ne),
            Some(Tok::Punct("<")) => Some(Op::Lt),
            Some(Tok::Punct(">")) => Some(Op::Gt),
            Some(Tok::Punct("<=")) => Some(Op::Le),
            Some(Tok::Punct(">=")) => Some(Op::Ge),
            Some(Tok::Ident(w)) if w == "contains" => Some(Op::Contains),
            _ => None,
        };
        let test = match op {
            Some(op) => {
                self.pos += 1;
                Cond::Test(left, Some((op, self.expr()?)))
            }
            None => Cond::Test(left, None),
        };
        if self.eat_word("and") {
            Ok(Cond::And(Box::new(test), Box::new(self.condition()?)))
        } else if self.eat_word("or") {
            Ok(Cond::Or(Box::new(test), Box::new(self.condition()?)))
        } else {
            Ok(test)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_literals_and_filters() {
        let mut m = Markup::new(
            r#" context.Request.Headers["Accept"] | Replace: 'a', "b" | Upcase "#,
            0,
        )
        .unwrap();
        let f = m.filtered().unwrap();
        m.finish().unwrap();
        let Expr::Path(p) = &f.value else {
            panic!("a path")
        };
        assert_eq!(p.root, "context");
        assert_eq!(p.segs.len(), 3);
        assert_eq!(f.filters.len(), 2);
        assert_eq!(f.filters[0].1.len(), 2);
    }

    #[test]
    fn conditions_group_to_the_right() {
        let mut m = Markup::new("a or b and c == 1", 0).unwrap();
        let c = m.condition().unwrap();
        assert!(matches!(c, Cond::Or(_, ref r) if matches!(**r, Cond::And(..))));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = format!("{}1{}", "(".repeat(10_000), "..1)".repeat(10_000));
        assert!(Markup::new(&deep, 0).unwrap().expr().is_err());
        let deep = format!("a{}0{}", "[a".repeat(10_000), "]".repeat(10_000));
        let e = Markup::new(&deep, 0).unwrap().expr().unwrap_err();
        assert!(e.message.contains("nest deeper"), "{}", e.message);
        let long = vec!["a"; 10_000].join(" or ");
        assert!(Markup::new(&long, 0).unwrap().condition().is_err());
        let fine = vec!["a"; 20].join(" or ");
        assert!(Markup::new(&fine, 0).unwrap().condition().is_ok());
    }

    #[test]
    fn errors_point_at_the_markup() {
        let e = Markup::new("x | upcase", 10)
            .unwrap()
            .filtered()
            .unwrap_err();
        assert_eq!(e.offset, 14);
        assert!(e.message.contains("Upcase"), "{}", e.message);
        let e = Markup::new("'open", 3).err().unwrap();
        assert_eq!(e.offset, 3);
        let e = Markup::new("a b", 0).unwrap();
        let mut e = e;
        e.expr().unwrap();
        assert!(e.finish().unwrap_err().message.contains("found `b`"));
    }
}
