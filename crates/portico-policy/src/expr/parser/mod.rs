//! The parser: tokens → syntax tree. This module holds the token cursor, type syntax and the
//! entry points; `stmt` parses statement blocks and `expr` parses expressions. Constructs
//! Portico refuses (local functions, `lock`, `switch`, …) are refused here, by name, with the
//! offset of the construct.

mod expr;
mod primary;
mod stmt;

use super::ast::{Program, Stmt};
use super::lexer::{lex, Tok, Token};
use super::types::{self, Ty};
use super::ExprError;

/// Parses the whole source, wrapper included.
pub fn parse(src: &str) -> Result<Program, ExprError> {
    // Trim once: trimming the two ends separately crosses over on all-whitespace input.
    let body = src.trim();
    let start = src.len() - src.trim_start().len();
    let end = start + body.len();
    let (open, close, is_block) = if body.starts_with("@(") {
        ("@(", ')', false)
    } else if body.starts_with("@{") {
        ("@{", '}', true)
    } else {
        return Err(ExprError {
            offset: start,
            message: "an expression must be wrapped in @( … ) or @{ … }".into(),
        });
    };
    if !body.ends_with(close) || body.len() < 3 {
        return Err(ExprError {
            offset: end.saturating_sub(1),
            message: format!("the expression opened with `{open}` must end with `{close}`"),
        });
    }
    let tokens = lex(src, start + 2, end - 1)?;
    let mut p = Parser {
        toks: &tokens,
        pos: 0,
        depth: 0,
    };
    let program = if is_block {
        let mut stmts = Vec::new();
        while !p.at_eof() {
            stmts.push(p.statement()?);
        }
        Program::Block(stmts)
    } else {
        if p.at_eof() {
            return Err(p.error("`@()` is empty; write an expression inside"));
        }
        let e = p.expr()?;
        if !p.at_eof() {
            return Err(p.error(format!(
                "unexpected {} after the end of the expression (a statement block is written @{{ … }})",
                p.describe()
            )));
        }
        Program::Expr(e)
    };
    Ok(program)
}

/// Parses a statement list from its own tokens (used by lambdas with block bodies).
pub(super) struct Parser<'t> {
    toks: &'t [Token],
    pos: usize,
    /// How deeply the parse is nested (parentheses, unary operators, blocks, interpolation
    /// holes); bounded so hostile input cannot overflow the stack of a gateway worker.
    depth: usize,
}

/// Deepest nesting accepted. Real policies nest a handful of levels; every later stage (type
/// checking, evaluation) recurses over the tree, so this bound protects them too.
const MAX_DEPTH: usize = 64;

/// A type as written, before resolution (so that speculative parses can back out).
#[derive(Debug, Clone)]
struct TypeSyntax {
    name: String,
    at: usize,
    args: Vec<TypeSyntax>,
    /// `[]` (true) and `?` (false) suffixes, in order.
    suffixes: Vec<bool>,
}

