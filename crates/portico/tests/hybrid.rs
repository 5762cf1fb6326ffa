//! Hybrid gateways as operators run them: a control plane and several `portico gateway
//! --control-plane` processes on 127.0.0.1. Changes reach every gateway within a second, each
//! gateway serves only its APIs, heartbeats feed the instances view, tokens are checked, and
//! losing the control plane never fails a request.

mod common;
#[path = "hybrid/support.rs"]
mod support;

use common::*;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::*;

#[test]
fn changes_reach_each_gateway_in_under_a_second_and_only_its_apis() {
    let dir = tempfile::tempdir().unwrap();
    let (_echo, backend) = start_echo();
    let cp = free_addr();
    let _control = start_control_plane(dir.path(), cp);
    put_api(cp, "a", backend, "");
    put_api(cp, "b", backend, "");
    let token_a = put_gateway(cp, "ga", &["a"]);
    let token_b = put_gateway(cp, "gb", &["b"]);
    let url = format!("http://{cp}");
    let a1 = start_gateway(&url, &["--token", &token_a]);
    let a2 = start_gateway(&url, &["--token", &token_a]);
    let b1 = start_gateway(&url, &["--token", &token_b]);
    for gw in [&a1, &a2, &b1] {
        gw.wait_revision(1, Duration::from_secs(20));
    }
    assert_eq!((a1.get("/a/hello"), a1.get("/b/hello")), (200, 404));
    assert_eq!((b1.get("/b/hello"), b1.get("/a/hello")), (200, 404));
    let b_revision = b1.revision().unwrap();

    // A change for ga reaches both its instances within a second and leaves gb alone.
    put_api(cp, "c", backend, "");
    let revision = put(cp, "/gateways/ga/apis/c", "{}");
    for gw in [&a1, &a2] {
        let took = gw.wait_revision(revision, Duration::from_secs(1));
        assert!(took < Duration::from_secs(1), "{took:?}");
        assert_eq!(gw.get("/c/hello"), 200);
    }
    assert_eq!(b1.revision(), Some(b_revision), "gb was not woken");
    assert_eq!(b1.get("/c/hello"), 404);

    // Heartbeats (every second here) feed the instances view.
    eventually(Duration::from_secs(5), "two fresh ga instances", || {
        let (status, _, body) = admin(cp, "GET", "/gateways/ga/instances", "");
        assert_eq!(status, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let list = v["value"].as_array().unwrap();
        list.len() == 2
            && list.iter().all(|i| {
                i["latest"] == true
                    && i["stale"] == false
                    && i["appliedRevision"] == revision
                    && i["configSource"] == "controlPlane"
                    && i["host"].as_str().is_some_and(|h| !h.is_empty())
                    && i["lastHeartbeat"].is_string()
            })
    });
    let (status, _, _) = http_full(cp, "GET", "/gateways/ga/instances", "", "");
    assert_eq!(status, 401, "the fleet view takes the admin token");

    // A token is good for its own gateway only; no token, no configuration.
    let (status, body) = http_get(
        cp,
        "/gateway/v1/gb/config",
        &format!("Authorization: GatewayKey {token_a}\r\n"),
    );
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("belongs to gateway"), "{body}");
    let (status, _) = http_get(cp, "/gateway/v1/ga/config", "");
    assert_eq!(status, 401);
}

