//! Runs a parsed template for one request: variable lookup (loop variables, then `assign`ed
//! ones, then `context` and `body`), conditions, loops with `forloop`, and the output. Every
//! node and loop iteration costs a step from a fixed budget and the output has a size cap, so
//! no template can run away.

use std::collections::HashMap;

use super::bind::{self, BodyOptions, CtxNode};
use super::filters;
use super::markup::{Cond, Expr, Filtered, Op, Path, Seg};
use super::parser::{ForLoop, Node};
use super::value::{self, LValue};
use super::RenderError;
use crate::expr::{Context, Msg};

/// Steps one rendering may take.
pub(crate) const STEP_BUDGET: u64 = 1_000_000;
/// The largest body a template may produce.
pub(crate) const MAX_OUTPUT: usize = 16 * 1024 * 1024;
/// The most items a range may hold.
const MAX_RANGE: i64 = 100_000;

/// Where `body` comes from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodySource {
    /// `None` inside `return-response`, where APIM gives Liquid no body.
    pub msg: Option<Msg>,
    pub opts: BodyOptions,
}

enum Flow {
    Next,
    Break,
    Continue,
}

pub(crate) struct Renderer<'c> {
    ctx: &'c mut dyn Context,
    body_source: BodySource,
    body: Option<LValue>,
    assigned: HashMap<String, LValue>,
    /// Loop variables, innermost last.
    locals: Vec<(String, LValue)>,
    steps: u64,
}

impl<'c> Renderer<'c> {
    pub(crate) fn new(ctx: &'c mut dyn Context, body_source: BodySource) -> Self {
        Self {
            ctx,
            body_source,
            body: None,
            assigned: HashMap::new(),
            locals: Vec::new(),
            steps: 0,
        }
    }

    pub(crate) fn run(&mut self, nodes: &[Node]) -> Result<String, RenderError> {
        let mut out = String::new();
        self.nodes(nodes, &mut out)?;
        Ok(out)
    }

    fn step(&mut self) -> Result<(), RenderError> {
        self.steps += 1;
        if self.steps > STEP_BUDGET {
            return Err(RenderError::new(format!(
                "the Liquid template took more than {STEP_BUDGET} steps"
            )));
        }
        Ok(())
    }

    fn nodes(&mut self, nodes: &[Node], out: &mut String) -> Result<Flow, RenderError> {
        for node in nodes {
            self.step()?;
            match self.node(node, out)? {
                Flow::Next => {}
                other => return Ok(other),
            }
            if out.len() > MAX_OUTPUT {
                return Err(RenderError::new(format!(
                    "the Liquid template produced more than {MAX_OUTPUT} bytes"
                )));
            }
        }
        Ok(Flow::Next)
    }

