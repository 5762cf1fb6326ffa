//! `portico up`: the whole platform in one process. The control plane keeps its SQLite
//! database, admin token and master key in `--data-dir`; a built-in echo endpoint stands in
//! for a backend; the gateway serves the store's configuration and picks up every change made
//! through the management API at once. On first start the store is seeded with an Echo API, a `starter`
//! product and a subscription whose key is printed with the `curl` to try.

use crate::cli::UpArgs;
use crate::control_cmd::{admin_token, bind_admin, open_store};
use crate::gateway_cmd::{new_gateway, run_gateway, start_listeners, Signals};
use anyhow::Context;
use portico_control::api::{router, ApiState};
use portico_control::seed::{demo_key, seed_if_empty};
use portico_control::snapshot::compile;
use portico_control::store::Store;
use portico_gateway::Gateway;

pub fn run(args: UpArgs) -> anyhow::Result<()> {
    run_gateway(args.serve.workers, serve(args))
}

async fn serve(args: UpArgs) -> anyhow::Result<Gateway> {
    let mut signals = Signals::install()?;
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating --data-dir {}", args.data_dir.display()))?;
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
    apply_store(store.as_ref(), &gateway).await?;
    let api = ApiState::new(store.clone(), &token);
    let mut commits = api.commits.subscribe();
    let follower = gateway.clone();
    let followed = store.clone();
    tokio::spawn(async move {
        // Every commit through the API reaches the gateway at once.
        while commits.changed().await.is_ok() {
            if let Err(e) = apply_store(followed.as_ref(), &follower).await {
                tracing::error!(error = %e, "the new configuration was not applied; the previous one keeps serving");
            }
        }
    });

    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let admin = bind_admin(args.admin_listen).await?;
    let admin_addr = admin.local_addr()?;
    let mut admin_shutdown = shutdown.clone();
    tokio::spawn(async move {
        let stopped = async move {
            let _ = admin_shutdown.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(admin, router(api))
            .with_graceful_shutdown(stopped)
            .await
        {
            tracing::error!(error = %e, "the management API stopped");
        }
    });
    let served = start_listeners(&args.serve, &gateway, shutdown).await?;
    print_welcome(
        &args,
        admin_addr,
        &args.data_dir.join("admin-token"),
        demo_key(store.as_ref()).await?,
    );

    signals.wait().await;
    let _ = stop.send(true);
    served.await.context("the listener task failed")?;
    Ok(gateway)
}

/// Compiles the store and applies it to the gateway.
async fn apply_store(store: &dyn Store, gateway: &Gateway) -> anyhow::Result<()> {
    let snapshot = compile(store).await?;
    gateway.apply(&snapshot).map_err(anyhow::Error::msg)
}

fn print_welcome(
    args: &UpArgs,
    admin: std::net::SocketAddr,
    token_file: &std::path::Path,
    key: Option<String>,
) {
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
        "    curl -H \"Authorization: Bearer $(cat {})\" http://{admin}/apis\n",
        token_file.display()
    );
}
