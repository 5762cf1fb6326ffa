//! The mapping between the declarative document (`portico-model`'s [`Document`]) and stored
//! resources, in both directions: [`resources_of`] turns a document into the resources
//! `portico apply` writes, and [`document_of`] turns stored resources back into the document
//! a gateway snapshot is compiled from (and `portico export` prints). Round-tripping through
//! both changes nothing.
//!
//! Stored properties are APIM's `properties` objects: the document's entries without their
//! `id` (the id is the path's last segment) and without nested collections (operations are
//! their own resources under the API; product membership is `products/{id}/apis/{apiId}`).

use crate::store::{Kind, ResourcePath, Stored};
use portico_model::{
    Api, Backend, Certificate, CertificateAuthority, Document, Gateway, HostnameConfiguration,
    NamedValue, Operation, PolicyFragment, Product, Subscription,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Why stored resources do not make a document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeclarativeError {
    #[error("{path}: {message}")]
    Resource { path: String, message: String },
}

/// The resources a document consists of, in an order that creates parents first.
pub fn resources_of(doc: &Document) -> Vec<(ResourcePath, Value)> {
    let mut out = Vec::new();
    let mut push = |path: String, value: Value| {
        let path = ResourcePath::parse(&path).expect("document ids are validated path segments");
        out.push((path, value));
    };
    // Policies are resources of their own under the scope they belong to.
    let policy = |push: &mut dyn FnMut(String, Value), scope: &str, xml: &Option<String>| {
        if let Some(xml) = xml {
            let path = format!("{scope}policies/policy");
            push(path, json!({"format": POLICY_FORMAT, "value": xml}));
        }
    };
    policy(&mut push, "", &doc.policy);
    for f in &doc.policy_fragments {
        let mut props = properties(f);
        props.insert("format".into(), POLICY_FORMAT.into());
        push(format!("policyFragments/{}", f.id), Value::Object(props));
    }
    for api in &doc.apis {
        push(
            format!("apis/{}", api.id),
            without(api, &["operations", "policy"]),
        );
        policy(&mut push, &format!("apis/{}/", api.id), &api.policy);
        for op in &api.operations {
            let at = format!("apis/{}/operations/{}", api.id, op.id);
            push(at.clone(), without(op, &["policy"]));
            policy(&mut push, &format!("{at}/"), &op.policy);
        }
    }
    for product in &doc.products {
        let at = format!("products/{}", product.id);
        push(at.clone(), without(product, &["apis", "policy"]));
        policy(&mut push, &format!("{at}/"), &product.policy);
        for api in &product.apis {
            push(format!("{at}/apis/{api}"), json!({}));
        }
    }
    for s in &doc.subscriptions {
        push(format!("subscriptions/{}", s.id), without(s, &[]));
    }
    for b in &doc.backends {
        push(format!("backends/{}", b.id), without(b, &[]));
    }
    for nv in &doc.named_values {
        push(format!("namedValues/{}", nv.id), without(nv, &[]));
    }
    for c in &doc.certificates {
        push(format!("certificates/{}", c.id), without(c, &[]));
    }
    for g in &doc.gateways {
        let at = format!("gateways/{}", g.id);
        let nested = ["hostnameConfigurations", "apis", "certificateAuthorities"];
        push(at.clone(), without(g, &nested));
        for h in &g.hostname_configurations {
            push(
                format!("{at}/hostnameConfigurations/{}", h.id),
                without(h, &[]),
            );
        }
        for api in &g.apis {
            push(format!("{at}/apis/{api}"), json!({}));
        }
        for ca in &g.certificate_authorities {
            push(
                format!("{at}/certificateAuthorities/{}", ca.id),
                without(ca, &[]),
            );
        }
    }
    out
}

/// The `format` stored with every policy and fragment: APIM's name for policy XML as written.
pub const POLICY_FORMAT: &str = "rawxml";

/// An entry's properties without `id` and the given nested fields.
fn without<T: Serialize>(item: &T, nested: &[&str]) -> Value {
    let mut props = properties(item);
    for field in nested {
        props.remove(*field);
    }
    Value::Object(props)
}

/// A resource's properties: its serialised form without `id`.
fn properties<T: Serialize>(item: &T) -> Map<String, Value> {
    match serde_json::to_value(item) {
        Ok(Value::Object(mut map)) => {
            map.remove("id");
            map
        }
        _ => Map::new(),
    }
}

/// The document stored resources make, ordered by id.
pub fn document_of(resources: &[Stored]) -> Result<Document, DeclarativeError> {
    let mut apis: BTreeMap<String, Api> = BTreeMap::new();
    let mut products: BTreeMap<String, Product> = BTreeMap::new();
    let mut gateways: BTreeMap<String, Gateway> = BTreeMap::new();
    // Children are attached once every parent is known: (parent key, child).
    let mut operations: Vec<(String, Operation)> = Vec::new();
    let mut children: Vec<&Stored> = Vec::new();
    let mut doc = Document::default();
    for r in resources {
        let path = &r.path;
        match path.kind() {
            Kind::Api => {
                apis.insert(path.key().to_owned(), entry(r)?);
            }
            Kind::Operation => operations.push((parent(path), entry(r)?)),
            Kind::Product => {
                products.insert(path.key().to_owned(), entry(r)?);
            }
            Kind::Gateway => {
                gateways.insert(path.key().to_owned(), entry(r)?);
            }
            Kind::Subscription => doc.subscriptions.push(entry(r)?),
            Kind::Backend => doc.backends.push(entry(r)?),
            Kind::NamedValue => doc.named_values.push(entry(r)?),
            Kind::Certificate => doc.certificates.push(entry(r)?),
            Kind::PolicyFragment => doc.policy_fragments.push(fragment(r)?),
            Kind::GlobalPolicy => doc.policy = Some(policy_xml(r)?),
            _ => children.push(r),
        }
    }
    for (api_key, op) in operations {
        let api = apis
            .get_mut(&api_key)
            .ok_or_else(|| orphan(&api_key, &op.id))?;
        api.operations.push(op);
    }
    for r in children {
        let (key, id) = (parent(&r.path), r.path.id().to_owned());
        let missing = || orphan(&key, &id);
        match r.path.kind() {
            Kind::ApiPolicy => {
                apis.get_mut(&key).ok_or_else(missing)?.policy = Some(policy_xml(r)?)
            }
            Kind::OperationPolicy => {
                let (api_key, op_id) = key.rsplit_once("/operations/").ok_or_else(missing)?;
                let api = apis.get_mut(api_key).ok_or_else(missing)?;
                let op = api
                    .operations
                    .iter_mut()
                    .find(|o| o.id.eq_ignore_ascii_case(op_id))
                    .ok_or_else(missing)?;
                op.policy = Some(policy_xml(r)?);
            }
            Kind::ProductPolicy => {
                products.get_mut(&key).ok_or_else(missing)?.policy = Some(policy_xml(r)?)
            }
            Kind::ProductApi => products.get_mut(&key).ok_or_else(missing)?.apis.push(id),
            Kind::GatewayApi => gateways.get_mut(&key).ok_or_else(missing)?.apis.push(id),
            Kind::GatewayHostnameConfiguration => {
                let h = entry(r)?;
                gateways
                    .get_mut(&key)
                    .ok_or_else(missing)?
                    .hostname_configurations
                    .push(h)
            }
            Kind::GatewayCertificateAuthority => {
                let ca = entry(r)?;
                gateways
                    .get_mut(&key)
                    .ok_or_else(missing)?
                    .certificate_authorities
                    .push(ca)
            }
            kind => unreachable!("{kind:?} is handled with the top-level resources"),
        }
    }
    doc.apis = apis.into_values().collect();
    doc.products = products.into_values().collect();
    doc.gateways = gateways.into_values().collect();
    Ok(doc)
}

/// A resource's properties in the form [`resources_of`] produces: defaults filled in, unknown
/// fields refused. Storing only this form means that comparing stored and declared properties
/// compares what they mean, so applying a document twice changes nothing. Fields that are
/// resources of their own (an API's `operations` or `policy`) are refused here.
pub fn canonical(path: &ResourcePath, properties: &Value) -> Result<Value, DeclarativeError> {
    let stored = Stored {
        path: path.clone(),
        revision: 0,
        properties: properties.clone(),
    };
    let separate = separate_fields(path.kind());
    if let Some(field) = separate.iter().find(|f| properties.get(**f).is_some()) {
        return Err(DeclarativeError::Resource {
            path: path.to_string(),
            message: format!(
                "{field} is not a property here: it is a resource of its own under {path}/"
            ),
        });
    }
    Ok(match path.kind() {
        Kind::Api => without(&entry::<Api>(&stored)?, separate),
        Kind::Operation => without(&entry::<Operation>(&stored)?, separate),
        Kind::Product => without(&entry::<Product>(&stored)?, separate),
        Kind::Gateway => without(&entry::<Gateway>(&stored)?, separate),
        Kind::Subscription => without(&entry::<Subscription>(&stored)?, &[]),
        Kind::Backend => without(&entry::<Backend>(&stored)?, &[]),
        Kind::NamedValue => without(&entry::<NamedValue>(&stored)?, &[]),
        Kind::Certificate => without(&entry::<Certificate>(&stored)?, &[]),
        Kind::GatewayHostnameConfiguration => {
            without(&entry::<HostnameConfiguration>(&stored)?, &[])
        }
        Kind::GatewayCertificateAuthority => without(&entry::<CertificateAuthority>(&stored)?, &[]),
        Kind::PolicyFragment => {
            let mut props = without(&fragment(&stored)?, &[]);
            props["format"] = POLICY_FORMAT.into();
            props
        }
        Kind::GlobalPolicy | Kind::ProductPolicy | Kind::ApiPolicy | Kind::OperationPolicy => {
            json!({"format": POLICY_FORMAT, "value": policy_xml(&stored)?})
        }
        Kind::ProductApi | Kind::GatewayApi => {
            if properties.as_object().is_some_and(|m| !m.is_empty()) {
                return Err(DeclarativeError::Resource {
                    path: path.to_string(),
                    message: "a membership has no properties; send {}".into(),
                });
            }
            json!({})
        }
    })
}

/// The document fields of a kind that are resources of their own over REST (an API's
/// operations and policy), so never among its stored properties.
pub fn separate_fields(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Api => &["operations", "policy", "policyFile"],
        Kind::Operation => &["policy", "policyFile"],
        Kind::Product => &["apis", "policy", "policyFile"],
        Kind::Gateway => &["hostnameConfigurations", "apis", "certificateAuthorities"],
        _ => &[],
    }
}

