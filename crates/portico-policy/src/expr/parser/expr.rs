//! Expressions, by precedence climbing: assignment and lambdas, `?:`, `??`, `||`, `&&`,
//! bitwise, equality, relational with `is`/`as`, shifts, additive, multiplicative, unary and
//! casts, then postfix member access, calls (with generic arguments), indexers and `?.`.

use super::super::ast::{Arg, BinOp, Expr, ExprKind, Lambda, LambdaBody, UnOp};
use super::super::lexer::Tok;
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
        self.nested(Self::expr_unnested)
    }

    fn expr_unnested(&mut self) -> Result<Expr, ExprError> {
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
        self.nested(Self::unary_unnested)
    }

    fn unary_unnested(&mut self) -> Result<Expr, ExprError> {
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
    pub(super) fn type_args(&mut self) -> Result<Vec<Ty>, ExprError> {
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
}
