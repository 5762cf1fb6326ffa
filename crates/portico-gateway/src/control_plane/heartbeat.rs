//! Heartbeats: every interval (and once at start), the instance reports who it is, what it
//! serves and how it is doing to `POST /gateway/v1/{id}/heartbeat`. Failures are logged
//! quietly: the sync loop already reports an unreachable control plane or a refused token.

use super::Shared;
use bytes::Bytes;
use http::Method;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs until `shutdown`.
pub async fn run(shared: Arc<Shared>, interval: Duration, mut shutdown: crate::ShutdownSignal) {
    let instance_id = uuid::Uuid::new_v4().to_string();
    let started = Instant::now();
    let host = host_name();
    loop {
        let report = report(&shared, &instance_id, &host, started, interval);
        send(&shared, Bytes::from(report.to_string())).await;
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
    }
}

async fn send(shared: &Shared, body: Bytes) {
    // Try each control plane once, starting with the one the sync loop is using.
    for _ in 0..shared.endpoints.len() {
        let endpoint = shared.endpoint();
        let path = format!("/gateway/v1/{}/heartbeat", shared.token.gateway_id());
        let token = shared.token.current();
        let sent = shared
            .client
            .send(
                &endpoint,
                Method::POST,
                &path,
                &token,
                Some(body.clone()),
                SEND_TIMEOUT,
            )
            .await;
        match sent {
            Ok(a) if a.status.is_success() => return,
            Ok(a) if a.status.is_client_error() => {
                tracing::debug!(status = %a.status, "heartbeat refused");
                return;
            }
            Ok(a) => tracing::debug!(status = %a.status, url = %endpoint.url, "heartbeat failed"),
            Err(e) => tracing::debug!(error = %e, url = %endpoint.url, "heartbeat failed"),
        }
        shared.next_endpoint();
    }
}

fn report(
    shared: &Shared,
    instance_id: &str,
    host: &str,
    started: Instant,
    interval: Duration,
) -> Value {
    let (requests, errors) = request_counts(&shared.gateway.metrics().render());
    let mut report = json!({
        "instanceId": instance_id,
        "host": host,
        "version": env!("CARGO_PKG_VERSION"),
        "appliedRevision": shared.gateway.revision(),
        "uptimeSeconds": started.elapsed().as_secs(),
        "requests": requests,
        "errors": errors,
        "heartbeatIntervalSeconds": interval.as_secs_f64(),
    });
    if let (Some(out), Value::Object(status)) = (report.as_object_mut(), shared.status.report()) {
        out.extend(status);
    }
    report
}

/// Requests answered and those answered with a 5xx, summed from the metrics text. Reading
/// the exposition once a minute keeps the request path free of extra counters.
fn request_counts(metrics: &str) -> (u64, u64) {
    let (mut requests, mut errors) = (0u64, 0u64);
    for line in metrics
        .lines()
        .filter(|l| l.starts_with("portico_requests_total{"))
    {
        let Some((labels, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(n) = value.parse::<f64>() else {
            continue;
        };
        let n = n as u64;
        requests += n;
        if labels.contains("status=\"5") {
            errors += n;
        }
    }
    (requests, errors)
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_requests_and_server_errors_from_the_exposition() {
        let text = "# HELP x\nportico_requests_total{api=\"a\",operation=\"o\",status=\"200\"} 7\nportico_requests_total{api=\"a\",operation=\"o\",status=\"502\"} 2\nportico_requests_created{} 1\n";
        assert_eq!(request_counts(text), (9, 2));
    }
}
