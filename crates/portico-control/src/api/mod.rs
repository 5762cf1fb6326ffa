//! The management REST API: APIM's resource model over HTTP (axum). Bodies are
//! `{"properties": {…}}`, responses carry an `ETag`, writes honour `If-Match`, and errors have
//! APIM's shape. Every route but `GET /openapi.json` ([`openapi`]) requires the admin token.
//! [`resources`] holds the CRUD routes, [`actions`] the `POST` actions such as `listSecrets`.

mod actions;
mod apply;
mod auth;
mod error;
mod import;
mod openapi;
mod policy_format;
mod resources;
mod secrets;
mod transaction;

pub use auth::check_admin;
pub use error::ApiError;

use crate::store::Store;
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;

/// What the API's handlers share.
#[derive(Debug, Clone)]
pub struct ApiState {
    pub store: Arc<dyn Store>,
    /// The token `Authorization: Bearer` must carry.
    pub admin_token: Arc<str>,
    /// Receives the revision of every commit made through the API (subscribe to follow).
    pub commits: Arc<tokio::sync::watch::Sender<u64>>,
}

impl ApiState {
    pub fn new(store: Arc<dyn Store>, admin_token: &str) -> Self {
        Self {
            store,
            admin_token: admin_token.into(),
            commits: Arc::new(tokio::sync::watch::channel(0).0),
        }
    }
}

/// The management API's routes.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/apply", post(apply::apply))
        .route("/export", get(apply::export))
        .route(
            "/{*path}",
            get(resources::get)
                .put(resources::put)
                .delete(resources::delete)
                .post(actions::post),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        // Added after the token check, so public (see `openapi`).
        .route("/openapi.json", get(openapi::serve))
        .with_state(state)
}
