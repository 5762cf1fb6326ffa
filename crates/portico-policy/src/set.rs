//! A snapshot's policies compiled together: named values substituted, fragments parsed and
//! expanded, and every scope document parsed and resolved against them. The control plane
//! validates a configuration with this (so a bad policy is refused when written) and the
//! gateway compiles its snapshot with it (so both agree on what is valid).

use crate::compose::{Fragments, ResolvedDocument, Scope};
use crate::document::PolicyDocument;
use crate::error::PolicyError;
use crate::fragment::Fragment;
use crate::named_values::NamedValues;
use std::collections::HashMap;
use std::hash::Hash;

/// One scope document to compile: a caller's key for it, its scope and its XML.
#[derive(Debug, Clone)]
pub struct Source<'a, K> {
    pub key: K,
    pub scope: Scope,
    pub xml: &'a str,
}

/// Where a compile error was found: in a fragment (by id) or in a scope document (by key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorSite<K> {
    Fragment(String),
    Document(K),
}

/// Every scope document of a snapshot, resolved and ready to compose.
#[derive(Debug, Clone)]
pub struct PolicySet<K: Eq + Hash> {
    pub documents: HashMap<K, ResolvedDocument>,
}

impl<K: Eq + Hash + Clone> PolicySet<K> {
    /// Compiles `fragments` (id, XML) and `documents`; reports every error with its site.
    pub fn compile(
        named_values: &NamedValues,
        fragments: &[(&str, &str)],
        documents: &[Source<'_, K>],
    ) -> Result<Self, Vec<(ErrorSite<K>, PolicyError)>> {
        let mut errors = Vec::new();
        let mut parsed = HashMap::new();
        for (id, xml) in fragments {
            match Fragment::parse_with(xml, named_values) {
                Ok(f) => {
                    parsed.insert((*id).to_owned(), f);
                }
                Err(e) => errors.extend(
                    e.0.into_iter()
                        .map(|e| (ErrorSite::Fragment((*id).to_owned()), e)),
                ),
            }
        }
        let expanded = Fragments::new(parsed).unwrap_or_else(|e| {
            // Nested-include problems name their fragments in `origin`.
            for err in e.0 {
                let id = err.origin.clone().unwrap_or_default();
                errors.push((ErrorSite::Fragment(id), err));
            }
            Fragments::default()
        });
        let mut resolved = HashMap::new();
        for source in documents {
            let result = PolicyDocument::parse_with(source.xml, named_values)
                .and_then(|doc| expanded.resolve(&doc, source.scope));
            match result {
                Ok(doc) => {
                    resolved.insert(source.key.clone(), doc);
                }
                Err(e) => errors.extend(
                    e.0.into_iter()
                        .map(|e| (ErrorSite::Document(source.key.clone()), e)),
                ),
            }
        }
        if errors.is_empty() {
            Ok(Self {
                documents: resolved,
            })
        } else {
            Err(errors)
        }
    }
}
