//! The checker: runs once at compile time over the syntax tree. It resolves every name to a
//! local slot, `context` or a static type; checks `context` member chains, static members and
//! argument counts against the catalogue; and rejects what Portico does not run, each time with
//! the offset of the offending text and what to write instead.

use super::ast::{Arg, Expr, ExprKind, InterpPart, LambdaBody, LocalFn, Program, Stmt, StmtKind};
use super::builtins::{crypto, regex};
use super::catalog::{self, MANY};
use super::context::CtxObj;
use super::ctx_members::{self, CtxMember};
use super::types::{self, Ty};
use super::ExprError;

/// What the checker knows statically about an expression's value.
#[derive(Clone, Debug, PartialEq)]
enum St {
    Ctx(CtxObj),
    Type(Ty),
    /// `System`, `System.Text`, …: only good as the start of a qualified name.
    Namespace(String),
    Other,
}

/// Checks `program` in place and returns the number of local slots it needs.
#[cfg(test)]
pub fn check(program: &mut Program) -> Result<usize, ExprError> {
    check_program(program).map(|(slots, _)| slots)
}

/// Checks `program` in place; returns the number of local slots it needs and its local
/// functions, which calls reach by index.
pub fn check_program(program: &mut Program) -> Result<(usize, Vec<LocalFn>), ExprError> {
    let mut c = Checker {
        scopes: vec![Vec::new()],
        fn_scopes: vec![Vec::new()],
        functions: Vec::new(),
        slots: 0,
    };
    match program {
        Program::Expr(e) => {
            c.expr(e, false)?;
        }
        Program::Block(stmts) => {
            if !stmts.iter().any(returns) {
                return Err(ExprError {
                    offset: stmts.first().map_or(0, |s| s.at),
                    message: "a statement block @{ … } must `return` the value it produces".into(),
                });
            }
            c.stmts(stmts)?;
        }
    }
    let functions = c.functions.into_iter().flatten().collect::<Vec<_>>();
    Ok((c.slots, functions))
}

/// Whether a `return` appears anywhere in the statement (a cheap stand-in for C#'s
/// definite-return analysis; falling off the end is a run-time error instead).
fn returns(s: &Stmt) -> bool {
    match &s.kind {
        StmtKind::Return(_) | StmtKind::Throw(_) => true,
        StmtKind::If(_, a, b) => returns(a) || b.as_deref().is_some_and(returns),
        StmtKind::Block(b) => b.iter().any(returns),
        StmtKind::While(_, b) | StmtKind::DoWhile(b, _) => returns(b),
        StmtKind::For { body, .. } | StmtKind::Foreach { body, .. } => returns(body),
        StmtKind::Try { body, catch, .. } => {
            body.iter().any(returns) || catch.as_ref().is_some_and(|c| c.body.iter().any(returns))
        }
        _ => false,
    }
}

fn err(offset: usize, message: impl Into<String>) -> ExprError {
    ExprError {
        offset,
        message: message.into(),
    }
}

struct Checker {
    scopes: Vec<Vec<(String, usize)>>,
    /// Local functions visible in each scope: name, index, number of parameters.
    fn_scopes: Vec<Vec<(String, usize, usize)>>,
    /// The function table; a slot is `None` until its body has been checked.
    functions: Vec<Option<LocalFn>>,
    slots: usize,
}

/// Nesting of local function calls at run time, bounded so recursion cannot exhaust the stack.
pub const MAX_CALL_DEPTH: usize = 64;

impl Checker {
    fn lookup(&self, name: &str) -> Option<usize> {
        self.scopes
            .iter()
            .rev()
            .flat_map(|s| s.iter().rev())
            .find(|(n, _)| n == name)
            .map(|(_, slot)| *slot)
    }

    fn declare(&mut self, name: &str, at: usize) -> Result<usize, ExprError> {
        if name == "context" || self.lookup(name).is_some() {
            return Err(err(
                at,
                format!("`{name}` is already declared; choose another name"),
            ));
        }
        let slot = self.slots;
        self.slots += 1;
        if let Some(scope) = self.scopes.last_mut() {
            scope.push((name.to_string(), slot));
        }
        Ok(slot)
    }

    fn scoped<R>(&mut self, f: impl FnOnce(&mut Self) -> R) -> R {
        self.scopes.push(Vec::new());
        self.fn_scopes.push(Vec::new());
        let r = f(self);
        self.fn_scopes.pop();
        self.scopes.pop();
        r
    }

