//! Rate limits and quotas shared through real Redis, over real sockets: two gateways on
//! one Redis admit exactly the limit together (`rate-limit`, `quota-by-key`), with keys
//! expiring with their window and scripts reloaded after `SCRIPT FLUSH`; a Redis that stops
//! makes them count locally (said once in the log, in `/readyz` and in metrics) and they
//! count in Redis again when it is back; a hung Redis costs one timeout; fail-closed answers
//! 503 until Redis returns, also for a gateway started while it was down.

mod common;
#[path = "common/redis.rs"]
mod redis_server;

use common::*;
use portico_gateway::redis::{FailureMode, RedisOptions};
use portico_gateway::{GatewayOptions, ListenerLimits};
use redis_server::*;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const KEY: (&str, &str) = ("ocp-apim-subscription-key", "key-one");

/// APIs `rl` (a subscription's `rate-limit`), `qk` (`quota-by-key` by `x-client`), `rk`
/// (`rate-limit-by-key`, one counter for all), `hourly` (a quota whose periods start at half
/// past each hour), `forever` (a quota that never renews) and `free` (no limit).
fn doc(backend: SocketAddr) -> String {
    let api = |id: &str, keyed: bool, inbound: &str| {
        format!(
            "  - id: {id}\n    path: {id}\n    serviceUrl: 'http://{backend}'\n    subscriptionRequired: {keyed}\n    operations: [{{ id: all, method: '*', urlTemplate: '/*' }}]\n    policy: '<policies><inbound>{inbound}</inbound></policies>'\n"
        )
    };
    let mut yaml = String::from("apis:\n");
    yaml += &api(
        "rl",
        true,
        r#"<rate-limit calls="10" renewal-period="60" />"#,
    );
    yaml += &api(
        "qk",
        false,
        r#"<quota-by-key calls="7" renewal-period="3600" counter-key="@(context.Request.Headers.GetValueOrDefault(&quot;x-client&quot;,&quot;anon&quot;))" />"#,
    );
    yaml += &api(
        "rk",
        false,
        r#"<rate-limit-by-key calls="5" renewal-period="60" counter-key="all" />"#,
    );
    yaml += &api(
        "hourly",
        false,
        r#"<quota-by-key calls="2" renewal-period="3600" counter-key="all" first-period-start="2020-01-01T00:30:00Z" />"#,
    );
    yaml += &api(
        "forever",
        false,
        r#"<quota-by-key calls="1" renewal-period="0" counter-key="all" />"#,
    );
    yaml += &api("free", false, "");
    yaml + "subscriptions:\n  - { id: one, scope: /apis, primaryKey: key-one }\n"
}

/// A gateway on the Redis at `url`. Tests that do not hang Redis give calls a generous
/// timeout, so a loaded machine cannot turn a slow answer into a fallback.
async fn gateway(backend: SocketAddr, url: &str, prefix: &str, mode: FailureMode) -> TestGateway {
    gateway_with_timeout(backend, url, prefix, mode, Duration::from_secs(2)).await
}

async fn gateway_with_timeout(
    backend: SocketAddr,
    url: &str,
    prefix: &str,
    mode: FailureMode,
    timeout: Duration,
) -> TestGateway {
    let mut redis = RedisOptions::new(url).unwrap();
    redis.key_prefix = prefix.to_owned();
    redis.failure_mode = mode;
    redis.timeout = timeout;
    let options = GatewayOptions {
        redis: Some(redis),
        ..options()
    };
    TestGateway::start_with(&doc(backend), options, ListenerLimits::default()).await
}

async fn ops(gw: &TestGateway, path: &str) -> String {
    let a = get(&format!("http://{}{path}", gw.ops), &[]).await;
    String::from_utf8(a.body.to_vec()).unwrap()
}

