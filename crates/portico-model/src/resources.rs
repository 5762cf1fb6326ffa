//! The resources an operator declares, with APIM's property names (camelCase) so that APIM
//! users recognise them. These are the flattened forms used by the declarative document:
//! each entry carries its `id` next to its properties, with no `properties` wrapper.
//!
//! Unknown fields are refused rather than ignored: a property Portico does not enforce must not
//! look as if it were in force.

use crate::secret::Secret;

pub use crate::backends::{
    Backend, BackendPool, BackendProtocol, BackendTls, BackendType, CircuitBreaker,
    CircuitBreakerRule, FailureCondition, PoolService, StatusCodeRange,
};
use serde::{Deserialize, Serialize};

/// An API: a set of operations published under one path prefix and forwarded to one backend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Api {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Path prefix under the gateway's root, without leading slash; may be empty.
    #[serde(default)]
    pub path: String,
    /// Base URL of the backend. Exactly one of `serviceUrl` and `backendId` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_url: Option<String>,
    /// Portico extension: forward to the `backends` entry with this id instead of a URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend_id: Option<String>,
    /// Schemes clients may use. Portico defaults to both `http` and `https`.
    #[serde(default = "default_protocols")]
    pub protocols: Vec<Protocol>,
    #[serde(default = "default_true")]
    pub subscription_required: bool,
    #[serde(default)]
    pub subscription_key_parameter_names: SubscriptionKeyParameterNames,
    #[serde(default)]
    pub operations: Vec<Operation>,
    /// This scope's policy document (`<policies>…</policies>`), inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// The policy document in a file, relative to the declarative document; loaders replace
    /// it with `policy` before validation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_file: Option<String>,
}

/// A client-facing scheme an API accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Http,
    Https,
    Ws,
    Wss,
}

fn default_protocols() -> Vec<Protocol> {
    vec![Protocol::Http, Protocol::Https]
}

fn default_true() -> bool {
    true
}

/// Where a client puts its subscription key (APIM's `subscriptionKeyParameterNames`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubscriptionKeyParameterNames {
    #[serde(default = "default_key_header")]
    pub header: String,
    #[serde(default = "default_key_query")]
    pub query: String,
}

impl Default for SubscriptionKeyParameterNames {
    fn default() -> Self {
        Self {
            header: default_key_header(),
            query: default_key_query(),
        }
    }
}

fn default_key_header() -> String {
    "Ocp-Apim-Subscription-Key".to_owned()
}

fn default_key_query() -> String {
    "subscription-key".to_owned()
}

/// An operation of an API: a method and a URL template relative to the API path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Operation {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// HTTP method, or `*` for any method.
    pub method: String,
    /// Template such as `/users/{id}`, `/search?q={q}` or `/files/*`.
    pub url_template: String,
    /// This scope's policy document (`<policies>…</policies>`), inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// The policy document in a file, relative to the declarative document; loaders replace
    /// it with `policy` before validation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_file: Option<String>,
}

/// A product: a bundle of APIs that subscriptions can be scoped to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Product {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Ids of the APIs in this product.
    #[serde(default)]
    pub apis: Vec<String>,
    /// This scope's policy document (`<policies>…</policies>`), inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// The policy document in a file, relative to the declarative document; loaders replace
    /// it with `policy` before validation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_file: Option<String>,
}

/// A subscription: a named pair of keys granting access to a scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Subscription {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// `/apis`, `/apis/{apiId}` or `/products/{productId}`.
    pub scope: String,
    #[serde(default)]
    pub state: SubscriptionState,
    pub primary_key: Secret,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secondary_key: Option<Secret>,
}

/// APIM's subscription states; only `active` subscriptions let requests through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SubscriptionState {
    #[default]
    Active,
    Suspended,
    Submitted,
    Rejected,
    Cancelled,
    Expired,
}

/// A subscription scope, parsed from its APIM string form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscriptionScope {
    AllApis,
    Api(String),
    Product(String),
}

impl SubscriptionScope {
    /// Parses `/apis`, `/apis/{id}` or `/products/{id}`; APIM also writes these with a
    /// leading resource prefix, which Portico does not need and refuses for clarity.
    pub fn parse(scope: &str) -> Option<Self> {
        let trimmed = scope.trim_end_matches('/');
        if trimmed == "/apis" {
            return Some(Self::AllApis);
        }
        if let Some(id) = trimmed.strip_prefix("/apis/") {
            return (!id.is_empty() && !id.contains('/')).then(|| Self::Api(id.to_owned()));
        }
        if let Some(id) = trimmed.strip_prefix("/products/") {
            return (!id.is_empty() && !id.contains('/')).then(|| Self::Product(id.to_owned()));
        }
        None
    }
}

/// A named value: a string that policies reference as `{{displayName}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NamedValue {
    pub id: String,
    /// The name policies use; defaults to the id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    pub value: Secret,
    /// Secret values are never shown in logs, errors or exports.
    #[serde(default)]
    pub secret: bool,
    #[serde(default)]
    pub tags: Vec<String>,
}

impl NamedValue {
    /// The name policies reference this value by.
    pub fn name(&self) -> &str {
        self.display_name.as_deref().unwrap_or(&self.id)
    }
}
