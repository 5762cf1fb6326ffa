//! Certificate rotation under load, through the product's main path: the control plane holds
//! the certificate of a gateway's hostname configuration, and `PUT /certificates/{id}`
//! replaces it K times while client threads send HTTPS requests to a `portico gateway
//! --control-plane` process, some on a new connection each (a full handshake, whose leaf is
//! recorded) and some on kept-alive connections.
//!
//! Reported: failed requests (there must be none), how long after each PUT was sent new
//! handshakes got the new leaf, handshakes that got an older leaf after a newer one had been
//! served (there must be none), and request latency overall against latency within ±50 ms
//! of a swap. Analysis of the samples is separate from collecting them, so it is unit-tested.

use crate::certs::{Ca, TlsFiles};
use crate::control_plane::ControlPlane;
use crate::free_addr;
use crate::http::{self, Conn};
use crate::portico::{self, Config, PorticoRun};
use crate::stats::Percentiles;
use anyhow::Context;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, StreamOwned};
use serde::Serialize;
use serde_json::json;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Clients opening a new connection per request; their handshakes show which leaf is served.
const NEW_CONNECTION_CLIENTS: usize = 2;
/// Clients keeping one connection open, which a rotation must not disturb.
const KEPT_ALIVE_CLIENTS: usize = 2;
/// Requests this close to a swap count as "near" it.
const NEAR: Duration = Duration::from_millis(50);
/// A rotation no handshake has seen by then fails the run.
const ROTATION_LIMIT: Duration = Duration::from_secs(10);
const PATH: &str = "/bench/1k.bin";
/// At most this many failure messages are kept for the report.
const ERRORS_KEPT: usize = 5;

/// How the rotation is run.
#[derive(Debug, Clone, Copy)]
pub struct Settings<'a> {
    pub rotations: usize,
    /// Time between the moment one rotation is seen and the next PUT, so that each swap has
    /// quiet load around it.
    pub spacing: Duration,
    pub workers: usize,
    /// Where the gateway runs (the proxy core, as in the proxy scenarios).
    pub cores: Option<&'a str>,
}

/// What a rotation run measured.
#[derive(Debug, Clone, Serialize)]
pub struct RotationResult {
    pub rotations: usize,
    pub new_connection_requests: usize,
    pub kept_alive_requests: usize,
    pub errors: usize,
    /// The first few failures, verbatim.
    pub first_errors: Vec<String>,
    /// Handshakes that got an older leaf after a newer one had been served.
    pub stale_handshakes: usize,
    /// From each PUT being sent until the start of the first handshake that got its leaf.
    pub new_leaf_after_put: Option<Percentiles>,
    pub latency: Option<Percentiles>,
    /// Requests in flight within ±50 ms of a swap (as seen by the first new handshake).
    pub latency_near_swap: Option<Percentiles>,
}

/// One request.
#[derive(Debug, Clone)]
struct Sample {
    started: Instant,
    took: Duration,
    /// The index of the leaf a new connection's handshake got; `None` on kept-alive ones.
    leaf: Option<usize>,
    error: Option<String>,
}

