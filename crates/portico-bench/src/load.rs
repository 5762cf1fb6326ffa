//! The load generator: wrk from Debian, with a Lua `done` hook that prints the figures wrk
//! knows (requests, errors, latency percentiles including p99.9) as one JSON line.

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const REPORT_LUA: &str = r#"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"socket_errors":%d,"non_2xx":%d,"p50_us":%d,"p99_us":%d,"p999_us":%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
end
"#;

/// What one wrk run measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadResult {
    pub requests: u64,
    pub duration_us: u64,
    pub socket_errors: u64,
    pub non_2xx: u64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
}

impl LoadResult {
    pub fn rps(&self) -> f64 {
        self.requests as f64 * 1e6 / self.duration_us.max(1) as f64
    }
}

/// One wrk invocation.
#[derive(Debug, Clone)]
pub struct Load<'a> {
    pub url: String,
    pub headers: &'a [(String, String)],
    pub connections: usize,
    pub duration: Duration,
    pub cores: Option<&'a str>,
}

/// Runs wrk and returns its figures.
pub fn run(load: &Load<'_>, scratch: &Path) -> anyhow::Result<LoadResult> {
    let script = scratch.join("report.lua");
    if !script.exists() {
        std::fs::write(&script, REPORT_LUA)?;
    }
    let mut cmd = match load.cores {
        Some(c) => {
            let mut cmd = Command::new("taskset");
            cmd.args(["-c", c, "wrk"]);
            cmd
        }
        None => Command::new("wrk"),
    };
    cmd.args(["-t1", "-c", &load.connections.to_string()])
        .args(["-d", &format!("{}s", load.duration.as_secs().max(1))])
        .args(["-s", script.to_str().unwrap_or_default()]);
    for (k, v) in load.headers {
        cmd.args(["-H", &format!("{k}: {v}")]);
    }
    cmd.arg(&load.url);
    let out = cmd.output().context("running wrk (apt-get install wrk)")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let Some(line) = stdout.lines().rev().find(|l| l.starts_with('{')) else {
        bail!(
            "wrk printed no result for {}: {}{}",
            load.url,
            stdout,
            String::from_utf8_lossy(&out.stderr)
        );
    };
    serde_json::from_str(line).with_context(|| format!("parsing wrk's result {line:?}"))
}
