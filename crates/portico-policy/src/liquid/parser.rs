//! Tags into a tree: `if`/`elsif`/`else`, `unless`, `case`/`when`, `for` and APIM's
//! `JSONArrayFor` (with `limit:`, `offset:`, `reversed`, `else`, `break`, `continue`),
//! `assign`, `capture`, `comment` and `raw`. Any other tag (`include`, `cycle`, `tablerow`,
//! `increment`…) is refused, naming it, where it is written.

use super::bind;
use super::lexer::Piece;
use super::markup::{Cond, Expr, Filtered, Markup, Seg};
use super::LiquidError;

#[derive(Debug, Clone)]
pub(crate) enum Node {
    Text(String),
    Output(Filtered),
    If {
        branches: Vec<(Cond, bool, Vec<Node>)>,
        otherwise: Vec<Node>,
    },
    Case {
        subject: Expr,
        whens: Vec<(Vec<Expr>, Vec<Node>)>,
        otherwise: Vec<Node>,
    },
    For(Box<ForLoop>),
    Assign(String, Filtered),
    Capture(String, Vec<Node>),
    Break,
    Continue,
}

#[derive(Debug, Clone)]
pub(crate) struct ForLoop {
    pub var: String,
    pub collection: Expr,
    pub limit: Option<Expr>,
    pub offset: Option<Expr>,
    pub reversed: bool,
    pub body: Vec<Node>,
    pub otherwise: Vec<Node>,
    /// `JSONArrayFor`: items are separated by commas.
    pub json_array: bool,
}

pub(super) struct Parser<'a> {
    pieces: std::vec::IntoIter<Piece<'a>>,
    /// Nesting depth, bounded so a hostile template cannot overflow the stack.
    depth: usize,
    pub reads_body: bool,
}

const MAX_DEPTH: usize = 64;

/// What ended a block: the tag's name, its markup, and where it was.
struct End<'a> {
    name: &'a str,
    markup: &'a str,
    at: usize,
    markup_at: usize,
}

impl<'a> Parser<'a> {
    pub(super) fn new(pieces: Vec<Piece<'a>>) -> Self {
        Self {
            pieces: pieces.into_iter(),
            depth: 0,
            reads_body: false,
        }
    }

    pub(super) fn document(&mut self) -> Result<Vec<Node>, LiquidError> {
        let (nodes, end) = self.block(&[])?;
        match end {
            None => Ok(nodes),
            Some(e) => Err(LiquidError::new(
                e.at,
                format!("`{}` has no opening tag", e.name),
            )),
        }
    }

    /// Nodes up to one of the `until` tags (or the end of the template when `until` is empty).
    fn block(&mut self, until: &[&str]) -> Result<(Vec<Node>, Option<End<'a>>), LiquidError> {
        self.depth += 1;
        let result = self.block_inner(until);
        self.depth -= 1;
        result
    }

    fn block_inner(&mut self, until: &[&str]) -> Result<(Vec<Node>, Option<End<'a>>), LiquidError> {
        let mut nodes = Vec::new();
        while let Some(piece) = self.pieces.next() {
            match piece {
                Piece::Text(t) => nodes.push(Node::Text(t)),
                Piece::Output(markup, at) => {
                    let mut m = Markup::new(markup, at)?;
                    let f = m.filtered()?;
                    m.finish()?;
                    self.note(&f.value)?;
                    for (_, args, _) in &f.filters {
                        args.iter().try_for_each(|a| self.note(a))?;
                    }
                    nodes.push(Node::Output(f));
                }
                Piece::Tag {
                    name,
                    markup,
                    at,
                    markup_at,
                } => {
                    if until.contains(&name) {
                        return Ok((
                            nodes,
                            Some(End {
                                name,
                                markup,
                                at,
                                markup_at,
                            }),
                        ));
                    }
                    if self.depth > MAX_DEPTH {
                        return Err(LiquidError::new(
                            at,
                            format!("Liquid blocks nest deeper than {MAX_DEPTH}"),
                        ));
                    }
                    if let Some(node) = self.tag(name, markup, at, markup_at)? {
                        nodes.push(node);
                    }
                }
            }
        }
        if until.is_empty() {
            Ok((nodes, None))
        } else {
            Err(LiquidError::new(
                usize::MAX,
                format!(
                    "the template ends before `{{% {} %}}`",
                    until[until.len() - 1]
                ),
            ))
        }
    }

    fn tag(
        &mut self,
        name: &'a str,
        markup: &'a str,
        at: usize,
        markup_at: usize,
    ) -> Result<Option<Node>, LiquidError> {
        let mut m = Markup::new(markup, markup_at)?;
        let node = match name {
            "if" | "unless" => self.if_tag(name, m)?,
            "case" => self.case_tag(m)?,
            "for" | "JSONArrayFor" => self.for_tag(name, m)?,
            "assign" => {
                let (var, _) = m.name()?;
                m.expect_eq()?;
                let value = m.filtered()?;
                m.finish()?;
                self.note(&value.value)?;
                Node::Assign(var, value)
            }
            "capture" => {
                let (var, _) = m.name()?;
                m.finish()?;
                let (body, _) = self.block(&["endcapture"])?;
                Node::Capture(var, body)
            }
            "break" | "continue" => {
                m.finish()?;
                if name == "break" {
                    Node::Break
                } else {
                    Node::Continue
                }
            }
            "comment" => {
                self.block(&["endcomment"])?;
                return Ok(None);
            }
            "raw" => {
                let (body, _) = self.block(&["endraw"])?;
                return Ok(body.into_iter().next());
            }
            other => {
                let hint = match other {
                    "elsif" | "else" | "when" => " outside the block it belongs to",
                    n if n.starts_with("end") => " without its opening tag",
                    _ => "",
                };
                return Err(LiquidError::new(
                    at,
                    format!(
                        "Liquid tag `{other}`{hint} is not supported; Portico runs if, unless, \
                         case, for, JSONArrayFor, assign, capture, comment and raw"
                    ),
                ));
            }
        };
        Ok(Some(node))
    }

