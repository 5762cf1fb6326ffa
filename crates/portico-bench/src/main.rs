//! `portico-bench`: Portico against nginx and the bare backend, side by side, on one machine
//! and in one run. See the README's Performance section for how to read the results.
//!
//! Layout of a run: nginx serves static files as the backend (pinned with the load generator
//! to the last core); nginx as a reverse proxy and Portico with the same number of workers
//! (pinned to the first core) take turns under wrk, round after round (direct, nginx,
//! Portico, direct, …) so drift in the machine's speed hits all three alike.
//!
//! After the proxy scenarios come the hybrid ones, which drive a control plane: how fast a
//! change reaches 1, 10 and 20 gateways, and certificate rotation under HTTPS load.

mod certs;
mod control_plane;
mod http;
mod load;
mod machine;
mod nginx;
mod portico;
mod process;
mod propagation;
mod report;
mod rotation;
mod scale;
mod scenarios;
mod stats;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use load::Load;
use process::{cpu_micros, memory_kib, Proc};
use report::{Measurement, Report, ScaleServing, ScenarioResult, Summary};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// Every scenario at full length; results go to bench/results/.
    All,
    /// A second per scenario, one round, small scale: proves the harness works (CI).
    Smoke,
}

#[derive(Debug, Parser)]
#[command(about = "Benchmark Portico against nginx and the bare backend")]
struct Args {
    #[arg(value_enum)]
    mode: Mode,
    /// Length of each measured wrk run.
    #[arg(long, value_parser = humantime::parse_duration)]
    duration: Option<Duration>,
    /// Rounds per scenario (each round measures every target once).
    #[arg(long)]
    rounds: Option<usize>,
    /// Concurrent connections wrk keeps open.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// nginx worker processes and Portico worker threads.
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Only run scenarios whose name contains this.
    #[arg(long)]
    only: Option<String>,
    /// Where results are written; smoke runs write nowhere unless given.
    #[arg(long)]
    out: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let smoke = args.mode == Mode::Smoke;
    let duration = args
        .duration
        .unwrap_or(Duration::from_secs(if smoke { 1 } else { 10 }));
    let rounds = args.rounds.unwrap_or(if smoke { 1 } else { 3 });
    for (program, package) in [
        ("nginx", "nginx-light"),
        ("wrk", "wrk"),
        ("taskset", "util-linux"),
    ] {
        process::require(program, package)?;
    }
    portico::binary()?;

    let machine = machine::Machine::probe();
    let (proxy_cores, load_cores) = if machine.cores >= 2 {
        (Some("0".to_owned()), Some((machine.cores - 1).to_string()))
    } else {
        (None, None)
    };
    let scratch = tempfile::tempdir()?;
    let ctx = Ctx {
        tls: certs::TlsFiles::generate(scratch.path())?,
        dir: scratch.path().to_owned(),
        proxy_cores: proxy_cores.as_deref(),
        load_cores: load_cores.as_deref(),
        duration,
        connections: args.connections,
        workers: args.workers,
    };

    let backend_addrs = nginx::BackendAddrs {
        http: free_addr()?,
        h2: free_addr()?,
        https: free_addr()?,
    };
    let _backend = nginx::start_backend(&ctx.dir, backend_addrs, &ctx.tls, ctx.load_cores)?;
    let backend = backend_addrs.http.to_string();

    let wanted = |name: &str| args.only.as_deref().is_none_or(|o| name.contains(o));
    let mut results = Vec::new();
    for scenario in scenarios::all(&backend) {
        if !wanted(scenario.name) {
            continue;
        }
        eprintln!(
            "scenario {} ({rounds} rounds of {duration:?})",
            scenario.name
        );
        results.push(run_scenario(&ctx, &scenario, backend_addrs, rounds)?);
    }

    let (apis, subs) = if smoke {
        (1_000, 10_000)
    } else {
        (10_000, 100_000)
    };
    let run_scale = wanted("scale");
    let apply = run_scale
        .then(|| scale::measure_apply(apis, subs))
        .transpose()?;
    let scale_serving = run_scale
        .then(|| serve_at_scale(&ctx, &backend, apis, subs))
        .transpose()?;