    fn stmts(&mut self, stmts: &mut [Stmt]) -> Result<(), ExprError> {
        self.scoped(|c| {
            // A local function can be called anywhere in its block, even before it is written.
            for s in stmts.iter_mut() {
                if let StmtKind::LocalFn(f) = &mut s.kind {
                    let taken = c.fn_scopes.iter().flatten().any(|(n, ..)| *n == f.name);
                    if taken {
                        return Err(err(
                            f.at,
                            format!("local function `{}` is already declared", f.name),
                        ));
                    }
                    f.index = c.functions.len();
                    c.functions.push(None);
                    if let Some(scope) = c.fn_scopes.last_mut() {
                        scope.push((f.name.clone(), f.index, f.params.len()));
                    }
                }
            }
            stmts.iter_mut().try_for_each(|s| c.stmt(s))
        })
    }

    /// Checks a local function's body where it is written (it sees the locals declared
    /// before it, by reference, as C# captures them) and moves it to the function table.
    fn local_fn(&mut self, mut f: LocalFn) -> Result<(), ExprError> {
        let first = self.slots;
        self.scoped(|c| {
            for (_, name, slot) in &mut f.params {
                *slot = c.declare(name, f.at)?;
            }
            c.stmts(&mut f.body)
        })?;
        f.slots = first..self.slots;
        let index = f.index;
        self.functions[index] = Some(f);
        Ok(())
    }

    fn stmt(&mut self, s: &mut Stmt) -> Result<(), ExprError> {
        match &mut s.kind {
            StmtKind::Expr(e) => {
                if !matches!(
                    e.kind,
                    ExprKind::Assign { .. } | ExprKind::IncDec { .. } | ExprKind::Call { .. }
                ) {
                    return Err(err(
                        e.at,
                        "only assignments, increments and method calls can be used as statements",
                    ));
                }
                self.expr(e, false)?;
            }
            StmtKind::Decl(decls) => {
                for d in decls {
                    if let Some(init) = &mut d.init {
                        self.expr(init, false)?;
                    }
                    d.slot = self.declare(&d.name, d.at)?;
                }
            }
            StmtKind::If(cond, then, otherwise) => {
                self.expr(cond, false)?;
                self.scoped(|c| c.stmt(then))?;
                if let Some(o) = otherwise {
                    self.scoped(|c| c.stmt(o))?;
                }
            }
            StmtKind::While(cond, body) | StmtKind::DoWhile(body, cond) => {
                self.expr(cond, false)?;
                self.scoped(|c| c.stmt(body))?;
            }
            StmtKind::For {
                init,
                cond,
                step,
                body,
            } => self.scoped(|c| {
                init.iter_mut().try_for_each(|s| c.stmt(s))?;
                if let Some(cond) = cond {
                    c.expr(cond, false)?;
                }
                step.iter_mut()
                    .try_for_each(|e| c.expr(e, false).map(drop))?;
                c.scoped(|c| c.stmt(body))
            })?,
            StmtKind::Foreach {
                name,
                slot,
                iter,
                body,
                ..
            } => {
                self.expr(iter, false)?;
                let at = s.at;
                self.scoped(|c| {
                    *slot = c.declare(name, at)?;
                    c.stmt(body)
                })?;
            }
            StmtKind::Block(stmts) => self.stmts(stmts)?,
            StmtKind::Return(e) | StmtKind::Throw(e) => {
                if let Some(e) = e {
                    self.expr(e, false)?;
                }
            }
            StmtKind::Try {
                body,
                catch,
                finally,
            } => {
                self.stmts(body)?;
                if let Some(catch) = catch {
                    let at = s.at;
                    self.scoped(|c| {
                        if let Some((name, slot)) = &mut catch.var {
                            *slot = c.declare(name, at)?;
                        }
                        c.stmts(&mut catch.body)
                    })?;
                }
                if let Some(f) = finally {
                    self.stmts(f)?;
                }
            }
            StmtKind::LocalFn(_) => {
                let StmtKind::LocalFn(f) = std::mem::replace(&mut s.kind, StmtKind::Empty) else {
                    return Ok(());
                };
                self.local_fn(*f)?;
            }
            StmtKind::Break | StmtKind::Continue | StmtKind::Empty => {}
        }
        Ok(())
    }

