//! Composition across scopes: fragments expanded (`<include-fragment>`), then the four scope
//! documents (global → product → API → operation) combined section by section, each
//! `<base/>` replaced by the parent scope's effective section.
//!
//! Two steps so that a snapshot does the expensive, fallible work once: [`Fragments::resolve`]
//! checks and expands each document once (unknown fragments, fragment policies in the wrong
//! section), and [`compose`] — per route — only splices, and cannot fail.

use std::collections::HashMap;
use std::sync::Arc;

use crate::document::PolicyDocument;
use crate::error::{PolicyError, PolicyErrors};
use crate::fragment::Fragment;
use crate::policies::{Policy, PolicyNode};
use crate::section::{self, Section};

/// The scope a document belongs to, outermost first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    Global,
    Product,
    Api,
    Operation,
}

impl Scope {
    pub fn label(self) -> &'static str {
        match self {
            Scope::Global => "global scope",
            Scope::Product => "product scope",
            Scope::Api => "API scope",
            Scope::Operation => "operation scope",
        }
    }
}

/// The snapshot's fragments, each fully expanded (fragments may include fragments).
#[derive(Debug, Clone, Default)]
pub struct Fragments {
    by_id: HashMap<String, Arc<[PolicyNode]>>,
}

impl Fragments {
    /// Expands nested includes; an unknown id or a cycle is an error naming the fragments.
    /// Ids compare without regard to ASCII case, as resource ids do.
    pub fn new(fragments: HashMap<String, Fragment>) -> Result<Self, PolicyErrors> {
        let fragments: HashMap<String, Fragment> = fragments
            .into_iter()
            .map(|(id, f)| (id.to_ascii_lowercase(), f))
            .collect();
        let mut resolver = Resolver {
            raw: &fragments,
            done: HashMap::new(),
            errors: Vec::new(),
        };
        let mut ids: Vec<&String> = fragments.keys().collect();
        ids.sort();
        for id in ids {
            resolver.fragment(id, &mut Vec::new());
        }
        if resolver.errors.is_empty() {
            Ok(Self {
                by_id: resolver.done,
            })
        } else {
            Err(PolicyErrors(resolver.errors))
        }
    }

    pub fn get(&self, id: &str) -> Option<&[PolicyNode]> {
        self.by_id.get(&id.to_ascii_lowercase()).map(|f| &**f)
    }

    /// Expands a scope's document and checks every policy against its section.
    pub fn resolve(
        &self,
        doc: &PolicyDocument,
        scope: Scope,
    ) -> Result<ResolvedDocument, PolicyErrors> {
        let origin: Arc<str> = Arc::from(scope.label());
        let mut errors = Vec::new();
        let mut out = ResolvedDocument::default();
        for s in Section::ALL {
            let Some(nodes) = doc.section(s) else {
                continue;
            };
            let expanded = expand(nodes, &origin, &mut errors, &mut |id| {
                self.get(id)
                    .map(<[_]>::to_vec)
                    .ok_or_else(|| unknown_fragment(id))
            });
            section::check(&expanded, s, &mut errors);
            *out.0.section_mut(s) = Some(expanded);
        }
        for e in &mut errors {
            e.origin.get_or_insert_with(|| scope.label().to_owned());
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(PolicyErrors(errors))
        }
    }
}

/// A scope document with fragments expanded and sections checked: ready to compose.
#[derive(Debug, Clone, Default)]
pub struct ResolvedDocument(PolicyDocument);

impl ResolvedDocument {
    pub fn section(&self, section: Section) -> Option<&[PolicyNode]> {
        self.0.section(section)
    }
}

struct Resolver<'a> {
    raw: &'a HashMap<String, Fragment>,
    done: HashMap<String, Arc<[PolicyNode]>>,
    errors: Vec<PolicyError>,
}

