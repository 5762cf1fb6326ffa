//! Policy documents at every scope (global, product, API, operation) and policy fragments,
//! compiled with `portico-policy` exactly as the gateway compiles them: named values
//! substituted, fragments expanded, every policy checked against its section, every expression
//! compiled. Errors carry the line and column inside the policy text and the policy's field
//! path; secret named values never appear in them.

use super::Validator;
use crate::document::Document;
use crate::errors::ConfigError;
use portico_policy::{ErrorSite, NamedValue, NamedValues, PolicyError, PolicySet, Scope, Source};
use std::collections::HashSet;

impl Validator {
    pub(super) fn policies(&mut self, doc: &Document) {
        let mut ids = HashSet::new();
        let mut fragments = Vec::new();
        for (i, f) in doc.policy_fragments.iter().enumerate() {
            let path = format!("policyFragments[{i}]");
            self.id(&path, &f.id, &mut ids, "policy fragment");
            self.unresolved(&path, "valueFile", &f.value_file);
            fragments.push((f.id.as_str(), f.value.as_str()));
        }
        let mut scopes = vec![("".to_owned(), Scope::Global, &doc.policy, &doc.policy_file)];
        for (i, api) in doc.apis.iter().enumerate() {
            scopes.push((
                format!("apis[{i}]."),
                Scope::Api,
                &api.policy,
                &api.policy_file,
            ));
            for (j, op) in api.operations.iter().enumerate() {
                let at = format!("apis[{i}].operations[{j}].");
                scopes.push((at, Scope::Operation, &op.policy, &op.policy_file));
            }
        }
        for (i, p) in doc.products.iter().enumerate() {
            scopes.push((
                format!("products[{i}]."),
                Scope::Product,
                &p.policy,
                &p.policy_file,
            ));
        }
        let mut sources = Vec::new();
        for (at, scope, policy, file) in scopes {
            self.unresolved(at.trim_end_matches('.'), "policyFile", file);
            if let Some(xml) = policy {
                sources.push(Source {
                    key: format!("{at}policy"),
                    scope,
                    xml,
                });
            }
        }
        if let Err(errors) = PolicySet::compile(&named_values(doc), &fragments, &sources) {
            for (site, error) in errors {
                let path = match site {
                    ErrorSite::Document(path) => path,
                    ErrorSite::Fragment(id) => doc
                        .policy_fragments
                        .iter()
                        .position(|f| f.id == id)
                        .map_or_else(
                            || "policyFragments".to_owned(),
                            |i| format!("policyFragments[{i}].value"),
                        ),
                };
                self.errors.push(located(path, error));
            }
        }
    }

    /// A file reference that the loader should have replaced by its content.
    pub(super) fn unresolved(&mut self, at: &str, field: &str, file: &Option<String>) {
        if file.is_some() {
            let path = if at.is_empty() {
                field.to_owned()
            } else {
                format!("{at}.{field}")
            };
            self.error(
                path,
                format!("{field} is read by the loader (`portico apply`, `portico gateway --config`) relative to the document; over the API, send the content itself"),
            );
        }
    }
}

/// The document's named values as policies see them.
pub(crate) fn named_values(doc: &Document) -> NamedValues {
    let mut values = NamedValues::new();
    for nv in &doc.named_values {
        values.insert(nv.name(), NamedValue::new(nv.value.expose(), nv.secret));
    }
    values
}

fn located(path: String, e: PolicyError) -> ConfigError {
    let mut message = String::new();
    if let Some(policy) = &e.policy {
        message.push_str(&format!("<{policy}>: "));
    }
    message.push_str(&e.message);
    ConfigError {
        line: Some(e.position.line as usize),
        column: Some(e.position.column as usize),
        ..ConfigError::at(path, message)
    }
}

#[cfg(test)]
mod tests {
    use super::super::errors_of as errors;

    #[test]
    fn policies_at_every_scope_are_checked_with_line_and_column() {
        let errs = errors(
            r#"
policy: "<policies><inbound><base/></inbound></policies>"
apis:
  - id: a
    serviceUrl: http://x
    policy: "<policies>\n  <inbound>\n    <base>\n  </inbound>\n</policies>"
    operations:
      - { id: o, method: GET, urlTemplate: /, policy: "<fragment/>" }
products:
  - { id: p, policy: "<policies><inbound><include-fragment fragment-id=\"nope\"/></inbound></policies>" }
policyFragments:
  - { id: f, value: "<policies/>" }
"#,
        );
        let expect = [
            "line 4, column 3: apis[0].policy: malformed XML: expected 'base' tag, not 'inbound'\n",
            "line 1, column 1: apis[0].operations[0].policy: <fragment>: the document's root element must be <policies>",
            "products[0].policy: <include-fragment>: unknown fragment `nope`",
            "policyFragments[0].value: <policies>: the document's root element must be <fragment>",
        ];
        for e in expect {
            assert!(
                errs.iter().any(|got| format!("{got}\n").contains(e)),
                "missing {e:?} in {errs:#?}"
            );
        }
        assert_eq!(errs.len(), 4, "{errs:#?}");
    }

    #[test]
    fn policies_not_enforced_yet_are_refused_by_name() {
        let errs = errors("policy: \"<policies><inbound><log-to-eventhub logger-id='x'>text</log-to-eventhub></inbound></policies>\"\n");
        assert!(
            errs[0].contains("<log-to-eventhub>: not supported by Portico yet"),
            "{errs:?}"
        );
    }

    #[test]
    fn fragments_resolve_case_insensitively() {
        let ok = errors(
            "policyFragments:\n  - { id: Common, value: '<fragment/>' }\npolicy: '<policies><inbound><include-fragment fragment-id=\"common\"/></inbound></policies>'\n",
        );
        assert!(ok.is_empty(), "{ok:?}");
    }

    #[test]
    fn unresolved_file_references_are_refused() {
        let errs = errors("policyFile: p.xml\n");
        assert!(
            errs[0].starts_with("policyFile: policyFile is read by the loader"),
            "{errs:?}"
        );
    }
}