    fn expr(&mut self, e: &mut Expr, lambda_ok: bool) -> Result<St, ExprError> {
        let at = e.at;
        match &mut e.kind {
            ExprKind::Name(name) => {
                if let Some(slot) = self.lookup(name) {
                    e.kind = ExprKind::Local(slot);
                } else if name == "context" {
                    e.kind = ExprKind::Context;
                    return Ok(St::Ctx(CtxObj::Context));
                } else if let Some(ty) = types::simple(name) {
                    e.kind = ExprKind::Type(ty.clone());
                    return Ok(St::Type(ty));
                } else if matches!(name.as_str(), "System" | "Newtonsoft" | "Microsoft") {
                    return Ok(St::Namespace(name.clone()));
                } else if name.starts_with(char::is_uppercase) {
                    return Err(err(at, format!(
                        "`{name}` is not a type or variable Portico supports; supported types are: {}",
                        types::supported_list()
                    )));
                } else {
                    return Err(err(at, format!(
                        "`{name}` is not declared; declare it with `var {name} = …;` (the request is reached through `context`)"
                    )));
                }
            }
            ExprKind::Member { target, .. } => {
                let st = self.expr(target, false)?;
                return self.member(e, st);
            }
            ExprKind::Call { .. } => return self.call(e),
            ExprKind::Index { target, args, .. } => {
                self.expr(target, false)?;
                for a in args {
                    self.expr(a, false)?;
                }
            }
            ExprKind::Interp(parts) => {
                for p in parts {
                    if let InterpPart::Hole(h, _) = p {
                        self.expr(h, false)?;
                    }
                }
            }
            ExprKind::New {
                ty,
                args,
                init,
                props,
            } => {
                let hmac = matches!(ty, Ty::Crypto(c) if c.is_hmac());
                if !hmac
                    && !matches!(
                        ty,
                        Ty::JObject
                            | Ty::JArray
                            | Ty::JProperty
                            | Ty::JValue
                            | Ty::List(_)
                            | Ty::Dictionary(..)
                            | Ty::DateTime
                            | Ty::DateTimeOffset
                            | Ty::TimeSpan
                            | Ty::Guid
                            | Ty::Random
                            | Ty::Uri
                            | Ty::Exception
                            | Ty::String
                            | Ty::Regex
                    )
                {
                    return Err(err(at, format!("`new {ty}(…)` is not supported; objects that can be created are JObject, JArray, JProperty, JValue, List<T>, Dictionary<K, V>, DateTime, DateTimeOffset, TimeSpan, Guid, Random, Uri, Exception, string, Regex, HMACSHA1, HMACSHA256, HMACSHA384, HMACSHA512 (hashes and Aes are made with `Create()`)")));
                }
                self.args(args)?;
                if *ty == Ty::Regex {
                    if let Some(pattern) = args.first() {
                        regex::check_literal(&pattern.expr, args.get(1).map(|a| &a.expr))?;
                    }
                }
                for (name, value) in props {
                    if !matches!(ty, Ty::Crypto(c) if crypto::settable(*c, name)) {
                        return Err(err(value.at, format!(
                            "`{name}` cannot be set in an initializer of {ty}; object initializers are supported for the `Key` of HMAC objects"
                        )));
                    }
                    self.expr(value, false)?;
                }
                for group in init {
                    for item in group {
                        self.expr(item, false)?;
                    }
                }
            }
            ExprKind::Anonymous(members) => {
                for (_, v) in members {
                    self.expr(v, false)?;
                }
            }
            ExprKind::NewArray { size, items, .. } => {
                if let Some(s) = size {
                    self.expr(s, false)?;
                }
                for i in items {
                    self.expr(i, false)?;
                }
            }
            ExprKind::Unary(_, x)
            | ExprKind::Cast(_, x)
            | ExprKind::As(x, _)
            | ExprKind::IsNull(x, _) => {
                self.expr(x, false)?;
            }
            ExprKind::Is { expr, bind, .. } => {
                self.expr(expr, false)?;
                if let Some((name, slot)) = bind {
                    *slot = self.declare(name, at)?;
                }
            }
            ExprKind::Binary(_, l, r) => {
                self.expr(l, false)?;
                self.expr(r, false)?;
            }
            ExprKind::Cond(c, t, f) => {
                self.expr(c, false)?;
                self.expr(t, false)?;
                self.expr(f, false)?;
            }
            ExprKind::Assign { target, value, .. } => {
                self.expr(value, false)?;
                self.assignable(target)?;
            }
            ExprKind::IncDec { target, .. } => self.assignable(target)?,
            ExprKind::Lambda(lambda) => {
                if !lambda_ok {
                    return Err(err(at, "lambdas (`x => …`) are only supported as arguments of LINQ-style methods such as Where, Select, Any, All, First, FirstOrDefault, Count, OrderBy and Array.Exists"));
                }
                self.scoped(|c| {
                    for (name, slot) in &mut lambda.params {
                        *slot = c.declare(name, at)?;
                    }
                    match &mut lambda.body {
                        LambdaBody::Expr(b) => c.expr(b, false).map(drop),
                        LambdaBody::Block(stmts) => c.stmts(stmts),
                    }
                })?;
            }
            ExprKind::DeclOut { name, slot, .. } => *slot = self.declare(name, at)?,
            ExprKind::LocalCall { args, .. } => {
                for a in args {
                    self.expr(a, false)?;
                }
            }
            ExprKind::CtxObject(obj) => return Ok(St::Ctx(*obj)),
            ExprKind::Lit(_)
            | ExprKind::Local(_)
            | ExprKind::Context
            | ExprKind::Type(_)
            | ExprKind::Default(_)
            | ExprKind::TypeOf(_) => {}
        }
        Ok(St::Other)
    }

