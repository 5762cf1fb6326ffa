//! LINQ to XML, read-only: `XDocument.Parse` and `XElement.Parse` build an immutable tree
//! shared by every value pointing into it; navigation (`Root`, `Elements`, `Element`,
//! `Descendants`, `Attributes`, `Attribute`, `Parent`), names (`Name.LocalName`,
//! `Name.NamespaceName`), `Value`, `HasElements`, `HasAttributes`, `(string)` casts and
//! `ToString()` (the markup as it was written; .NET re-indents it). Changing a document
//! (`Add`, `Remove`, `SetValue`, …) is refused: Portico's policies rebuild text instead.

use std::ops::Range;
use std::sync::Arc;

use super::super::convert::need_str;
use super::super::error::EvalError;
use super::super::types::Ty;
use super::super::value::Value;
use super::{Call, Found};

/// A parsed document: its text and its nodes (index 0 is the document itself).
#[derive(Debug)]
pub struct XmlDoc {
    text: String,
    nodes: Vec<XNode>,
}

#[derive(Debug)]
struct XNode {
    /// Namespace URI and local name; empty for text and the document.
    ns: Arc<str>,
    local: Arc<str>,
    attrs: Vec<(Arc<str>, Arc<str>, Arc<str>)>,
    children: Vec<usize>,
    parent: Option<usize>,
    /// Text of a text node; `None` for elements and the document.
    text: Option<String>,
    range: Range<usize>,
}

/// A value pointing into XML.
#[derive(Debug, Clone)]
pub enum XmlRef {
    Document(Arc<XmlDoc>),
    Element(Arc<XmlDoc>, usize),
    /// `XName`: namespace URI and local name.
    Name(Arc<str>, Arc<str>),
    /// An attribute of an element: the element and the attribute's place.
    Attribute(Arc<XmlDoc>, usize, usize),
}

/// The most nodes a parsed document may hold.
const MAX_NODES: usize = 1_000_000;

fn parse(text: &str) -> Result<Arc<XmlDoc>, EvalError> {
    let doc = roxmltree::Document::parse(text)
        .map_err(|e| EvalError::msg(format!("the text is not XML: {e}")))?;
    let mut nodes = Vec::new();
    add(doc.root(), None, &mut nodes)?;
    Ok(Arc::new(XmlDoc {
        text: text.to_owned(),
        nodes,
    }))
}

fn add(
    n: roxmltree::Node<'_, '_>,
    parent: Option<usize>,
    nodes: &mut Vec<XNode>,
) -> Result<Option<usize>, EvalError> {
    if !(n.is_element() || n.is_text() || n.is_root()) {
        return Ok(None);
    }
    if nodes.len() >= MAX_NODES {
        return Err(EvalError::msg(format!(
            "the XML has more than {MAX_NODES} nodes"
        )));
    }
    let index = nodes.len();
    let name = n.tag_name();
    nodes.push(XNode {
        ns: name.namespace().unwrap_or("").into(),
        local: if n.is_element() { name.name() } else { "" }.into(),
        attrs: n
            .attributes()
            .map(|a| {
                (
                    a.namespace().unwrap_or("").into(),
                    a.name().into(),
                    a.value().into(),
                )
            })
            .collect(),
        children: Vec::new(),
        parent,
        text: n.is_text().then(|| n.text().unwrap_or("").to_owned()),
        range: n.range(),
    });
    let mut children = Vec::new();
    for c in n.children() {
        if let Some(i) = add(c, Some(index), nodes)? {
            children.push(i);
        }
    }
    nodes[index].children = children;
    Ok(Some(index))
}

impl XmlDoc {
    fn is_element(&self, i: usize) -> bool {
        i != 0 && self.nodes[i].text.is_none()
    }

    fn elements(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        self.nodes[i]
            .children
            .iter()
            .copied()
            .filter(|c| self.is_element(*c))
    }

    fn descendants(&self, i: usize, out: &mut Vec<usize>) {
        for c in self.elements(i).collect::<Vec<_>>() {
            out.push(c);
            self.descendants(c, out);
        }
    }

    /// All text below a node, as `XElement.Value`.
    fn value(&self, i: usize) -> String {
        let mut out = String::new();
        let mut stack = vec![i];
        while let Some(n) = stack.pop() {
            let node = &self.nodes[n];
            if let Some(t) = &node.text {
                out.push_str(t);
            }
            stack.extend(node.children.iter().rev());
        }
        out
    }

