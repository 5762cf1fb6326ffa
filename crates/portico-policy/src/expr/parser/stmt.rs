//! Statements of `@{ … }` blocks: declarations (`var`, typed, `const`), `if`/`else`, `while`,
//! `do`, `for`, `foreach`, `return`, `break`, `continue`, `throw`, `try`/`catch`/`finally`,
//! `checked`/`unchecked` blocks, `using` and expression statements.

use super::super::ast::{Catch, Declarator, LocalFn, Stmt, StmtKind};
use super::super::lexer::Tok;
use super::super::types::Ty;
use super::super::ExprError;
use super::Parser;

/// Statements Portico refuses, with the reason given to the user.
const REFUSED: &[(&str, &str)] = &[
    (
        "lock",
        "`lock` is not supported (expressions run single-threaded)",
    ),
    ("goto", "`goto` is not supported"),
    ("switch", "`switch` is not supported; use if/else"),
    ("yield", "`yield` is not supported"),
    (
        "await",
        "`await` is not supported; expressions are synchronous",
    ),
];

impl Parser<'_> {
    pub(super) fn statement(&mut self) -> Result<Stmt, ExprError> {
        let at = self.at();
        let kind = self.nested(Self::statement_kind)?;
        Ok(Stmt { kind, at })
    }

    fn statement_kind(&mut self) -> Result<StmtKind, ExprError> {
        if self.eat("{") {
            return Ok(StmtKind::Block(self.block_body()?));
        }
        if self.eat(";") {
            return Ok(StmtKind::Empty);
        }
        if let Tok::Ident(word) = &self.peek().tok {
            if let Some((_, why)) = REFUSED.iter().find(|(k, _)| k == word) {
                return Err(self.error(*why));
            }
            match word.as_str() {
                "if" => return self.if_stmt(),
                "while" => {
                    self.bump();
                    let cond = self.paren_expr()?;
                    return Ok(StmtKind::While(cond, Box::new(self.statement()?)));
                }
                "do" => {
                    self.bump();
                    let body = Box::new(self.statement()?);
                    if !self.eat_kw("while") {
                        return Err(self.error("expected `while` after the body of `do`"));
                    }
                    let cond = self.paren_expr()?;
                    self.expect(";")?;
                    return Ok(StmtKind::DoWhile(body, cond));
                }
                "for" => return self.for_stmt(),
                "foreach" => return self.foreach_stmt(),
                "return" => {
                    self.bump();
                    let value = if self.is(";") {
                        None
                    } else {
                        Some(self.expr()?)
                    };
                    self.expect(";")?;
                    return Ok(StmtKind::Return(value));
                }
                "break" | "continue" => {
                    let is_break = word == "break";
                    self.bump();
                    self.expect(";")?;
                    return Ok(if is_break {
                        StmtKind::Break
                    } else {
                        StmtKind::Continue
                    });
                }
                "throw" => {
                    self.bump();
                    let value = if self.is(";") {
                        None
                    } else {
                        Some(self.expr()?)
                    };
                    self.expect(";")?;
                    return Ok(StmtKind::Throw(value));
                }
                "try" => return self.try_stmt(),
                "using" => return self.using_stmt(),
                "checked" | "unchecked" if self.is_at(1, "{") => {
                    self.bump();
                    self.bump();
                    return Ok(StmtKind::Block(self.block_body()?));
                }
                "const" => {
                    self.bump();
                    let decls = self
                        .declaration()?
                        .ok_or_else(|| self.error("expected a declaration after `const`"))?;
                    self.expect(";")?;
                    return Ok(decls);
                }
                _ => {}
            }
        }
        if let Some(decl) = self.declaration()? {
            if !matches!(decl, StmtKind::LocalFn(_)) {
                self.expect(";")?;
            }
            return Ok(decl);
        }
        let e = self.expr()?;
        self.expect(";")?;
        Ok(StmtKind::Expr(e))
    }

    fn paren_expr(&mut self) -> Result<super::super::ast::Expr, ExprError> {
        self.expect("(")?;
        let e = self.expr()?;
        self.expect(")")?;
        Ok(e)
    }

    fn if_stmt(&mut self) -> Result<StmtKind, ExprError> {
        self.bump();
        let cond = self.paren_expr()?;
        let then = Box::new(self.statement()?);
        let otherwise = if self.eat_kw("else") {
            Some(Box::new(self.statement()?))
        } else {
            None
        };
        Ok(StmtKind::If(cond, then, otherwise))
    }

    fn for_stmt(&mut self) -> Result<StmtKind, ExprError> {
        self.bump();
        self.expect("(")?;
        let mut init = Vec::new();
        if !self.is(";") {
            let at = self.at();
            match self.declaration()? {
                Some(d) => init.push(Stmt { kind: d, at }),
                None => loop {
                    let at = self.at();
                    init.push(Stmt {
                        kind: StmtKind::Expr(self.expr()?),
                        at,
                    });
                    if !self.eat(",") {
                        break;
                    }
                },
            }
        }
        self.expect(";")?;
        let cond = if self.is(";") {
            None
        } else {
            Some(self.expr()?)
        };
        self.expect(";")?;
        let mut step = Vec::new();
        while !self.is(")") {
            step.push(self.expr()?);
            if !self.eat(",") {
                break;
            }
        }
        self.expect(")")?;
        let body = Box::new(self.statement()?);
        Ok(StmtKind::For {
            init,
            cond,
            step,
            body,
        })
    }

    fn foreach_stmt(&mut self) -> Result<StmtKind, ExprError> {
        self.bump();
        self.expect("(")?;
        let ty = self.parse_type()?;
        let name = self.ident()?;
        if !self.eat_kw("in") {
            return Err(self.error("expected `in` in `foreach`"));
        }
        let iter = self.expr()?;
        self.expect(")")?;
        let body = Box::new(self.statement()?);
        Ok(StmtKind::Foreach {
            ty,
            name,
            slot: 0,
            iter,
            body,
        })
    }

    fn try_stmt(&mut self) -> Result<StmtKind, ExprError> {
        self.bump();
        self.expect("{")?;
        let body = self.block_body()?;
        let mut catch = None;
        if self.eat_kw("catch") {
            let mut var = None;
            if self.eat("(") {
                let ty = self.parse_type()?;
                if ty != Ty::Exception {
                    return Err(self.error(
                        "only `catch (Exception …)` is supported: Portico has one exception type",
                    ));
                }
                if let Tok::Ident(_) = self.peek().tok {
                    var = Some((self.ident()?, 0));
                }
                self.expect(")")?;
            }
            if self.is_kw("when") {
                return Err(self.error("exception filters (`catch … when`) are not supported"));
            }
            self.expect("{")?;
            catch = Some(Catch {
                var,
                body: self.block_body()?,
            });
            if self.is_kw("catch") {
                return Err(self.error("only one `catch` clause is supported"));
            }
        }
        let finally = if self.eat_kw("finally") {
            self.expect("{")?;
            Some(self.block_body()?)
        } else {
            None
        };
        if catch.is_none() && finally.is_none() {
            return Err(self.error("`try` needs a `catch` or a `finally`"));
        }
        Ok(StmtKind::Try {
            body,
            catch,
            finally,
        })
    }

    /// `using (var x = …) stmt` and `using var x = …;`. The objects Portico creates hold nothing
    /// to release, so `using` is plain scoping: the declaration is visible in its body only.
    fn using_stmt(&mut self) -> Result<StmtKind, ExprError> {
        self.bump();
        let parenthesized = self.eat("(");
        let at = self.at();
        let decl = self.declaration()?.ok_or_else(|| {
            self.error("Portico supports `using (var name = …)` and `using var name = …;` only")
        })?;
        if !parenthesized {
            self.expect(";")?;
            return Ok(decl);
        }
        self.expect(")")?;
        let body = self.statement()?;
        Ok(StmtKind::Block(vec![Stmt { kind: decl, at }, body]))
    }

    /// `Ret Name(Type a, Type b) { … }` or `… => expr;`, from the name on.
    fn local_function(&mut self, ret: Ty, name: String, at: usize) -> Result<StmtKind, ExprError> {
        if ret == Ty::Var {
            return Err(ExprError {
                offset: at,
                message: format!("local function `{name}` needs a return type, not `var`"),
            });
        }
        self.bump();
        self.expect("(")?;
        let mut params = Vec::new();
        if !self.eat(")") {
            loop {
                if self.is_kw("ref")
                    || self.is_kw("out")
                    || self.is_kw("in")
                    || self.is_kw("params")
                {
                    return Err(self.error(
                        "`ref`, `out`, `in` and `params` parameters of local functions are not supported",
                    ));
                }
                let ty = self.parse_type()?;
                let pname = self.ident()?;
                if self.is("=") {
                    return Err(self.error(
                        "default values of local function parameters are not supported; pass every argument",
                    ));
                }
                params.push((ty, pname, 0));
                if self.eat(")") {
                    break;
                }
                self.expect(",")?;
            }
        }
        let body_at = self.at();
        let body = if self.eat("{") {
            self.block_body()?
        } else if self.eat("=>") {
            let e = self.expr()?;
            self.expect(";")?;
            vec![Stmt {
                kind: StmtKind::Return(Some(e)),
                at: body_at,
            }]
        } else {
            return Err(self.error("expected the body of the local function: `{ … }` or `=> …;`"));
        };
        Ok(StmtKind::LocalFn(Box::new(LocalFn {
            name,
            ret,
            params,
            body,
            at,
            index: 0,
            slots: 0..0,
        })))
    }

    /// `Type name [= init], name2 [= init]` when the tokens start a declaration, or a local
    /// function; `None` (and the position unchanged) otherwise.
    fn declaration(&mut self) -> Result<Option<StmtKind>, ExprError> {
        let save = self.pos;
        let Some(syntax) = self.type_syntax() else {
            return Ok(None);
        };
        let Tok::Ident(name) = &self.peek().tok else {
            self.pos = save;
            return Ok(None);
        };
        if self.is_at(1, "(") {
            let ret = self.resolve_type(&syntax)?;
            let name = name.clone();
            return self.local_function(ret, name, syntax.at).map(Some);
        }
        if !matches!(self.peek_at(1), Tok::Punct("=" | ";" | ",")) {
            self.pos = save;
            return Ok(None);
        }
        let ty = self.resolve_type(&syntax)?;
        let mut decls = Vec::new();
        loop {
            let at = self.at();
            let name = self.ident()?;
            let init = if self.eat("=") {
                Some(self.expr()?)
            } else {
                None
            };
            if ty == Ty::Var && init.is_none() {
                return Err(ExprError {
                    offset: at,
                    message: format!("`var {name}` needs an initializer (`var {name} = …;`)"),
                });
            }
            decls.push(Declarator {
                ty: ty.clone(),
                name,
                slot: 0,
                init,
                at,
            });
            if !self.eat(",") {
                break;
            }
        }
        Ok(Some(StmtKind::Decl(decls)))
    }
}
