//! The evaluator: walks the checked tree once per request. This module runs statements and
//! owns the per-evaluation state (local slots, the step budget); `expr` evaluates expressions
//! and `ops` the C# operators. Every statement, expression node and loop iteration costs one
//! step, so no expression can run away.

mod expr;
mod ops;

use std::sync::Arc;

use super::ast::{Lambda, LambdaBody, LocalFn, Program, Stmt, StmtKind};
use super::context::Context;
use super::convert;
use super::error::EvalError;
use super::types::Ty;
use super::value::{lock, Value};

pub use ops::{compare, equals};

/// `a + b` with C#'s rules (numbers, strings, dates), for builtins such as `Sum`.
pub fn add(ev: &mut Eval<'_>, a: &Value, b: &Value) -> Result<Value, EvalError> {
    ops::binary(ev, super::ast::BinOp::Add, a, b)
}

/// State of one evaluation.
pub struct Eval<'c> {
    pub ctx: &'c mut dyn Context,
    locals: Vec<Value>,
    steps: u64,
    budget: u64,
    /// Set when the budget ran out, so that `catch` cannot swallow it.
    exhausted: bool,
    functions: Arc<[LocalFn]>,
    /// Local function calls in progress.
    depth: usize,
}

impl std::fmt::Debug for Eval<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Eval").field("steps", &self.steps).finish()
    }
}

enum Flow {
    Next,
    Break,
    Continue,
    Return(Value),
}

/// Evaluates a checked program against a context.
pub fn run(
    program: &Program,
    slots: usize,
    functions: &Arc<[LocalFn]>,
    ctx: &mut dyn Context,
) -> Result<Value, EvalError> {
    let budget = ctx.step_budget();
    let mut ev = Eval {
        ctx,
        locals: vec![Value::Null; slots],
        steps: 0,
        budget,
        exhausted: false,
        functions: functions.clone(),
        depth: 0,
    };
    match program {
        Program::Expr(e) => ev.eval(e),
        Program::Block(stmts) => match ev.block(stmts)? {
            Flow::Return(v) => Ok(v),
            _ => Err(EvalError {
                offset: stmts.last().map_or(0, |s| s.at),
                message: "the statement block ended without `return`".into(),
            }),
        },
    }
}