/// Waits until `/readyz` mentions `text`.
async fn wait_readyz(gw: &TestGateway, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = ops(gw, "/readyz").await;
        if r.contains(text) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz never said {text:?}: {r}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The shared Redis when one answers on 6379 (a CI service or a developer's), else one of
/// this test's own.
fn shared_redis() -> (String, Option<RedisServer>) {
    if let Ok(url) = std::env::var("PORTICO_TEST_REDIS") {
        return (url, None);
    }
    let local = std::net::TcpStream::connect_timeout(
        &"127.0.0.1:6379".parse().unwrap(),
        Duration::from_millis(200),
    );
    if local.is_ok() {
        return ("redis://127.0.0.1:6379".into(), None);
    }
    let own = RedisServer::start();
    (own.url(), Some(own))
}

/// Statuses of `n` concurrent requests to `path`, alternating between the gateways.
async fn burst(gws: [&TestGateway; 2], path: &str, headers: &[(&str, &str)], n: usize) -> Vec<u16> {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let url = gws[i % 2].url(path);
            let headers: Vec<(String, String)> = headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            tokio::spawn(async move {
                let h: Vec<(&str, &str)> = headers
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                get(&url, &h).await.status
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

fn count(statuses: &[u16], status: u16) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateways_on_one_redis_admit_exactly_the_limit_together() {
    if !redis_available("two_gateways_on_one_redis_admit_exactly_the_limit_together") {
        return;
    }
    let (url, _own) = shared_redis();
    let prefix = key_prefix("exact");
    let backend = start_backend().await;
    // Failing closed: a call Redis did not count would be a 503, never an extra admission.
    let a = gateway(backend, &url, &prefix, FailureMode::FailClosed).await;
    let b = gateway(backend, &url, &prefix, FailureMode::FailClosed).await;
    wait_readyz(&a, "redis: connected").await;
    wait_readyz(&b, "redis: connected").await;

    let rl = burst([&a, &b], "/rl/x", &[KEY], 30).await;
    assert_eq!((count(&rl, 200), count(&rl, 429)), (10, 20), "{rl:?}");
    let qk = burst([&a, &b], "/qk/x", &[("x-client", "c1")], 20).await;
    assert_eq!((count(&qk, 200), count(&qk, 403)), (7, 13), "{qk:?}");

    // Keys expire with their window.
    let mut conn = connect(&url).await;
    let keys = keys_with_ttl(&mut conn, &format!("{prefix}c:")).await;
    assert_eq!(keys.len(), 2, "{keys:?}");
    for (k, ttl) in &keys {
        let window = if k.contains("qk|") { 3_600_000 } else { 60_000 };
        assert!(*ttl > 0 && *ttl <= window, "{k}: ttl {ttl}");
    }

    // A server that forgot the script (restart, SCRIPT FLUSH) is sent it again.
    let () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        get(&a.url("/qk/x"), &[("x-client", "c2")]).await.status,
        200
    );
    let n: String = redis::cmd("GET")
        .arg(format!("{prefix}c:qk|3600000|c2|calls"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(n, "1");
    let metrics = ops(&a, "/metrics").await;
    assert!(metrics.contains("portico_redis_up 1"), "{metrics}");
    for outcome in ["local", "refused"] {
        let none = format!(r#"portico_counter_fallbacks_total{{outcome="{outcome}"}} 0"#);
        assert!(metrics.contains(&none), "{metrics}");
    }
    delete_prefix(&mut conn, &prefix).await;
}

#[tokio::test]
async fn anchored_and_never_renewing_windows_follow_the_same_rules_in_redis() {
    if !redis_available("anchored_and_never_renewing_windows_follow_the_same_rules_in_redis") {
        return;
    }
    let server = RedisServer::start();
    let prefix = key_prefix("windows");
    let gw = gateway(
        start_backend().await,
        &server.url(),
        &prefix,
        FailureMode::FailClosed,
    )
    .await;
    for _ in 0..2 {
        assert_eq!(get(&gw.url("/hourly/x"), &[]).await.status, 200);
    }
    let refused = get(&gw.url("/hourly/x"), &[]).await;
    assert_eq!(refused.status, 403);
    // The period ends at the next half past the hour, by Redis's clock (the same as ours).
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let expected = 3_600_000 - (now_ms - 1_800_000).rem_euclid(3_600_000);
    let mut conn = connect(&server.url()).await;
    let keys = keys_with_ttl(&mut conn, &format!("{prefix}c:")).await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(
        (keys[0].1 - expected).abs() < 5_000,
        "{keys:?}, expected {expected}"
    );
    // 403 "… replenished in hh:mm:ss." with the same wait.
    let message = refused.json()["message"].as_str().unwrap().to_owned();
    let hms = message
        .strip_prefix("Out of call volume quota. Quota will be replenished in ")
        .and_then(|m| m.strip_suffix('.'))
        .unwrap_or_else(|| panic!("{message}"));
    let secs: Vec<i64> = hms.split(':').map(|p| p.parse().unwrap()).collect();
    let told = secs[0] * 3600 + secs[1] * 60 + secs[2];
    assert!(
        (told - expected / 1000).abs() <= 5,
        "{message}, expected {expected} ms"
    );

    assert_eq!(get(&gw.url("/forever/x"), &[]).await.status, 200);
    let refused = get(&gw.url("/forever/x"), &[]).await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.json()["message"], "Out of call volume quota.");
    let keys = keys_with_ttl(&mut conn, &format!("{prefix}c:qk|0|")).await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(keys[0].1, -1, "a window that never renews never expires");
}

/// Every log line of this test binary. A process-wide subscriber, because a scoped one
/// would leave callsites first hit by other tests' threads cached as uninteresting.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn logs() -> &'static Logs {
    static LOGS: std::sync::OnceLock<Logs> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Logs::default();
        let writer = logs.clone();
        tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .init();
        logs
    })
}

impl Logs {
    /// Lines holding `text` about the Redis on `port` (tests run side by side).
    fn count(&self, text: &str, port: u16) -> usize {
        let redis = format!("redis=127.0.0.1:{port}");
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .lines()
            .filter(|l| l.contains(text) && l.contains(&redis))
            .count()
    }
}

#[tokio::test]
async fn a_lost_redis_means_local_counting_said_once_then_redis_again() {
    if !redis_available("a_lost_redis_means_local_counting_said_once_then_redis_again") {
        return;
    }
    let logs = logs();
    let mut server = RedisServer::start();
    let url = server.url();
    let prefix = key_prefix("outage");
    let gw = gateway(start_backend().await, &url, &prefix, FailureMode::FailOpen).await;
    wait_readyz(&gw, "redis: connected").await;
    let mut conn = connect(&url).await;
    for _ in 0..3 {
        assert_eq!(get(&gw.url("/rk/x"), &[]).await.status, 200);
    }
    let key = format!("{prefix}c:rlk|60000|all");
    let n: String = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(n, "3", "counted in Redis");

    server.stop();
    // Counted in this process now, from zero: five more pass, the sixth is over the limit.
    for i in 0..5 {
        assert_eq!(get(&gw.url("/rk/x"), &[]).await.status, 200, "call {i}");
    }
    assert_eq!(get(&gw.url("/rk/x"), &[]).await.status, 429);
    let ready = ops(&gw, "/readyz").await;
    assert!(ready.starts_with("ready: revision 1"), "{ready}");
    assert!(ready.contains("redis: unavailable since"), "{ready}");
    assert!(ready.contains("fail-open"), "{ready}");
    let metrics = ops(&gw, "/metrics").await;
    assert!(metrics.contains("portico_redis_up 0"), "{metrics}");
    assert!(
        metrics.contains(r#"portico_counter_fallbacks_total{outcome="local"} 6"#),
        "{metrics}"
    );
    assert_eq!(
        logs.count("Redis unavailable", server.port),
        1,
        "once per outage"
    );

    server.restart();
    wait_readyz(&gw, "redis: connected").await;
    assert_eq!(logs.count("Redis reachable again", server.port), 1);
    // Counted in Redis again (which restarted empty): five pass, and Redis holds them.
    for i in 0..5 {
        assert_eq!(get(&gw.url("/rk/x"), &[]).await.status, 200, "call {i}");
    }
    assert_eq!(get(&gw.url("/rk/x"), &[]).await.status, 429);
    let mut conn = connect(&url).await;
    let n: String = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(n, "5");
    let metrics = ops(&gw, "/metrics").await;
    assert!(metrics.contains("portico_redis_up 1"), "{metrics}");
    assert!(
        metrics.contains(r#"portico_counter_fallbacks_total{outcome="local"} 6"#),
        "no fallbacks once back: {metrics}"
    );
    assert_eq!(logs.count("Redis unavailable", server.port), 1);
}

#[tokio::test]
async fn a_hung_redis_costs_one_timeout_then_counts_go_local() {
    if !redis_available("a_hung_redis_costs_one_timeout_then_counts_go_local") {
        return;
    }
    let server = RedisServer::start();
    let gw = gateway_with_timeout(
        start_backend().await,
        &server.url(),
        &key_prefix("hung"),
        FailureMode::FailOpen,
        Duration::from_millis(100),
    )
    .await;
    wait_readyz(&gw, "redis: connected").await;
    assert_eq!(get(&gw.url("/rk/x"), &[]).await.status, 200);

    server.hang();
    let started = Instant::now();
    assert_eq!(get(&gw.url("/rk/x"), &[]).await.status, 200);
    let first = started.elapsed();
    // The 100 ms call timeout, not the connection's own 1 s one.
    assert!(first < Duration::from_millis(800), "{first:?}");
    // Later calls do not wait for the timeout again: five of them take less than five
    // timeouts together.
    let started = Instant::now();
    for _ in 0..5 {
        get(&gw.url("/rk/x"), &[]).await;
    }
    assert!(
        started.elapsed() < Duration::from_millis(400),
        "later calls do not wait: {:?}",
        started.elapsed()
    );
    wait_readyz(&gw, "no answer within 100ms").await;

    server.resume();
    wait_readyz(&gw, "redis: connected").await;
}

#[tokio::test]
async fn fail_closed_refuses_counted_calls_with_503_until_redis_returns() {
    if !redis_available("fail_closed_refuses_counted_calls_with_503_until_redis_returns") {
        return;
    }
    let mut server = RedisServer::start();
    server.stop();
    // Started while Redis is down: it serves, and reaches Redis once it is there.
    let gw = gateway(
        start_backend().await,
        &server.url(),
        &key_prefix("closed"),
        FailureMode::FailClosed,
    )
    .await;
    wait_readyz(&gw, "redis: unavailable").await;
    let ready = ops(&gw, "/readyz").await;
    assert!(ready.contains("refused with 503 (fail-closed)"), "{ready}");

    let a = get(&gw.url("/rl/x"), &[KEY]).await;
    assert_eq!(a.status, 503);
    assert_eq!(
        a.json(),
        serde_json::json!({
            "statusCode": 503,
            "message": "Rate limit and quota counters are unavailable. Try again later."
        })
    );
    assert_eq!(get(&gw.url("/qk/x"), &[]).await.status, 503);
    assert_eq!(
        get(&gw.url("/free/x"), &[]).await.status,
        200,
        "what no limit counts is served"
    );
    let metrics = ops(&gw, "/metrics").await;
    assert!(
        metrics.contains(r#"portico_counter_fallbacks_total{outcome="refused"} 2"#),
        "{metrics}"
    );

    server.restart();
    wait_readyz(&gw, "redis: connected").await;
    assert_eq!(get(&gw.url("/rl/x"), &[KEY]).await.status, 200);
    assert_eq!(get(&gw.url("/qk/x"), &[]).await.status, 200);
}