    let (fleets, changes): (&[usize], usize) = if smoke {
        (&[1, 2], 5)
    } else {
        (&[1, 10, 20], 100)
    };
    let propagation = if wanted("propagation") {
        eprintln!("propagation to {fleets:?} gateways, {changes} changes each");
        propagation::measure(&ctx.dir, &backend, fleets, changes)?
    } else {
        Vec::new()
    };
    let rotation = wanted("rotation")
        .then(|| {
            let settings = rotation::Settings {
                rotations: if smoke { 2 } else { 20 },
                spacing: Duration::from_millis(if smoke { 200 } else { 500 }),
                workers: ctx.workers,
                cores: ctx.proxy_cores,
            };
            eprintln!(
                "certificate rotation under load, {} rotations",
                settings.rotations
            );
            rotation::measure(&ctx.dir, &backend, &settings)
        })
        .transpose()?;

    let report = Report {
        date: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        mode: if smoke { "smoke" } else { "full" },
        machine,
        settings: format!(
            "{} worker(s) each, wrk 1 thread {} connections, {rounds} round(s) of {duration:?}, proxies pinned to core {}, backend and wrk to core {}",
            args.workers,
            args.connections,
            ctx.proxy_cores.unwrap_or("any"),
            ctx.load_cores.unwrap_or("any"),
        ),
        scenarios: results,
        apply,
        scale_serving,
        propagation,
        rotation,
    };
    println!("{}", report.markdown());
    let out = args
        .out
        .or_else(|| (!smoke).then(|| PathBuf::from("bench/results")));
    if let Some(dir) = out {
        report
            .write(&dir)
            .with_context(|| format!("writing results to {}", dir.display()))?;
        eprintln!("results written to {}", dir.display());
    }
    // Written down first, so the failures can be read in the report.
    if let Some(r) = &report.rotation {
        anyhow::ensure!(
            r.errors == 0 && r.stale_handshakes == 0,
            "certificate rotation under load failed {} request(s) and served {} stale handshake(s): {:?}",
            r.errors,
            r.stale_handshakes,
            r.first_errors
        );
    }
    Ok(())
}

/// What every measurement in a run shares.
struct Ctx<'a> {
    dir: PathBuf,
    /// The certificate every HTTPS listener serves.
    tls: certs::TlsFiles,
    proxy_cores: Option<&'a str>,
    load_cores: Option<&'a str>,
    duration: Duration,
    connections: usize,
    workers: usize,
}

