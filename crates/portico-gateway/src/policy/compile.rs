//! Compiling a snapshot's policies, once, off the hot path: named values, fragments, every
//! scope document parsed and resolved, then one [`Plan`] per (operation, product) a request
//! can take. Routes whose every scope is empty get no plan at all, so they take the plain
//! proxy path.

use super::info::{ApiInfo, OperationInfo, SnapshotInfo};
use super::plan::{self, Backends, Plan};
use crate::proxy::pool::Upstreams;
use crate::proxy::tls::ClientIdentity;
use crate::runtime::{BackendTarget, TlsVerification};
use portico_model::template::UrlTemplate;
use portico_model::Document;
use portico_policy::compose::{ResolvedDocument, Scope};
use portico_policy::policies::CertificateRef;
use portico_policy::{
    compose, Fragment, Fragments, NamedValue, NamedValues, PolicyDocument, PolicyErrors, Scopes,
};
use rustls::pki_types::CertificateDer;
use smallvec::SmallVec;
use std::collections::HashMap;
use std::sync::Arc;

/// The plans of one operation: without a product, and for each product of the API that
/// has a policy of its own (other products share the product-less plan).
#[derive(Debug, Default)]
pub struct RoutePlans {
    none: Option<Arc<Plan>>,
    by_product: SmallVec<[(usize, Option<Arc<Plan>>); 2]>,
}

impl RoutePlans {
    /// The plan for a request that came through `product` (the product of its
    /// subscription); `None` means no policy applies.
    #[inline]
    pub fn select(&self, product: Option<usize>) -> Option<&Arc<Plan>> {
        if let Some(p) = product {
            if let Some((_, plan)) = self.by_product.iter().find(|(i, _)| *i == p) {
                return plan.as_ref();
            }
        }
        self.none.as_ref()
    }
}

/// What one API needs to run policies.
#[derive(Debug, Default)]
pub struct ApiPolicies {
    /// By operation index; empty when no route of the API has a policy.
    pub routes: Vec<RoutePlans>,
    pub info: Arc<ApiInfo>,
}