/// Runs the rotation against a fresh control plane and gateway under `dir`, with `backend`
/// behind the gateway's API.
pub fn measure(dir: &Path, backend: &str, s: &Settings<'_>) -> anyhow::Result<RotationResult> {
    let dir = dir.join("rotation");
    std::fs::create_dir_all(&dir)?;
    let ca = Ca::generate(&dir)?;
    let leaves: Vec<TlsFiles> = (0..=s.rotations)
        .map(|i| ca.issue(&dir, &format!("leaf-{i}")))
        .collect::<anyhow::Result<_>>()?;
    let ders: Vec<Vec<u8>> = leaves.iter().map(leaf_der).collect::<anyhow::Result<_>>()?;

    let cp = ControlPlane::start(&dir, free_addr()?)?;
    put_certificate(&cp, &leaves[0])?;
    cp.put_open_api("bench", backend)?;
    let token = cp.put_gateway("edge", &["bench"])?;
    cp.put(
        "/gateways/edge/hostnameConfigurations/localhost",
        json!({"hostname": "localhost", "certificateId": "tls"}),
    )?;
    let tls = free_addr()?;
    let url = cp.url();
    let _gateway = portico::start(
        &dir,
        &PorticoRun {
            config: Config::ControlPlane {
                url: &url,
                token: &token,
            },
            listen: free_addr()?,
            ops: free_addr()?,
            workers: s.workers,
            access_log: false,
            cores: s.cores,
            tls: Some((tls, None)),
        },
    )?;
    let client = Client::new(&ca, ders)?;
    client
        .wait_for_leaf(tls, 0)
        .context("the gateway never served the first certificate")?;

    let running = AtomicBool::new(true);
    let newest = AtomicUsize::new(0);
    let (samples, puts) = std::thread::scope(|scope| {
        let new_connections: Vec<_> = (0..NEW_CONNECTION_CLIENTS)
            .map(|_| scope.spawn(|| client.new_connections(tls, &running, &newest)))
            .collect();
        let kept_alive: Vec<_> = (0..KEPT_ALIVE_CLIENTS)
            .map(|_| scope.spawn(|| client.kept_alive(tls, &running)))
            .collect();
        let puts = rotate(&cp, &leaves, &newest, s.spacing);
        // Stop the load whether the rotations went through or not.
        running.store(false, Ordering::Relaxed);
        let mut samples = Vec::new();
        for handle in new_connections.into_iter().chain(kept_alive) {
            samples.extend(
                handle
                    .join()
                    .map_err(|_| anyhow::anyhow!("a client panicked"))?,
            );
        }
        anyhow::Ok((samples, puts?))
    })?;
    Ok(analyse(&samples, &puts))
}

