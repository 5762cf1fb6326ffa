//! Semantic validation of a [`Document`]: identifiers, references between resources, URLs,
//! templates and keys. Every problem is collected (not just the first) and named by its field
//! path, so an operator can fix a document in one pass.

use crate::document::Document;
use crate::errors::{ConfigError, ConfigErrors};
use crate::resources::{
    Api, Backend, BackendProtocol, BackendType, NamedValue, Product, Subscription,
    SubscriptionScope,
};
use crate::template::UrlTemplate;
use std::collections::{HashMap, HashSet};

mod backends;
mod gateways;
mod policies;

/// Every problem validation finds in a YAML document, as displayed (for the tests).
#[cfg(test)]
pub(crate) fn errors_of(yaml: &str) -> Vec<String> {
    match Document::parse(yaml, crate::DocumentFormat::Yaml) {
        Ok(doc) => displayed(doc.validate()),
        Err(e) => displayed(Err(e)),
    }
}

/// Validation's verdict as displayed problems (for the tests).
#[cfg(test)]
pub(crate) fn displayed(result: Result<(), ConfigErrors>) -> Vec<String> {
    match result {
        Ok(()) => vec![],
        Err(e) => e.errors().iter().map(|e| e.to_string()).collect(),
    }
}

/// Longest identifier accepted, as APIM's resource names.
const MAX_ID_LEN: usize = 256;
/// Longest subscription key accepted.
const MAX_KEY_LEN: usize = 256;
/// Most segments an API path may have (the gateway's router looks no deeper).
const MAX_API_PATH_SEGMENTS: usize = 32;

impl Document {
    /// Checks the whole document and returns every problem found.
    pub fn validate(&self) -> Result<(), ConfigErrors> {
        let mut v = Validator::default();
        let backend_ids = v.backends(&self.backends);
        let api_ids = v.apis(&self.apis, &backend_ids);
        let product_ids = v.products(&self.products, &api_ids);
        v.subscriptions(&self.subscriptions, &api_ids, &product_ids);
        v.named_values(&self.named_values);
        let policy_certificates = v.policies(self);
        let certificates = v.certificates(&self.certificates);
        v.policy_certificates(&policy_certificates, &certificates);
        v.backend_certificates(&self.backends, &certificates.keyed);
        v.gateways(&self.gateways, &api_ids, &certificates.keyed);
        if v.errors.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors(v.errors))
        }
    }
}

#[derive(Default)]
struct Validator {
    errors: Vec<ConfigError>,
}

