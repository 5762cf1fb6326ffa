//! Lifecycle end to end: readiness, hot reload of a watched file under load, graceful
//! shutdown with requests in flight.

mod common;

use common::*;
use portico_gateway::config_file::FileSource;
use portico_gateway::{GatewayOptions, ListenerLimits};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn config(backend: std::net::SocketAddr, base: &str) -> String {
    format!(
        "apis:\n  - id: api\n    path: api\n    serviceUrl: http://{backend}/{base}\n    subscriptionRequired: false\n    operations:\n      - {{ id: all, method: '*', urlTemplate: '/*' }}\n"
    )
}

async fn reload_failures(gw: &TestGateway) -> u64 {
    let text = metrics(gw).await;
    text.lines()
        .find_map(|l| l.strip_prefix(r#"portico_config_reloads_total{result="failure"} "#))
        .map_or(0, |v| v.trim().parse().unwrap())
}

async fn metrics(gw: &TestGateway) -> String {
    String::from_utf8(
        get(&format!("http://{}/metrics", gw.ops), &[])
            .await
            .body
            .to_vec(),
    )
    .unwrap()
}

#[tokio::test]
async fn not_ready_until_configured() {
    let gw = TestGateway::unconfigured(options(), ListenerLimits::default()).await;
    let ready = |gw: &TestGateway| {
        let url = format!("http://{}/readyz", gw.ops);
        async move { get(&url, &[]).await.status }
    };
    assert_eq!(ready(&gw).await, 503);
    assert_eq!(
        get(&format!("http://{}/healthz", gw.ops), &[]).await.status,
        200
    );
    // The load balancer probe answers before any configuration.
    assert_eq!(
        get(&gw.url("/status-0123456789abcdef"), &[]).await.status,
        200
    );
    assert_apim_error(
        &get(&gw.url("/api/x"), &[]).await,
        503,
        "The gateway has not received a configuration yet",
    );
    let backend = start_backend().await;
    gw.gateway
        .apply(&snapshot(&config(backend, "v1"), 7))
        .unwrap();
    assert_eq!(ready(&gw).await, 200);
    assert_eq!(get(&gw.url("/api/x"), &[]).await.status, 200);
    assert!(metrics(&gw).await.contains("portico_config_revision 7"));
}

/// Waits until `check` holds, polling; panics after `limit`.
async fn eventually(limit: Duration, what: &str, mut check: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn file_reloads_apply_valid_changes_and_refuse_invalid_ones_under_load() {
    let backend = start_backend().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("portico.yaml");
    std::fs::write(&path, config(backend, "v1")).unwrap();

    let gw = TestGateway::unconfigured(options(), ListenerLimits::default()).await;
    let source = FileSource::start(&path, gw.gateway.clone()).unwrap();
    assert_eq!(gw.gateway.revision(), Some(1));
    let (_stop_watch, watch_signal) = tokio::sync::watch::channel(false);
    tokio::spawn(source.run(watch_signal));
    tokio::time::sleep(Duration::from_millis(100)).await; // let the watcher start

    // Load: four clients on keep-alive connections, counting every non-200.
    let running = Arc::new(AtomicBool::new(true));
    let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut loaders = Vec::new();
    for _ in 0..4 {
        let (running, ok, failed, url) = (
            running.clone(),
            ok.clone(),
            failed.clone(),
            gw.url("/api/x"),
        );
        loaders.push(tokio::spawn(async move {
            let client = client();
            while running.load(Ordering::Relaxed) {
                let req = http::Request::get(&url).body(empty()).unwrap();
                match client.request(req).await {
                    Ok(r) if r.status() == 200 => ok.fetch_add(1, Ordering::Relaxed),
                    _ => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    let backend_path = |gw_url: String| async move {
        get(&gw_url, &[]).await.json()["path"]
            .as_str()
            .unwrap()
            .to_owned()
    };

    std::fs::write(&path, config(backend, "v2")).unwrap();
    eventually(Duration::from_secs(10), "v2 to be served", async || {
        backend_path(gw.url("/api/x")).await == "/v2/x"
    })
    .await;
    assert_eq!(gw.gateway.revision(), Some(2));

    // (A save may also be caught mid-write and refused as empty, so refusals are counted
    // as "more than before", not exactly.)
    let before = reload_failures(&gw).await;
    std::fs::write(
        &path,
        "apis:\n  - id: api\n    path: /broken/\n    serviceUrl: nope\n",
    )
    .unwrap();
    eventually(
        Duration::from_secs(10),
        "the refusal to be counted",
        async || reload_failures(&gw).await > before,
    )
    .await;
    assert_eq!(
        backend_path(gw.url("/api/x")).await,
        "/v2/x",
        "the old config keeps serving"
    );
    assert_eq!(gw.gateway.revision(), Some(2));

    let before = reload_failures(&gw).await;
    std::fs::write(&path, "apis: [\n").unwrap(); // a syntax error this time
    eventually(Duration::from_secs(10), "the second refusal", async || {
        reload_failures(&gw).await > before
    })
    .await;

    // Editors often write a new file and rename it over the old one.
    let tmp = dir.path().join(".portico.yaml.tmp");
    std::fs::write(&tmp, config(backend, "v3")).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    eventually(Duration::from_secs(10), "v3 to be served", async || {
        backend_path(gw.url("/api/x")).await == "/v3/x"
    })
    .await;

    running.store(false, Ordering::Relaxed);
    for l in loaders {
        l.await.unwrap();
    }
    let (ok, failed) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    assert_eq!(
        failed, 0,
        "{failed} requests failed during reloads ({ok} succeeded)"
    );
    assert!(ok > 50, "the load ran ({ok} requests)");
    let m = metrics(&gw).await;
    assert!(
        m.contains(r#"portico_config_reloads_total{result="success"} 3"#),
        "{m}"
    );
    assert!(m.contains("portico_config_revision 3"), "{m}");
}

#[tokio::test]
async fn an_empty_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("portico.yaml");
    std::fs::write(&path, "  \n").unwrap();
    let gw = TestGateway::unconfigured(options(), ListenerLimits::default()).await;
    let err = FileSource::start(&path, gw.gateway.clone()).unwrap_err();
    assert!(err.to_string().contains("is empty"), "{err}");
    assert!(!gw.gateway.is_ready());
}

#[tokio::test]
async fn graceful_shutdown_finishes_requests_in_flight_and_stops_accepting() {
    let backend = start_backend().await;
    let gw = TestGateway::start(&config(backend, "v1")).await;
    let addr = gw.addr;
    let in_flight: Vec<_> = (0..3)
        .map(|_| {
            let url = gw.url("/api/slow/800");
            tokio::spawn(async move { get(&url, &[]).await.status })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    gw.begin_shutdown();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the listener is closed"
    );
    let readyz = get(&format!("http://{}/readyz", gw.ops), &[]).await;
    assert_eq!(readyz.status, 503, "probes see the drain");
    for r in in_flight {
        assert_eq!(r.await.unwrap(), 200, "a request in flight completes");
    }
    tokio::time::timeout(Duration::from_secs(5), gw.wait_stopped())
        .await
        .expect("drained and stopped");
}

#[tokio::test]
async fn shutdown_gives_up_on_requests_past_the_deadline() {
    let backend = start_backend().await;
    let limits = ListenerLimits {
        shutdown_timeout: Duration::from_millis(300),
        ..ListenerLimits::default()
    };
    let gw = TestGateway::start_with(
        &config(backend, "v1"),
        GatewayOptions { ..options() },
        limits,
    )
    .await;
    let url = gw.url("/api/slow/10000");
    let stuck = tokio::spawn(async move {
        client()
            .request(http::Request::get(url).body(empty()).unwrap())
            .await
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    gw.shutdown().await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "stopped at the deadline, took {:?}",
        started.elapsed()
    );
    stuck.abort();
}