    fn assignable(&mut self, target: &mut Expr) -> Result<(), ExprError> {
        let st = self.expr(target, false)?;
        let settable = matches!(&target.kind, ExprKind::Member { name, .. } if catalog::SETTABLE.contains(&name.as_str()));
        let ok = (settable || matches!(target.kind, ExprKind::Local(_) | ExprKind::Index { .. }))
            && !matches!(st, St::Ctx(_));
        if !ok {
            return Err(err(target.at, "only local variables, indexers (`obj[\"key\"] = …`, `array[0] = …`) and the `Key`/`IV` of cryptography objects can be assigned; context is read-only (use set-variable, set-header, … policies)"));
        }
        Ok(())
    }

    fn member(&mut self, e: &mut Expr, st: St) -> Result<St, ExprError> {
        let ExprKind::Member { name, .. } = &e.kind else {
            return Ok(St::Other);
        };
        let name = name.clone();
        match st {
            St::Ctx(obj) => match ctx_members::member(obj, &name) {
                Some(CtxMember::Obj(child)) => {
                    // Folded only below a parent that is never null, so no `?.` or null
                    // check is skipped; the child's own absence is still read at run time.
                    let parent_present = match e.kind {
                        ExprKind::Member { ref target, .. } => match target.kind {
                            ExprKind::Context => true,
                            ExprKind::CtxObject(p) => !ctx_members::nullable(p),
                            _ => false,
                        },
                        _ => false,
                    };
                    if parent_present {
                        e.kind = ExprKind::CtxObject(child);
                    }
                    Ok(St::Ctx(child))
                }
                Some(_) => Ok(St::Other),
                None if dictionary(obj) && matches!(name.as_str(), "Count" | "Keys" | "Values") => {
                    Ok(St::Other)
                }
                None => Err(err(
                    e.at,
                    format!(
                        "`{name}` is not a member of {}; members are: {}",
                        obj.path(),
                        ctx_members::member_names(obj)
                    ),
                )),
            },
            St::Namespace(prefix) => {
                let full = format!("{prefix}.{name}");
                if types::NAMESPACES.contains(&full.as_str()) {
                    return Ok(St::Namespace(full));
                }
                let ty = types::simple(&full).ok_or_else(|| {
                    err(
                        e.at,
                        format!(
                    "`{full}` is not supported in Portico expressions; supported types are: {}",
                    types::supported_list()
                ),
                    )
                })?;
                e.kind = ExprKind::Type(ty.clone());
                Ok(St::Type(ty))
            }
            St::Type(ty) => {
                let class = catalog::class_of(&ty).unwrap_or("?");
                let known = catalog::STATIC_PROPS
                    .iter()
                    .any(|(c, names)| *c == class && names.contains(&name.as_str()));
                if !known {
                    return Err(err(
                        e.at,
                        format!(
                            "`{ty}.{name}` is not supported; static members of {ty} are: {}",
                            catalog::static_names(class)
                        ),
                    ));
                }
                Ok(St::Other)
            }
            St::Other => {
                if !catalog::PROPS.contains(&name.as_str()) {
                    return Err(err(e.at, format!(
                        "`{name}` is not a property Portico knows on any type; if it is a method, call it with `()`"
                    )));
                }
                Ok(St::Other)
            }
        }
    }

    fn args(&mut self, args: &mut [Arg]) -> Result<(), ExprError> {
        for a in args {
            if let Some(name) = a.name.as_deref().filter(|n| *n != "preserveContent") {
                return Err(err(a.expr.at, format!(
                    "named argument `{name}:` is not supported (only `preserveContent:`); pass arguments by position"
                )));
            }
            self.expr(&mut a.expr, true)?;
        }
        Ok(())
    }