impl Resolver<'_> {
    /// The expanded fragment `id`; `stack` is the chain of includes that led here.
    fn fragment(&mut self, id: &str, stack: &mut Vec<String>) -> Option<Vec<PolicyNode>> {
        let id = &*id.to_ascii_lowercase();
        if let Some(done) = self.done.get(id) {
            return Some(done.to_vec());
        }
        let fragment = self.raw.get(id)?;
        if stack.iter().any(|s| s == id) {
            return None;
        }
        stack.push(id.to_owned());
        let origin: Arc<str> = Arc::from(format!("fragment `{id}`"));
        let mut errors = Vec::new();
        let expanded = expand(&fragment.policies, &origin, &mut errors, &mut |inner| {
            if stack.iter().any(|s| s.eq_ignore_ascii_case(inner)) {
                let mut chain = stack.clone();
                chain.push(inner.to_owned());
                return Err(format!(
                    "fragments include each other in a cycle: {}",
                    chain.join(" → ")
                ));
            }
            self.fragment(inner, stack)
                .ok_or_else(|| unknown_fragment(inner))
        });
        stack.pop();
        self.errors.extend(errors);
        self.done.insert(id.to_owned(), Arc::from(expanded.clone()));
        Some(expanded)
    }
}

fn unknown_fragment(id: &str) -> String {
    format!("unknown fragment `{id}`: create it under policyFragments or correct fragment-id")
}

/// Copies `nodes` with every `<include-fragment>` replaced by the fragment `lookup` gives,
/// and `origin` set on nodes that have none yet.
fn expand(
    nodes: &[PolicyNode],
    origin: &Arc<str>,
    errors: &mut Vec<PolicyError>,
    lookup: &mut dyn FnMut(&str) -> Result<Vec<PolicyNode>, String>,
) -> Vec<PolicyNode> {
    let mut out = Vec::with_capacity(nodes.len());
    for node in nodes {
        let mut node = node.clone();
        node.origin.get_or_insert_with(|| origin.clone());
        match &mut node.policy {
            Policy::IncludeFragment(inc) => match lookup(&inc.fragment_id) {
                Ok(policies) => out.extend(policies),
                Err(message) => {
                    let mut e = PolicyError::new(node.position, Some("include-fragment"), message);
                    e.origin = Some(origin.to_string());
                    errors.push(e);
                }
            },
            Policy::Choose(choose) => {
                for when in &mut choose.whens {
                    when.policies = expand(&when.policies, origin, errors, lookup);
                }
                if let Some(otherwise) = &mut choose.otherwise {
                    *otherwise = expand(otherwise, origin, errors, lookup);
                }
                out.push(node);
            }
            _ => out.push(node),
        }
    }
    out
}

/// The documents that apply to one route. A missing scope (no product when the API needs
/// no subscription, no operation policy) passes its parent's sections through unchanged.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scopes<'a> {
    pub global: Option<&'a ResolvedDocument>,
    pub product: Option<&'a ResolvedDocument>,
    pub api: Option<&'a ResolvedDocument>,
    pub operation: Option<&'a ResolvedDocument>,
}

/// The effective policies of one route, section by section; no `Base`, no `IncludeFragment`.
/// An empty `backend` means APIM's default: forward the request.
#[derive(Debug, Clone, Default)]
pub struct Pipeline {
    pub inbound: Vec<PolicyNode>,
    pub backend: Vec<PolicyNode>,
    pub outbound: Vec<PolicyNode>,
    pub on_error: Vec<PolicyNode>,
}

impl Pipeline {
    pub fn section(&self, section: Section) -> &[PolicyNode] {
        match section {
            Section::Inbound => &self.inbound,
            Section::Backend => &self.backend,
            Section::Outbound => &self.outbound,
            Section::OnError => &self.on_error,
        }
    }

    fn section_mut(&mut self, section: Section) -> &mut Vec<PolicyNode> {
        match section {
            Section::Inbound => &mut self.inbound,
            Section::Backend => &mut self.backend,
            Section::Outbound => &mut self.outbound,
            Section::OnError => &mut self.on_error,
        }
    }
}

/// Combines the scopes of one route. `<base/>` at global scope stands for nothing.
pub fn compose(scopes: &Scopes<'_>) -> Pipeline {
    let chain = [scopes.global, scopes.product, scopes.api, scopes.operation];
    let mut pipeline = Pipeline::default();
    for s in Section::ALL {
        let mut effective: Vec<PolicyNode> = Vec::new();
        for nodes in chain.iter().flatten().filter_map(|d| d.section(s)) {
            let mut next = Vec::with_capacity(nodes.len() + effective.len());
            for node in nodes {
                if matches!(node.policy, Policy::Base) {
                    next.extend(effective.iter().cloned());
                } else {
                    next.push(node.clone());
                }
            }
            effective = next;
        }
        *pipeline.section_mut(s) = effective;
    }
    pipeline
}
