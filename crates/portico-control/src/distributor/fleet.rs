//! The fleet: heartbeats in, the instances view out.
//!
//! A heartbeat is the instance's JSON report (`instanceId`, `host`, `version`,
//! `appliedRevision`, `configSource`, `lastSync`, `uptimeSeconds`, `requests`, `errors`,
//! `certificates`, `heartbeatIntervalSeconds`), kept as sent in the store's heartbeat table,
//! which never bumps the revision. `GET /gateways/{id}/instances` lists each instance with
//! `lastHeartbeat`, `stale` (three intervals without a heartbeat) and `latest` (it applied
//! the gateway's current revision).

use super::gateway_auth::authorise;
use super::per_gateway::Audience;
use super::routes::Distributor;
use crate::api::check_admin;
use crate::api::ApiError;
use crate::store::{Heartbeat, ResourcePath};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Largest report accepted; a real one is a few hundred bytes per served hostname.
const MAX_REPORT: usize = 64 * 1024;
/// The interval assumed when a report does not state its own (APIM's default).
const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);
/// Heartbeats an instance may miss before it is shown as stale.
const MISSED_FOR_STALE: u32 = 3;

pub async fn heartbeat(
    State(state): State<Distributor>,
    Path(gateway_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    authorise(state.api.store.as_ref(), &headers, &gateway_id).await?;
    if body.len() > MAX_REPORT {
        return Err(ApiError::bad_request(format!(
            "a heartbeat may be at most {MAX_REPORT} bytes"
        )));
    }
    let report: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("the heartbeat must be a JSON object: {e}")))?;
    let instance_id = report["instanceId"]
        .as_str()
        .filter(|id| !id.is_empty() && id.len() <= 128)
        .ok_or_else(|| ApiError::bad_request("instanceId must be a string of 1 to 128 characters"))?
        .to_owned();
    let heartbeat = Heartbeat {
        gateway_id,
        instance_id,
        received_at_ms: now_ms(),
        report,
    };
    state.api.store.record_heartbeat(&heartbeat).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn instances(
    State(state): State<Distributor>,
    Path(gateway_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    check_admin(&state.api.admin_token, &headers)?;
    let resource = ResourcePath::parse(&format!("gateways/{gateway_id}"))
        .map_err(|e| ApiError::not_found(e.0))?;
    if state.api.store.get(&resource).await?.is_none() {
        return Err(ApiError::not_found(&resource));
    }
    let current = state
        .hub
        .view(&Audience::Gateway(gateway_id.clone()))
        .ok()
        .map(|v| v.revision);
    let now = now_ms();
    let value: Vec<Value> = state
        .api
        .store
        .heartbeats(&gateway_id)
        .await?
        .iter()
        .map(|hb| instance(hb, current, now))
        .collect();
    Ok(Json(json!({ "value": value })).into_response())
}

/// Longest heartbeat interval believed from a report (a day).
const MAX_INTERVAL_SECONDS: f64 = 86_400.0;

/// One instance as the fleet view shows it.
fn instance(hb: &Heartbeat, current: Option<u64>, now_ms: u64) -> Value {
    let r = &hb.report;
    // Reported by the gateway: bounded, so a hostile report cannot overflow the arithmetic.
    let interval = r["heartbeatIntervalSeconds"]
        .as_f64()
        .filter(|s| *s > 0.0)
        .and_then(|s| Duration::try_from_secs_f64(s.min(MAX_INTERVAL_SECONDS)).ok())
        .unwrap_or(DEFAULT_INTERVAL);
    let silent = Duration::from_millis(now_ms.saturating_sub(hb.received_at_ms));
    let applied = r["appliedRevision"].as_u64();
    json!({
        "instanceId": hb.instance_id,
        "host": r["host"],
        "version": r["version"],
        "appliedRevision": applied,
        "configSource": r["configSource"],
        "lastSync": r["lastSync"],
        "uptimeSeconds": r["uptimeSeconds"],
        "requests": r["requests"],
        "errors": r["errors"],
        "certificates": r.get("certificates").cloned().unwrap_or_else(|| json!([])),
        "lastHeartbeat": rfc3339(hb.received_at_ms),
        "stale": silent > interval.saturating_mul(MISSED_FOR_STALE),
        "latest": matches!((applied, current), (Some(a), Some(c)) if a >= c),
    })
}

fn now_ms() -> u64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
}

fn rfc3339(ms: u64) -> String {
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(ms)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hb(report: Value, received_at_ms: u64) -> Heartbeat {
        Heartbeat {
            gateway_id: "edge".into(),
            instance_id: "i-1".into(),
            received_at_ms,
            report,
        }
    }

    #[test]
    fn an_instance_is_stale_after_three_missed_heartbeats() {
        let report = json!({"heartbeatIntervalSeconds": 10, "appliedRevision": 7});
        let fresh = instance(&hb(report.clone(), 1_000_000), Some(7), 1_029_000);
        assert_eq!(fresh["stale"], false);
        assert_eq!(fresh["latest"], true);
        let stale = instance(&hb(report, 1_000_000), Some(8), 1_031_000);
        assert_eq!(stale["stale"], true);
        assert_eq!(stale["latest"], false);
        assert_eq!(stale["lastHeartbeat"], "1970-01-01T00:16:40.000Z");
    }
}