/// The direct target is the backend's listener for the scenario's protocol (HTTP/1.1,
/// HTTP/2 with prior knowledge, or HTTPS); the proxies always reach the backend over plain
/// HTTP/1.1.
fn run_scenario(
    ctx: &Ctx<'_>,
    s: &scenarios::Scenario,
    backend: nginx::BackendAddrs,
    rounds: usize,
) -> anyhow::Result<ScenarioResult> {
    let dir = ctx.dir.join(s.name);
    std::fs::create_dir_all(&dir)?;
    let nginx_addr = free_addr()?;
    let nginx = nginx::start_proxy(
        &dir,
        &nginx::ProxySettings {
            addr: nginx_addr,
            backend: backend.http,
            workers: ctx.workers,
            access_log: s.access_log,
            http2: s.http2,
            tls: s.tls.then(|| ctx.tls.clone()),
        },
        ctx.proxy_cores,
    )?;
    let (portico_http, portico_https) = (free_addr()?, free_addr()?);
    let portico = portico::start(
        &dir,
        &portico::PorticoRun {
            config: portico::Config::Document(&s.document),
            listen: portico_http,
            ops: free_addr()?,
            workers: ctx.workers,
            access_log: s.access_log,
            cores: ctx.proxy_cores,
            tls: s.tls.then_some((portico_https, Some(&ctx.tls))),
        },
    )?;
    if let Some((name, value)) = s.check {
        check_header(portico_http, s, name, value)?;
    }
    let (direct, portico_addr) = match (s.tls, s.http2) {
        (true, _) => (backend.https, portico_https),
        (false, true) => (backend.h2, portico_http),
        (false, false) => (backend.http, portico_http),
    };
    let targets: [(&'static str, SocketAddr, Vec<u32>); 3] = [
        ("direct", direct, vec![]),
        ("nginx", nginx_addr, nginx.workers()),
        ("portico", portico_addr, vec![portico.pid()]),
    ];
    // Warm up connections and caches, unmeasured.
    for (_, addr, _) in &targets {
        measure(ctx, s, *addr, &[], Duration::from_secs(1))?;
    }
    let mut measured: Vec<Vec<Measurement>> = vec![Vec::new(); targets.len()];
    for _ in 0..rounds {
        for (i, (_, addr, pids)) in targets.iter().enumerate() {
            measured[i].push(measure(ctx, s, *addr, pids, ctx.duration)?);
        }
    }
    drop((nginx, portico));
    let summaries = targets
        .iter()
        .zip(&measured)
        .map(|((name, _, _), m)| Summary::of(name, m))
        .collect();
    Ok(ScenarioResult::new(s.name, s.description, summaries))
}

/// Sends the scenario's request once over plain HTTP/1.1 and checks that the answer carries
/// header `name` with `value`.
fn check_header(
    addr: SocketAddr,
    s: &scenarios::Scenario,
    name: &str,
    value: &str,
) -> anyhow::Result<()> {
    let headers: Vec<(&str, &str)> = s
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let answer = http::connect(addr)?.request("GET", s.path, &headers, b"")?;
    anyhow::ensure!(
        answer.status == 200 && answer.header(name) == Some(value),
        "scenario {}: Portico answered {} with {name}: {:?}, expected {value:?}",
        s.name,
        answer.status,
        answer.header(name)
    );
    Ok(())
}

/// One wrk run against `addr`, charging CPU time to `pids`.
fn measure(
    ctx: &Ctx<'_>,
    s: &scenarios::Scenario,
    addr: SocketAddr,
    pids: &[u32],
    duration: Duration,
) -> anyhow::Result<Measurement> {
    let cpu = |pids: &[u32]| {
        pids.iter()
            .map(|p| cpu_micros(*p).unwrap_or(0))
            .sum::<u64>()
    };
    let before = cpu(pids);
    let load = load::run(
        &Load {
            url: format!(
                "{}://{addr}{}",
                if s.tls { "https" } else { "http" },
                s.path
            ),
            headers: &s.headers,
            connections: ctx.connections,
            duration,
            cores: ctx.load_cores,
            http2: s.http2,
        },
        &ctx.dir,
    )?;
    let used = cpu(pids).saturating_sub(before);
    let peak = pids.iter().map(|p| memory_kib(*p).0).max();
    Ok(Measurement {
        cpu_us_per_request: (!pids.is_empty()).then(|| used as f64 / load.requests.max(1) as f64),
        peak_rss_mib: peak.map(|k| k as f64 / 1024.0),
        load,
    })
}

/// Serves the large document and the one-API document in turn: memory and keyed latency.
fn serve_at_scale(
    ctx: &Ctx<'_>,
    backend: &str,
    apis: usize,
    subs: usize,
) -> anyhow::Result<ScaleServing> {
    let key_request = scenarios::Scenario {
        name: "scale",
        description: "",
        path: "/1k.bin",
        headers: vec![(
            "Ocp-Apim-Subscription-Key".to_owned(),
            scenarios::KEY.to_owned(),
        )],
        document: String::new(),
        access_log: false,
        http2: false,
        tls: false,
        check: None,
    };
    let serve = |document: String| -> anyhow::Result<(f64, Measurement)> {
        let dir = ctx.dir.join(format!("scale-{}", document.len()));
        std::fs::create_dir_all(&dir)?;
        let addr = free_addr()?;
        let proc: Proc = portico::start(
            &dir,
            &portico::PorticoRun {
                config: portico::Config::Document(&document),
                listen: addr,
                ops: free_addr()?,
                workers: ctx.workers,
                access_log: false,
                cores: ctx.proxy_cores,
                tls: None,
            },
        )?;
        // Give the allocator a moment to return what parsing the document freed.
        std::thread::sleep(Duration::from_secs(2));
        let idle = memory_kib(proc.pid()).1 as f64 / 1024.0;
        measure(ctx, &key_request, addr, &[], Duration::from_secs(1))?;
        let m = measure(ctx, &key_request, addr, &[proc.pid()], ctx.duration)?;
        Ok((idle, m))
    };
    let (idle, big) = serve(scenarios::keyed_document(backend, apis, subs))?;
    let (small_idle, small) = serve(scenarios::keyed_document(backend, 1, 1))?;
    anyhow::ensure!(
        big.load.non_2xx == 0 && small.load.non_2xx == 0,
        "keyed requests failed at scale"
    );
    Ok(ScaleServing {
        idle_rss_mib: idle,
        small_config_idle_rss_mib: small_idle,
        p50_ms: ms(big.load.p50_us),
        p99_ms: ms(big.load.p99_us),
        small_config_p50_ms: ms(small.load.p50_us),
        small_config_p99_ms: ms(small.load.p99_us),
    })
}

fn ms(us: Option<u64>) -> f64 {
    us.map_or(f64::NAN, |us| us as f64 / 1e3)
}

/// A free port on 127.0.0.1.
fn free_addr() -> anyhow::Result<SocketAddr> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}
