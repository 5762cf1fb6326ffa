//! Unit tests of the per-gateway cut: what each audience keeps, and that every cut is itself
//! a valid document (a gateway validates what it receives).

use super::*;
use portico_model::{Document, DocumentFormat};

fn pem_pair() -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["api.example.com".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    (cert.pem(), key.serialize_pem())
}

fn document() -> Document {
    let (pem, key) = pem_pair();
    let yaml = r#"
policy: "<policies><inbound><include-fragment fragment-id=\"common\"/></inbound><backend><forward-request/></backend><outbound/><on-error/></policies>"
apis:
  - { id: orders, path: orders, backendId: orders-be, operations: [{ id: get, method: GET, urlTemplate: / }] }
  - id: stock
    path: stock
    serviceUrl: "http://stock"
    policy: "<policies><inbound><base/><set-header name=\"x\" exists-action=\"override\"><value>{{stock-secret}}</value></set-header></inbound><backend><base/></backend><outbound><base/></outbound><on-error><base/></on-error></policies>"
  - { id: hr, path: hr, serviceUrl: "http://hr" }
products:
  - { id: retail, apis: [orders, hr] }
  - { id: people, apis: [hr] }
subscriptions:
  - { id: all, scope: /apis, primaryKey: k-all }
  - { id: s-orders, scope: /apis/orders, primaryKey: k-orders }
  - { id: s-hr, scope: /apis/hr, primaryKey: k-hr }
  - { id: s-retail, scope: /products/retail, primaryKey: k-retail }
  - { id: s-people, scope: /products/people, primaryKey: k-people }
backends:
  - { id: orders-be, url: "http://orders" }
  - { id: hr-be, url: "http://hr" }
namedValues:
  - { id: stock-secret, value: "{{nested}}", secret: true }
  - { id: nested, value: deep }
  - { id: hr-only, value: x }
policyFragments:
  - { id: common, value: "<fragment><include-fragment fragment-id=\"inner\"/></fragment>" }
  - { id: inner, value: "<fragment/>" }
  - { id: unused, value: "<fragment/>" }
certificates:
  - { id: edge-tls, pemFile: tls.pem, keyFile: tls.key }
  - { id: edge-ca, pemFile: tls.pem }
  - { id: other-tls, pemFile: tls.pem, keyFile: tls.key }
gateways:
  - id: Edge
    locationData: { name: edge }
    primaryKey: pk
    secondaryKey: sk
    apis: [orders, stock]
    hostnameConfigurations: [{ id: main, hostname: api.example.com, certificateId: edge-tls }]
    certificateAuthorities: [{ id: edge-ca, isTrusted: true }]
  - id: office
    locationData: { name: office }
    apis: [hr]
    hostnameConfigurations: [{ id: main, hostname: hr.example.com, certificateId: other-tls }]
  - { id: idle, locationData: { name: idle } }
"#;
    let mut doc = Document::parse(yaml, DocumentFormat::Yaml).unwrap();
    doc.resolve_files(&mut |name: &str| match name {
        "tls.pem" => Ok(pem.clone().into_bytes()),
        "tls.key" => Ok(key.clone().into_bytes()),
        other => Err(format!("no file {other}")),
    })
    .unwrap();
    doc.validate().unwrap();
    doc
}

fn ids<T>(items: &[T], id: impl Fn(&T) -> &str) -> Vec<String> {
    items.iter().map(|i| id(i).to_owned()).collect()
}

fn cut(doc: &Document, gateway: &str) -> Document {
    let cut = document_for(doc, &Audience::Gateway(gateway.into())).unwrap();
    cut.validate()
        .unwrap_or_else(|e| panic!("the cut for {gateway} is invalid: {e}"));
    cut
}