/// Puts leaves 1..=K in turn, each once the previous one has been seen by a handshake;
/// returns when each PUT was sent.
fn rotate(
    cp: &ControlPlane,
    leaves: &[TlsFiles],
    newest: &AtomicUsize,
    spacing: Duration,
) -> anyhow::Result<Vec<Instant>> {
    let mut puts = Vec::new();
    std::thread::sleep(spacing);
    for (i, leaf) in leaves.iter().enumerate().skip(1) {
        let sent = Instant::now();
        put_certificate(cp, leaf).with_context(|| format!("rotation {i}"))?;
        puts.push(sent);
        while newest.load(Ordering::Relaxed) < i {
            anyhow::ensure!(
                sent.elapsed() < ROTATION_LIMIT,
                "no handshake got certificate {i} within {ROTATION_LIMIT:?} of its PUT"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(spacing);
    }
    Ok(puts)
}

fn put_certificate(cp: &ControlPlane, leaf: &TlsFiles) -> anyhow::Result<()> {
    cp.put(
        "/certificates/tls",
        json!({"pem": leaf.cert_pem()?, "key": leaf.key_pem()?}),
    )
}

fn leaf_der(leaf: &TlsFiles) -> anyhow::Result<Vec<u8>> {
    let der = CertificateDer::from_pem_file(&leaf.cert)
        .with_context(|| format!("reading {}", leaf.cert.display()))?;
    Ok(der.as_ref().to_vec())
}

/// The HTTPS client: trusts only the bench CA, verifies every chain and never resumes a
/// session (a resumed TLS 1.3 session carries no certificate, so it would not show a swap).
#[derive(Debug)]
struct Client {
    config: Arc<ClientConfig>,
    /// The DER of each leaf, by rotation number.
    leaves: Vec<Vec<u8>>,
}

impl Client {
    fn new(ca: &Ca, leaves: Vec<Vec<u8>>) -> anyhow::Result<Self> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(CertificateDer::from(leaf_der(&ca.files)?))?;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.resumption = rustls::client::Resumption::disabled();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            config: Arc::new(config),
            leaves,
        })
    }

    fn connect(
        &self,
        addr: SocketAddr,
    ) -> anyhow::Result<Conn<StreamOwned<ClientConnection, TcpStream>>> {
        let name = ServerName::try_from("localhost")?;
        let tls = ClientConnection::new(self.config.clone(), name)?;
        Ok(Conn::new(StreamOwned::new(tls, http::tcp(addr)?)))
    }

    /// One request on a new connection; returns the index of the leaf its handshake got.
    fn new_connection_request(&self, addr: SocketAddr) -> anyhow::Result<usize> {
        let mut conn = self.connect(addr)?;
        get(&mut conn, &[("Connection", "close")])?;
        let leaf = conn
            .stream()
            .conn
            .peer_certificates()
            .and_then(|chain| chain.first())
            .context("the handshake showed no certificate")?;
        self.leaves
            .iter()
            .position(|l| l.as_slice() == leaf.as_ref())
            .context("the gateway served a certificate the bench did not make")
    }

    /// Waits until a new connection gets leaf `index`.
    fn wait_for_leaf(&self, addr: SocketAddr, index: usize) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            let last = self.new_connection_request(addr);
            if last.as_ref().is_ok_and(|l| *l == index) {
                return Ok(());
            }
            if started.elapsed() > Duration::from_secs(30) {
                return last.map(drop).context("waited 30 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// New-connection requests until `running` clears; publishes the newest leaf seen.
    fn new_connections(
        &self,
        addr: SocketAddr,
        running: &AtomicBool,
        newest: &AtomicUsize,
    ) -> Vec<Sample> {
        let mut samples = Vec::new();
        while running.load(Ordering::Relaxed) {
            let started = Instant::now();
            let result = self.new_connection_request(addr);
            if let Ok(leaf) = result {
                newest.fetch_max(leaf, Ordering::Relaxed);
            }
            samples.push(Sample {
                started,
                took: started.elapsed(),
                leaf: result.as_ref().ok().copied(),
                error: result.err().map(|e| format!("new connection: {e:#}")),
            });
        }
        samples
    }

    /// Requests on one kept-alive connection until `running` clears (a new connection after
    /// a failure, which is counted).
    fn kept_alive(&self, addr: SocketAddr, running: &AtomicBool) -> Vec<Sample> {
        let mut samples = Vec::new();
        let mut conn = None;
        while running.load(Ordering::Relaxed) {
            let started = Instant::now();
            let result = match &mut conn {
                Some(c) => get(c, &[]),
                None => self.connect(addr).and_then(|c| get(conn.insert(c), &[])),
            };
            if result.is_err() {
                conn = None;
            }
            samples.push(Sample {
                started,
                took: started.elapsed(),
                leaf: None,
                error: result.err().map(|e| format!("kept-alive: {e:#}")),
            });
        }
        samples
    }
}

/// `GET PATH`, which must answer 200 with the backend's 1 KiB.
fn get(
    conn: &mut Conn<StreamOwned<ClientConnection, TcpStream>>,
    headers: &[(&str, &str)],
) -> anyhow::Result<()> {
    let r = conn.request("GET", PATH, headers, b"")?;
    anyhow::ensure!(
        r.status == 200 && r.body.len() == 1024,
        "{} with {} bytes: {}",
        r.status,
        r.body.len(),
        String::from_utf8_lossy(&r.body[..r.body.len().min(200)])
    );
    Ok(())
}

/// The figures, from the samples and the times the PUTs were sent (PUT `i` installs leaf
/// `i + 1`).
fn analyse(samples: &[Sample], puts: &[Instant]) -> RotationResult {
    let mut handshakes: Vec<(Instant, usize)> = samples
        .iter()
        .filter_map(|s| Some((s.started, s.leaf?)))
        .collect();
    handshakes.sort_by_key(|(started, _)| *started);
    // Each swap is placed where new handshakes first got the new leaf (or a later one).
    let swaps: Vec<Option<Instant>> = (1..=puts.len())
        .map(|leaf| handshakes.iter().find(|(_, l)| *l >= leaf).map(|(t, _)| *t))
        .collect();
    let new_leaf_after_put: Vec<Duration> = puts
        .iter()
        .zip(&swaps)
        .filter_map(|(put, swap)| Some(swap.as_ref()?.saturating_duration_since(*put)))
        .collect();
    let stale_handshakes = stale(samples);
    let near_swap = |s: &&Sample| {
        swaps
            .iter()
            .flatten()
            .any(|swap| s.started <= *swap + NEAR && s.started + s.took + NEAR >= *swap)
    };
    let took = |s: &Sample| s.took;
    let errors: Vec<&String> = samples.iter().filter_map(|s| s.error.as_ref()).collect();
    let new_connection_requests = samples
        .iter()
        .filter(|s| s.leaf.is_some() || s.error.as_ref().is_some_and(|e| e.starts_with("new")))
        .count();
    RotationResult {
        rotations: puts.len(),
        new_connection_requests,
        kept_alive_requests: samples.len() - new_connection_requests,
        errors: errors.len(),
        first_errors: errors
            .iter()
            .take(ERRORS_KEPT)
            .map(|e| e.to_string())
            .collect(),
        stale_handshakes,
        new_leaf_after_put: Percentiles::of(&new_leaf_after_put),
        latency: Percentiles::of(&samples.iter().map(took).collect::<Vec<_>>()),
        latency_near_swap: Percentiles::of(
            &samples
                .iter()
                .filter(near_swap)
                .map(took)
                .collect::<Vec<_>>(),
        ),
    }
}

/// Handshakes that got an older leaf than one a handshake finished before they started had
/// got. Judged against finished handshakes only: two handshakes in flight at once may reach
/// the server in either order, but one that starts after another finished cannot overtake it.
fn stale(samples: &[Sample]) -> usize {
    let mut started: Vec<(Instant, usize)> = Vec::new();
    let mut finished: Vec<(Instant, usize)> = Vec::new();
    for s in samples {
        if let Some(leaf) = s.leaf {
            started.push((s.started, leaf));
            finished.push((s.started + s.took, leaf));
        }
    }
    started.sort_unstable();
    finished.sort_unstable();
    let (mut done, mut newest_done) = (finished.iter().peekable(), 0);
    started
        .iter()
        .filter(|(at, leaf)| {
            while let Some((_, l)) = done.next_if(|(end, _)| end < at) {
                newest_done = newest_done.max(*l);
            }
            *leaf < newest_done
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(base: Instant, ms: u64) -> Instant {
        base + Duration::from_millis(ms)
    }

    fn sample(base: Instant, start_ms: u64, took_ms: u64, leaf: Option<usize>) -> Sample {
        Sample {
            started: at(base, start_ms),
            took: Duration::from_millis(took_ms),
            leaf,
            error: None,
        }
    }

    #[test]
    fn places_each_swap_at_the_first_handshake_that_got_its_leaf() {
        let t = Instant::now();
        let samples = vec![
            sample(t, 0, 1, Some(0)),
            sample(t, 105, 1, Some(0)),
            sample(t, 110, 1, Some(1)), // PUT 1 at 100 ms: seen 10 ms later
            sample(t, 112, 1, Some(1)),
            sample(t, 300, 1, None), // kept-alive, far from any swap
            sample(t, 400, 2, Some(1)),
            sample(t, 403, 1, Some(2)), // PUT 2 at 400 ms: seen 3 ms later
            sample(t, 403, 2, Some(1)), // in flight with the one above: may go either way
            sample(t, 406, 1, Some(1)), // started after leaf 2 was served: stale
        ];
        let r = analyse(&samples, &[at(t, 100), at(t, 400)]);
        assert_eq!(r.rotations, 2);
        let seen = r.new_leaf_after_put.unwrap();
        assert_eq!((seen.count, seen.p50_ms, seen.max_ms), (2, 3.0, 10.0));
        assert_eq!(r.stale_handshakes, 1);
        assert_eq!((r.new_connection_requests, r.kept_alive_requests), (8, 1));
        // Everything but the first request and the kept-alive one is within 50 ms of a swap.
        assert_eq!(r.latency_near_swap.unwrap().count, 7);
        assert_eq!(r.latency.unwrap().count, 9);
        assert_eq!(r.errors, 0);
    }

    #[test]
    fn counts_failures_and_keeps_the_first_messages() {
        let t = Instant::now();
        let mut samples: Vec<Sample> = (0..8)
            .map(|i| Sample {
                error: Some(format!("new connection: refused {i}")),
                ..sample(t, i, 1, None)
            })
            .collect();
        samples.push(sample(t, 20, 1, None));
        let r = analyse(&samples, &[]);
        assert_eq!((r.errors, r.first_errors.len()), (8, ERRORS_KEPT));
        assert_eq!(r.first_errors[0], "new connection: refused 0");
        assert_eq!((r.new_connection_requests, r.kept_alive_requests), (8, 1));
        assert!(r.new_leaf_after_put.is_none() && r.latency_near_swap.is_none());
    }
}
