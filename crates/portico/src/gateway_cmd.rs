//! `portico gateway --config FILE`: a standalone gateway fed by a watched file. Refuses to
//! start on an invalid file (listing every error), then keeps serving the last good file.
//!
//! The pieces every gateway-running command shares (runtime, listeners, signals, the final
//! access-log flush) live here too, so `portico up` uses the same ones.

use crate::cli::{GatewayArgs, RedisArgs, RedisFailureMode, ServeArgs, Switch};
use anyhow::Context;
use portico_gateway::config_file::FileSource;
use portico_gateway::net::TrustedProxies;
use portico_gateway::policy::identity::IdentityEndpoint;
use portico_gateway::redis::{FailureMode, RedisOptions};
use portico_gateway::tls::local_files::CertificateFiles;
use portico_gateway::{
    serve_http, serve_https, serve_ops, Gateway, GatewayOptions, ListenerLimits, ShutdownSignal,
    MIN_HEADER_BYTES,
};
use std::future::Future;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::task::JoinHandle;

pub fn run(args: GatewayArgs) -> anyhow::Result<()> {
    if args.config.is_none() {
        return run_gateway(args.serve.workers, crate::remote_cmd::serve(args));
    }
    run_gateway(args.serve.workers, serve(args))
}

/// Runs `serve` on a runtime with `workers` threads, then flushes the gateway's access log
/// once the runtime (and every connection cut at the drain deadline) is gone.
pub fn run_gateway(
    workers: Option<usize>,
    serve: impl Future<Output = anyhow::Result<Gateway>>,
) -> anyhow::Result<()> {
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = workers {
        anyhow::ensure!(n > 0, "--workers must be at least 1");
        runtime.worker_threads(n);
    }
    let runtime = runtime
        .enable_all()
        .thread_name("portico-worker")
        .build()
        .context("starting the async runtime")?;
    let gateway = runtime.block_on(serve)?;
    // Dropping the runtime ends connections still open past the drain deadline; their
    // access-log lines (status 499) are queued then, so flush only afterwards.
    drop(runtime);
    gateway.flush_access_log(Duration::from_secs(5));
    tracing::info!("stopped");
    Ok(())
}

async fn serve(args: GatewayArgs) -> anyhow::Result<Gateway> {
    let mut signals = Signals::install()?;
    let gateway = new_gateway(&args.serve)?;
    let config = args
        .config
        .context("--config or --control-plane is required")?;
    let source = FileSource::start(&config, gateway.clone())?;
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let served = start_listeners(&args.serve, &gateway, shutdown.clone()).await?;
    tracing::info!(config = %config.display(), revision = gateway.revision().unwrap_or(0), "serving the configuration file");
    tokio::spawn(source.run(shutdown));
    signals.wait().await;
    let _ = stop.send(true);
    served.await.context("the listener task failed")?;
    Ok(gateway)
}

/// A gateway with the command line's settings.
pub fn new_gateway(args: &ServeArgs) -> anyhow::Result<Gateway> {
    anyhow::ensure!(
        args.max_header_bytes >= MIN_HEADER_BYTES,
        "--max-header-bytes must be at least {MIN_HEADER_BYTES}"
    );
    Ok(Gateway::new(GatewayOptions {
        backend_timeout: args.backend_timeout,
        backend_connect_timeout: args.backend_connect_timeout,
        trusted_proxies: TrustedProxies::new(args.trusted_proxies.clone()),
        access_log: args.access_log == Switch::On,
        managed_identity: IdentityEndpoint::from_env(),
        redis: redis_options(&args.redis)?,
    }))
}

/// `--redis` and its settings.
fn redis_options(args: &RedisArgs) -> anyhow::Result<Option<RedisOptions>> {
    let Some(url) = &args.url else {
        return Ok(None);
    };
    let mut options =
        RedisOptions::new(url).map_err(|e| anyhow::anyhow!("--redis / PORTICO_REDIS: {e}"))?;
    anyhow::ensure!(
        !args.timeout.is_zero(),
        "--redis-timeout must be more than 0"
    );
    options.timeout = args.timeout;
    options.key_prefix = args.key_prefix.clone();
    options.failure_mode = match args.failure_mode {
        RedisFailureMode::FailOpen => FailureMode::FailOpen,
        RedisFailureMode::FailClosed => FailureMode::FailClosed,
    };
    tracing::info!(redis = %options.target(), failure_mode = options.failure_mode.as_str(), "rate limits, quotas and the external cache are shared through Redis");
    Ok(Some(options))
}

/// Binds the client and ops listeners and serves them; the returned task ends once the
/// client listener has drained after `shutdown`.
pub async fn start_listeners(
    args: &ServeArgs,
    gateway: &Gateway,
    shutdown: ShutdownSignal,
) -> anyhow::Result<JoinHandle<()>> {
    let http = TcpListener::bind(args.listen).await.with_context(|| {
        format!(
            "cannot listen on {} (--listen / PORTICO_LISTEN)",
            args.listen
        )
    })?;
    let ops = TcpListener::bind(args.ops_listen).await.with_context(|| {
        format!(
            "cannot listen on {} (--ops-listen / PORTICO_OPS_LISTEN)",
            args.ops_listen
        )
    })?;
    let https = match args.tls_listen.0 {
        None => None,
        Some(address) => Some(TcpListener::bind(address).await.with_context(|| {
            format!(
                "cannot listen on {address} (--tls-listen / PORTICO_TLS_LISTEN; `off` disables it)"
            )
        })?),
    };
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        let files = CertificateFiles::start(cert.clone(), key.clone(), gateway.clone())
            .map_err(|e| anyhow::anyhow!("{e} (--tls-cert / --tls-key)"))?;
        tokio::spawn(files.run(shutdown.clone()));
    }
    let tls_address = https.as_ref().map(TcpListener::local_addr).transpose()?;
    tracing::info!(listen = %http.local_addr()?, tls_listen = ?tls_address, ops = %ops.local_addr()?, "portico gateway started");
    let limits = ListenerLimits {
        max_connections: args.max_connections,
        max_header_bytes: args.max_header_bytes,
        header_timeout: args.header_timeout,
        shutdown_timeout: args.shutdown_timeout,
    };
    tokio::spawn(serve_ops(ops, gateway.clone()));
    let https = https.map(|listener| {
        tokio::spawn(serve_https(
            listener,
            gateway.clone(),
            limits.clone(),
            shutdown.clone(),
        ))
    });
    let http = tokio::spawn(serve_http(http, gateway.clone(), limits, shutdown));
    Ok(tokio::spawn(async move {
        let _ = http.await;
        if let Some(https) = https {
            let _ = https.await;
        }
    }))
}

/// SIGTERM and SIGINT, installed before anything else starts so a signal during start-up is
/// an orderly stop too.
pub struct Signals {
    term: Signal,
    int: Signal,
}

impl Signals {
    pub fn install() -> anyhow::Result<Self> {
        Ok(Self {
            term: signal(SignalKind::terminate()).context("installing the SIGTERM handler")?,
            int: signal(SignalKind::interrupt()).context("installing the SIGINT handler")?,
        })
    }

    pub async fn wait(&mut self) {
        tokio::select! {
            _ = self.term.recv() => tracing::info!("SIGTERM received; shutting down"),
            _ = self.int.recv() => tracing::info!("SIGINT received; shutting down"),
        }
    }
}
