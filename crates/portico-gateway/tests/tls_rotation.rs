//! Certificate rotation under load: HTTPS requests on new connections (a handshake each) and
//! on kept-alive connections run while the served certificate is replaced 20 times. No
//! request may fail, and every handshake that starts after a swap must get the new
//! certificate. Prints the request latency around the swaps.

mod common;

use common::tls::{snapshot_of, Ca, Client, Http1};
use common::{start_backend, TestGateway};
use portico_gateway::ListenerLimits;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ROTATIONS: usize = 20;
const NEW_CONNECTION_CLIENTS: usize = 3;
const KEPT_ALIVE_CLIENTS: usize = 3;
const HOST: &str = "api.example.com";

/// One request: when it started, how long it took, which certificate its handshake saw
/// (new-connection requests only), and whether it failed.
struct Sample {
    started: Instant,
    took: Duration,
    thumbprint: Option<String>,
    error: Option<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_the_certificate_20_times_under_load_fails_no_request() {
    let backend = start_backend().await;
    let ca = Ca::new("Rotation Root");
    let certificates: Vec<_> = (0..=ROTATIONS).map(|_| ca.issue(&[HOST])).collect();
    let doc = |i: usize| {
        json!({
            "apis": [{"id": "echo", "path": "echo", "serviceUrl": format!("http://{backend}"),
                      "subscriptionRequired": false,
                      "operations": [{"id": "get", "method": "GET", "urlTemplate": "/*"}]}],
            "certificates": [certificates[i].entry("tls")],
            "gateways": [{"id": "edge", "locationData": {"name": "test"},
                          "hostnameConfigurations": [{"id": "api", "hostname": HOST, "certificateId": "tls"}]}],
        })
    };
    let gw = TestGateway::unconfigured(common::options(), ListenerLimits::default()).await;
    gw.gateway.apply(&snapshot_of(&doc(0), 1)).unwrap();
    let client = Client::new(&[ca.der()], &[b"http/1.1"], None);
    let samples = Arc::new(Mutex::new(Vec::<Sample>::new()));
    let running = Arc::new(AtomicBool::new(true));
    let addr = gw.tls;

    let mut load = Vec::new();
    for _ in 0..NEW_CONNECTION_CLIENTS {
        let (client, samples, running) = (client.clone(), samples.clone(), running.clone());
        load.push(tokio::spawn(async move {
            while running.load(Ordering::Relaxed) {
                let started = Instant::now();
                let (thumbprint, result) = match client.connect(addr, HOST).await {
                    Ok(hs) => {
                        let thumbprint = hs.thumbprint.clone();
                        let mut http = Http1::over(hs).await;
                        (Some(thumbprint), http.get(HOST, "/echo/new").await)
                    }
                    Err(e) => (None, Err(e.to_string())),
                };
                samples.lock().unwrap().push(Sample {
                    started,
                    took: started.elapsed(),
                    thumbprint,
                    error: failure(result),
                });
            }
        }));
    }
    for _ in 0..KEPT_ALIVE_CLIENTS {
        let (client, samples, running) = (client.clone(), samples.clone(), running.clone());
        load.push(tokio::spawn(async move {
            let mut http = Http1::over(client.connect(addr, HOST).await.unwrap()).await;
            while running.load(Ordering::Relaxed) {
                let started = Instant::now();
                let result = http.get(HOST, "/echo/kept").await;
                samples.lock().unwrap().push(Sample {
                    started,
                    took: started.elapsed(),
                    thumbprint: None,
                    error: failure(result),
                });
            }
        }));
    }

    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut swaps = Vec::new();
    for i in 1..=ROTATIONS {
        let snapshot = snapshot_of(&doc(i), 1 + i as u64);
        let before = Instant::now();
        gw.gateway.apply(&snapshot).unwrap();
        swaps.push((before, Instant::now()));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    running.store(false, Ordering::Relaxed);
    for task in load {
        task.await.unwrap();
    }

    let samples = samples.lock().unwrap();
    let failures: Vec<_> = samples.iter().filter_map(|s| s.error.as_ref()).collect();
    assert!(
        failures.is_empty(),
        "{} failed requests: {failures:?}",
        failures.len()
    );
    // Every handshake that started after swap i was done saw certificate i or a newer one
    // (a later swap may land while it is under way), never an older one.
    let mut checked = 0;
    for s in samples.iter() {
        let Some(thumbprint) = &s.thumbprint else {
            continue;
        };
        let seen = certificates
            .iter()
            .position(|c| &c.thumbprint == thumbprint)
            .expect("a certificate of the test");
        let done_before = swaps.iter().filter(|(_, done)| *done <= s.started).count();
        assert!(
            seen >= done_before,
            "a handshake started after swap {done_before} saw the older certificate {seen}"
        );
        checked += usize::from(done_before > 0);
    }
    let kept = samples.iter().filter(|s| s.thumbprint.is_none()).count();
    assert!(
        checked >= ROTATIONS,
        "too few handshakes to judge: {checked}"
    );
    assert!(kept > ROTATIONS, "too few kept-alive requests: {kept}");
    report(&samples, &swaps, checked, kept);
}

fn failure(result: Result<(u16, bytes::Bytes), String>) -> Option<String> {
    match result {
        Ok((200, _)) => None,
        Ok((status, body)) => Some(format!("{status}: {}", String::from_utf8_lossy(&body))),
        Err(e) => Some(e),
    }
}

/// Prints latency percentiles of all requests and of those within 10 ms of a swap.
fn report(samples: &[Sample], swaps: &[(Instant, Instant)], handshakes: usize, kept: usize) {
    let near = |s: &Sample| {
        swaps.iter().any(|(_, at)| {
            let end = s.started + s.took;
            end + Duration::from_millis(10) >= *at && s.started <= *at + Duration::from_millis(10)
        })
    };
    let percentiles = |mut v: Vec<Duration>| {
        v.sort();
        let at = |p: f64| v.get(((v.len() as f64 * p) as usize).min(v.len().saturating_sub(1)));
        format!(
            "n={} p50={:?} p99={:?} max={:?}",
            v.len(),
            at(0.5).copied().unwrap_or_default(),
            at(0.99).copied().unwrap_or_default(),
            v.last().copied().unwrap_or_default()
        )
    };
    println!(
        "rotation: {ROTATIONS} swaps, 0 failures; {handshakes} new-connection requests checked for the new certificate, {kept} kept-alive requests"
    );
    println!(
        "  all requests:        {}",
        percentiles(samples.iter().map(|s| s.took).collect())
    );
    println!(
        "  within 10 ms of swap: {}",
        percentiles(samples.iter().filter(|s| near(s)).map(|s| s.took).collect())
    );
}