    fn if_tag(&mut self, name: &str, mut m: Markup) -> Result<Node, LiquidError> {
        let end = if name == "if" { "endif" } else { "endunless" };
        let mut branches = Vec::new();
        let mut cond = self.condition(&mut m)?;
        let mut negate = name == "unless";
        loop {
            let (body, stop) = self.block(&["elsif", "else", end])?;
            branches.push((cond, negate, body));
            let stop = stop.ok_or_else(|| LiquidError::new(usize::MAX, "unclosed if"))?;
            match stop.name {
                "elsif" => {
                    let mut m = Markup::new(stop.markup, stop.markup_at)?;
                    cond = self.condition(&mut m)?;
                    negate = false;
                }
                "else" => {
                    Markup::new(stop.markup, stop.markup_at)?.finish()?;
                    let (otherwise, _) = self.block(&[end])?;
                    return Ok(Node::If {
                        branches,
                        otherwise,
                    });
                }
                _ => {
                    return Ok(Node::If {
                        branches,
                        otherwise: Vec::new(),
                    })
                }
            }
        }
    }

    fn condition(&mut self, m: &mut Markup) -> Result<Cond, LiquidError> {
        let c = m.condition()?;
        m.finish()?;
        self.note_cond(&c)?;
        Ok(c)
    }

    fn note_cond(&mut self, c: &Cond) -> Result<(), LiquidError> {
        match c {
            Cond::Test(a, b) => {
                self.note(a)?;
                if let Some((_, b)) = b {
                    self.note(b)?;
                }
                Ok(())
            }
            Cond::And(a, b) | Cond::Or(a, b) => {
                self.note_cond(a)?;
                self.note_cond(b)
            }
        }
    }

    fn case_tag(&mut self, mut m: Markup) -> Result<Node, LiquidError> {
        let subject = m.expr()?;
        m.finish()?;
        self.note(&subject)?;
        // Text between `case` and the first `when` is ignored, as in Liquid.
        let (_, mut stop) = self.block(&["when", "else", "endcase"])?;
        let mut whens = Vec::new();
        loop {
            let s = stop.ok_or_else(|| LiquidError::new(usize::MAX, "unclosed case"))?;
            match s.name {
                "when" => {
                    let mut m = Markup::new(s.markup, s.markup_at)?;
                    let mut values = vec![m.expr()?];
                    while m.eat_comma() || m.eat_word("or") {
                        values.push(m.expr()?);
                    }
                    m.finish()?;
                    values.iter().try_for_each(|v| self.note(v))?;
                    let (body, next) = self.block(&["when", "else", "endcase"])?;
                    whens.push((values, body));
                    stop = next;
                }
                "else" => {
                    let (otherwise, _) = self.block(&["endcase"])?;
                    return Ok(Node::Case {
                        subject,
                        whens,
                        otherwise,
                    });
                }
                _ => {
                    return Ok(Node::Case {
                        subject,
                        whens,
                        otherwise: Vec::new(),
                    })
                }
            }
        }
    }

    fn for_tag(&mut self, name: &str, mut m: Markup) -> Result<Node, LiquidError> {
        let (var, _) = m.name()?;
        if !m.eat_word("in") {
            return Err(m.error("expected `in`"));
        }
        let collection = m.expr()?;
        self.note(&collection)?;
        let (mut limit, mut offset, mut reversed) = (None, None, false);
        while !m.is_done() {
            if m.eat_word("reversed") {
                reversed = true;
            } else if m.eat_word("limit") {
                m.eat_colon()?;
                limit = Some(m.expr()?);
            } else if m.eat_word("offset") {
                m.eat_colon()?;
                offset = Some(m.expr()?);
            } else {
                return Err(m.error("expected `limit:`, `offset:` or `reversed`"));
            }
            m.eat_comma();
        }
        let end = if name == "for" {
            "endfor"
        } else {
            "endJSONArrayFor"
        };
        let (body, stop) = self.block(&["else", end])?;
        let otherwise = match stop {
            Some(s) if s.name == "else" => self.block(&[end])?.0,
            _ => Vec::new(),
        };
        Ok(Node::For(Box::new(ForLoop {
            var,
            collection,
            limit,
            offset,
            reversed,
            body,
            otherwise,
            json_array: name == "JSONArrayFor",
        })))
    }

    /// Checks `context.…` paths and notes whether `body` is read.
    fn note(&mut self, e: &Expr) -> Result<(), LiquidError> {
        match e {
            Expr::Lit(_) => Ok(()),
            Expr::Range(a, b) => {
                self.note(a)?;
                self.note(b)
            }
            Expr::Path(p) => {
                if p.root == "body" {
                    self.reads_body = true;
                }
                for s in &p.segs {
                    if let Seg::Index(i) = s {
                        self.note(i)?;
                    }
                }
                if p.root != "context" {
                    return Ok(());
                }
                let names: Vec<&str> = p
                    .segs
                    .iter()
                    .map_while(|s| match s {
                        Seg::Name(n) => Some(n.as_str()),
                        Seg::Index(Expr::Lit(super::value::LValue::Str(s))) => Some(s),
                        Seg::Index(_) => None,
                    })
                    .collect();
                bind::check_static(&names).map_err(|(_, m)| LiquidError::new(p.at, m))
            }
        }
    }
}
