//! The runtime: everything a request needs, compiled from a [`Snapshot`] once, off the hot
//! path. A request loads the current runtime with one atomic load and only reads from it.
//!
//! Compilation resolves every reference to an index, parses every template and URL, and
//! builds the lookup structures; nothing here is parsed again per request.

mod backend;
mod backend_pool;
pub mod breaker;
mod operations;
mod router;
mod subscriptions;

pub use backend::{BackendTarget, BackendTlsSettings, TlsVerification};
pub use operations::{OperationMatcher, Params};
pub use router::{ApiMatch, ApiRouter};
pub use subscriptions::{CompiledSubscription, KeyCheck, Scope, SubscriptionIndex};

use crate::metrics::{Label, Metrics, RouteMetrics};
use crate::policy::{self, ApiPolicies, Plan, SnapshotInfo};
use crate::proxy::pool::Upstreams;
use http::HeaderName;
use portico_model::{Protocol, Snapshot, SubscriptionScope, SubscriptionState};
use std::collections::HashMap;
use std::sync::Arc;

/// A compiled API.
#[derive(Debug)]
pub struct CompiledApi {
    pub id: Arc<str>,
    pub protocols: Vec<Protocol>,
    pub subscription_required: bool,
    pub key_header: HeaderName,
    pub key_query: Box<str>,
    pub operations: OperationMatcher,
    /// Metric series for requests that matched this API but no operation.
    pub metrics: Arc<RouteMetrics>,
    /// Metric series (and ids, as labels) of each operation, by operation index.
    pub operation_metrics: Vec<Arc<RouteMetrics>>,
    /// Indices of the products this API belongs to.
    pub products: Vec<usize>,
    pub backend: Arc<BackendTarget>,
    /// Policy plans by operation (none at all when no route of the API has a policy).
    pub policies: ApiPolicies,
}

impl CompiledApi {
    /// The pipeline for `operation` reached through `product`; `None` when no policy
    /// applies, and the request takes the plain proxy path.
    #[inline]
    pub fn plan(&self, operation: usize, product: Option<usize>) -> Option<&Arc<Plan>> {
        self.policies.routes.get(operation)?.select(product)
    }
}

/// A compiled snapshot.
#[derive(Debug)]
pub struct Runtime {
    pub revision: u64,
    pub router: ApiRouter,
    pub apis: Vec<CompiledApi>,
    /// Product ids by product index.
    pub products: Vec<Arc<str>>,
    pub subscriptions: SubscriptionIndex,
    /// Configuration facts policy expressions read.
    pub policy_info: SnapshotInfo,
}

impl Runtime {
    /// Compiles a validated snapshot. Errors here mean the snapshot and the compiler
    /// disagree (a bug), and are reported like validation errors: the snapshot is refused.
    /// Metric series are resolved here too, against `metrics`.
    /// Backends are bound to their connection pools in `upstreams`. Without `external_cache`
    /// (no `--redis`) a policy demanding the external cache refuses the snapshot.
    pub fn compile(
        snapshot: &Snapshot,
        metrics: &Metrics,
        upstreams: &Upstreams,
        external_cache: bool,
    ) -> Result<Self, String> {
        let doc = snapshot.document();
        let backends = backend::compile_all(&doc.backends, &doc.certificates, upstreams)?;

        let api_index: HashMap<String, usize> = doc
            .apis
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id.to_ascii_lowercase(), i))
            .collect();
        let product_index: HashMap<String, usize> = doc
            .products
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.to_ascii_lowercase(), i))
            .collect();
        let mut products_of_api = vec![Vec::new(); doc.apis.len()];
        for (p, product) in doc.products.iter().enumerate() {
            for api in &product.apis {
                let a = api_index[&api.to_ascii_lowercase()];
                products_of_api[a].push(p);
            }
        }

        let (api_policies, policy_info) =
            policy::compile(doc, &products_of_api, &backends, upstreams, external_cache)?;

        let mut apis = Vec::with_capacity(doc.apis.len());
        for ((api, products), policies) in doc.apis.iter().zip(products_of_api).zip(api_policies) {
            let backend = match (&api.service_url, &api.backend_id) {
                (Some(url), _) => Arc::new(
                    BackendTarget::parse(url, TlsVerification::FULL, upstreams)
                        .map_err(|e| format!("api {}: {e}", api.id))?,
                ),
                (None, Some(id)) => backends
                    .get(&id.to_ascii_lowercase())
                    .cloned()
                    .ok_or_else(|| format!("api {}: unknown backend {id}", api.id))?,
                (None, None) => return Err(format!("api {} has no backend", api.id)),
            };
            let names = &api.subscription_key_parameter_names;
            let id: Arc<str> = api.id.as_str().into();
            apis.push(CompiledApi {
                id: id.clone(),
                protocols: api.protocols.clone(),
                subscription_required: api.subscription_required,
                key_header: HeaderName::from_bytes(names.header.as_bytes())
                    .map_err(|e| format!("api {}: {e}", api.id))?,
                key_query: names.query.as_str().into(),
                operations: OperationMatcher::new(
                    api.operations
                        .iter()
                        .enumerate()
                        .map(|(i, o)| (o.method.as_str(), o.url_template.as_str(), i)),
                )
                .map_err(|e| format!("api {}: {e}", api.id))?,
                metrics: metrics.route(Label(id.clone()), Label::none()),
                operation_metrics: api
                    .operations
                    .iter()
                    .map(|o| metrics.route(Label(id.clone()), Label(o.id.as_str().into())))
                    .collect(),
                products,
                backend,
                policies,
            });
        }

        let mut subscriptions = SubscriptionIndex::default();
        for s in &doc.subscriptions {
            let scope = match SubscriptionScope::parse(&s.scope) {
                Some(SubscriptionScope::AllApis) => Scope::AllApis,
                Some(SubscriptionScope::Api(id)) => Scope::Api(api_index[&id.to_ascii_lowercase()]),
                Some(SubscriptionScope::Product(id)) => {
                    Scope::Product(product_index[&id.to_ascii_lowercase()])
                }
                None => return Err(format!("subscription {}: bad scope", s.id)),
            };
            let keys = std::iter::once(s.primary_key.expose())
                .chain(s.secondary_key.as_ref().map(|k| k.expose()));
            subscriptions.insert(
                CompiledSubscription {
                    id: s.id.as_str().into(),
                    scope,
                    active: s.state == SubscriptionState::Active,
                },
                keys,
            );
        }

        Ok(Self {
            revision: snapshot.revision(),
            router: ApiRouter::new(
                doc.apis
                    .iter()
                    .enumerate()
                    .map(|(i, a)| (a.path.as_str(), i)),
            ),
            apis,
            products: doc.products.iter().map(|p| p.id.as_str().into()).collect(),
            subscriptions,
            policy_info,
        })
    }
}
