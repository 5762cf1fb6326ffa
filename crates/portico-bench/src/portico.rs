//! Portico under test: the release (or debug, in smoke mode) `portico` binary built next to
//! this one, started as a separate process with a generated document, so its CPU time and
//! memory are its own.

use crate::process::{wait_for_port, Proc};
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

/// Options of one Portico process.
#[derive(Debug, Clone)]
pub struct PorticoRun<'a> {
    pub document: &'a str,
    pub listen: SocketAddr,
    pub ops: SocketAddr,
    pub workers: usize,
    pub access_log: bool,
    pub cores: Option<&'a str>,
    /// Serve HTTPS on this address with this certificate too.
    pub tls: Option<(SocketAddr, &'a crate::nginx::TlsFiles)>,
}

/// Writes the document under `dir` and starts Portico; returns once it is listening.
pub fn start(dir: &Path, run: &PorticoRun<'_>) -> anyhow::Result<Proc> {
    let config = dir.join("portico.yaml");
    std::fs::write(&config, run.document)?;
    let bin = binary()?;
    let (listen, ops, workers) = (
        run.listen.to_string(),
        run.ops.to_string(),
        run.workers.to_string(),
    );
    let access_log_file = dir.join("portico-access.log");
    let mut args = vec![
        "gateway".to_owned(),
        "--config".to_owned(),
        config.to_string_lossy().into_owned(),
        "--listen".to_owned(),
        listen,
        "--ops-listen".to_owned(),
        ops,
        "--workers".to_owned(),
        workers,
        "--access-log".to_owned(),
        if run.access_log { "on" } else { "off" }.to_owned(),
        "--tls-listen".to_owned(),
    ];
    match run.tls {
        None => args.push("off".to_owned()),
        Some((addr, files)) => args.extend([
            addr.to_string(),
            "--tls-cert".to_owned(),
            files.cert.to_string_lossy().into_owned(),
            "--tls-key".to_owned(),
            files.key.to_string_lossy().into_owned(),
        ]),
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let proc = Proc::spawn(
        "portico",
        run.cores,
        bin.to_str().unwrap_or_default(),
        &args,
        run.access_log.then_some(access_log_file.as_path()),
    )?;
    wait_for_port(run.listen, "portico")?;
    if let Some((addr, _)) = run.tls {
        wait_for_port(addr, "portico (HTTPS)")?;
    }
    Ok(proc)
}
