//! The ops listener: `/healthz` (the process is alive), `/readyz` (a configuration is
//! loaded and the gateway is not draining), `/metrics` (Prometheus text). Kept apart from the
//! client listener so probes and scrapes never compete with traffic and are never exposed by
//! accident. It answers until the process exits, so probes see the drain happen.

use crate::gateway::Gateway;
use bytes::Bytes;
use http::{header, HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use tokio::net::TcpListener;

/// Serves the ops endpoints for as long as the process runs.
pub async fn serve_ops(listener: TcpListener, gateway: Gateway) {
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                // Typically out of file descriptors: back off instead of spinning.
                tracing::warn!(error = %e, "ops accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let gw = gateway.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let gw = gw.clone();
                async move { Ok::<_, Infallible>(answer(&gw, &req)) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn answer(gw: &Gateway, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let detail = gw
        .readiness()
        .detail()
        .map(|d| format!("{d}\n"))
        .unwrap_or_default();
    let (status, content_type, body) = match req.uri().path() {
        "/healthz" => (StatusCode::OK, "text/plain", "ok\n".to_owned()),
        "/readyz" if gw.is_ready() => (
            StatusCode::OK,
            "text/plain",
            format!("ready: revision {}\n{detail}", gw.revision().unwrap_or(0)),
        ),
        "/readyz" if gw.is_draining() => (
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            "not ready: shutting down\n".to_owned(),
        ),
        "/readyz" => (
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            format!("not ready: no configuration loaded yet\n{detail}"),
        ),
        "/metrics" => (
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            gw.metrics().render(),
        ),
        _ => (
            StatusCode::NOT_FOUND,
            "text/plain",
            "not found: try /healthz, /readyz or /metrics\n".to_owned(),
        ),
    };
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}
