//! Primary expressions: literals, names and bare calls, parenthesised expressions,
//! interpolated strings, `typeof`/`default`, and every form of `new` (objects with collection
//! initializers, arrays, anonymous objects).

use super::super::ast::{Expr, ExprKind, InterpPart};
use super::super::lexer::{InterpPiece, NumSuffix, Tok};
use super::super::types::Ty;
use super::super::value::Value;
use super::super::ExprError;
use super::Parser;

fn node(kind: ExprKind, at: usize) -> Expr {
    Expr { kind, at }
}

fn bx(e: Expr) -> Box<Expr> {
    Box::new(e)
}

impl Parser<'_> {
    pub(super) fn primary(&mut self) -> Result<Expr, ExprError> {
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
                        depth: self.depth,
                    };
                    let e = sub.nested(Parser::expr)?;
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
        let props = object_initializer(&mut init).map_err(|offset| ExprError {
            offset,
            message: "an initializer sets either properties (`{ Key = … }`) or collection items, not both".into(),
        })?;
        Ok(node(
            ExprKind::New {
                ty,
                args,
                init,
                props,
            },
            at,
        ))
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

/// Splits `{ Name = value, … }` (an object initializer) from collection items: when every entry
/// is a plain assignment to a bare name, they are property settings. Mixing both is refused
/// (the `Err` is the offset of the first offending entry).
fn object_initializer(init: &mut Vec<Vec<Expr>>) -> Result<Vec<(String, Expr)>, usize> {
    let is_prop = |g: &Vec<Expr>| {
        matches!(g.as_slice(), [Expr { kind: ExprKind::Assign { op: None, target, .. }, .. }]
            if matches!(target.kind, ExprKind::Name(_)))
    };
    if !init.iter().any(is_prop) {
        return Ok(Vec::new());
    }
    if let Some(g) = init.iter().find(|g| !is_prop(g)) {
        return Err(g.first().map_or(0, |e| e.at));
    }
    let mut props = Vec::new();
    for mut g in init.drain(..) {
        if let Some(Expr {
            kind: ExprKind::Assign { target, value, .. },
            ..
        }) = g.pop()
        {
            if let ExprKind::Name(name) = target.kind {
                props.push((name, *value));
            }
        }
    }
    Ok(props)
}

/// The C# type of an integer literal: `int` when it fits, else `long`.
fn int_literal(v: i64, suffix: NumSuffix) -> Value {
    match (suffix, i32::try_from(v)) {
        (NumSuffix::None, Ok(i)) => Value::Int(i),
        (NumSuffix::Unsigned, Ok(i)) if i >= 0 => Value::Int(i),
        _ => Value::Long(v),
    }
}
