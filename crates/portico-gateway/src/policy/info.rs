//! What expressions may ask about the configuration (`context.Api`, `context.Operation`,
//! `context.Product`, `context.Subscription`), copied out of the snapshot when it is compiled
//! so a request reads it without touching the document.

use crate::runtime::BackendTarget;
use portico_model::{Api, Document, Operation};
use std::collections::HashMap;
use std::sync::Arc;

/// `context.Api` and the API's operations.
#[derive(Debug, Default)]
pub struct ApiInfo {
    pub id: Arc<str>,
    pub name: Arc<str>,
    pub path: Arc<str>,
    /// The service URL (or the URL of the API's backend).
    pub service_url: Arc<str>,
    pub operations: Vec<OperationInfo>,
}

impl ApiInfo {
    pub fn new(
        api: &Api,
        operations: Vec<OperationInfo>,
        backends: &HashMap<String, Arc<BackendTarget>>,
    ) -> Self {
        let service_url = match (&api.service_url, &api.backend_id) {
            (Some(url), _) => url.clone(),
            (None, Some(id)) => backends
                .get(&id.to_ascii_lowercase())
                .map(|b| b.url())
                .unwrap_or_default(),
            (None, None) => String::new(),
        };
        Self {
            id: api.id.as_str().into(),
            name: api.display_name.as_deref().unwrap_or(&api.id).into(),
            path: api.path.as_str().into(),
            service_url: service_url.into(),
            operations,
        }
    }
}

/// `context.Operation`.
#[derive(Debug, Default)]
pub struct OperationInfo {
    pub id: Arc<str>,
    pub name: Arc<str>,
    pub method: Arc<str>,
    pub url_template: Arc<str>,
    /// Query parameter names the template matches (not copied on by `rewrite-uri`).
    pub query_names: Vec<Box<str>>,
}

impl OperationInfo {
    pub fn new(op: &Operation, query_names: Vec<Box<str>>) -> Self {
        Self {
            id: op.id.as_str().into(),
            name: op.display_name.as_deref().unwrap_or(&op.id).into(),
            method: op.method.as_str().into(),
            url_template: op.url_template.as_str().into(),
            query_names,
        }
    }
}

/// Snapshot-wide facts: product and subscription names by index, backends by id.
#[derive(Debug, Default)]
pub struct SnapshotInfo {
    /// `(id, display name)` by product index.
    pub products: Vec<(Arc<str>, Arc<str>)>,
    /// Display name by subscription index (subscriptions are indexed in document order).
    pub subscription_names: Vec<Arc<str>>,
    /// For `set-backend-service backend-id="@(…)"`, by lower-case id.
    pub backends: HashMap<String, Arc<BackendTarget>>,
}

impl SnapshotInfo {
    pub fn new(doc: &Document, backends: HashMap<String, Arc<BackendTarget>>) -> Self {
        Self {
            products: doc
                .products
                .iter()
                .map(|p| {
                    let name = p.display_name.as_deref().unwrap_or(&p.id);
                    (p.id.as_str().into(), name.into())
                })
                .collect(),
            subscription_names: doc
                .subscriptions
                .iter()
                .map(|s| s.display_name.as_deref().unwrap_or(&s.id).into())
                .collect(),
            backends,
        }
    }
}