impl<'t> Parser<'t> {
    /// Runs `parse` one level deeper, refusing input nested beyond [`MAX_DEPTH`].
    fn nested<T>(
        &mut self,
        parse: impl FnOnce(&mut Self) -> Result<T, ExprError>,
    ) -> Result<T, ExprError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.error(format!(
                "the expression nests more than {MAX_DEPTH} levels deep; split it into variables"
            )));
        }
        self.depth += 1;
        let result = parse(self);
        self.depth -= 1;
        result
    }

    fn peek(&self) -> &'t Token {
        let last = self.toks.len() - 1;
        &self.toks[self.pos.min(last)]
    }

    fn peek_at(&self, n: usize) -> &'t Tok {
        let last = self.toks.len() - 1;
        &self.toks[(self.pos + n).min(last)].tok
    }

    fn at(&self) -> usize {
        self.peek().start
    }

    fn at_eof(&self) -> bool {
        matches!(self.peek().tok, Tok::Eof)
    }

    fn bump(&mut self) -> &'t Token {
        let t = self.peek();
        if !matches!(t.tok, Tok::Eof) {
            self.pos += 1;
        }
        t
    }

    fn is(&self, p: &str) -> bool {
        matches!(&self.peek().tok, Tok::Punct(q) if *q == p)
    }

    fn is_at(&self, n: usize, p: &str) -> bool {
        matches!(self.peek_at(n), Tok::Punct(q) if *q == p)
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(&self.peek().tok, Tok::Ident(i) if i == kw)
    }

    fn eat(&mut self, p: &str) -> bool {
        let yes = self.is(p);
        if yes {
            self.pos += 1;
        }
        yes
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        let yes = self.is_kw(kw);
        if yes {
            self.pos += 1;
        }
        yes
    }

    fn expect(&mut self, p: &str) -> Result<(), ExprError> {
        if self.eat(p) {
            Ok(())
        } else {
            Err(self.error(format!("expected `{p}` but found {}", self.describe())))
        }
    }

    fn ident(&mut self) -> Result<String, ExprError> {
        match &self.peek().tok {
            Tok::Ident(i) => {
                let i = i.clone();
                self.pos += 1;
                Ok(i)
            }
            _ => Err(self.error(format!("expected a name but found {}", self.describe()))),
        }
    }

    fn describe(&self) -> String {
        match &self.peek().tok {
            Tok::Eof => "the end of the expression".into(),
            Tok::Ident(i) => format!("`{i}`"),
            Tok::Punct(p) => format!("`{p}`"),
            Tok::Str(_) | Tok::Interp(_) => "a string".into(),
            Tok::Char(_) => "a character".into(),
            Tok::Int(..) | Tok::Double(_) => "a number".into(),
        }
    }

    fn error(&self, message: impl Into<String>) -> ExprError {
        ExprError {
            offset: self.at(),
            message: message.into(),
        }
    }

    /// Parses type syntax (`string`, `List<string>`, `byte[]`, `int?`, `System.Text.Encoding`)
    /// without resolving it; `None` (position restored) when the tokens are not a type.
    fn type_syntax(&mut self) -> Option<TypeSyntax> {
        let save = self.pos;
        let result = self.type_syntax_inner();
        if result.is_none() {
            self.pos = save;
        }
        result
    }

    fn type_syntax_inner(&mut self) -> Option<TypeSyntax> {
        let at = self.at();
        let Tok::Ident(first) = &self.peek().tok else {
            return None;
        };
        let mut name = first.clone();
        self.pos += 1;
        while self.is(".") && matches!(self.peek_at(1), Tok::Ident(_)) {
            self.pos += 1;
            if let Tok::Ident(next) = &self.bump().tok {
                name.push('.');
                name.push_str(next);
            }
        }
        let mut args = Vec::new();
        if self.is("<") {
            self.pos += 1;
            loop {
                args.push(self.type_syntax_inner()?);
                if self.eat(">") {
                    break;
                }
                if !self.eat(",") {
                    return None;
                }
            }
        }
        let mut suffixes = Vec::new();
        loop {
            if self.is("[") && self.is_at(1, "]") {
                self.pos += 2;
                suffixes.push(true);
            } else if self.is("?") && self.nullable_suffix() {
                self.pos += 1;
                suffixes.push(false);
            } else {
                break;
            }
        }
        Some(TypeSyntax {
            name,
            at,
            args,
            suffixes,
        })
    }

    /// Whether the `?` at the cursor makes the type nullable (`int? x = …`, `(int?)x`, `List<int?>`)
    /// rather than starting a conditional (`x is int ? a : b`).
    fn nullable_suffix(&self) -> bool {
        match self.peek_at(1) {
            Tok::Punct(")" | ">" | ",") => true,
            Tok::Ident(_) => matches!(self.peek_at(2), Tok::Punct("=" | ";" | ",")),
            _ => false,
        }
    }

    /// Resolves type syntax to a type, or explains which names are supported.
    fn resolve_type(&self, t: &TypeSyntax) -> Result<Ty, ExprError> {
        let mut ty = if t.args.is_empty() {
            types::simple(&t.name).ok_or_else(|| unknown_type(t))?
        } else {
            let args = t
                .args
                .iter()
                .map(|a| self.resolve_type(a))
                .collect::<Result<Vec<_>, _>>()?;
            if !types::is_generic(&t.name) {
                return Err(unknown_type(t));
            }
            types::generic(&t.name, args).ok_or_else(|| ExprError {
                offset: t.at,
                message: format!("`{}` has the wrong number of type arguments", t.name),
            })?
        };
        for &array in &t.suffixes {
            ty = if array {
                Ty::Array(Box::new(ty))
            } else {
                Ty::Nullable(Box::new(ty))
            };
        }
        Ok(ty)
    }

    /// A type where one is required.
    fn parse_type(&mut self) -> Result<Ty, ExprError> {
        match self.type_syntax() {
            Some(t) => self.resolve_type(&t),
            None => Err(self.error(format!("expected a type but found {}", self.describe()))),
        }
    }

    /// Parses statements up to the closing `}` (consumed).
    fn block_body(&mut self) -> Result<Vec<Stmt>, ExprError> {
        let mut stmts = Vec::new();
        while !self.eat("}") {
            if self.at_eof() {
                return Err(self.error("`{` is never closed with `}`"));
            }
            stmts.push(self.statement()?);
        }
        Ok(stmts)
    }
}

fn unknown_type(t: &TypeSyntax) -> ExprError {
    ExprError {
        offset: t.at,
        message: format!(
            "type `{}` is not supported in Portico expressions; supported types are: {}",
            t.name,
            types::supported_list()
        ),
    }
}
