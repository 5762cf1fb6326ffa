//! Gzipped configuration answers: the control plane gzips a gateway's configuration when the
//! gateway asks with `Accept-Encoding: gzip` (as `portico gateway` always does), the gzipped
//! and plain answers hold the same document, small answers go out plain, and a gateway applies
//! a large gzipped configuration. Prints the sizes and times for a large configuration: APIs
//! with five operations and a policy each, five subscriptions per API; 200 APIs by default
//! (applying is slow in a debug build), `PORTICO_GZIP_TEST_APIS=1000` for the README's figure.

mod common;
#[path = "hybrid/support.rs"]
mod support;

use common::*;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};
use support::*;

/// How many APIs the large configuration has (five subscriptions each).
fn apis() -> usize {
    std::env::var("PORTICO_GZIP_TEST_APIS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200)
}

/// The large document: every API served by gateway `ga`; `gb` serves none.
fn large_document(backend: SocketAddr, apis: usize) -> Value {
    let entries: Vec<Value> = (0..apis)
        .map(|i| {
            json!({
                "id": format!("a{i}"),
                "displayName": format!("API number {i}"),
                "path": format!("a{i}"),
                "serviceUrl": format!("http://{backend}/a{i}"),
                "subscriptionRequired": false,
                "policy": format!("<policies><inbound><base /><set-header name=\"x-api\" exists-action=\"override\"><value>a{i}</value></set-header></inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>"),
                "operations": (0..5).map(|o| {
                    let template = if o == 0 { "/hello".to_owned() } else { format!("/items{o}/{{id}}") };
                    json!({"id": format!("op{o}"), "method": "GET", "urlTemplate": template})
                }).collect::<Vec<_>>(),
            })
        })
        .collect();
    let subscriptions: Vec<Value> = (0..apis * 5)
        .map(|i| {
            json!({
                "id": format!("s{i}"),
                "scope": format!("/apis/a{}", i % apis),
                "displayName": format!("subscription {i}"),
                // Random like real keys, which gzip cannot shrink much.
                "primaryKey": uuid::Uuid::new_v4().simple().to_string(),
                "secondaryKey": uuid::Uuid::new_v4().simple().to_string(),
            })
        })
        .collect();
    let all: Vec<String> = (0..apis).map(|i| format!("a{i}")).collect();
    json!({
        "apis": entries,
        "subscriptions": subscriptions,
        "gateways": [
            {"id": "ga", "locationData": {"name": "all"}, "apis": all},
            {"id": "gb", "locationData": {"name": "none"}},
        ],
    })
}

/// `GET /gateway/v1/{gateway}/config?wait=0`; returns the head and the raw body bytes. Asks
/// again while the control plane is still compiling the revision that created the gateway
/// (404 until then).
fn fetch_config(cp: SocketAddr, gateway: &str, token: &str, gzip: bool) -> (String, Vec<u8>) {
    let started = Instant::now();
    loop {
        let (head, body) = fetch_once(cp, gateway, token, gzip);
        if !head.starts_with("HTTP/1.1 404") || started.elapsed() > Duration::from_secs(60) {
            assert!(head.starts_with("HTTP/1.1 200"), "{head}");
            return (head, body);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn fetch_once(cp: SocketAddr, gateway: &str, token: &str, gzip: bool) -> (String, Vec<u8>) {
    let mut s = TcpStream::connect(cp).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let accept = if gzip {
        "Accept-Encoding: gzip\r\n"
    } else {
        ""
    };
    write!(
        s,
        "GET /gateway/v1/{gateway}/config?after=0&wait=0 HTTP/1.1\r\nHost: x\r\nAuthorization: GatewayKey {token}\r\n{accept}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let split = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8(out[..split].to_vec()).unwrap();
    assert!(
        !head.to_ascii_lowercase().contains("transfer-encoding"),
        "expected a Content-Length answer: {head}"
    );
    (head, out[split + 4..].to_vec())
}

fn gzipped(head: &str) -> bool {
    head.to_ascii_lowercase().contains("content-encoding: gzip")
}

#[test]
fn gateways_get_large_configurations_gzipped_and_apply_them() {
    let dir = tempfile::tempdir().unwrap();
    let (_echo, backend) = start_echo();
    let cp = free_addr();
    let _control = start_control_plane(dir.path(), cp);
    let apis = apis();
    let started = Instant::now();
    let document = large_document(backend, apis).to_string();
    let (status, _, body) = admin(cp, "POST", "/apply", &document);
    assert_eq!(status, 200, "{body}");
    eprintln!("applied {apis} APIs in {:?}", started.elapsed());
    let token_a = token(cp, "ga");
    let token_b = token(cp, "gb");

    // Plain when not asked for; gzip when asked; the same document either way.
    fetch_config(cp, "ga", &token_a, false); // waits for the compile
    let started = Instant::now();
    let (head, plain) = fetch_config(cp, "ga", &token_a, false);
    let plain_took = started.elapsed();
    assert!(!gzipped(&head), "{head}");
    let started = Instant::now();
    let (head, packed) = fetch_config(cp, "ga", &token_a, true);
    let first_gzip_took = started.elapsed();
    assert!(gzipped(&head), "{head}");
    let started = Instant::now();
    let (_, again) = fetch_config(cp, "ga", &token_a, true);
    let cached_gzip_took = started.elapsed();
    assert_eq!(again, packed, "one gzip per view, shared");
    let mut inflated = Vec::new();
    flate2::read::GzDecoder::new(&packed[..])
        .read_to_end(&mut inflated)
        .unwrap();
    let inflated: Value = serde_json::from_slice(&inflated).unwrap();
    assert_eq!(inflated, serde_json::from_slice::<Value>(&plain).unwrap());
    assert_eq!(inflated["document"]["apis"].as_array().unwrap().len(), apis);
    assert!(
        packed.len() * 3 < plain.len(),
        "{} vs {}",
        packed.len(),
        plain.len()
    );
    eprintln!(
        "{apis} APIs x 5 operations + policy, {} subscriptions: {} bytes plain, {} bytes gzipped ({:.1}%); answered in {:.1} ms plain, {:.1} ms for the first gzip request (compresses), {:.1} ms after (debug build)",
        apis * 5,
        plain.len(),
        packed.len(),
        packed.len() as f64 * 100.0 / plain.len() as f64,
        plain_took.as_secs_f64() * 1e3,
        first_gzip_took.as_secs_f64() * 1e3,
        cached_gzip_took.as_secs_f64() * 1e3,
    );

    // A configuration too small to gain goes out plain even to a gateway that asks.
    let (head, small) = fetch_config(cp, "gb", &token_b, true);
    assert!(!gzipped(&head) && small.len() < 1024, "{head}");

    // The gateway (which always asks for gzip) applies the large configuration.
    let gw = start_gateway(&format!("http://{cp}"), &["--token", &token_a]);
    let revision = inflated["revision"].as_u64().unwrap();
    gw.wait_revision(revision, Duration::from_secs(60));
    assert_eq!(gw.get("/a0/hello"), 200);
    assert_eq!(gw.get(&format!("/a{}/hello", apis - 1)), 200);
}
