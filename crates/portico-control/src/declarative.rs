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
use portico_model::{Api, Backend, Document, NamedValue, Operation, Product, Subscription};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Why stored resources do not make a document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeclarativeError {
    #[error("{path}: {message}")]
    Resource { path: String, message: String },
    #[error("{0} resources are not supported by the gateway yet")]
    Unsupported(&'static str),
}

/// The resources a document consists of, in an order that creates parents first.
pub fn resources_of(doc: &Document) -> Vec<(ResourcePath, Value)> {
    let mut out = Vec::new();
    let mut push = |path: String, value: Value| {
        let path = ResourcePath::parse(&path).expect("document ids are validated path segments");
        out.push((path, value));
    };
    for api in &doc.apis {
        let mut props = properties(api);
        props.remove("operations");
        push(format!("apis/{}", api.id), Value::Object(props));
        for op in &api.operations {
            push(
                format!("apis/{}/operations/{}", api.id, op.id),
                Value::Object(properties(op)),
            );
        }
    }
    for product in &doc.products {
        let mut props = properties(product);
        props.remove("apis");
        push(format!("products/{}", product.id), Value::Object(props));
        for api in &product.apis {
            push(
                format!("products/{}/apis/{api}", product.id),
                Value::Object(Map::new()),
            );
        }
    }
    for s in &doc.subscriptions {
        push(
            format!("subscriptions/{}", s.id),
            Value::Object(properties(s)),
        );
    }
    for b in &doc.backends {
        push(format!("backends/{}", b.id), Value::Object(properties(b)));
    }
    for nv in &doc.named_values {
        push(
            format!("namedValues/{}", nv.id),
            Value::Object(properties(nv)),
        );
    }
    out
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

/// The document stored resources make, ordered by id. Resources the gateway cannot serve yet
/// (policies, fragments, certificates, gateways) are refused by kind, never dropped.
pub fn document_of(resources: &[Stored]) -> Result<Document, DeclarativeError> {
    let mut apis: BTreeMap<String, Api> = BTreeMap::new();
    let mut operations: Vec<(String, Operation)> = Vec::new();
    let mut products: BTreeMap<String, Product> = BTreeMap::new();
    let mut memberships: Vec<(String, String)> = Vec::new();
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
            Kind::ProductApi => memberships.push((parent(path), path.id().to_owned())),
            Kind::Subscription => doc.subscriptions.push(entry::<Subscription>(r)?),
            Kind::Backend => doc.backends.push(entry::<Backend>(r)?),
            Kind::NamedValue => doc.named_values.push(entry::<NamedValue>(r)?),
            Kind::ApiPolicy | Kind::OperationPolicy | Kind::ProductPolicy | Kind::GlobalPolicy => {
                return Err(DeclarativeError::Unsupported("policy"))
            }
            Kind::PolicyFragment => return Err(DeclarativeError::Unsupported("policy fragment")),
            Kind::Certificate => return Err(DeclarativeError::Unsupported("certificate")),
            Kind::Gateway
            | Kind::GatewayHostnameConfiguration
            | Kind::GatewayApi
            | Kind::GatewayCertificateAuthority => {
                return Err(DeclarativeError::Unsupported("gateway"))
            }
        }
    }
    for (api_key, op) in operations {
        let api = apis
            .get_mut(&api_key)
            .ok_or_else(|| orphan(&api_key, &op.id))?;
        api.operations.push(op);
    }
    for (product_key, api_id) in memberships {
        let product = products
            .get_mut(&product_key)
            .ok_or_else(|| orphan(&product_key, &api_id))?;
        product.apis.push(api_id);
    }
    doc.apis = apis.into_values().collect();
    doc.products = products.into_values().collect();
    Ok(doc)
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
        let policy = vec![(
            ResourcePath::parse("policies/policy").unwrap(),
            serde_json::json!({}),
        )];
        assert_eq!(
            document_of(&stored(policy)),
            Err(DeclarativeError::Unsupported("policy"))
        );
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
