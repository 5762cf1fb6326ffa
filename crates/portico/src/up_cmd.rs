//! `portico up`: the whole platform in one process. The control plane keeps its SQLite
//! database, admin token and master key in `--data-dir`; a built-in echo endpoint stands in
//! for a backend; the gateway serves the store's configuration and picks up every change made
//! through the management API at once. On first start the store is seeded with an Echo API, a `starter`
//! product and a subscription whose key is printed with the `curl` to try.

use crate::cli::UpArgs;
use crate::control_cmd::{admin_tls, admin_token, bind_admin, open_store, serve_admin};
use crate::gateway_cmd::{new_gateway, run_gateway, start_listeners, Signals};
use anyhow::Context;
use portico_control::api::{router, ApiState};
use portico_control::distributor::{self, Audience, Hub, View, HOLD};
use portico_control::seed::{demo_key, seed_if_empty};
use portico_gateway::Gateway;
use portico_model::Snapshot;
use std::sync::Arc;

pub fn run(args: UpArgs) -> anyhow::Result<()> {
    run_gateway(args.serve.workers, serve(args))
}

async fn serve(args: UpArgs) -> anyhow::Result<Gateway> {
    let mut signals = Signals::install()?;
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating --data-dir {}", args.data_dir.display()))?;
    let tls = admin_tls(&args.admin_tls)?;
    let database = format!("sqlite://{}/portico.db", args.data_dir.display());
    let token = admin_token(&database)?;
    let (store, _) = open_store(&database).await?;

    let echo = tokio::net::TcpListener::bind(args.echo_listen)
        .await
        .with_context(|| format!("cannot listen on {} (--echo-listen)", args.echo_listen))?;
    let echo_url = format!("http://{}", echo.local_addr()?);
    tokio::spawn(portico_echo::serve(echo));
    if seed_if_empty(store.as_ref(), &echo_url).await? {
        tracing::info!(
            "first start: seeded the Echo API, the starter product and a demo subscription"
        );
    }

    let gateway = new_gateway(&args.serve)?;
    let api = ApiState::new(store.clone(), &token);
    let hub = Hub::start(store.clone(), api.commits.subscribe()).await;
    let applied = apply_managed(&hub, &gateway)?;
    // Every commit through the API reaches the gateway at once, through the same compiled
    // hub that serves self-hosted gateways.
    tokio::spawn(follow_managed(hub.clone(), gateway.clone(), applied));

    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let admin = bind_admin(args.admin_listen).await?;
    let admin_addr = admin.local_addr()?;
    let mut admin_shutdown = shutdown.clone();
    tokio::spawn(async move {
        let stopped = async move {
            let _ = admin_shutdown.wait_for(|s| *s).await;
        };
        let app = router(api.clone()).merge(distributor::routes(api, hub));
        if let Err(e) = serve_admin(admin, tls, app, stopped).await {
            tracing::error!(error = %e, "the management API stopped");
        }
    });
    let served = start_listeners(&args.serve, &gateway, shutdown).await?;
    let admin_url = match args.admin_tls.admin_tls_cert.is_some() {
        true => format!("https://{admin_addr}"),
        false => format!("http://{admin_addr}"),
    };
    print_welcome(
        &args,
        &admin_url,
        &args.data_dir.join("admin-token"),
        demo_key(store.as_ref()).await?,
    );

    signals.wait().await;
    let _ = stop.send(true);
    served.await.context("the listener task failed")?;
    Ok(gateway)
}

/// Applies the managed gateway's current view; returns its revision.
fn apply_managed(hub: &Hub, gateway: &Gateway) -> anyhow::Result<u64> {
    apply_view(&*hub.view(&Audience::Managed)?, gateway)
}

fn apply_view(view: &View, gateway: &Gateway) -> anyhow::Result<u64> {
    let snapshot = Snapshot::new(view.revision, (*view.document).clone())?;
    gateway.apply(&snapshot).map_err(anyhow::Error::msg)?;
    Ok(view.revision)
}

/// Applies every newer view of the managed gateway as the hub publishes it.
async fn follow_managed(hub: Arc<Hub>, gateway: Gateway, mut applied: u64) {
    loop {
        match hub.next(&Audience::Managed, applied, HOLD, |_| true).await {
            Ok(Some(view)) => {
                applied = view.revision;
                if let Err(e) = apply_view(&view, &gateway) {
                    tracing::error!(error = %e, "the new configuration was not applied; the previous one keeps serving");
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = %e, "the managed gateway cannot follow the configuration");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
    }
}

fn print_welcome(args: &UpArgs, admin: &str, token_file: &std::path::Path, key: Option<String>) {
    let gateway = match args.serve.listen.ip().is_unspecified() {
        true => format!("localhost:{}", args.serve.listen.port()),
        false => args.serve.listen.to_string(),
    };
    eprintln!("\nPortico is up.");
    match key {
        Some(key) => {
            eprintln!("  Call the Echo API through the gateway:");
            eprintln!(
                "    curl -H 'Ocp-Apim-Subscription-Key: {key}' http://{gateway}/echo/resource"
            );
            eprintln!("  Without the key it answers 401:");
            eprintln!("    curl -i http://{gateway}/echo/resource");
        }
        None => {
            eprintln!("  The demo subscription was deleted; create one through the management API.")
        }
    }
    eprintln!("  Manage it (the token is in {}):", token_file.display());
    eprintln!(
        "    curl -H \"Authorization: Bearer $(cat {})\" {admin}/apis\n",
        token_file.display()
    );
}
