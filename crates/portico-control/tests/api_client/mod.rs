//! The management API in-process (tower's `oneshot`) over a real SQLite file: a client that
//! sends the admin token and decodes every answer. Shared by the API test files; each uses a
//! part of it.
#![allow(dead_code)]

use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use portico_control::api::{router, ApiState};
use portico_control::store::SqlStore;
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;

pub const TOKEN: &str = "test-admin-token";

pub struct Api {
    pub router: axum::Router,
    pub state: ApiState,
    _dir: Option<tempfile::TempDir>,
}

pub struct Answer {
    pub status: StatusCode,
    pub etag: Option<String>,
    pub body: Value,
}

impl Api {
    pub async fn new() -> Self {
        Self::with_state().await.0
    }

    /// The API and its state (whose `commits` a test can follow).
    pub async fn with_state() -> (Self, ApiState) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqlStore::open(&format!("sqlite://{}/portico.db", dir.path().display()))
            .await
            .unwrap();
        let mut api = Self::on(store);
        api._dir = Some(dir);
        let state = api.state.clone();
        (api, state)
    }

    /// The API over a store the test opened (PostgreSQL, say).
    pub fn on(store: SqlStore) -> Self {
        let state = ApiState::new(Arc::new(store), TOKEN);
        Self {
            router: router(state.clone()),
            state,
            _dir: None,
        }
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {TOKEN}"));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let body = body.map_or(Body::empty(), |b| Body::from(b.to_string()));
        let resp = self
            .router
            .clone()
            .oneshot(req.body(body).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let etag = resp
            .headers()
            .get("etag")
            .map(|v| v.to_str().unwrap().to_owned());
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        Answer { status, etag, body }
    }

    pub async fn put(&self, path: &str, properties: Value) -> Answer {
        self.call("PUT", path, Some(json!({ "properties": properties })), &[])
            .await
    }
}

pub fn echo_api() -> Value {
    json!({"displayName": "Echo", "path": "echo", "serviceUrl": "http://127.0.0.1:8081"})
}