impl Validator {
    fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(ConfigError::at(path, message));
    }

    /// A clash with another resource (see [`ConfigError::conflict`]).
    fn conflict(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(ConfigError::conflict(path, message));
    }

    /// Checks an id and that it is unique among `seen`; returns whether it is usable.
    fn id(&mut self, path: &str, id: &str, seen: &mut HashSet<String>, kind: &str) -> bool {
        if id.is_empty() || id.len() > MAX_ID_LEN {
            self.error(
                format!("{path}.id"),
                format!("must be 1 to {MAX_ID_LEN} characters"),
            );
            return false;
        }
        if let Some(c) = id
            .chars()
            .find(|c| c.is_whitespace() || c.is_control() || "/*#&+:<>?%\\".contains(*c))
        {
            self.error(
                format!("{path}.id"),
                format!("{id:?} contains {c:?}, which ids may not"),
            );
            return false;
        }
        if !seen.insert(id.to_ascii_lowercase()) {
            self.conflict(
                format!("{path}.id"),
                format!("another {kind} already has id {id:?}"),
            );
            return false;
        }
        true
    }

    fn backends(&mut self, backends: &[Backend]) -> HashSet<String> {
        let mut ids = HashSet::new();
        for (i, b) in backends.iter().enumerate() {
            let path = format!("backends[{i}]");
            self.id(&path, &b.id, &mut ids, "backend");
            if b.protocol == BackendProtocol::Soap {
                self.error(
                    format!("{path}.protocol"),
                    "soap backends are not supported; use http",
                );
            }
            match (b.kind, &b.url, &b.pool) {
                (BackendType::Single, Some(url), None) => {
                    self.url(&format!("{path}.url"), url, &["http", "https"])
                }
                (BackendType::Single, None, _) => {
                    self.error(format!("{path}.url"), "a Single backend needs a url")
                }
                (BackendType::Single, Some(_), Some(_)) => self.error(
                    format!("{path}.pool"),
                    "only a Pool backend has pool members; set type: Pool",
                ),
                (BackendType::Pool, Some(_), _) => self.error(
                    format!("{path}.url"),
                    "a Pool backend has no url: its members have theirs",
                ),
                (BackendType::Pool, None, _) => {}
            }
            if let Some(breaker) = &b.circuit_breaker {
                self.circuit_breaker(&format!("{path}.circuitBreaker"), b.kind, breaker);
            }
        }
        self.pools(backends);
        ids
    }

    fn apis(&mut self, apis: &[Api], backends: &HashSet<String>) -> HashSet<String> {
        let mut ids = HashSet::new();
        let mut paths: HashMap<String, String> = HashMap::new();
        for (i, api) in apis.iter().enumerate() {
            let path = format!("apis[{i}]");
            self.id(&path, &api.id, &mut ids, "API");
            self.api_path(&path, api, &mut paths);
            match (&api.service_url, &api.backend_id) {
                (Some(url), None) => self.url(
                    &format!("{path}.serviceUrl"),
                    url,
                    &["http", "https", "ws", "wss"],
                ),
                (None, Some(b)) => {
                    if !backends.contains(&b.to_ascii_lowercase()) {
                        self.error(
                            format!("{path}.backendId"),
                            format!("no backend has id {b:?}"),
                        );
                    }
                }
                (Some(_), Some(_)) => self.error(&path, "set serviceUrl or backendId, not both"),
                (None, None) => self.error(
                    &path,
                    "set serviceUrl (the backend's base URL) or backendId",
                ),
            }
            if api.protocols.is_empty() {
                self.error(
                    format!("{path}.protocols"),
                    "must list at least one of http, https, ws, wss",
                );
            }
            let names = &api.subscription_key_parameter_names;
            if http::HeaderName::from_bytes(names.header.as_bytes()).is_err() {
                self.error(
                    format!("{path}.subscriptionKeyParameterNames.header"),
                    format!("{:?} is not a valid HTTP header name", names.header),
                );
            }
            if names.query.is_empty() || names.query.contains(['&', '=', '#', ' ']) {
                self.error(
                    format!("{path}.subscriptionKeyParameterNames.query"),
                    format!("{:?} is not a valid query parameter name", names.query),
                );
            }
            self.operations(&path, api);
        }
        ids
    }

    fn api_path(&mut self, path: &str, api: &Api, seen: &mut HashMap<String, String>) {
        let p = &api.path;
        if p.starts_with('/') || p.ends_with('/') {
            self.error(
                format!("{path}.path"),
                format!("{p:?} must not start or end with '/' (write \"echo\", not \"/echo/\")"),
            );
            return;
        }
        if p.split('/').any(str::is_empty) && !p.is_empty() {
            self.error(
                format!("{path}.path"),
                format!("{p:?} has an empty segment"),
            );
            return;
        }
        if p.split('/').count() > MAX_API_PATH_SEGMENTS {
            self.error(
                format!("{path}.path"),
                format!("{p:?} has more than {MAX_API_PATH_SEGMENTS} segments"),
            );
            return;
        }
        if let Some(c) = p
            .chars()
            .find(|c| c.is_whitespace() || "?#{}*%\\".contains(*c))
        {
            self.error(
                format!("{path}.path"),
                format!("{p:?} contains {c:?}, which API paths may not"),
            );
            return;
        }
        if let Some(other) = seen.insert(p.to_ascii_lowercase(), api.id.clone()) {
            self.conflict(
                format!("{path}.path"),
                format!("API {other:?} already uses path {p:?}"),
            );
        }
    }

    fn operations(&mut self, api_path: &str, api: &Api) {
        let mut ids = HashSet::new();
        let mut routes: HashMap<(String, String), String> = HashMap::new();
        for (j, op) in api.operations.iter().enumerate() {
            let path = format!("{api_path}.operations[{j}]");
            self.id(&path, &op.id, &mut ids, "operation of this API");
            let method_ok = op.method == "*"
                || (!op.method.is_empty()
                    && op
                        .method
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b == b'-' || b == b'_'));
            if !method_ok {
                self.error(
                    format!("{path}.method"),
                    format!(
                        "{:?} must be an upper-case HTTP method such as GET, or *",
                        op.method
                    ),
                );
            }
            match UrlTemplate::parse(&op.url_template) {
                Err(e) => self.error(format!("{path}.urlTemplate"), e.to_string()),
                Ok(t) => {
                    let key = (op.method.clone(), t.canonical());
                    if let Some(other) = routes.insert(key, op.id.clone()) {
                        self.conflict(
                            format!("{path}.urlTemplate"),
                            format!("operation {other:?} already has method {} and an equivalent template", op.method),
                        );
                    }
                }
            }
        }
    }

    fn products(&mut self, products: &[Product], apis: &HashSet<String>) -> HashSet<String> {
        let mut ids = HashSet::new();
        for (i, p) in products.iter().enumerate() {
            let path = format!("products[{i}]");
            self.id(&path, &p.id, &mut ids, "product");
            let mut members = HashSet::new();
            for (j, api) in p.apis.iter().enumerate() {
                if !apis.contains(&api.to_ascii_lowercase()) {
                    self.error(
                        format!("{path}.apis[{j}]"),
                        format!("no API has id {api:?}"),
                    );
                } else if !members.insert(api.to_ascii_lowercase()) {
                    self.error(
                        format!("{path}.apis[{j}]"),
                        format!("API {api:?} is listed twice"),
                    );
                }
            }
        }
        ids
    }

    fn subscriptions(
        &mut self,
        subs: &[Subscription],
        apis: &HashSet<String>,
        products: &HashSet<String>,
    ) {
        let mut ids = HashSet::new();
        let mut keys: HashMap<&str, String> = HashMap::new();
        for (i, s) in subs.iter().enumerate() {
            let path = format!("subscriptions[{i}]");
            self.id(&path, &s.id, &mut ids, "subscription");
            match SubscriptionScope::parse(&s.scope) {
                None => self.error(
                    format!("{path}.scope"),
                    format!(
                        "{:?} must be /apis, /apis/{{apiId}} or /products/{{productId}}",
                        s.scope
                    ),
                ),
                Some(SubscriptionScope::Api(id)) if !apis.contains(&id.to_ascii_lowercase()) => {
                    self.error(format!("{path}.scope"), format!("no API has id {id:?}"))
                }
                Some(SubscriptionScope::Product(id))
                    if !products.contains(&id.to_ascii_lowercase()) =>
                {
                    self.error(format!("{path}.scope"), format!("no product has id {id:?}"))
                }
                Some(_) => {}
            }
            if s.secondary_key.as_ref() == Some(&s.primary_key) {
                self.error(
                    format!("{path}.secondaryKey"),
                    "must differ from primaryKey",
                );
            }
            let mut pair = vec![("primaryKey", &s.primary_key)];
            pair.extend(s.secondary_key.as_ref().map(|k| ("secondaryKey", k)));
            for (field, key) in pair {
                let k = key.expose();
                // Messages name the field and subscription, never the key itself.
                if k.is_empty() || k.len() > MAX_KEY_LEN || !k.bytes().all(|b| b.is_ascii_graphic())
                {
                    self.error(
                        format!("{path}.{field}"),
                        format!("must be 1 to {MAX_KEY_LEN} visible ASCII characters"),
                    );
                } else if let Some(other) = keys.insert(k, s.id.clone()) {
                    self.conflict(format!("{path}.{field}"), format!("the same key is already used by subscription {other:?}; keys must be unique"));
                }
            }
        }
    }

    fn named_values(&mut self, values: &[NamedValue]) {
        let mut ids = HashSet::new();
        let mut names = HashSet::new();
        for (i, nv) in values.iter().enumerate() {
            let path = format!("namedValues[{i}]");
            self.id(&path, &nv.id, &mut ids, "named value");
            let name = nv.name();
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
            {
                self.error(
                    format!("{path}.displayName"),
                    format!("{name:?} may hold only letters, digits, '-', '.' and '_'"),
                );
            } else if !names.insert(name.to_ascii_lowercase()) {
                self.conflict(
                    format!("{path}.displayName"),
                    format!("another named value is already called {name:?}"),
                );
            }
        }
    }

    fn url(&mut self, path: &str, url: &str, schemes: &[&str]) {
        let problem = match url.parse::<http::Uri>() {
            Err(e) => Some(format!("{url:?} is not a valid URL: {e}")),
            Ok(u) => match (u.scheme_str(), u.authority()) {
                (Some(s), Some(authority))
                    if schemes.contains(&s.to_ascii_lowercase().as_str()) =>
                {
                    if u.query().is_some() || url.contains('#') {
                        Some(format!("{url:?} must not have a query or fragment"))
                    } else if authority.as_str().contains('@') {
                        Some("credentials in URLs are not supported (and would be logged); remove the user:password@ part".to_owned())
                    } else if authority
                        .as_str()
                        .rsplit_once(':')
                        .is_some_and(|(_, port)| !port.contains(']') && authority.port().is_none())
                    {
                        Some(format!("{url:?} has an invalid port"))
                    } else {
                        None
                    }
                }
                _ => Some(format!(
                    "{url:?} must be an absolute URL with scheme {}",
                    schemes.join(", ")
                )),
            },
        };
        if let Some(p) = problem {
            self.error(path, p);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Document, DocumentFormat};

    use super::errors_of as errors;

    #[test]
    fn a_good_document_passes() {
        let doc = r#"
apis:
  - id: echo
    path: echo
    serviceUrl: http://127.0.0.1:9/base
    operations:
      - { id: get, method: GET, urlTemplate: "/users/{id}" }
      - { id: any, method: "*", urlTemplate: "/*" }
products:
  - { id: starter, apis: [echo] }
subscriptions:
  - { id: s1, scope: /products/starter, primaryKey: k1, secondaryKey: k2 }
  - { id: s2, scope: /apis/echo, primaryKey: k3 }
  - { id: s3, scope: /apis, primaryKey: k4, state: suspended }
backends:
  - { id: b, url: "https://example.com" }
namedValues:
  - { id: nv, value: v, secret: true }
"#;
        assert_eq!(errors(doc), Vec::<String>::new());
    }

    #[test]
    fn every_error_is_reported_with_its_field_path() {
        let doc = r#"
apis:
  - id: a
    path: /bad/
    serviceUrl: ftp://x
    operations:
      - { id: o, method: get, urlTemplate: "/x/{id}/{id}" }
  - id: a
    path: other
    backendId: missing
products:
  - { id: p, apis: [nope] }
subscriptions:
  - { id: s, scope: /products/zzz, primaryKey: "has space" }
  - { id: t, scope: /weird, primaryKey: k }
  - { id: u, scope: /apis, primaryKey: k }
  - { id: v, scope: /apis, primaryKey: same, secondaryKey: same }
backends:
  - { id: creds, url: "https://user:secret@example.com" }
  - { id: port, url: "http://example.com:99999" }
"#;
        let errs = errors(doc);
        let expect = [
            "apis[0].path",
            "apis[0].serviceUrl",
            "apis[0].operations[0].method",
            "apis[0].operations[0].urlTemplate",
            "apis[1].id",
            "apis[1].backendId",
            "products[0].apis[0]",
            "subscriptions[0].scope",
            "subscriptions[0].primaryKey",
            "subscriptions[1].scope",
            "subscriptions[2].primaryKey",
            "subscriptions[3].secondaryKey",
            "backends[0].url",
            "backends[1].url",
        ];
        for path in expect {
            assert!(
                errs.iter().any(|e| e.starts_with(&format!("{path}:"))),
                "missing {path} in {errs:#?}"
            );
        }
        assert!(
            !errs
                .iter()
                .any(|e| e.contains("has space") || e.contains("secret")),
            "a secret leaked: {errs:#?}"
        );
    }

    #[test]
    fn duplicate_paths_and_routes_are_conflicts() {
        let errs = errors(
            r#"
apis:
  - { id: a, path: Echo, serviceUrl: "http://x" }
  - id: b
    path: echo
    serviceUrl: http://x
    operations:
      - { id: o1, method: GET, urlTemplate: "/u/{id}" }
      - { id: o2, method: GET, urlTemplate: "/U/{other}" }
"#,
        );
        assert!(
            errs.iter().any(|e| e.starts_with("apis[1].path:")),
            "{errs:?}"
        );
        assert!(
            errs.iter()
                .any(|e| e.starts_with("apis[1].operations[1].urlTemplate:")),
            "{errs:?}"
        );
        let all = Document::parse_valid(
            "apis:\n  - { id: a, path: Echo, serviceUrl: 'http://x' }\n  - { id: b, path: echo, serviceUrl: 'http://x' }\n",
            DocumentFormat::Yaml,
        )
        .unwrap_err();
        assert!(all.all_conflicts(), "a duplicate path is a conflict: {all}");
    }
}
