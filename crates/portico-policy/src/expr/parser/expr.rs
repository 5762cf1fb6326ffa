//! Expressions, by precedence climbing: assignment and lambdas, `?:`, `??`, `||`, `&&`,
//! bitwise, equality, relational with `is`/`as`, shifts, additive, multiplicative, unary and
//! casts, then postfix member access, calls (with generic arguments), indexers and `?.`.

use super::super::ast::{Arg, BinOp, Expr, ExprKind, InterpPart, Lambda, LambdaBody, UnOp};
use super::super::lexer::{InterpPiece, NumSuffix, Tok};
use super::super::types::{self, Ty};
use super::super::value::Value;
use super::super::ExprError;
use super::Parser;

const ASSIGN_OPS: &[(&str, Option<BinOp>)] = &[
    ("=", None),
    ("+=", Some(BinOp::Add)),
    ("-=", Some(BinOp::Sub)),
    ("*=", Some(BinOp::Mul)),
    ("/=", Some(BinOp::Div)),
    ("%=", Some(BinOp::Rem)),
    ("&=", Some(BinOp::BitAnd)),
    ("|=", Some(BinOp::BitOr)),
    ("^=", Some(BinOp::BitXor)),
    ("<<=", Some(BinOp::Shl)),
    ("??=", Some(BinOp::Coalesce)),
];

/// Binary operator levels from loosest to tightest (above `??`, which is right-associative).
const LEVELS: &[&[(&str, BinOp)]] = &[
    &[("||", BinOp::Or)],
    &[("&&", BinOp::And)],
    &[("|", BinOp::BitOr)],
    &[("^", BinOp::BitXor)],
    &[("&", BinOp::BitAnd)],
    &[("==", BinOp::Eq), ("!=", BinOp::Ne)],
];

fn node(kind: ExprKind, at: usize) -> Expr {
    Expr { kind, at }
}

fn bx(e: Expr) -> Box<Expr> {
    Box::new(e)
}

