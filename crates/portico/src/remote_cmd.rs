//! `portico gateway --control-plane URL[,URL…] --token TOKEN | --token-file FILE`: a
//! self-hosted gateway fed by the control plane. The listeners start at once and `/readyz`
//! says not ready until a configuration arrives (from the control plane, or from
//! `--backup-dir` when the control plane cannot be reached).

use crate::cli::GatewayArgs;
use crate::gateway_cmd::{new_gateway, start_listeners, Signals};
use anyhow::Context;
use portico_gateway::control_plane::{ControlPlaneOptions, ControlPlaneSource, TokenOption};
use portico_gateway::Gateway;

pub async fn serve(args: GatewayArgs) -> anyhow::Result<Gateway> {
    let mut signals = Signals::install()?;
    let remote = args.remote;
    let token = match (remote.token, remote.token_file) {
        (Some(t), None) => TokenOption::Value(portico_model::Secret::new(t)),
        (None, Some(f)) => TokenOption::File(f),
        _ => anyhow::bail!(
            "--control-plane needs the gateway token: --token TOKEN or --token-file FILE (POST /gateways/{{id}}/generateToken issues one)"
        ),
    };
    let gateway = new_gateway(&args.serve)?;
    let urls = remote.control_plane.clone();
    let source = ControlPlaneSource::new(
        ControlPlaneOptions {
            urls: remote.control_plane,
            token,
            backup_dir: remote.backup_dir,
            heartbeat_interval: remote.heartbeat_interval,
            ca_file: remote.control_plane_ca,
        },
        gateway.clone(),
    )
    .map_err(anyhow::Error::msg)?;
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let served = start_listeners(&args.serve, &gateway, shutdown.clone()).await?;
    tracing::info!(control_plane = ?urls, gateway_id = %source.gateway_id(), "following the control plane");
    let synced = tokio::spawn(source.run(shutdown));
    signals.wait().await;
    let _ = stop.send(true);
    served.await.context("the listener task failed")?;
    let _ = synced.await;
    Ok(gateway)
}