    fn markup(&self, i: usize) -> &str {
        self.text.get(self.nodes[i].range.clone()).unwrap_or("")
    }
}

/// An `XName` given as a string: `{namespace}local` or a local name in no namespace, as .NET's
/// implicit conversion reads it.
fn xname(v: &Value) -> Result<(String, String), EvalError> {
    if let Value::Xml(XmlRef::Name(ns, local)) = v {
        return Ok((ns.to_string(), local.to_string()));
    }
    let s = need_str(v, "the XML name")?;
    if let Some(rest) = s.strip_prefix('{') {
        if let Some((ns, local)) = rest.split_once('}') {
            return Ok((ns.to_owned(), local.to_owned()));
        }
    }
    Ok((String::new(), s.to_string()))
}

fn named(doc: &XmlDoc, i: usize, name: &Option<(String, String)>) -> bool {
    match name {
        None => true,
        Some((ns, local)) => *doc.nodes[i].local == **local && *doc.nodes[i].ns == **ns,
    }
}

fn elements_value(doc: &Arc<XmlDoc>, items: Vec<usize>) -> Value {
    Value::array(
        Ty::XElement,
        items
            .into_iter()
            .map(|i| Value::Xml(XmlRef::Element(doc.clone(), i)))
            .collect(),
    )
}

pub fn static_call(class: &str, call: &Call<'_>) -> Found {
    if call.name != "Parse" {
        return Ok(None);
    }
    let text = need_str(call.arg(0), "the XML text")?;
    let doc = parse(&text)?;
    Ok(Some(match class {
        "XDocument" => Value::Xml(XmlRef::Document(doc)),
        _ => {
            let root = doc.elements(0).next().unwrap_or(0);
            Value::Xml(XmlRef::Element(doc, root))
        }
    }))
}

/// The node a document or element value stands for.
fn node(v: &XmlRef) -> Option<(&Arc<XmlDoc>, usize)> {
    match v {
        XmlRef::Document(d) => Some((d, 0)),
        XmlRef::Element(d, i) => Some((d, *i)),
        _ => None,
    }
}

pub fn member(v: &XmlRef, name: &str) -> Option<Value> {
    let el = |d: &Arc<XmlDoc>, i: usize| Value::Xml(XmlRef::Element(d.clone(), i));
    Some(match (v, name) {
        (XmlRef::Document(d), "Root") => d.elements(0).next().map_or(Value::Null, |i| el(d, i)),
        (XmlRef::Element(d, i), "Name") => {
            let n = &d.nodes[*i];
            Value::Xml(XmlRef::Name(n.ns.clone(), n.local.clone()))
        }
        (XmlRef::Element(d, i), "Value") => Value::str(d.value(*i)),
        (XmlRef::Element(d, i), "HasElements") => Value::Bool(d.elements(*i).next().is_some()),
        (XmlRef::Element(d, i), "HasAttributes") => Value::Bool(!d.nodes[*i].attrs.is_empty()),
        (XmlRef::Element(d, i), "Parent") => match d.nodes[*i].parent {
            Some(p) if p != 0 => el(d, p),
            _ => Value::Null,
        },
        (XmlRef::Element(d, _), "Document") => Value::Xml(XmlRef::Document(d.clone())),
        (XmlRef::Name(_, local), "LocalName") => Value::Str(local.clone()),
        (XmlRef::Name(ns, _), "NamespaceName") => Value::Str(ns.clone()),
        (XmlRef::Attribute(d, i, a), "Value") => Value::Str(d.nodes[*i].attrs[*a].2.clone()),
        (XmlRef::Attribute(d, i, a), "Name") => {
            let (ns, local, _) = &d.nodes[*i].attrs[*a];
            Value::Xml(XmlRef::Name(ns.clone(), local.clone()))
        }
        (XmlRef::Attribute(d, i, _), "Parent") => el(d, *i),
        _ => return None,
    })
}

const MUTATORS: &[&str] = &[
    "Add",
    "AddFirst",
    "AddAfterSelf",
    "AddBeforeSelf",
    "Remove",
    "RemoveAll",
    "RemoveNodes",
    "RemoveAttributes",
    "ReplaceWith",
    "ReplaceAll",
    "ReplaceNodes",
    "SetValue",
    "SetAttributeValue",
    "SetElementValue",
    "Save",
];