#[test]
fn a_gateway_receives_its_apis_and_what_they_need() {
    let doc = document();
    let edge = cut(&doc, "edge");
    assert_eq!(ids(&edge.apis, |a| &a.id), ["orders", "stock"]);
    assert_eq!(ids(&edge.products, |p| &p.id), ["retail"]);
    assert_eq!(edge.products[0].apis, ["orders"], "narrowed to served APIs");
    assert_eq!(
        ids(&edge.subscriptions, |s| &s.id),
        ["all", "s-orders", "s-retail"]
    );
    assert_eq!(ids(&edge.backends, |b| &b.id), ["orders-be"]);
    assert_eq!(
        ids(&edge.named_values, |n| &n.id),
        ["stock-secret", "nested"]
    );
    assert_eq!(ids(&edge.policy_fragments, |f| &f.id), ["common", "inner"]);
    assert_eq!(ids(&edge.certificates, |c| &c.id), ["edge-tls", "edge-ca"]);
    assert_eq!(ids(&edge.gateways, |g| &g.id), ["Edge"]);
    assert!(edge.policy.is_some());
}

#[test]
fn a_gateway_never_receives_its_own_signing_keys_or_other_gateways() {
    let edge = cut(&document(), "EDGE");
    assert_eq!(edge.gateways.len(), 1);
    assert!(edge.gateways[0].primary_key.is_none());
    assert!(edge.gateways[0].secondary_key.is_none());
}

#[test]
fn another_gateway_gets_a_disjoint_cut() {
    let office = cut(&document(), "office");
    assert_eq!(ids(&office.apis, |a| &a.id), ["hr"]);
    assert_eq!(ids(&office.products, |p| &p.id), ["retail", "people"]);
    assert_eq!(
        ids(&office.subscriptions, |s| &s.id),
        ["all", "s-hr", "s-retail", "s-people"]
    );
    assert!(office.backends.is_empty());
    assert_eq!(ids(&office.certificates, |c| &c.id), ["other-tls"]);
    assert!(office.named_values.is_empty());
}

#[test]
fn a_gateway_without_apis_gets_no_subscriptions() {
    let idle = cut(&document(), "idle");
    assert!(idle.apis.is_empty() && idle.subscriptions.is_empty() && idle.products.is_empty());
}

#[test]
fn an_unknown_gateway_gets_nothing() {
    assert_eq!(
        document_for(&document(), &Audience::Gateway("nope".into())),
        None
    );
}

#[test]
fn the_managed_gateway_serves_everything_but_the_self_hosted_entries() {
    let doc = document();
    let managed = document_for(&doc, &Audience::Managed).unwrap();
    managed.validate().unwrap();
    assert_eq!(managed.apis, doc.apis);
    assert_eq!(managed.subscriptions, doc.subscriptions);
    assert!(managed.gateways.is_empty());
}

/// Found in review: a substring test sent a secret named value whose id is a common word to
/// every gateway whose policies contain that word. References count only in their form.
#[test]
fn ids_that_are_common_words_are_not_references() {
    let mut doc = document();
    doc.named_values.push(portico_model::NamedValue {
        id: "stock".into(),
        display_name: None,
        value: portico_model::Secret::new("other-site-secret"),
        secret: true,
        tags: vec![],
    });
    let edge = cut(&doc, "edge");
    let names = ids(&edge.named_values, |n| &n.id);
    assert!(!names.contains(&"stock".to_owned()), "{names:?}");
    assert_eq!(names, ["stock-secret", "nested"]);
}

#[test]
fn a_certificate_named_by_thumbprint_goes_only_to_gateways_whose_policies_name_it() {
    let mut doc = document();
    let (pem, key) = pem_pair();
    let mut client = doc.certificates[0].clone();
    client.id = "backend-client".into();
    client.pem = Some(pem);
    client.key = Some(portico_model::Secret::new(key));
    let thumbprint = client.parse().unwrap().info.thumbprint.to_ascii_lowercase();
    doc.certificates.push(client);
    let hr = doc.apis.iter_mut().find(|a| a.id == "hr").unwrap();
    hr.policy = Some(format!(
        "<policies><inbound><base/><authentication-certificate thumbprint=\"{thumbprint}\"/></inbound><backend><base/></backend><outbound><base/></outbound><on-error><base/></on-error></policies>"
    ));
    doc.validate().unwrap();
    let office = cut(&doc, "office");
    assert_eq!(
        ids(&office.certificates, |c| &c.id),
        ["other-tls", "backend-client"]
    );
    let edge = cut(&doc, "edge");
    assert_eq!(ids(&edge.certificates, |c| &c.id), ["edge-tls", "edge-ca"]);
}
