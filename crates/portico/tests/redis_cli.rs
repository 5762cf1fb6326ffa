//! `--redis` as an operator uses it: two `portico gateway` processes on one Redis admit a
//! rate limit exactly once between them, and a malformed URL stops the gateway at start
//! without printing its password. Skipped, saying why, when `redis-server` is not installed
//! and `PORTICO_REQUIRE_REDIS` is unset.

use std::net::SocketAddr;
use std::process::{Command, Stdio};

mod common;
use common::*;

/// A `redis-server` of this test's own, on a free port.
fn start_redis(test: &str) -> Option<(Process, u16)> {
    let installed = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        assert!(
            std::env::var_os("PORTICO_REQUIRE_REDIS").is_none(),
            "PORTICO_REQUIRE_REDIS is set but redis-server is not installed"
        );
        eprintln!("skipping {test}: redis-server is not installed (apt-get install redis-server)");
        return None;
    }
    let port = free_port();
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_port(SocketAddr::from(([127, 0, 0, 1], port)));
    Some((Process(child), port))
}

fn start_gateway(config: &std::path::Path, redis: &str) -> (Process, SocketAddr, SocketAddr) {
    let (addr, ops) = (free_addr(), free_addr());
    let child = Command::new(BIN)
        .args(["gateway", "--config", config.to_str().unwrap()])
        .args([
            "--listen",
            &addr.to_string(),
            "--ops-listen",
            &ops.to_string(),
            "--tls-listen",
            "127.0.0.1:0",
        ])
        .args(["--workers", "1", "--access-log", "off"])
        .args(["--redis-key-prefix", "portico-cli-test:"])
        // Generous, so a loaded machine's slow answer is not taken for an outage.
        .args(["--redis-timeout", "2s"])
        .env("PORTICO_REDIS", redis)
        .env("PORTICO_REDIS_FAILURE_MODE", "fail-closed")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_port(addr);
    (Process(child), addr, ops)
}

#[test]
fn two_gateway_processes_on_one_redis_share_a_rate_limit() {
    let Some((_redis, port)) = start_redis("two_gateway_processes_on_one_redis_share_a_rate_limit")
    else {
        return;
    };
    let (_echo, backend) = start_echo();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("portico.yaml");
    std::fs::write(
        &config,
        format!(
            "apis:\n  - id: api\n    path: api\n    serviceUrl: 'http://{backend}'\n    subscriptionRequired: false\n    operations: [{{ id: all, method: '*', urlTemplate: '/*' }}]\n    policy: '<policies><inbound><rate-limit-by-key calls=\"6\" renewal-period=\"60\" counter-key=\"everyone\" /></inbound></policies>'\n"
        ),
    )
    .unwrap();
    let redis = format!("redis://127.0.0.1:{port}");
    let gateways = [
        start_gateway(&config, &redis),
        start_gateway(&config, &redis),
    ];
    for (_, _, ops) in &gateways {
        let (status, body) = http_get(*ops, "/readyz", "");
        assert_eq!(status, 200, "{body}");
    }
    let mut admitted = 0;
    for i in 0..12 {
        let (status, body) = http_get(gateways[i % 2].1, "/api/x", "");
        match status {
            200 => admitted += 1,
            429 => assert!(body.contains("Rate limit is exceeded"), "{body}"),
            s => panic!("status {s}: {body}"),
        }
    }
    assert_eq!(admitted, 6, "both processes counted in one place");
    let (_, readyz) = http_get(gateways[0].2, "/readyz", "");
    assert!(
        readyz.contains("redis: connected to 127.0.0.1:"),
        "{readyz}"
    );
    let (_, metrics) = http_get(gateways[1].2, "/metrics", "");
    assert!(metrics.contains("portico_redis_up 1"), "{metrics}");
}

#[test]
fn a_malformed_redis_url_stops_the_gateway_without_showing_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("portico.yaml");
    std::fs::write(&config, "apis: []\n").unwrap();
    let out = Command::new(BIN)
        .args(["gateway", "--config", config.to_str().unwrap()])
        .args(["--listen", "127.0.0.1:0", "--ops-listen", "127.0.0.1:0"])
        .args(["--tls-listen", "127.0.0.1:0"])
        .args(["--redis", "http://admin:s3cret@cache.internal:6379"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--redis / PORTICO_REDIS: invalid Redis URL"),
        "{stderr}"
    );
    assert!(
        stderr.contains("redis://"),
        "says what is expected: {stderr}"
    );
    assert!(!stderr.contains("s3cret"), "{stderr}");
}