/// A policy resource's XML (`{"format": "rawxml", "value": …}`).
fn policy_xml(r: &Stored) -> Result<String, DeclarativeError> {
    let stored: PolicyProperties = properties_as(r)?;
    Ok(stored.value)
}

/// A fragment resource as a document entry: its `format` belongs to the stored form only.
fn fragment(r: &Stored) -> Result<PolicyFragment, DeclarativeError> {
    let mut stored = r.clone();
    if let Value::Object(map) = &mut stored.properties {
        map.remove("format");
    }
    entry(&stored)
}

/// The properties of a policy resource.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyProperties {
    #[serde(default)]
    #[allow(dead_code)] // Checked by the API when written; always `rawxml` once stored.
    format: Option<String>,
    value: String,
}

fn properties_as<T: DeserializeOwned>(r: &Stored) -> Result<T, DeclarativeError> {
    serde_json::from_value(r.properties.clone()).map_err(|e| DeclarativeError::Resource {
        path: r.path.to_string(),
        message: e.to_string(),
    })
}

/// A stored resource as a document entry: its properties plus `id` from the path.
fn entry<T: DeserializeOwned>(r: &Stored) -> Result<T, DeclarativeError> {
    let mut props = match &r.properties {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    props.insert("id".into(), Value::String(r.path.id().to_owned()));
    serde_json::from_value(Value::Object(props)).map_err(|e| DeclarativeError::Resource {
        path: r.path.to_string(),
        message: e.to_string(),
    })
}

/// The key of a resource's parent (every operation or membership has one).
fn parent(path: &ResourcePath) -> String {
    path.parent_key().unwrap_or_default().to_owned()
}

fn orphan(parent: &str, child: &str) -> DeclarativeError {
    DeclarativeError::Resource {
        path: format!("{parent}/…/{child}"),
        message: format!("belongs to {parent}, which does not exist"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portico_model::DocumentFormat;

    const EXAMPLE: &str = include_str!("../../../examples/portico.yaml");

    fn stored(resources: Vec<(ResourcePath, Value)>) -> Vec<Stored> {
        resources
            .into_iter()
            .map(|(path, properties)| Stored {
                path,
                revision: 1,
                properties,
            })
            .collect()
    }

    #[test]
    fn a_document_survives_the_round_trip() {
        let doc = Document::parse_valid(EXAMPLE, DocumentFormat::Yaml).unwrap();
        let resources = resources_of(&doc);
        assert!(resources
            .iter()
            .any(|(p, _)| p.as_str() == "apis/echo-api/operations/get-user"));
        assert!(resources
            .iter()
            .any(|(p, _)| p.as_str() == "products/starter/apis/echo-api"));
        let back = document_of(&stored(resources)).unwrap();
        back.validate().unwrap();
        let sorted = |mut d: Document| {
            d.apis.sort_by(|a, b| a.id.cmp(&b.id));
            d.products.sort_by(|a, b| a.id.cmp(&b.id));
            d
        };
        assert_eq!(sorted(back), sorted(doc));
    }

    #[test]
    fn stored_properties_are_checked_like_the_document() {
        let bad = vec![(
            ResourcePath::parse("apis/a").unwrap(),
            serde_json::json!({"path": "a", "serviceUrl": "http://x", "colour": "red"}),
        )];
        let err = document_of(&stored(bad)).unwrap_err();
        assert!(
            err.to_string().contains("apis/a") && err.to_string().contains("colour"),
            "{err}"
        );
    }

    #[test]
    fn policies_fragments_certificates_and_gateways_survive_the_round_trip() {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["gw.example.com".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let yaml = format!(
            r#"
policy: "<policies><inbound/></policies>"
policyFragments:
  - {{ id: common, description: shared, value: "<fragment/>" }}
apis:
  - id: a
    serviceUrl: http://x
    policy: "<policies><inbound><base/><include-fragment fragment-id='common'/></inbound></policies>"
    operations:
      - {{ id: o, method: GET, urlTemplate: /, policy: "<policies/>" }}
products:
  - {{ id: p, apis: [a], policy: "<policies/>" }}
certificates:
  - id: tls
    pem: {pem:?}
    key: {key:?}
gateways:
  - id: g
    locationData: {{ name: edge }}
    primaryKey: k1
    hostnameConfigurations: [{{ id: h, hostname: gw.example.com, certificateId: tls }}]
    apis: [a]
    certificateAuthorities: [{{ id: tls, isTrusted: true }}]
"#,
            pem = cert.pem(),
            key = key.serialize_pem()
        );
        let doc = Document::parse_valid(&yaml, DocumentFormat::Yaml).unwrap();
        let resources = resources_of(&doc);
        let paths: Vec<&str> = resources.iter().map(|(p, _)| p.as_str()).collect();
        for want in [
            "policies/policy",
            "policyFragments/common",
            "apis/a/policies/policy",
            "apis/a/operations/o/policies/policy",
            "products/p/policies/policy",
            "gateways/g/hostnameConfigurations/h",
            "gateways/g/apis/a",
            "gateways/g/certificateAuthorities/tls",
        ] {
            assert!(paths.contains(&want), "{want} missing from {paths:?}");
        }
        let back = document_of(&stored(resources)).unwrap();
        assert_eq!(back, doc);
    }

    #[test]
    fn children_of_missing_parents_are_reported() {
        let orphaned = vec![(
            ResourcePath::parse("apis/ghost/operations/o").unwrap(),
            serde_json::json!({"method": "GET", "urlTemplate": "/"}),
        )];
        let err = document_of(&stored(orphaned)).unwrap_err();
        assert!(err.to_string().contains("apis/ghost"), "{err}");
    }
}