pub fn method(v: &XmlRef, call: &Call<'_>) -> Found {
    if MUTATORS.contains(&call.name) {
        return Err(EvalError::msg(format!(
            "`{}` is not supported: XML is read-only in Portico expressions; build the new text \
             (or JSON) instead",
            call.name
        )));
    }
    let name = match call.args.first() {
        Some(a) => Some(xname(a)?),
        None => None,
    };
    if call.name == "ToString" && call.args.is_empty() {
        return Ok(Some(Value::str(to_string(v))));
    }
    let Some((d, i)) = node(v) else {
        return Ok(None);
    };
    Ok(Some(match call.name {
        "Elements" => elements_value(d, d.elements(i).filter(|c| named(d, *c, &name)).collect()),
        "Element" => d
            .elements(i)
            .find(|c| named(d, *c, &name))
            .map_or(Value::Null, |c| Value::Xml(XmlRef::Element(d.clone(), c))),
        "Descendants" | "DescendantsAndSelf" => {
            let mut all = Vec::new();
            if call.name == "DescendantsAndSelf" && d.is_element(i) {
                all.push(i);
            }
            d.descendants(i, &mut all);
            all.retain(|c| named(d, *c, &name));
            elements_value(d, all)
        }
        "Attributes" | "Attribute" if d.is_element(i) => {
            let attrs: Vec<usize> = (0..d.nodes[i].attrs.len())
                .filter(|a| {
                    name.as_ref().is_none_or(|(ns, local)| {
                        let (ans, alocal, _) = &d.nodes[i].attrs[*a];
                        **alocal == **local && **ans == **ns
                    })
                })
                .collect();
            let attr = |a: usize| Value::Xml(XmlRef::Attribute(d.clone(), i, a));
            if call.name == "Attribute" {
                attrs.first().map_or(Value::Null, |a| attr(*a))
            } else {
                Value::array(Ty::XAttribute, attrs.into_iter().map(attr).collect())
            }
        }
        _ => return Ok(None),
    }))
}

/// `ToString()`: an element or document as written, a name as `{ns}local`, an attribute as
/// `name="value"`.
pub fn to_string(v: &XmlRef) -> String {
    match v {
        XmlRef::Document(d) => d.text.trim().to_owned(),
        XmlRef::Element(d, i) => d.markup(*i).to_owned(),
        XmlRef::Name(ns, local) if ns.is_empty() => local.to_string(),
        XmlRef::Name(ns, local) => format!("{{{ns}}}{local}"),
        XmlRef::Attribute(d, i, a) => {
            let (_, local, value) = &d.nodes[*i].attrs[*a];
            format!("{local}=\"{value}\"")
        }
    }
}

/// `(string)x`: an element's or attribute's value, a name's text.
pub fn cast_string(v: &XmlRef) -> Option<String> {
    match v {
        XmlRef::Element(d, i) => Some(d.value(*i)),
        XmlRef::Attribute(d, i, a) => Some(d.nodes[*i].attrs[*a].2.to_string()),
        XmlRef::Name(..) => Some(to_string(v)),
        XmlRef::Document(_) => None,
    }
}

pub fn type_name(v: &XmlRef) -> &'static str {
    match v {
        XmlRef::Document(_) => "XDocument",
        XmlRef::Element(..) => "XElement",
        XmlRef::Name(..) => "XName",
        XmlRef::Attribute(..) => "XAttribute",
    }
}

pub fn is_type(v: &XmlRef, ty: &Ty) -> bool {
    matches!(
        (v, ty),
        (XmlRef::Document(_), Ty::XDocument)
            | (XmlRef::Element(..), Ty::XElement)
            | (XmlRef::Name(..), Ty::XName)
            | (XmlRef::Attribute(..), Ty::XAttribute)
    )
}

/// Names compare by value; nodes by identity, as .NET objects do.
pub fn same(a: &XmlRef, b: &XmlRef) -> bool {
    match (a, b) {
        (XmlRef::Name(n1, l1), XmlRef::Name(n2, l2)) => n1 == n2 && l1 == l2,
        (XmlRef::Document(x), XmlRef::Document(y)) => Arc::ptr_eq(x, y),
        (XmlRef::Element(x, i), XmlRef::Element(y, j)) => Arc::ptr_eq(x, y) && i == j,
        (XmlRef::Attribute(x, i, a), XmlRef::Attribute(y, j, b)) => {
            Arc::ptr_eq(x, y) && i == j && a == b
        }
        _ => false,
    }
}
