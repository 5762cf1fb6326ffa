//! `portico gateway --config FILE`: a standalone gateway fed by a watched file. Refuses to
//! start on an invalid file (listing every error), then keeps serving the last good file.

use crate::cli::{GatewayArgs, Switch};
use anyhow::Context;
use portico_gateway::config_file::FileSource;
use portico_gateway::net::TrustedProxies;
use portico_gateway::{
    serve_http, serve_ops, Gateway, GatewayOptions, ListenerLimits, MIN_HEADER_BYTES,
};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, SignalKind};

pub fn run(args: GatewayArgs) -> anyhow::Result<()> {
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.workers {
        anyhow::ensure!(n > 0, "--workers must be at least 1");
        runtime.worker_threads(n);
    }
    let runtime = runtime
        .enable_all()
        .thread_name("portico-worker")
        .build()
        .context("starting the async runtime")?;
    let gateway = runtime.block_on(serve(args))?;
    // Dropping the runtime ends connections still open past the drain deadline; their
    // access-log lines (status 499) are queued then, so flush only afterwards.
    drop(runtime);
    gateway.flush_access_log(Duration::from_secs(5));
    tracing::info!("stopped");
    Ok(())
}

/// Serves until SIGTERM or SIGINT and the drain; returns the gateway for the final flush.
async fn serve(args: GatewayArgs) -> anyhow::Result<Gateway> {
    // Installed first, so a signal during start-up is an orderly stop too.
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    anyhow::ensure!(
        args.max_header_bytes >= MIN_HEADER_BYTES,
        "--max-header-bytes must be at least {MIN_HEADER_BYTES}"
    );

    let gateway = Gateway::new(GatewayOptions {
        backend_timeout: args.backend_timeout,
        backend_connect_timeout: args.backend_connect_timeout,
        trusted_proxies: TrustedProxies::new(args.trusted_proxies.clone()),
        access_log: args.access_log == Switch::On,
    });
    let source = FileSource::start(&args.config, gateway.clone())?;

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
    tracing::info!(
        listen = %http.local_addr()?,
        ops = %ops.local_addr()?,
        config = %args.config.display(),
        revision = gateway.revision().unwrap_or(0),
        "portico gateway started"
    );

    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let limits = ListenerLimits {
        max_connections: args.max_connections,
        max_header_bytes: args.max_header_bytes,
        header_timeout: args.header_timeout,
        shutdown_timeout: args.shutdown_timeout,
    };
    let served = tokio::spawn(serve_http(http, gateway.clone(), limits, shutdown.clone()));
    tokio::spawn(serve_ops(ops, gateway.clone()));
    tokio::spawn(source.run(shutdown));

    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received; shutting down"),
        _ = int.recv() => tracing::info!("SIGINT received; shutting down"),
    }
    let _ = stop.send(true);
    served.await.context("the listener task failed")?;
    Ok(gateway)
}
