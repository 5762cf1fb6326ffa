//! Policy documents at every scope (global, product, API, operation) and policy fragments,
//! compiled with `portico-policy` exactly as the gateway compiles them: named values
//! substituted, fragments expanded, every policy checked against its section, every expression
//! compiled. Errors carry the line and column inside the policy text and the policy's field
//! path; secret named values never appear in them. The certificates `authentication-certificate`
//! names are collected here and checked once the certificates have been read.

use super::gateways::KnownCertificates;
use super::Validator;
use crate::document::Document;
use crate::errors::ConfigError;
use portico_policy::policies::CertificateRef;
use portico_policy::{
    ErrorSite, NamedValue, NamedValues, Policy, PolicyError, PolicyNode, PolicySet, Position,
    Scope, Section, Source,
};
use std::collections::HashSet;

/// A certificate a policy names for backend mTLS, and where (`origin` is the fragment or
/// scope the element was written in).
pub(super) struct CertificateUse {
    path: String,
    origin: String,
    position: Position,
    reference: CertificateRef,
}

impl Validator {
    /// Checks every policy; returns the certificates they name, for [`Self::policy_certificates`].
    pub(super) fn policies(&mut self, doc: &Document) -> Vec<CertificateUse> {
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
        match PolicySet::compile(&named_values(doc), &fragments, &sources) {
            Ok(set) => certificate_uses(doc, &set),
            Err(errors) => {
                self.compile_errors(doc, errors);
                Vec::new()
            }
        }
    }

    fn compile_errors(&mut self, doc: &Document, errors: Vec<(ErrorSite<String>, PolicyError)>) {
        for (site, error) in errors {
            let path = match site {
                ErrorSite::Document(path) => path,
                ErrorSite::Fragment(id) => fragment_path(doc, &id),
            };
            self.errors.push(located(path, error));
        }
    }

    /// Each certificate `authentication-certificate` names must exist and hold its private key:
    /// caught here, a bad reference is refused when written instead of stalling every gateway
    /// that receives it. `known` is what [`Self::certificates`] read.
    pub(super) fn policy_certificates(
        &mut self,
        uses: &[CertificateUse],
        known: &KnownCertificates,
    ) {
        for u in uses {
            let (named, id) = match &u.reference {
                CertificateRef::Id(id) => (
                    format!("certificate-id `{id}`"),
                    Some(id.to_ascii_lowercase()),
                ),
                CertificateRef::Thumbprint(t) => (
                    format!("thumbprint {t}"),
                    known.by_thumbprint.get(t).cloned(),
                ),
            };
            let problem = match id.as_ref().map(|id| known.keyed.get(id)) {
                None | Some(None) => "names no uploaded certificate: upload it first",
                Some(Some(false)) => "names a certificate without a private key, which cannot authenticate the gateway: upload it with its key",
                Some(Some(true)) => continue,
            };
            self.errors.push(ConfigError {
                line: Some(u.position.line as usize),
                column: Some(u.position.column as usize),
                ..ConfigError::at(
                    u.path.clone(),
                    format!(
                        "<authentication-certificate> in {}: {named} {problem}",
                        u.origin
                    ),
                )
            });
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

/// Every `authentication-certificate` in `set` (on its own or inside a call); a fragment
/// included in several places counts once.
fn certificate_uses(doc: &Document, set: &PolicySet<String>) -> Vec<CertificateUse> {
    type Seen = HashSet<(String, u32, u32)>;
    fn walk(
        doc: &Document,
        nodes: &[PolicyNode],
        path: &str,
        seen: &mut Seen,
        out: &mut Vec<CertificateUse>,
    ) {
        for node in nodes {
            let named = match &node.policy {
                Policy::AuthenticationCertificate(a) => Some(a),
                Policy::SendRequest(s) => s.request.certificate.as_ref(),
                Policy::SendOneWayRequest(r) => r.certificate.as_ref(),
                _ => None,
            };
            if let Some(a) = named {
                let origin = node.origin.as_deref().unwrap_or("policy").to_owned();
                // The position is inside the text the element was written in.
                let path = match origin
                    .strip_prefix("fragment `")
                    .and_then(|o| o.strip_suffix('`'))
                {
                    Some(id) => fragment_path(doc, id),
                    None => path.to_owned(),
                };
                if seen.insert((origin.clone(), node.position.line, node.position.column)) {
                    out.push(CertificateUse {
                        path,
                        origin,
                        position: node.position,
                        reference: a.certificate.clone(),
                    });
                }
            }
            for branch in node.policy.children() {
                walk(doc, branch, path, seen, out);
            }
        }
    }
    let mut keys: Vec<&String> = set.documents.keys().collect();
    keys.sort();
    let (mut seen, mut out) = (HashSet::new(), Vec::new());
    for key in keys {
        for section in Section::ALL {
            if let Some(nodes) = set.documents[key].section(section) {
                walk(doc, nodes, key, &mut seen, &mut out);
            }
        }
    }
    out
}

/// Where fragment `id`'s text is, for errors inside it.
fn fragment_path(doc: &Document, id: &str) -> String {
    doc.policy_fragments
        .iter()
        .position(|f| f.id == id)
        .map_or_else(
            || "policyFragments".to_owned(),
            |i| format!("policyFragments[{i}].value"),
        )
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