    fn call(&mut self, e: &mut Expr) -> Result<St, ExprError> {
        let at = e.at;
        let ExprKind::Call {
            recv, name, args, ..
        } = &mut e.kind
        else {
            return Ok(St::Other);
        };
        self.args(args)?;
        let n = args.len();
        let Some(recv) = recv else {
            let found = self
                .fn_scopes
                .iter()
                .rev()
                .flatten()
                .find(|(f, ..)| f == name)
                .map(|(_, index, params)| (*index, *params));
            let Some((index, params)) = found else {
                return Err(err(at, format!(
                    "`{name}(…)` is not a function Portico knows: declare it as a local function in this block, or call a static method on its class, e.g. `Math.Max(…)`"
                )));
            };
            if params != n {
                return Err(err(
                    at,
                    format!("local function `{name}` takes {params} argument(s), not {n}"),
                ));
            }
            let plain =
                |a: &Arg| !a.out && a.name.is_none() && !matches!(a.expr.kind, ExprKind::Lambda(_));
            if let Some(a) = args.iter().find(|a| !plain(a)) {
                return Err(err(
                    a.expr.at,
                    "local functions take plain arguments (no `out`, no names, no lambdas)",
                ));
            }
            let args = std::mem::take(args).into_iter().map(|a| a.expr).collect();
            e.kind = ExprKind::LocalCall { index, args };
            return Ok(St::Other);
        };
        let st = self.expr(recv, false)?;
        let arity = |min: usize, max: usize| -> Result<St, ExprError> {
            if n < min || n > max {
                let expected = match (min, max) {
                    (a, b) if a == b => format!("{a}"),
                    (a, MANY) => format!("at least {a}"),
                    (a, b) => format!("{a} to {b}"),
                };
                return Err(err(
                    at,
                    format!("`{name}` takes {expected} argument(s), not {n}"),
                ));
            }
            Ok(St::Other)
        };
        match st {
            St::Type(ty) => {
                let class = catalog::class_of(&ty).unwrap_or("?");
                match catalog::STATIC_METHODS
                    .iter()
                    .find(|(c, m, ..)| *c == class && m == name)
                {
                    Some((_, _, min, max)) => {
                        let st = arity(*min, *max)?;
                        if ty == Ty::Regex && name != "Escape" {
                            // The pattern follows the input; `Replace` has its replacement
                            // before the options.
                            let opts = if name == "Replace" { 3 } else { 2 };
                            regex::check_literal(&args[1].expr, args.get(opts).map(|a| &a.expr))?;
                        }
                        Ok(st)
                    }
                    None => Err(err(at, format!(
                        "`{ty}.{name}(…)` is not supported; static members of {ty} are: {}",
                        catalog::static_names(class)
                    ))),
                }
            }
            St::Namespace(ns) => Err(err(at, format!("`{ns}.{name}` is not a type Portico knows"))),
            St::Ctx(obj)
                if !(dictionary(obj) || matches!(obj, CtxObj::Url(_)) && name == "ToString") => {
                Err(err(at, format!(
                    "{} has no method `{name}`; members are: {}",
                    obj.path(),
                    ctx_members::member_names(obj)
                )))
            }
            _ => match catalog::METHODS.iter().find(|(m, ..)| m == name) {
                Some((_, min, max)) => arity(*min, *max),
                None => Err(err(at, format!(
                    "`{name}(…)` is not a method Portico supports; see the list of supported methods in the expression reference"
                ))),
            },
        }
    }
}

/// Context objects that behave as read-only dictionaries.
fn dictionary(obj: CtxObj) -> bool {
    matches!(
        obj,
        CtxObj::Query(_) | CtxObj::MatchedParameters | CtxObj::Variables | CtxObj::Certificates
    )
}

#[cfg(test)]
mod tests {
    use super::super::parser::parse;
    use super::*;

    fn check_src(src: &str) -> Result<usize, ExprError> {
        check(&mut parse(src)?)
    }

    #[test]
    fn names_resolve_to_slots_in_scope() {
        assert_eq!(
            check_src("@{ var a = 1; { var b = a; } return a; }").unwrap(),
            2
        );
        assert!(check_src("@{ { var b = 1; } return b; }").is_err());
        assert!(check_src("@{ var a = 1; var a = 2; return a; }").is_err());
    }

    #[test]
    fn context_and_statics_are_checked() {
        assert!(check_src("@(context.Api.ServiceUrl.Host)").is_ok());
        assert!(check_src("@(context.Api.Nope)").is_err());
        assert!(check_src("@(System.Text.Encoding.UTF8.GetBytes(\"a\"))").is_ok());
        assert!(check_src("@(DateTime.Yesterday)").is_err());
        assert!(check_src("@(x => x)").is_err());
        assert!(check_src("@{ var a = 1; }").is_err());
    }
}