#[test]
fn a_revoked_token_is_reported_while_serving_and_a_rotated_token_file_is_picked_up() {
    let dir = tempfile::tempdir().unwrap();
    let (_echo, backend) = start_echo();
    let cp = free_addr();
    let _control = start_control_plane(dir.path(), cp);
    put_api(cp, "a", backend, "");
    let token = put_gateway(cp, "ga", &["a"]);
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, &token).unwrap();
    let backup = dir.path().join("backup");
    let args = [
        "--token-file",
        token_file.to_str().unwrap(),
        "--backup-dir",
        backup.to_str().unwrap(),
    ];
    let url = format!("http://{cp}");
    let gw = start_gateway(&url, &args);
    gw.wait_revision(1, Duration::from_secs(20));

    // Regenerating the key revokes the token: the gateway's held request is refused at once
    // (not when its 30 s hold ends), and it says so loudly while serving its configuration.
    let (status, _, body) = admin(
        cp,
        "POST",
        "/gateways/ga/regenerateKey",
        r#"{"keyType": "primary"}"#,
    );
    assert!((200..300).contains(&status), "{status} {body}");
    eventually(Duration::from_secs(10), "the refusal reported", || {
        let (_, ready) = gw.readyz();
        ready.contains("refused the gateway token")
            && gw.metrics().contains("portico_control_plane_token_valid 0")
    });
    assert_eq!(gw.get("/a/hello"), 200);
    drop(gw);

    // A gateway started with the revoked token serves its backup and reports the same.
    let gw = start_gateway(&url, &args);
    gw.wait_revision(1, Duration::from_secs(20));
    assert_eq!(gw.get("/a/hello"), 200);
    eventually(Duration::from_secs(5), "the refusal reported", || {
        let (_, ready) = gw.readyz();
        ready.contains("refused the gateway token")
            && gw.metrics().contains("portico_control_plane_token_valid 0")
    });
    let (_, ready) = gw.readyz();
    assert!(ready.contains("was a key regenerated?"), "{ready}");

    // A new token written to the file is used at once.
    let tmp = dir.path().join("token.new");
    std::fs::write(&tmp, token_for(cp, "ga")).unwrap();
    std::fs::rename(&tmp, &token_file).unwrap();
    eventually(Duration::from_secs(5), "the rotated token accepted", || {
        gw.metrics().contains("portico_control_plane_token_valid 1")
            && !gw.readyz().1.contains("problem:")
    });
}

fn token_for(cp: std::net::SocketAddr, gateway: &str) -> String {
    support::token(cp, gateway)
}

#[test]
fn losing_the_control_plane_fails_no_request_and_a_restart_serves_the_backup() {
    let dir = tempfile::tempdir().unwrap();
    let (_echo, backend) = start_echo();
    let cp = free_addr();
    let mut control = start_control_plane(dir.path(), cp);
    put_api(cp, "a", backend, "");
    let token = put_gateway(cp, "ga", &["a"]);
    let backup = dir.path().join("backup");
    let args = [
        "--token",
        token.as_str(),
        "--backup-dir",
        backup.to_str().unwrap(),
    ];
    let url = format!("http://{cp}");
    let gw = start_gateway(&url, &args);
    let revision = gw.revision_after(Duration::from_secs(20));

    // Clients keep calling while the control plane is killed.
    let load = ClientLoad::start(gw.listen, "/a/hello");
    std::thread::sleep(Duration::from_millis(500));
    let _ = control.0.kill();
    let _ = control.0.wait();
    std::thread::sleep(Duration::from_secs(2));
    let (ok, failed) = load.finish();
    assert_eq!(failed, 0, "{ok} succeeded");
    assert!(ok > 50);
    eventually(Duration::from_secs(15), "the outage reported", || {
        gw.readyz().1.contains("unreachable")
    });

    // Restarted while the control plane is down: it serves its backup and says so.
    drop(gw);
    let mode = std::fs::metadata(backup.join("snapshot.json")).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
        0o600
    );
    let gw = start_gateway(&url, &args);
    gw.wait_revision(revision, Duration::from_secs(20));
    assert_eq!(gw.get("/a/hello"), 200);
    let (status, ready) = gw.readyz();
    assert_eq!(status, 200);
    assert!(ready.contains("on-disk backup"), "{ready}");
    assert!(gw.metrics().contains("portico_config_from_backup 1"));

    // The control plane comes back; the gateway catches up with what changed meanwhile.
    let _control = start_control_plane(dir.path(), cp);
    put_api(cp, "b", backend, "");
    let newer = put(cp, "/gateways/ga/apis/b", "{}");
    gw.wait_revision(newer, Duration::from_secs(15));
    assert_eq!(gw.get("/b/hello"), 200);
    let (_, ready) = gw.readyz();
    assert!(ready.contains("config source: control plane"), "{ready}");
}

