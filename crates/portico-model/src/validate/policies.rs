//! Policy documents at every scope (global, product, API, operation) and policy fragments:
//! each must be well-formed XML with the right root element, and every
//! `<include-fragment fragment-id="…"/>` must name a fragment. Errors carry the line and column
//! inside the policy text, and the field path of the policy.

use super::Validator;
use crate::document::Document;
use crate::errors::ConfigError;
use std::collections::HashSet;

/// Elements that structure a policy document rather than act: they need no engine.
const STRUCTURE: &[&str] = &[
    "policies", "inbound", "backend", "outbound", "on-error", "base",
];

impl Validator {
    pub(super) fn policies(&mut self, doc: &Document) {
        let mut fragments = HashSet::new();
        for (i, f) in doc.policy_fragments.iter().enumerate() {
            let path = format!("policyFragments[{i}]");
            self.id(&path, &f.id, &mut fragments, "policy fragment");
            self.unresolved(&path, "valueFile", &f.value_file);
            self.policy_xml(
                &format!("{path}.value"),
                &f.value,
                "fragment",
                &HashSet::new(),
            );
        }
        let mut scopes = vec![("".to_owned(), &doc.policy, &doc.policy_file)];
        for (i, api) in doc.apis.iter().enumerate() {
            scopes.push((format!("apis[{i}]."), &api.policy, &api.policy_file));
            for (j, op) in api.operations.iter().enumerate() {
                let at = format!("apis[{i}].operations[{j}].");
                scopes.push((at, &op.policy, &op.policy_file));
            }
        }
        for (i, p) in doc.products.iter().enumerate() {
            scopes.push((format!("products[{i}]."), &p.policy, &p.policy_file));
        }
        for (at, policy, file) in scopes {
            self.unresolved(at.trim_end_matches('.'), "policyFile", file);
            if let Some(xml) = policy {
                self.policy_xml(&format!("{at}policy"), xml, "policies", &fragments);
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

    fn policy_xml(&mut self, path: &str, xml: &str, root: &str, fragments: &HashSet<String>) {
        let parsed = match roxmltree::Document::parse(xml) {
            Ok(d) => d,
            Err(e) => {
                // roxmltree ends its messages with " at L:C"; the position is reported apart.
                let pos = e.pos();
                let message = e.to_string();
                let message = message
                    .strip_suffix(&format!(" at {}:{}", pos.row, pos.col))
                    .unwrap_or(&message);
                return self
                    .errors
                    .push(located(path, pos.row, pos.col, message.to_owned()));
            }
        };
        let top = parsed.root_element();
        if top.tag_name().name() != root {
            let pos = parsed.text_pos_at(top.range().start);
            let message = format!(
                "the root element must be <{root}>, not <{}>",
                top.tag_name().name()
            );
            return self.errors.push(located(path, pos.row, pos.col, message));
        }
        for node in top.descendants().filter(|n| n.is_element()) {
            let name = node.tag_name().name();
            let pos = parsed.text_pos_at(node.range().start);
            if name == "include-fragment" {
                match node.attribute("fragment-id") {
                    Some(id) if fragments.contains(&id.to_ascii_lowercase()) => {}
                    Some(id) => self.errors.push(located(
                        path,
                        pos.row,
                        pos.col,
                        format!("<include-fragment>: no policy fragment has id {id:?}"),
                    )),
                    None => self.errors.push(located(
                        path,
                        pos.row,
                        pos.col,
                        "<include-fragment> needs a fragment-id attribute".into(),
                    )),
                }
            } else if node != top && !STRUCTURE.contains(&name) {
                // Refused rather than stored: a policy that is accepted must be enforced.
                self.errors.push(located(
                    path,
                    pos.row,
                    pos.col,
                    format!("policy <{name}> is not enforced by this version of Portico yet"),
                ));
            }
        }
    }
}

fn located(path: &str, line: u32, column: u32, message: String) -> ConfigError {
    ConfigError {
        line: Some(line as usize),
        column: Some(column as usize),
        ..ConfigError::at(path, message)
    }
}

#[cfg(test)]
mod tests {
    use crate::{Document, DocumentFormat};

    fn errors(yaml: &str) -> Vec<String> {
        match Document::parse_valid(yaml, DocumentFormat::Yaml) {
            Ok(_) => vec![],
            Err(e) => e.errors().iter().map(|e| e.to_string()).collect(),
        }
    }

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
            "line 4, column 3: apis[0].policy: expected 'base' tag, not 'inbound'\n",
            "line 1, column 1: apis[0].operations[0].policy: the root element must be <policies>",
            "products[0].policy: <include-fragment>: no policy fragment has id \"nope\"",
            "policyFragments[0].value: the root element must be <fragment>",
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
        let errs = errors("policy: \"<policies><inbound><rate-limit calls='1' renewal-period='1'/></inbound></policies>\"\n");
        assert!(
            errs[0].contains("policy <rate-limit> is not enforced"),
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