impl Parser<'_> {
    pub(super) fn expr(&mut self) -> Result<Expr, ExprError> {
        if let Some(lambda) = self.lambda()? {
            return Ok(lambda);
        }
        let at = self.at();
        let target = self.conditional()?;
        for (p, op) in ASSIGN_OPS {
            if self.is(p) {
                // `>>=` arrives as `>` `>=`.
                self.bump();
                let value = self.expr()?;
                return Ok(node(
                    ExprKind::Assign {
                        op: *op,
                        target: bx(target),
                        value: bx(value),
                    },
                    at,
                ));
            }
        }
        Ok(target)
    }

    /// `x => …`, `(x, y) => …`, `() => …`; `None` when the tokens are not a lambda.
    fn lambda(&mut self) -> Result<Option<Expr>, ExprError> {
        let at = self.at();
        let mut params = Vec::new();
        if matches!(self.peek().tok, Tok::Ident(_)) && self.is_at(1, "=>") {
            params.push((self.ident()?, 0));
        } else if self.is("(") {
            let mut n = 1;
            loop {
                match self.peek_at(n) {
                    Tok::Ident(_) if matches!(self.peek_at(n + 1), Tok::Punct("," | ")")) => n += 2,
                    Tok::Punct(")") if n == 1 => n += 1,
                    _ => return Ok(None),
                }
                if matches!(self.peek_at(n - 1), Tok::Punct(")")) {
                    break;
                }
            }
            if !matches!(self.peek_at(n), Tok::Punct("=>")) {
                return Ok(None);
            }
            self.bump();
            while !self.eat(")") {
                params.push((self.ident()?, 0));
                self.eat(",");
            }
        } else {
            return Ok(None);
        }
        self.expect("=>")?;
        let body = if self.eat("{") {
            LambdaBody::Block(self.block_body()?)
        } else {
            LambdaBody::Expr(self.expr()?)
        };
        Ok(Some(node(
            ExprKind::Lambda(Box::new(Lambda { params, body })),
            at,
        )))
    }

    fn conditional(&mut self) -> Result<Expr, ExprError> {
        let at = self.at();
        let cond = self.coalesce()?;
        if !self.eat("?") {
            return Ok(cond);
        }
        let then = self.expr()?;
        self.expect(":")?;
        let otherwise = self.expr()?;
        Ok(node(ExprKind::Cond(bx(cond), bx(then), bx(otherwise)), at))
    }

    fn coalesce(&mut self) -> Result<Expr, ExprError> {
        let at = self.at();
        let left = self.binary(0)?;
        if !self.eat("??") {
            return Ok(left);
        }
        let right = self.coalesce()?;
        Ok(node(
            ExprKind::Binary(BinOp::Coalesce, bx(left), bx(right)),
            at,
        ))
    }

    fn binary(&mut self, level: usize) -> Result<Expr, ExprError> {
        let Some(ops) = LEVELS.get(level) else {
            return self.relational();
        };
        let at = self.at();
        let mut left = self.binary(level + 1)?;
        'outer: loop {
            for (p, op) in *ops {
                if self.is(p) {
                    self.bump();
                    let right = self.binary(level + 1)?;
                    left = node(ExprKind::Binary(*op, bx(left), bx(right)), at);
                    continue 'outer;
                }
            }
            return Ok(left);
        }
    }

    fn relational(&mut self) -> Result<Expr, ExprError> {
        let at = self.at();
        let mut left = self.shift()?;
        loop {
            let op = match &self.peek().tok {
                Tok::Punct("<") => BinOp::Lt,
                Tok::Punct(">") if !self.is_at(1, "=") => BinOp::Gt,
                Tok::Punct("<=") => BinOp::Le,
                Tok::Punct(">=") => BinOp::Ge,
                Tok::Ident(k) if k == "is" => {
                    self.bump();
                    left = self.is_pattern(left, at)?;
                    continue;
                }
                Tok::Ident(k) if k == "as" => {
                    self.bump();
                    let ty = self.parse_type()?;
                    left = node(ExprKind::As(bx(left), ty), at);
                    continue;
                }
                _ => return Ok(left),
            };
            self.bump();
            let right = self.shift()?;
            left = node(ExprKind::Binary(op, bx(left), bx(right)), at);
        }
    }

    /// After `is`: `null`, `not null`, a type, or a type and a name to bind.
    fn is_pattern(&mut self, left: Expr, at: usize) -> Result<Expr, ExprError> {
        let negate = self.eat_kw("not");
        if self.eat_kw("null") {
            return Ok(node(ExprKind::IsNull(bx(left), !negate), at));
        }
        if negate {
            return Err(self.error("only `is not null` is supported after `is not`"));
        }
        let ty = self.parse_type()?;
        let bind = match &self.peek().tok {
            Tok::Ident(name) if !matches!(name.as_str(), "and" | "or") => {
                let name = name.clone();
                self.bump();
                Some((name, 0))
            }
            _ => None,
        };
        Ok(node(
            ExprKind::Is {
                expr: bx(left),
                ty,
                bind,
            },
            at,
        ))
    }

    fn shift(&mut self) -> Result<Expr, ExprError> {
        let at = self.at();
        let mut left = self.additive()?;
        loop {
            let op = if self.is("<<") {
                self.bump();
                BinOp::Shl
            } else if self.is(">") && self.is_at(1, ">") && self.adjacent() {
                self.bump();
                self.bump();
                BinOp::Shr
            } else {
                return Ok(left);
            };
            let right = self.additive()?;
            left = node(ExprKind::Binary(op, bx(left), bx(right)), at);
        }
    }

    /// Whether the token at the cursor and the next touch (`>>` written as two `>`).
    fn adjacent(&self) -> bool {
        let next = &self.toks[(self.pos + 1).min(self.toks.len() - 1)];
        self.peek().end == next.start
    }

    fn additive(&mut self) -> Result<Expr, ExprError> {
        self.left_assoc(
            &[("+", BinOp::Add), ("-", BinOp::Sub)],
            Self::multiplicative,
        )
    }

    fn multiplicative(&mut self) -> Result<Expr, ExprError> {
        self.left_assoc(
            &[("*", BinOp::Mul), ("/", BinOp::Div), ("%", BinOp::Rem)],
            Self::unary,
        )
    }

    fn left_assoc(
        &mut self,
        ops: &[(&str, BinOp)],
        next: fn(&mut Self) -> Result<Expr, ExprError>,
    ) -> Result<Expr, ExprError> {
        let at = self.at();
        let mut left = next(self)?;
        'outer: loop {
            for (p, op) in ops {
                if self.is(p) {
                    self.bump();
                    let right = next(self)?;
                    left = node(ExprKind::Binary(*op, bx(left), bx(right)), at);
                    continue 'outer;
                }
            }
            return Ok(left);
        }
    }

    fn unary(&mut self) -> Result<Expr, ExprError> {
        let at = self.at();
        let op = match &self.peek().tok {
            Tok::Punct("!") => Some(UnOp::Not),
            Tok::Punct("-") => Some(UnOp::Neg),
            Tok::Punct("+") => Some(UnOp::Plus),
            Tok::Punct("~") => Some(UnOp::BitNot),
            Tok::Punct(p @ ("++" | "--")) => {
                let delta = if *p == "++" { 1 } else { -1 };
                self.bump();
                let target = self.unary()?;
                return Ok(node(
                    ExprKind::IncDec {
                        target: bx(target),
                        delta,
                        prefix: true,
                    },
                    at,
                ));
            }
            _ => None,
        };
        if let Some(op) = op {
            self.bump();
            // Fold `-2147483648` and friends so the literal itself does not overflow.
            let operand = self.unary()?;
            if op == UnOp::Neg {
                if let ExprKind::Lit(Value::Long(v)) = operand.kind {
                    if v == 1 << 31 {
                        return Ok(node(ExprKind::Lit(Value::Int(i32::MIN)), at));
                    }
                }
            }
            return Ok(node(ExprKind::Unary(op, bx(operand)), at));
        }
        if let Some(cast) = self.cast()? {
            return Ok(cast);
        }
        self.postfix()
    }

    /// `(Type)operand`, following C#'s rule: a parenthesised type is a cast when it is a
    /// built-in type keyword or when what follows can only start an operand.
    fn cast(&mut self) -> Result<Option<Expr>, ExprError> {
        if !self.is("(") {
            return Ok(None);
        }
        let at = self.at();
        let save = self.pos;
        self.bump();
        let Some(syntax) = self.type_syntax() else {
            self.pos = save;
            return Ok(None);
        };
        if !self.eat(")") {
            self.pos = save;
            return Ok(None);
        }
        let keyword = types::simple(&syntax.name).is_some()
            && syntax.name.chars().next().is_some_and(char::is_lowercase);
        let operand_follows = match &self.peek().tok {
            Tok::Ident(k) => !matches!(k.as_str(), "is" | "as"),
            Tok::Punct(p) => matches!(*p, "(" | "!" | "~") || (keyword && matches!(*p, "-" | "+")),
            Tok::Eof => false,
            _ => true,
        };
        if !operand_follows {
            self.pos = save;
            return Ok(None);
        }
        let ty = self.resolve_type(&syntax)?;
        let operand = self.unary()?;
        Ok(Some(node(ExprKind::Cast(ty, bx(operand)), at)))
    }

    fn postfix(&mut self) -> Result<Expr, ExprError> {
        let mut e = self.primary()?;
        // After a `?.`, the rest of the chain is skipped when the receiver was null, as in C#.
        let mut in_null_chain = false;
        loop {
            let at = self.at();
            if self.is(".") || self.is("?.") {
                in_null_chain |= self.bump().tok == Tok::Punct("?.");
                let null_cond = in_null_chain;
                let name = self.ident()?;
                let type_args = self.type_args()?;
                if self.is("(") {
                    let args = self.args()?;
                    e = node(
                        ExprKind::Call {
                            recv: Some(bx(e)),
                            name,
                            type_args,
                            args,
                            null_cond,
                        },
                        at,
                    );
                } else {
                    e = node(
                        ExprKind::Member {
                            target: bx(e),
                            name,
                            null_cond,
                        },
                        at,
                    );
                }
            } else if self.is("[") || (self.is("?") && self.is_at(1, "[")) {
                in_null_chain |= self.eat("?");
                let null_cond = in_null_chain;
                self.bump();
                let mut args = vec![self.expr()?];
                while self.eat(",") {
                    args.push(self.expr()?);
                }
                self.expect("]")?;
                e = node(
                    ExprKind::Index {
                        target: bx(e),
                        args,
                        null_cond,
                    },
                    at,
                );
            } else if self.is("(") {
                return Err(self.error(
                    "only methods can be called; `(…)` after a value that is not a method (APIM's older `MatchedParameters(\"x\")` form is written `MatchedParameters[\"x\"]`)",
                ));
            } else if self.is("++") || self.is("--") {
                let delta = if self.bump().tok == Tok::Punct("++") {
                    1
                } else {
                    -1
                };
                e = node(
                    ExprKind::IncDec {
                        target: bx(e),
                        delta,
                        prefix: false,
                    },
                    at,
                );
            } else if self.is("!")
                && !self.is_at(1, "=")
                && !self.is_at(1, "(")
                && self.null_forgiving()
            {
                self.bump();
            } else {
                return Ok(e);
            }
        }
    }

    /// `x!` (null-forgiving) is only recognised before a token that cannot start an operand.
    fn null_forgiving(&self) -> bool {
        matches!(
            self.peek_at(1),
            Tok::Punct("." | ")" | ";" | "," | "]" | "?.")
        )
    }

    /// `<T, U>` after a method name, only when a `(` follows (otherwise it is a comparison).
    fn type_args(&mut self) -> Result<Vec<Ty>, ExprError> {
        if !self.is("<") {
            return Ok(Vec::new());
        }
        let save = self.pos;
        self.bump();
        let mut syntaxes = Vec::new();
        loop {
            let Some(t) = self.type_syntax() else {
                self.pos = save;
                return Ok(Vec::new());
            };
            syntaxes.push(t);
            if self.eat(">") {
                break;
            }
            if !self.eat(",") {
                self.pos = save;
                return Ok(Vec::new());
            }
        }
        if !self.is("(") {
            self.pos = save;
            return Ok(Vec::new());
        }
        syntaxes.iter().map(|t| self.resolve_type(t)).collect()
    }

    pub(super) fn args(&mut self) -> Result<Vec<Arg>, ExprError> {
        self.expect("(")?;
        let mut args = Vec::new();
        while !self.eat(")") {
            if self.at_eof() {
                return Err(self.error("argument list is never closed with `)`"));
            }
            args.push(self.arg()?);
            if !self.eat(",") {
                self.expect(")")?;
                break;
            }
        }
        Ok(args)
    }

    fn arg(&mut self) -> Result<Arg, ExprError> {
        let mut name = None;
        if matches!(self.peek().tok, Tok::Ident(_)) && self.is_at(1, ":") {
            name = Some(self.ident()?);
            self.bump();
        }
        if self.is_kw("ref") || self.is_kw("in") {
            return Err(self.error("`ref`/`in` arguments are not supported"));
        }
        if self.eat_kw("out") {
            let at = self.at();
            let save = self.pos;
            if let Some(t) = self.type_syntax() {
                if let Tok::Ident(var) = &self.peek().tok {
                    let var = var.clone();
                    self.bump();
                    let ty = self.resolve_type(&t)?;
                    let expr = node(
                        ExprKind::DeclOut {
                            ty,
                            name: var,
                            slot: 0,
                        },
                        at,
                    );
                    return Ok(Arg {
                        name,
                        out: true,
                        expr,
                    });
                }
                self.pos = save;
            }
            let expr = self.unary()?;
            return Ok(Arg {
                name,
                out: true,
                expr,
            });
        }
        Ok(Arg {
            name,
            out: false,
            expr: self.expr()?,
        })
    }

    fn primary(&mut self) -> Result<Expr, ExprError> {
        let at = self.at();
        let tok = self.bump().tok.clone();
        let kind = match tok {
            Tok::Int(v, suffix) => ExprKind::Lit(int_literal(v, suffix)),
            Tok::Double(v) => ExprKind::Lit(Value::Double(v)),
            Tok::Str(s) => ExprKind::Lit(Value::str(s)),
            Tok::Char(c) => ExprKind::Lit(Value::Char(c)),
            Tok::Interp(pieces) => ExprKind::Interp(self.interp(pieces)?),
            Tok::Punct("(") => {
                let e = self.expr()?;
                self.expect(")")?;
                return Ok(e);
            }
            Tok::Ident(word) => match word.as_str() {
                "true" => ExprKind::Lit(Value::Bool(true)),
                "false" => ExprKind::Lit(Value::Bool(false)),
                "null" => ExprKind::Lit(Value::Null),
                "new" => return self.new_expr(at),
                "typeof" | "default" | "nameof" | "sizeof" => {
                    self.expect("(")?;
                    let ty = self.parse_type()?;
                    self.expect(")")?;
                    match word.as_str() {
                        "typeof" => ExprKind::TypeOf(ty),
                        "default" => ExprKind::Default(ty),
                        _ => {
                            return Err(ExprError {
                                offset: at,
                                message: format!("`{word}` is not supported"),
                            })
                        }
                    }
                }
                "this" | "base" | "await" | "stackalloc" | "checked" | "unchecked" => {
                    return Err(ExprError {
                        offset: at,
                        message: format!("`{word}` is not supported in Portico expressions"),
                    })
                }
                _ => {
                    let type_args = self.type_args()?;
                    if self.is("(") {
                        let args = self.args()?;
                        ExprKind::Call {
                            recv: None,
                            name: word,
                            type_args,
                            args,
                            null_cond: false,
                        }
                    } else {
                        ExprKind::Name(word)
                    }
                }
            },
            Tok::Eof => {
                return Err(ExprError {
                    offset: at,
                    message: "the expression ends where a value was expected".into(),
                })
            }
            Tok::Punct(p) => {
                return Err(ExprError {
                    offset: at,
                    message: format!("expected a value but found `{p}`"),
                })
            }
        };
        Ok(node(kind, at))
    }

    fn interp(&mut self, pieces: Vec<InterpPiece>) -> Result<Vec<InterpPart>, ExprError> {
        let mut parts = Vec::new();
        for piece in pieces {
            match piece {
                InterpPiece::Text(t) => parts.push(InterpPart::Text(t)),
                InterpPiece::Hole { tokens, format, .. } => {
                    let mut sub = Parser {
                        toks: &tokens,
                        pos: 0,
                    };
                    let e = sub.expr()?;
                    if !sub.at_eof() {
                        return Err(sub.error(format!(
                            "unexpected {} in interpolation hole (wrap a conditional in parentheses)",
                            sub.describe()
                        )));
                    }
                    parts.push(InterpPart::Hole(e, format));
                }
            }
        }
        Ok(parts)
    }

    /// After `new`: an array, an anonymous object, or an object with an optional initializer.
    fn new_expr(&mut self, at: usize) -> Result<Expr, ExprError> {
        if self.eat("[") {
            self.expect("]")?;
            let items = self.array_items()?;
            return Ok(node(
                ExprKind::NewArray {
                    elem: Ty::Var,
                    size: None,
                    items,
                },
                at,
            ));
        }
        if self.eat("{") {
            let mut members = Vec::new();
            while !self.eat("}") {
                let e = self.expr()?;
                let member = match e.kind {
                    ExprKind::Assign {
                        op: None,
                        target,
                        value,
                    } => match target.kind {
                        ExprKind::Name(n) => (n, *value),
                        _ => {
                            return Err(
                                self.error("anonymous object members are written `name = value`")
                            )
                        }
                    },
                    ExprKind::Name(ref n) => (n.clone(), e),
                    ExprKind::Member { ref name, .. } => (name.clone(), e),
                    _ => {
                        return Err(
                            self.error("anonymous object members are written `name = value`")
                        )
                    }
                };
                members.push(member);
                if !self.eat(",") {
                    self.expect("}")?;
                    break;
                }
            }
            return Ok(node(ExprKind::Anonymous(members), at));
        }
        let Some(mut syntax) = self.type_syntax() else {
            return Err(self.error(format!(
                "expected a type after `new` but found {}",
                self.describe()
            )));
        };
        if self.is("[") {
            // `new byte[16]` or `new string[] { … }`; the size was not consumed as a suffix.
            self.bump();
            let size = if self.is("]") {
                None
            } else {
                Some(bx(self.expr()?))
            };
            self.expect("]")?;
            syntax.suffixes.clear();
            let elem = self.resolve_type(&syntax)?;
            let items = if self.is("{") {
                self.array_items()?
            } else {
                Vec::new()
            };
            if size.is_none() && !matches!(self.toks[self.pos - 1].tok, Tok::Punct("}")) {
                return Err(self.error("an array needs a size or an initializer"));
            }
            return Ok(node(ExprKind::NewArray { elem, size, items }, at));
        }
        if let Some(true) = syntax.suffixes.last() {
            syntax.suffixes.pop();
            let elem = self.resolve_type(&syntax)?;
            let items = self.array_items()?;
            return Ok(node(
                ExprKind::NewArray {
                    elem,
                    size: None,
                    items,
                },
                at,
            ));
        }
        let ty = self.resolve_type(&syntax)?;
        let args = if self.is("(") {
            self.args()?
        } else {
            Vec::new()
        };
        let mut init = Vec::new();
        if self.eat("{") {
            while !self.eat("}") {
                if self.eat("{") {
                    let mut group = vec![self.expr()?];
                    while self.eat(",") {
                        group.push(self.expr()?);
                    }
                    self.expect("}")?;
                    init.push(group);
                } else {
                    init.push(vec![self.expr()?]);
                }
                if !self.eat(",") {
                    self.expect("}")?;
                    break;
                }
            }
        }
        Ok(node(ExprKind::New { ty, args, init }, at))
    }

    fn array_items(&mut self) -> Result<Vec<Expr>, ExprError> {
        self.expect("{")?;
        let mut items = Vec::new();
        while !self.eat("}") {
            items.push(self.expr()?);
            if !self.eat(",") {
                self.expect("}")?;
                break;
            }
        }
        Ok(items)
    }
}

/// The C# type of an integer literal: `int` when it fits, else `long`.
fn int_literal(v: i64, suffix: NumSuffix) -> Value {
    match (suffix, i32::try_from(v)) {
        (NumSuffix::None, Ok(i)) => Value::Int(i),
        (NumSuffix::Unsigned, Ok(i)) if i >= 0 => Value::Int(i),
        _ => Value::Long(v),
    }
}
