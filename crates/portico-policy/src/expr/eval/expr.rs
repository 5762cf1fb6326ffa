//! Expression evaluation: literals, locals, member access and calls (dispatched to the
//! builtins), object creation, casts and type tests, assignment. Errors raised deeper down get
//! the offset of the innermost node that failed.

use super::super::ast::{BinOp, Expr, ExprKind, InterpPart};
use super::super::builtins::{self, Call};
use super::super::context::{CtxObj, Prop, UrlPart};
use super::super::convert;
use super::super::ctx_members::{self, CtxMember};
use super::super::error::EvalError;
use super::super::types::Ty;
use super::super::value::Value;
use super::{default_of, ops, Eval};

impl Eval<'_> {
    pub fn eval(&mut self, e: &Expr) -> Result<Value, EvalError> {
        self.step().map_err(|x| x.at(e.at))?;
        self.eval_kind(e).map_err(|x| x.at(e.at))
    }

    fn eval_kind(&mut self, e: &Expr) -> Result<Value, EvalError> {
        Ok(match &e.kind {
            ExprKind::Lit(v) => v.clone(),
            ExprKind::Local(slot) => self.locals[*slot].clone(),
            ExprKind::Context => Value::Ctx(CtxObj::Context),
            ExprKind::CtxObject(obj) => ctx_members::read(self.ctx, CtxMember::Obj(*obj)),
            ExprKind::Type(t) => {
                return Err(EvalError::msg(format!("`{t}` is a type, not a value")))
            }
            ExprKind::Name(n) => return Err(EvalError::msg(format!("`{n}` was not resolved"))),
            ExprKind::Interp(parts) => {
                let mut out = String::new();
                for part in parts {
                    match part {
                        InterpPart::Text(t) => out.push_str(t),
                        InterpPart::Hole(h, None) => {
                            let v = self.eval(h)?;
                            out.push_str(&self.stringify(&v));
                        }
                        InterpPart::Hole(h, Some(fmt)) => {
                            let v = self.eval(h)?;
                            out.push_str(&builtins::format_value(self, &v, fmt)?);
                        }
                    }
                }
                Value::str(out)
            }
            ExprKind::Member {
                target,
                name,
                null_cond,
            } => {
                if let ExprKind::Type(ty) = &target.kind {
                    return builtins::static_prop(self, ty, name);
                }
                let t = self.eval(target)?;
                if t.is_null() {
                    if *null_cond {
                        return Ok(Value::Null);
                    }
                    return Err(null_ref(name));
                }
                builtins::get_member(self, &t, name)?
            }
            ExprKind::Index {
                target,
                args,
                null_cond,
            } => {
                let t = self.eval(target)?;
                if t.is_null() {
                    if *null_cond {
                        return Ok(Value::Null);
                    }
                    return Err(EvalError::msg(
                        "null reference: indexing `[…]` a null value",
                    ));
                }
                let idx = self.eval_all(args)?;
                builtins::index(self, &t, &idx)?
            }
            ExprKind::Call { .. } => self.call(e)?,
            ExprKind::LocalCall { index, args } => {
                let vals = self.eval_all(args)?;
                self.call_local(*index, vals).map_err(|err| err.at(e.at))?
            }
            ExprKind::New {
                ty,
                args,
                init,
                props,
            } => {
                let vals = args
                    .iter()
                    .map(|a| self.eval(&a.expr))
                    .collect::<Result<Vec<_>, _>>()?;
                let mut groups = Vec::with_capacity(init.len());
                for g in init {
                    groups.push(self.eval_all(g)?);
                }
                let obj = builtins::construct(self, ty, vals, groups)?;
                for (name, value) in props {
                    let v = self.eval(value)?;
                    builtins::set_member(&obj, name, &v).map_err(|e| e.at(value.at))?;
                }
                obj
            }
            ExprKind::Anonymous(members) => {
                let mut map = serde_json::Map::new();
                for (name, v) in members {
                    let v = self.eval(v)?;
                    map.insert(name.clone(), convert::to_json(&v));
                }
                Value::json(serde_json::Value::Object(map))
            }
            ExprKind::NewArray { elem, size, items } => {
                let mut values = self.eval_all(items)?;
                if let Some(size) = size {
                    let n = convert::need_i64(&self.eval(size)?, "the array size")?;
                    let n = usize::try_from(n)
                        .ok()
                        .filter(|n| *n <= builtins::MAX_ITEMS)
                        .ok_or_else(|| EvalError::msg(format!("array size {n} is out of range")))?;
                    values.resize(n, default_of(elem));
                }
                let elem = match elem {
                    Ty::Var => values.first().map_or(Ty::Object, infer_ty),
                    t => t.clone(),
                };
                let values = values
                    .into_iter()
                    .map(|v| {
                        if matches!(elem, Ty::Byte) {
                            convert::cast(&v, &Ty::Byte)
                        } else {
                            Ok(v)
                        }
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Value::array(elem, values)
            }
            ExprKind::Unary(op, x) => {
                let v = self.eval(x)?;
                ops::unary(*op, &v)?
            }
            ExprKind::Binary(BinOp::And, l, r) => {
                let l = convert::need_bool(&self.eval(l)?, "the left side of `&&`")?;
                Value::Bool(l && convert::need_bool(&self.eval(r)?, "the right side of `&&`")?)
            }
            ExprKind::Binary(BinOp::Or, l, r) => {
                let l = convert::need_bool(&self.eval(l)?, "the left side of `||`")?;
                Value::Bool(l || convert::need_bool(&self.eval(r)?, "the right side of `||`")?)
            }
            ExprKind::Binary(BinOp::Coalesce, l, r) => {
                let l = self.eval(l)?;
                if l.is_null() {
                    self.eval(r)?
                } else {
                    l
                }
            }
            ExprKind::Binary(op, l, r) => {
                let l = self.eval(l)?;
                let r = self.eval(r)?;
                ops::binary(self, *op, &l, &r)?
            }
            ExprKind::Cond(c, t, f) => {
                if self.cond(c)? {
                    self.eval(t)?
                } else {
                    self.eval(f)?
                }
            }
            ExprKind::Cast(ty, x) => {
                let v = self.eval(x)?;
                if let (Ty::String, Value::Ctx(CtxObj::Url(k))) = (ty, &v) {
                    return Ok(self.ctx.property(Prop::Url(*k, UrlPart::Full)));
                }
                convert::cast(&v, ty)?
            }
            ExprKind::Is { expr, ty, bind } => {
                let v = self.eval(expr)?;
                let yes = convert::is_type(&v, ty);
                if let (true, Some((_, slot))) = (yes, bind) {
                    self.locals[*slot] = v;
                }
                Value::Bool(yes)
            }
            ExprKind::IsNull(x, want) => Value::Bool(self.eval(x)?.is_null() == *want),
            ExprKind::As(x, ty) => {
                let v = self.eval(x)?;
                if convert::is_type(&v, ty) {
                    v
                } else {
                    Value::Null
                }
            }
            ExprKind::Assign { op, target, value } => {
                let new = match op {
                    None => self.eval(value)?,
                    Some(BinOp::Coalesce) => {
                        let cur = self.eval(target)?;
                        if cur.is_null() {
                            self.eval(value)?
                        } else {
                            return Ok(cur);
                        }
                    }
                    Some(op) => {
                        let cur = self.eval(target)?;
                        let v = self.eval(value)?;
                        ops::binary(self, *op, &cur, &v)?
                    }
                };
                self.store(target, new.clone())?;
                new
            }
            ExprKind::IncDec {
                target,
                delta,
                prefix,
            } => {
                let cur = self.eval(target)?;
                let new = ops::binary(self, BinOp::Add, &cur, &Value::Int(i32::from(*delta)))?;
                self.store(target, new.clone())?;
                if *prefix {
                    new
                } else {
                    cur
                }
            }
            ExprKind::Lambda(_) => {
                return Err(EvalError::msg("a lambda can only be passed to a method"))
            }
            ExprKind::DeclOut { .. } => Value::Null,
            ExprKind::Default(ty) => default_of(ty),
            ExprKind::TypeOf(ty) => Value::str(ty.to_string()),
        })
    }

    fn eval_all(&mut self, es: &[Expr]) -> Result<Vec<Value>, EvalError> {
        es.iter().map(|e| self.eval(e)).collect()
    }

    fn call(&mut self, e: &Expr) -> Result<Value, EvalError> {
        let ExprKind::Call {
            recv: Some(recv),
            name,
            type_args,
            args,
            null_cond,
        } = &e.kind
        else {
            return Err(EvalError::msg("a call without a receiver was not resolved"));
        };
        let receiver = match &recv.kind {
            ExprKind::Type(ty) => Err(ty),
            _ => {
                let r = self.eval(recv)?;
                if r.is_null() {
                    if *null_cond {
                        return Ok(Value::Null);
                    }
                    return Err(null_ref(name));
                }
                Ok(r)
            }
        };
        let mut call = Call {
            name,
            args: Vec::with_capacity(args.len()),
            type_args,
            lambda: None,
        };
        for a in args {
            match &a.expr.kind {
                ExprKind::Lambda(l) => {
                    call.lambda = Some(l);
                    call.args.push(Value::Null);
                }
                _ if a.out => call.args.push(Value::Null),
                _ => call.args.push(self.eval(&a.expr)?),
            }
        }
        let result = match receiver {
            Err(ty) => builtins::call_static(self, ty, &mut call)?,
            Ok(r) => builtins::call_method(self, &r, &mut call)?,
        };
        for (a, v) in args.iter().zip(std::mem::take(&mut call.args)) {
            if a.out {
                self.store(&a.expr, v)?;
            }
        }
        Ok(result)
    }

    fn store(&mut self, target: &Expr, v: Value) -> Result<(), EvalError> {
        match &target.kind {
            ExprKind::Local(slot) => {
                self.locals[*slot] = v;
                Ok(())
            }
            ExprKind::DeclOut { ty, slot, .. } => {
                self.locals[*slot] = match ty {
                    Ty::Var | Ty::Object => v,
                    ty => convert::cast(&v, ty)?,
                };
                Ok(())
            }
            ExprKind::Index { target, args, .. } => {
                let t = self.eval(target)?;
                let idx = self.eval_all(args)?;
                builtins::set_index(self, &t, &idx, v).map_err(|e| e.at(target.at))
            }
            ExprKind::Member {
                target: obj, name, ..
            } => {
                let t = self.eval(obj)?;
                builtins::set_member(&t, name, &v).map_err(|e| e.at(target.at))
            }
            _ => Err(EvalError::msg("this expression cannot be assigned to").at(target.at)),
        }
    }

    /// `ToString()` as the evaluator sees it: a context URL asks the context for its text.
    pub fn stringify(&mut self, v: &Value) -> String {
        match v {
            Value::Ctx(CtxObj::Url(k)) => {
                convert::to_string(&self.ctx.property(Prop::Url(*k, UrlPart::Full)))
            }
            other => convert::to_string(other),
        }
    }
}

fn null_ref(name: &str) -> EvalError {
    EvalError::msg(format!(
        "null reference: `{name}` was used on a null value (use `?.` or check for null first)"
    ))
}

/// The element type of `new[] { … }`, from its first item.
fn infer_ty(v: &Value) -> Ty {
    match v {
        Value::Str(_) => Ty::String,
        Value::Int(_) => Ty::Int,
        Value::Long(_) => Ty::Long,
        Value::Double(_) => Ty::Double,
        Value::Bool(_) => Ty::Bool,
        Value::Json(_) => Ty::JToken,
        _ => Ty::Object,
    }
}