/// Propagation latency over 100 changes to 10 gateways (each its own gateway resource, all
/// serving the changed API): from the management API's answer to each gateway's `/readyz`
/// showing the new revision.
#[test]
fn propagation_latency_over_100_changes_to_10_gateways() {
    const GATEWAYS: usize = 10;
    const CHANGES: usize = 100;
    let dir = tempfile::tempdir().unwrap();
    let (_echo, backend) = start_echo();
    let cp = free_addr();
    let _control = start_control_plane(dir.path(), cp);
    put_api(cp, "a", backend, "0");
    let url = format!("http://{cp}");
    let gateways: Vec<Gw> = (0..GATEWAYS)
        .map(|i| {
            let token = put_gateway(cp, &format!("g{i}"), &["a"]);
            start_gateway(&url, &["--token", &token])
        })
        .collect();
    for gw in &gateways {
        gw.revision_after(Duration::from_secs(30));
    }
    let mut samples = Vec::with_capacity(GATEWAYS * CHANGES);
    for change in 1..=CHANGES {
        let sent = Instant::now();
        let revision = put(
            cp,
            "/apis/a",
            &format!(
                r#"{{"path": "a", "serviceUrl": "http://{backend}", "subscriptionRequired": false, "description": "{change}"}}"#
            ),
        );
        let mut pending: Vec<&Gw> = gateways.iter().collect();
        while !pending.is_empty() {
            pending.retain(|gw| {
                if gw.revision().is_some_and(|r| r >= revision) {
                    samples.push(sent.elapsed());
                    false
                } else {
                    true
                }
            });
            assert!(
                sent.elapsed() < Duration::from_secs(5),
                "change {change} not applied everywhere"
            );
        }
    }
    samples.sort();
    let pct = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    let (p50, p99, max) = (pct(0.50), pct(0.99), samples[samples.len() - 1]);
    eprintln!(
        "propagation over {CHANGES} changes x {GATEWAYS} gateways: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3
    );
    assert!(p99 < Duration::from_secs(1), "p99 {p99:?}");
}

/// Egress through a corporate proxy (`HTTP_PROXY`, tunnelled with CONNECT), with the first
/// control-plane URL dead so the gateway fails over to the second.
#[test]
fn the_gateway_tunnels_through_a_connect_proxy_and_fails_over() {
    let dir = tempfile::tempdir().unwrap();
    let (_echo, backend) = start_echo();
    let cp = free_addr();
    let _control = start_control_plane(dir.path(), cp);
    put_api(cp, "a", backend, "");
    let token = put_gateway(cp, "ga", &["a"]);
    let (proxy, tunnels) = connect_proxy();
    let urls = format!("http://{},http://{cp}", free_addr());
    let proxy_url = format!("http://{proxy}");
    let gw = start_gateway_env(&urls, &["--token", &token], &[("HTTP_PROXY", &proxy_url)]);
    gw.revision_after(Duration::from_secs(20));
    assert_eq!(gw.get("/a/hello"), 200);
    assert!(
        tunnels.load(Ordering::Relaxed) >= 2,
        "both URLs were tried through the proxy"
    );
}

/// A minimal CONNECT proxy: answers 200 and relays bytes, or 502 when the target refuses.
fn connect_proxy() -> (std::net::SocketAddr, Arc<AtomicU64>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let tunnels = Arc::new(AtomicU64::new(0));
    let count = tunnels.clone();
    std::thread::spawn(move || {
        for client in listener.incoming().map_while(Result::ok) {
            count.fetch_add(1, Ordering::Relaxed);
            std::thread::spawn(move || {
                let mut reader = BufReader::new(client.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let target = line.split_whitespace().nth(1).unwrap_or("").to_owned();
                while reader
                    .read_line(&mut line)
                    .is_ok_and(|_| !line.ends_with("\r\n\r\n"))
                {}
                let mut client = client;
                let Ok(upstream) = std::net::TcpStream::connect(&target) else {
                    let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n");
                    return;
                };
                client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .unwrap();
                let (mut up_read, mut up_write) = (upstream.try_clone().unwrap(), upstream);
                let mut down_write = client.try_clone().unwrap();
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut up_read, &mut down_write);
                    let _ = down_write.shutdown(std::net::Shutdown::Both);
                });
                let _ = std::io::copy(&mut reader, &mut up_write);
                let _ = up_write.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    (addr, tunnels)
}