    fn node(&mut self, node: &Node, out: &mut String) -> Result<Flow, RenderError> {
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Output(f) => {
                let v = self.filtered(f)?;
                self.print(&v, out);
            }
            Node::If {
                branches,
                otherwise,
            } => {
                for (cond, negate, body) in branches {
                    if self.cond(cond)? != *negate {
                        return self.nodes(body, out);
                    }
                }
                return self.nodes(otherwise, out);
            }
            Node::Case {
                subject,
                whens,
                otherwise,
            } => {
                let subject = self.expr(subject)?;
                let mut matched = false;
                for (values, body) in whens {
                    for v in values {
                        if value::equal(&subject, &self.expr(v)?) {
                            matched = true;
                            break;
                        }
                    }
                    if matched {
                        return self.nodes(body, out);
                    }
                }
                return self.nodes(otherwise, out);
            }
            Node::For(f) => self.for_loop(f, out)?,
            Node::Assign(name, f) => {
                let v = self.filtered(f)?;
                self.assigned.insert(name.clone(), v);
            }
            Node::Capture(name, body) => {
                let mut captured = String::new();
                self.nodes(body, &mut captured)?;
                self.assigned.insert(name.clone(), LValue::str(captured));
            }
            Node::Break => return Ok(Flow::Break),
            Node::Continue => return Ok(Flow::Continue),
        }
        Ok(Flow::Next)
    }

    fn print(&mut self, v: &LValue, out: &mut String) {
        match v {
            LValue::Ctx(node) => bind::render(self.ctx, *node).render_into(out),
            other => other.render_into(out),
        }
    }

    fn for_loop(&mut self, f: &ForLoop, out: &mut String) -> Result<(), RenderError> {
        let collection = self.expr(&f.collection)?;
        let mut items = match collection {
            LValue::Array(a) => a.to_vec(),
            LValue::Object(o) => o
                .entries
                .iter()
                .map(|(k, v)| LValue::pair(k, v.clone()))
                .collect(),
            LValue::Ctx(node) => bind::entries(self.ctx, node),
            LValue::Nil => Vec::new(),
            other => vec![other],
        };
        let offset = self.count(f.offset.as_ref())?.unwrap_or(0);
        items.drain(..offset.min(items.len()));
        if let Some(limit) = self.count(f.limit.as_ref())? {
            items.truncate(limit);
        }
        if f.reversed {
            items.reverse();
        }
        if items.is_empty() {
            self.nodes(&f.otherwise, out)?;
            return Ok(());
        }
        let length = items.len();
        let mut wrote_item = false;
        for (i, item) in items.into_iter().enumerate() {
            self.step()?;
            self.locals.push((f.var.clone(), item));
            self.locals.push(("forloop".to_owned(), forloop(i, length)));
            let mut piece = String::new();
            let flow = self.nodes(&f.body, &mut piece);
            self.locals.truncate(self.locals.len() - 2);
            let flow = flow?;
            if f.json_array {
                // Items that render only whitespace (filtered out by an `if`) get no comma.
                if !piece.trim().is_empty() {
                    if wrote_item {
                        out.push(',');
                    }
                    wrote_item = true;
                }
            }
            out.push_str(&piece);
            if matches!(flow, Flow::Break) {
                break;
            }
        }
        Ok(())
    }

    fn count(&mut self, e: Option<&Expr>) -> Result<Option<usize>, RenderError> {
        let Some(e) = e else { return Ok(None) };
        let v = self.expr(e)?;
        match v.number() {
            Some(n) => Ok(Some(n.max(0.0) as usize)),
            None => Err(RenderError::new(format!(
                "a for loop's limit and offset must be numbers, not `{}`",
                v.render()
            ))),
        }
    }

    fn filtered(&mut self, f: &Filtered) -> Result<LValue, RenderError> {
        let mut v = self.expr(&f.value)?;
        for (filter, args, _) in &f.filters {
            let args = args
                .iter()
                .map(|a| self.expr(a).map(|v| self.resolve_ctx(v)))
                .collect::<Result<Vec<_>, _>>()?;
            let input = self.resolve_ctx(v);
            let ctx = &mut *self.ctx;
            v = filters::apply(*filter, input, &args, &mut || ctx.now())
                .map_err(RenderError::new)?;
        }
        Ok(v)
    }

    /// A context object given to a filter: a URL as its text, a dictionary as its pairs.
    fn resolve_ctx(&mut self, v: LValue) -> LValue {
        match v {
            LValue::Ctx(node @ CtxNode::Url(_)) => bind::render(self.ctx, node),
            LValue::Ctx(node) if node.is_dictionary() => {
                LValue::array(bind::entries(self.ctx, node))
            }
            other => other,
        }
    }

    fn cond(&mut self, c: &Cond) -> Result<bool, RenderError> {
        Ok(match c {
            Cond::And(a, b) => self.cond(a)? && self.cond(b)?,
            Cond::Or(a, b) => self.cond(a)? || self.cond(b)?,
            Cond::Test(a, None) => self.expr(a)?.truthy(),
            Cond::Test(a, Some((op, b))) => {
                let special = |e: &Expr| match e {
                    Expr::Path(p) if p.segs.is_empty() && !self.is_defined(&p.root) => {
                        match p.root.as_str() {
                            "empty" => Some(true),
                            "blank" => Some(false),
                            _ => None,
                        }
                    }
                    _ => None,
                };
                // `x == empty` / `x == blank` test the other side.
                if let (Some(empty), Op::Eq | Op::Ne) = (special(b).or(special(a)), op) {
                    let other = if special(b).is_some() { a } else { b };
                    let v = self.expr(other)?;
                    let is = if empty { v.is_empty() } else { v.is_blank() };
                    return Ok(is == (*op == Op::Eq));
                }
                let l = self.expr(a)?;
                let l = self.resolve_ctx(l);
                let r = self.expr(b)?;
                let r = self.resolve_ctx(r);
                match op {
                    Op::Eq => value::equal(&l, &r),
                    Op::Ne => !value::equal(&l, &r),
                    Op::Contains => value::contains(&l, &r),
                    Op::Lt => value::compare(&l, &r).is_some_and(|o| o.is_lt()),
                    Op::Gt => value::compare(&l, &r).is_some_and(|o| o.is_gt()),
                    Op::Le => value::compare(&l, &r).is_some_and(|o| o.is_le()),
                    Op::Ge => value::compare(&l, &r).is_some_and(|o| o.is_ge()),
                }
            }
        })
    }

    fn is_defined(&self, name: &str) -> bool {
        self.locals.iter().any(|(n, _)| n == name) || self.assigned.contains_key(name)
    }

    fn expr(&mut self, e: &Expr) -> Result<LValue, RenderError> {
        match e {
            Expr::Lit(v) => Ok(v.clone()),
            Expr::Range(a, b) => {
                let (a, b) = (self.expr(a)?, self.expr(b)?);
                let (Some(a), Some(b)) = (a.number(), b.number()) else {
                    return Err(RenderError::new("a range needs numbers: (1..n)"));
                };
                let (a, b) = (a as i64, b as i64);
                if b.saturating_sub(a) > MAX_RANGE {
                    return Err(RenderError::new(format!(
                        "a range may hold at most {MAX_RANGE} numbers"
                    )));
                }
                Ok(LValue::array((a..=b).map(LValue::Int).collect()))
            }
            Expr::Path(p) => self.path(p),
        }
    }

    fn path(&mut self, p: &Path) -> Result<LValue, RenderError> {
        let mut v = self.root(&p.root)?;
        for seg in &p.segs {
            let key = match seg {
                Seg::Name(n) => LValue::str(n.as_str()),
                Seg::Index(e) => self.expr(e)?,
            };
            let named = matches!(seg, Seg::Name(_));
            v = self.member(v, &key, named);
            if v.is_nil() {
                break;
            }
        }
        Ok(v)
    }

    fn root(&mut self, name: &str) -> Result<LValue, RenderError> {
        if let Some((_, v)) = self.locals.iter().rev().find(|(n, _)| n == name) {
            return Ok(v.clone());
        }
        if let Some(v) = self.assigned.get(name) {
            return Ok(v.clone());
        }
        match name {
            "context" => Ok(LValue::Ctx(CtxNode::Context)),
            "body" => self.body(),
            _ => Ok(LValue::Nil),
        }
    }

    fn body(&mut self) -> Result<LValue, RenderError> {
        if let Some(b) = &self.body {
            return Ok(b.clone());
        }
        let bound = match self.body_source.msg {
            None => LValue::Nil,
            Some(msg) => {
                let bytes = self.ctx.body(msg, true).map_err(RenderError::new)?;
                let content_type = self.ctx.header(msg, "Content-Type");
                let content_type = content_type.as_ref().and_then(|v| v.first());
                bind::bind_body(
                    &bytes,
                    content_type.map(String::as_str),
                    self.body_source.opts,
                )
                .map_err(RenderError::new)?
            }
        };
        self.body = Some(bound.clone());
        Ok(bound)
    }

    /// `v.name` or `v[key]`; `size`, `first` and `last` work on arrays and objects (and
    /// `size` on strings) unless the object has such a key.
    fn member(&mut self, v: LValue, key: &LValue, named: bool) -> LValue {
        match (&v, key) {
            (LValue::Ctx(node), _) => {
                let name = key.render();
                bind::get(self.ctx, *node, &name)
            }
            (LValue::Object(o), LValue::Str(k)) => match o.get(k) {
                Some(found) => found.clone(),
                None if named && &**k == "size" => LValue::Int(o.entries.len() as i64),
                None => LValue::Nil,
            },
            (LValue::Array(a), LValue::Int(i)) => {
                let i = if *i < 0 { *i + a.len() as i64 } else { *i };
                usize::try_from(i)
                    .ok()
                    .and_then(|i| a.get(i).cloned())
                    .unwrap_or_default()
            }
            (LValue::Array(a), LValue::Str(k)) if named => match &**k {
                "size" => LValue::Int(a.len() as i64),
                "first" => a.first().cloned().unwrap_or_default(),
                "last" => a.last().cloned().unwrap_or_default(),
                _ => LValue::Nil,
            },
            (LValue::Str(s), LValue::Str(k)) if named && &**k == "size" => {
                LValue::Int(s.chars().count() as i64)
            }
            _ => LValue::Nil,
        }
    }
}

fn forloop(i: usize, length: usize) -> LValue {
    let n = |x: usize| LValue::Int(x as i64);
    LValue::object(
        vec![
            ("index".into(), n(i + 1)),
            ("index0".into(), n(i)),
            ("rindex".into(), n(length - i)),
            ("rindex0".into(), n(length - i - 1)),
            ("first".into(), LValue::Bool(i == 0)),
            ("last".into(), LValue::Bool(i + 1 == length)),
            ("length".into(), n(length)),
        ],
        false,
    )
}
