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
    let proc = Proc::spawn(
        "portico",
        run.cores,
        bin.to_str().unwrap_or_default(),
        &[
            "gateway",
            "--config",
            config.to_str().unwrap_or_default(),
            "--listen",
            &listen,
            "--ops-listen",
            &ops,
            "--tls-listen",
            "off",
            "--workers",
            &workers,
            "--access-log",
            if run.access_log { "on" } else { "off" },
        ],
        run.access_log.then_some(access_log_file.as_path()),
    )?;
    wait_for_port(run.listen, "portico")?;
    Ok(proc)
}