impl Eval<'_> {
    /// Counts one step and fails when the budget is spent.
    pub fn step(&mut self) -> Result<(), EvalError> {
        self.steps += 1;
        if self.steps > self.budget {
            self.exhausted = true;
            return Err(EvalError::msg(format!(
                "the expression exceeded its budget of {} evaluation steps (an endless or very long loop?)",
                self.budget
            )));
        }
        Ok(())
    }

    fn block(&mut self, stmts: &[Stmt]) -> Result<Flow, EvalError> {
        for s in stmts {
            match self.exec(s)? {
                Flow::Next => {}
                flow => return Ok(flow),
            }
        }
        Ok(Flow::Next)
    }

    fn cond(&mut self, e: &super::ast::Expr) -> Result<bool, EvalError> {
        let v = self.eval(e)?;
        convert::need_bool(&v, "the condition").map_err(|err| err.at(e.at))
    }

    fn exec(&mut self, s: &Stmt) -> Result<Flow, EvalError> {
        self.step().map_err(|e| e.at(s.at))?;
        match &s.kind {
            StmtKind::Expr(e) => {
                self.eval(e)?;
            }
            StmtKind::Decl(decls) => {
                for d in decls {
                    let v = match &d.init {
                        Some(init) => implicit(self.eval(init)?, &d.ty),
                        None => default_of(&d.ty),
                    };
                    self.locals[d.slot] = v;
                }
            }
            StmtKind::If(c, then, otherwise) => {
                if self.cond(c)? {
                    return self.exec(then);
                } else if let Some(o) = otherwise {
                    return self.exec(o);
                }
            }
            StmtKind::While(c, body) => {
                while self.cond(c)? {
                    match self.exec(body)? {
                        Flow::Break => break,
                        Flow::Return(v) => return Ok(Flow::Return(v)),
                        _ => {}
                    }
                }
            }
            StmtKind::DoWhile(body, c) => loop {
                match self.exec(body)? {
                    Flow::Break => break,
                    Flow::Return(v) => return Ok(Flow::Return(v)),
                    _ => {}
                }
                if !self.cond(c)? {
                    break;
                }
            },
            StmtKind::For {
                init,
                cond,
                step,
                body,
            } => {
                self.block(init)?;
                loop {
                    if let Some(c) = cond {
                        if !self.cond(c)? {
                            break;
                        }
                    }
                    match self.exec(body)? {
                        Flow::Break => break,
                        Flow::Return(v) => return Ok(Flow::Return(v)),
                        _ => {}
                    }
                    for e in step {
                        self.eval(e)?;
                    }
                }
            }
            StmtKind::Foreach {
                ty,
                slot,
                iter,
                body,
                ..
            } => {
                let seq = self.eval(iter)?;
                let items = self.iterate(&seq).map_err(|e| e.at(iter.at))?;
                for item in items {
                    self.step().map_err(|e| e.at(s.at))?;
                    self.locals[*slot] = if matches!(ty, Ty::Var | Ty::Object) {
                        item
                    } else {
                        convert::cast(&item, ty).map_err(|e| e.at(s.at))?
                    };
                    match self.exec(body)? {
                        Flow::Break => break,
                        Flow::Return(v) => return Ok(Flow::Return(v)),
                        _ => {}
                    }
                }
            }
            StmtKind::Block(stmts) => return self.block(stmts),
            StmtKind::Return(e) => {
                let v = match e {
                    Some(e) => self.eval(e)?,
                    None => Value::Null,
                };
                return Ok(Flow::Return(v));
            }
            StmtKind::Break => return Ok(Flow::Break),
            StmtKind::Continue => return Ok(Flow::Continue),
            StmtKind::Throw(e) => {
                let message = match e {
                    Some(e) => match self.eval(e)? {
                        Value::Exception(m) => m.to_string(),
                        other => convert::to_string(&other),
                    },
                    None => "exception rethrown".into(),
                };
                return Err(EvalError {
                    offset: s.at,
                    message,
                });
            }
            StmtKind::Try {
                body,
                catch,
                finally,
            } => {
                let mut result = self.block(body);
                if let (Err(err), Some(c)) = (&result, catch) {
                    if !self.exhausted {
                        if let Some((_, slot)) = c.var {
                            self.locals[slot] = Value::Exception(err.message.as_str().into());
                        }
                        result = self.block(&c.body);
                    }
                }
                if let Some(f) = finally {
                    if let flow @ Flow::Return(_) = self.block(f)? {
                        return Ok(flow);
                    }
                }
                return result;
            }
            // The checker moved local functions to the function table.
            StmtKind::Empty | StmtKind::LocalFn(_) => {}
        }
        Ok(Flow::Next)
    }

    /// Calls a local function. Its own slots are saved and restored around the call, so
    /// recursion works; the locals it captures are the caller's slots, shared as in C#.
    pub fn call_local(&mut self, index: usize, args: Vec<Value>) -> Result<Value, EvalError> {
        self.step()?;
        let functions = self.functions.clone();
        let Some(f) = functions.get(index) else {
            return Err(EvalError::msg("unknown local function (a Portico bug)"));
        };
        if self.depth >= super::check::MAX_CALL_DEPTH {
            return Err(EvalError::msg(format!(
                "local function `{}` nests deeper than {} calls",
                f.name,
                super::check::MAX_CALL_DEPTH
            )));
        }
        let saved = self.locals[f.slots.clone()].to_vec();
        for ((ty, _, slot), v) in f.params.iter().zip(args) {
            self.locals[*slot] = if matches!(ty, Ty::Var | Ty::Object) {
                v
            } else {
                convert::cast(&implicit(v, ty), ty)?
            };
        }
        self.depth += 1;
        let flow = self.block(&f.body);
        self.depth -= 1;
        self.locals[f.slots.clone()].clone_from_slice(&saved);
        match flow? {
            Flow::Return(_) if f.ret == Ty::Void => Ok(Value::Null),
            Flow::Return(v) => Ok(implicit(v, &f.ret)),
            _ if f.ret == Ty::Void => Ok(Value::Null),
            _ => Err(EvalError::msg(format!(
                "local function `{}` ended without `return`",
                f.name
            ))),
        }
    }

    /// Calls a lambda passed to a LINQ-style method.
    pub fn call_lambda(&mut self, l: &Lambda, args: &[Value]) -> Result<Value, EvalError> {
        self.step()?;
        for ((_, slot), v) in l.params.iter().zip(args) {
            self.locals[*slot] = v.clone();
        }
        match &l.body {
            LambdaBody::Expr(e) => self.eval(e),
            LambdaBody::Block(stmts) => match self.block(stmts)? {
                Flow::Return(v) => Ok(v),
                _ => Ok(Value::Null),
            },
        }
    }

    /// The elements `foreach` and LINQ see.
    pub fn iterate(&mut self, v: &Value) -> Result<Vec<Value>, EvalError> {
        super::builtins::iterate(self, v)
    }
}

/// The implicit conversion of a declaration (`long t = 5;`, `double d = 1;`).
fn implicit(v: Value, ty: &Ty) -> Value {
    match (ty, &v) {
        (Ty::Long, Value::Int(i)) => Value::Long(i64::from(*i)),
        (Ty::Double | Ty::Float | Ty::Decimal, Value::Int(i)) => Value::Double(f64::from(*i)),
        (Ty::Double | Ty::Float | Ty::Decimal, Value::Long(i)) => Value::Double(*i as f64),
        (Ty::JToken | Ty::JValue, Value::Str(_) | Value::Int(_) | Value::Bool(_)) => {
            Value::json(convert::to_json(&v))
        }
        _ => v,
    }
}

/// `default(T)` and the value of `T x;`.
pub fn default_of(ty: &Ty) -> Value {
    match ty {
        Ty::Bool => Value::Bool(false),
        Ty::Byte | Ty::Short | Ty::Int => Value::Int(0),
        Ty::UInt | Ty::Long | Ty::ULong => Value::Long(0),
        Ty::Float | Ty::Double | Ty::Decimal => Value::Double(0.0),
        Ty::Char => Value::Char('\0'),
        Ty::DateTime => Value::DateTime(Default::default()),
        Ty::TimeSpan => Value::TimeSpan(Default::default()),
        Ty::Guid => Value::Guid(0),
        _ => Value::Null,
    }
}

/// Writes back into a shared array (for `bytes[3] = …`).
pub fn array_set(a: &super::value::ArrayRef, i: i64, v: Value) -> Result<(), EvalError> {
    let mut a = lock(a);
    let len = a.items.len();
    let slot = usize::try_from(i)
        .ok()
        .and_then(|i| a.items.get_mut(i))
        .ok_or_else(|| EvalError::msg(format!("index {i} is outside the array (length {len})")))?;
    *slot = v;
    Ok(())
}