/// Compiles every policy of `doc`. `products_of_api[a]` lists the products holding API `a`;
/// `backends` are the snapshot's backends by lower-case id; without `external_cache` (no
/// `--redis`) a policy that demands one is refused.
pub fn compile(
    doc: &Document,
    products_of_api: &[Vec<usize>],
    backends: &HashMap<String, Arc<BackendTarget>>,
    upstreams: &Upstreams,
    external_cache: bool,
) -> Result<(Vec<ApiPolicies>, SnapshotInfo), String> {
    let mut named = NamedValues::new();
    for nv in &doc.named_values {
        named.insert(nv.name(), NamedValue::new(nv.value.expose(), nv.secret));
    }
    let mut raw = HashMap::new();
    for f in &doc.policy_fragments {
        let parsed = Fragment::parse_with(&f.value, &named)
            .map_err(|e| report(&format!("policy fragment {}", f.id), &e))?;
        raw.insert(f.id.clone(), parsed);
    }
    let fragments = Fragments::new(raw).map_err(|e| report("policy fragments", &e))?;
    let resolve = |xml: &Option<String>, scope: Scope, what: &str| {
        xml.as_deref()
            .map(|xml| {
                PolicyDocument::parse_with(xml, &named)
                    .and_then(|d| fragments.resolve(&d, scope))
                    .map_err(|e| report(what, &e))
            })
            .transpose()
    };
    let global = resolve(&doc.policy, Scope::Global, "global policy")?;
    let products = doc
        .products
        .iter()
        .map(|p| {
            resolve(
                &p.policy,
                Scope::Product,
                &format!("policy of product {}", p.id),
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let lookup = Lookup {
        backends,
        upstreams,
        certificates: &doc.certificates,
    };

    let mut apis = Vec::with_capacity(doc.apis.len());
    for (api, api_products) in doc.apis.iter().zip(products_of_api) {
        let api_doc = resolve(
            &api.policy,
            Scope::Api,
            &format!("policy of API {}", api.id),
        )?;
        let mut operations = Vec::with_capacity(api.operations.len());
        let mut routes = Vec::with_capacity(api.operations.len());
        for op in &api.operations {
            let what = format!("policy of operation {} of API {}", op.id, api.id);
            let op_doc = resolve(&op.policy, Scope::Operation, &what)?;
            let plan = |product: Option<&ResolvedDocument>| {
                let scopes = Scopes {
                    global: global.as_ref(),
                    product,
                    api: api_doc.as_ref(),
                    operation: op_doc.as_ref(),
                };
                let pipeline = compose(&scopes);
                if !external_cache {
                    super::cache::external::refuse_external(&pipeline)
                        .map_err(|e| format!("{what}: {e}"))?;
                }
                plan::lower(&pipeline, &lookup)
                    .map(|p| p.map(Arc::new))
                    .map_err(|e| format!("{what}: {e}"))
            };
            let mut route = RoutePlans {
                none: plan(None)?,
                by_product: SmallVec::new(),
            };
            for &p in api_products {
                if let Some(product_doc) = &products[p] {
                    route.by_product.push((p, plan(Some(product_doc))?));
                }
            }
            routes.push(route);
            operations.push(OperationInfo::new(op, query_names(&op.url_template)));
        }
        let any = routes
            .iter()
            .any(|r| r.none.is_some() || r.by_product.iter().any(|(_, p)| p.is_some()));
        apis.push(ApiPolicies {
            routes: if any { routes } else { Vec::new() },
            info: Arc::new(ApiInfo::new(api, operations, backends)),
        });
    }
    Ok((apis, SnapshotInfo::new(doc, backends.clone())))
}

/// The query parameter names an operation's template matches (`/search?q={q}` → `q`):
/// `rewrite-uri` does not copy them on.
fn query_names(template: &str) -> Vec<Box<str>> {
    UrlTemplate::parse(template)
        .map(|t| t.query.iter().map(|q| q.name.as_str().into()).collect())
        .unwrap_or_default()
}

/// The first errors of a document, named by where it is (secrets are never quoted in them).
fn report(what: &str, errors: &PolicyErrors) -> String {
    format!("{what}: {errors}")
}

struct Lookup<'a> {
    backends: &'a HashMap<String, Arc<BackendTarget>>,
    upstreams: &'a Upstreams,
    certificates: &'a [portico_model::Certificate],
}

impl Backends for Lookup<'_> {
    fn by_url(&self, url: &str) -> Result<Arc<BackendTarget>, String> {
        BackendTarget::parse(url, TlsVerification::FULL, self.upstreams).map(Arc::new)
    }

    fn by_id(&self, id: &str) -> Result<Arc<BackendTarget>, String> {
        self.backends
            .get(&id.to_ascii_lowercase())
            .cloned()
            .ok_or_else(|| format!("set-backend-service names unknown backend `{id}`"))
    }

    fn certificate(&self, id: &str) -> Result<CertificateDer<'static>, String> {
        let parsed = self
            .by_certificate_id(id)?
            .parse()
            .map_err(|e| format!("certificate `{id}`: {e}"))?;
        parsed
            .chain
            .into_iter()
            .next()
            .ok_or_else(|| format!("certificate `{id}` holds no certificate"))
    }

    fn client_identity(&self, r: &CertificateRef) -> Result<ClientIdentity, String> {
        let certificate = match r {
            CertificateRef::Id(id) => self.by_certificate_id(id)?,
            // Thumbprints are only known once a certificate is read, so each is read until
            // one with a key matches; this runs once per snapshot, not per request.
            CertificateRef::Thumbprint(t) => self
                .certificates
                .iter()
                .find(|c| {
                    c.parse().is_ok_and(|p| {
                        p.key.is_some() && p.info.thumbprint.eq_ignore_ascii_case(t)
                    })
                })
                .ok_or_else(|| {
                    format!("no certificate with a private key on this gateway has the thumbprint {t}: upload it, and name it in the policy so the control plane sends it")
                })?,
        };
        ClientIdentity::from_certificate(certificate)
            .map_err(|e| format!("certificate `{}`: {e}", certificate.id))
    }
}

impl Lookup<'_> {
    fn by_certificate_id(&self, id: &str) -> Result<&portico_model::Certificate, String> {
        self.certificates
            .iter()
            .find(|c| c.id.eq_ignore_ascii_case(id))
            .ok_or_else(|| format!("no certificate has the id `{id}`"))
    }
}
