//! The load generators: wrk (HTTP/1.1) with a Lua `done` hook that prints the figures wrk
//! knows (requests, errors, mean and percentile latencies including p99.9) as one JSON line,
//! and h2load (HTTP/2 with prior knowledge), which reports only a mean latency.

use crate::process::pinned;
use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;

const REPORT_LUA: &str = r#"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"socket_errors":%d,"non_2xx":%d,"mean_us":%d,"p50_us":%d,"p99_us":%d,"p999_us":%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency.mean, latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
end
"#;

/// What one wrk run measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadResult {
    pub requests: u64,
    pub duration_us: u64,
    pub socket_errors: u64,
    pub non_2xx: u64,
    pub mean_us: u64,
    /// Percentiles: wrk reports them, h2load does not.
    pub p50_us: Option<u64>,
    pub p99_us: Option<u64>,
    pub p999_us: Option<u64>,
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
    /// HTTP/2 with prior knowledge (h2load) instead of HTTP/1.1 (wrk).
    pub http2: bool,
}

/// Runs the load and returns its figures.
pub fn run(load: &Load<'_>, scratch: &Path) -> anyhow::Result<LoadResult> {
    if load.http2 {
        return run_h2load(load);
    }
    let script = scratch.join("report.lua");
    if !script.exists() {
        std::fs::write(&script, REPORT_LUA)?;
    }
    let mut cmd = pinned("wrk", load.cores);
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

/// h2load with `connections / 8` connections of 8 concurrent streams each (at least one), so
/// the same number of requests is in flight as with wrk.
fn run_h2load(load: &Load<'_>) -> anyhow::Result<LoadResult> {
    let streams = 8.min(load.connections.max(1));
    let connections = (load.connections / streams).max(1);
    let mut cmd = pinned("h2load", load.cores);
    cmd.args(["-c", &connections.to_string(), "-m", &streams.to_string()])
        .args(["-D", &load.duration.as_secs().max(1).to_string()]);
    for (k, v) in load.headers {
        cmd.args(["-H", &format!("{k}: {v}")]);
    }
    cmd.arg(&load.url);
    let out = cmd
        .output()
        .context("running h2load (apt-get install nghttp2-client)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    parse_h2load(&text).with_context(|| {
        format!(
            "reading h2load's output: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn parse_h2load(text: &str) -> anyhow::Result<LoadResult> {
    let line = |prefix: &str| text.lines().map(str::trim).find(|l| l.starts_with(prefix));
    let numbers = |l: &str| -> Vec<f64> {
        l.split([' ', ','])
            .filter_map(|w| w.trim_end_matches('s').parse::<f64>().ok())
            .collect()
    };
    let finished = line("finished in").context("no 'finished in' line")?;
    // `finished in 2.00s, …` or, for runs under a second, `finished in 997.99ms, …`.
    let duration_us = finished
        .trim_start_matches("finished in ")
        .split(',')
        .next()
        .map(|v| to_micros(v.trim()))
        .filter(|us| *us > 0)
        .context("no duration")?;
    let requests = numbers(line("requests:").context("no 'requests:' line")?);
    let statuses = numbers(line("status codes:").context("no 'status codes:' line")?);
    let timing = line("time for request:").context("no 'time for request:' line")?;
    let mean_us = timing
        .split_whitespace()
        .nth(5)
        .map(to_micros)
        .context("no mean request time")?;
    // requests: total, started, done, succeeded, failed, errored, timeout
    let get = |v: &[f64], i: usize| v.get(i).copied().unwrap_or(0.0) as u64;
    Ok(LoadResult {
        requests: get(&requests, 3),
        duration_us,
        socket_errors: get(&requests, 5) + get(&requests, 6),
        non_2xx: get(&statuses, 1) + get(&statuses, 2) + get(&statuses, 3),
        mean_us,
        p50_us: None,
        p99_us: None,
        p999_us: None,
    })
}

/// `704us`, `2.02ms` or `1.5s` in microseconds.
fn to_micros(v: &str) -> u64 {
    let (number, scale) = if let Some(n) = v.strip_suffix("us") {
        (n, 1.0)
    } else if let Some(n) = v.strip_suffix("ms") {
        (n, 1e3)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1e6)
    } else {
        (v, 1.0)
    };
    (number.parse::<f64>().unwrap_or(0.0) * scale) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_h2loads_summary() {
        let out = "finished in 2.00s, 21000.50 req/s, 1.2MB/s
requests: 42012 total, 42028 started, 42012 done, 42000 succeeded, 12 failed, 12 errored, 0 timeout
status codes: 42000 2xx, 0 3xx, 0 4xx, 0 5xx
                     min         max         mean         sd        +/- sd
time for request:       46us      2.02ms       704us       278us    73.22%
";
        let r = parse_h2load(out).unwrap();
        assert_eq!(r.requests, 42000);
        assert_eq!(r.duration_us, 2_000_000);
        assert_eq!(r.socket_errors, 12);
        assert_eq!(r.non_2xx, 0);
        assert_eq!(r.mean_us, 704);
        assert_eq!(to_micros("2.02ms"), 2020);
    }

    #[test]
    fn reads_a_sub_second_duration() {
        let out = "finished in 997.99ms, 21238.00 req/s, 23.31MB/s
requests: 21238 total, 21270 started, 21238 done, 21238 succeeded, 0 failed, 0 errored, 0 timeout
status codes: 21238 2xx, 0 3xx, 0 4xx, 0 5xx
time for request:       91us      4.31ms      1.43ms       699us    66.26%
";
        let r = parse_h2load(out).unwrap();
        assert_eq!(r.duration_us, 997_990);
        assert_eq!(r.mean_us, 1430);
    }
}
