//! Portico under test: the release (or debug, in smoke mode) `portico` binary built next to
//! this one, started as a separate process (so its CPU time and memory are its own), either
//! as a gateway serving a generated document or as a self-hosted gateway fed by a control
//! plane (see `control_plane` for the control plane itself).

use crate::certs::TlsFiles;
use crate::process::{wait_for_port, Extras, Proc};
use anyhow::{bail, Context};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The `portico` binary beside this benchmark's executable.
pub fn binary() -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe().context("locating the benchmark executable")?;
    let bin = me.with_file_name("portico");
    if !bin.exists() {
        bail!("{} not found: build it first with `cargo build --release -p portico` (or without --release for smoke runs)", bin.display());
    }
    Ok(bin)
}

/// Where a gateway's configuration comes from.
#[derive(Debug, Clone, Copy)]
pub enum Config<'a> {
    /// This declarative document, written to a file the gateway watches.
    Document(&'a str),
    /// The control plane at this base URL, with this gateway token.
    ControlPlane { url: &'a str, token: &'a str },
}

/// Options of one Portico gateway process.
#[derive(Debug, Clone)]
pub struct PorticoRun<'a> {
    pub config: Config<'a>,
    pub listen: SocketAddr,
    pub ops: SocketAddr,
    pub workers: usize,
    pub access_log: bool,
    pub cores: Option<&'a str>,
    /// Serve HTTPS on this address: the hostname configurations' certificates, and these
    /// files as the fallback when given.
    pub tls: Option<(SocketAddr, Option<&'a TlsFiles>)>,
}

/// Starts a Portico gateway whose files (document, access log, its own log in
/// `portico.log`) live under `dir`; returns once it is listening.
pub fn start(dir: &Path, run: &PorticoRun<'_>) -> anyhow::Result<Proc> {
    let mut args: Vec<String> = vec!["gateway".into()];
    match run.config {
        Config::Document(document) => {
            let config = dir.join("portico.yaml");
            std::fs::write(&config, document)
                .with_context(|| format!("writing {}", config.display()))?;
            args.extend(["--config".into(), config.to_string_lossy().into_owned()]);
        }
        Config::ControlPlane { url, token } => {
            args.extend(["--control-plane", url, "--token", token].map(String::from));
        }
    }
    args.extend([
        "--listen".into(),
        run.listen.to_string(),
        "--ops-listen".into(),
        run.ops.to_string(),
        "--workers".into(),
        run.workers.to_string(),
        "--access-log".into(),
        if run.access_log { "on" } else { "off" }.into(),
        "--tls-listen".into(),
    ]);
    match run.tls {
        None => args.push("off".into()),
        Some((addr, files)) => {
            args.push(addr.to_string());
            if let Some(files) = files {
                args.extend([
                    "--tls-cert".into(),
                    files.cert.to_string_lossy().into_owned(),
                    "--tls-key".into(),
                    files.key.to_string_lossy().into_owned(),
                ]);
            }
        }
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (access_log, log) = (dir.join("portico-access.log"), dir.join("portico.log"));
    let bin = binary()?;
    let proc = Proc::spawn(
        "portico",
        run.cores,
        bin.to_str().unwrap_or_default(),
        &args,
        Extras {
            stdout: run.access_log.then_some(access_log.as_path()),
            stderr: Some(&log),
            // A proxy setting would send the gateway's calls to a local control plane away.
            env_remove: &["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"],
            ..Extras::default()
        },
    )?;
    let listening = |addr, what| {
        wait_for_port(addr, what).with_context(|| format!("its log: {}", log.display()))
    };
    listening(run.listen, "portico")?;
    if let Some((addr, _)) = run.tls {
        listening(addr, "portico (HTTPS)")?;
    }
    Ok(proc)
}
