//! Scale: a document with 10 000 APIs and 100 000 subscriptions. Measures, in process, how
//! long parsing, validating and applying it takes (what a reload costs) both as a declarative
//! YAML file and as the JSON snapshot a control plane sends a gateway, and, against a
//! running Portico, the memory it needs and whether request latency moves compared with a
//! one-API document.

use crate::scenarios::keyed_document;
use portico_gateway::control_plane::sync;
use portico_gateway::{Gateway, GatewayOptions};
use portico_model::{Document, DocumentFormat};
use serde::Serialize;
use std::time::Instant;

/// Timings of one apply, in milliseconds.
#[derive(Debug, Serialize)]
pub struct ApplyTimes {
    pub apis: usize,
    pub subscriptions: usize,
    pub document_mib: f64,
    /// From the YAML document (`portico gateway --config`).
    pub parse_and_validate_ms: f64,
    /// From the JSON snapshot body a gateway receives from the control plane (the hybrid path).
    pub snapshot_parse_and_validate_ms: f64,
    pub compile_and_swap_ms: f64,
    /// Applying the same snapshot again: the cost of a reload that changes one thing.
    pub reapply_ms: f64,
}

/// Measures applying a generated document in this process.
pub fn measure_apply(apis: usize, subscriptions: usize) -> anyhow::Result<ApplyTimes> {
    let text = keyed_document("127.0.0.1:9", apis, subscriptions);
    let started = Instant::now();
    let doc = Document::parse_valid(&text, DocumentFormat::Yaml)?;
    let parsed = started.elapsed();
    let body = serde_json::to_vec(&serde_json::json!({"revision": 1, "document": doc}))?;
    let started = Instant::now();
    let snapshot = sync::decode(&body).map_err(|(_, e)| anyhow::anyhow!(e))?;
    let decoded = started.elapsed();
    let gateway = Gateway::with_access_log(GatewayOptions::default(), None);
    let started = Instant::now();
    gateway.apply(&snapshot).map_err(anyhow::Error::msg)?;
    let compiled = started.elapsed();
    let started = Instant::now();
    gateway.apply(&snapshot).map_err(anyhow::Error::msg)?;
    let reapplied = started.elapsed();
    Ok(ApplyTimes {
        apis,
        subscriptions,
        document_mib: text.len() as f64 / (1024.0 * 1024.0),
        parse_and_validate_ms: parsed.as_secs_f64() * 1e3,
        snapshot_parse_and_validate_ms: decoded.as_secs_f64() * 1e3,
        compile_and_swap_ms: compiled.as_secs_f64() * 1e3,
        reapply_ms: reapplied.as_secs_f64() * 1e3,
    })
}
