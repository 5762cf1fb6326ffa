//! Propagation: how long a change made through the management API takes to be served by every
//! gateway. One control plane, one gateway resource run as N `portico gateway
//! --control-plane` instances (a scaled-out deployment), and an API whose policy answers
//! with a counter. Each change PUTs the policy with the next counter; once the PUT has
//! answered, one thread per gateway polls it over a kept-alive connection until it answers
//! with that counter. The figure is the time from the PUT being *sent* until the last gateway
//! answered, so it includes the PUT's own round trip (reported too).
//!
//! The polls are load on the machine the control plane and gateways share, so they are kept
//! out of the way of what is measured. Polling while the PUT was in flight made the PUT itself
//! slow (debug build on two cores: its p50 grew from 5 ms with 1 gateway to 44 ms with 20,
//! against 5-7 ms at every size when polling starts at its answer); a gateway that applied
//! the change before the PUT answered is seen at the first poll, so nothing is missed, only
//! rounded up. For the same reason the interval grows with the fleet, keeping the polls at
//! or below 10 000 a second.

use crate::control_plane::ControlPlane;
use crate::free_addr;
use crate::http::{self, Conn};
use crate::portico::{self, Config, PorticoRun};
use crate::process::Proc;
use crate::stats::Percentiles;
use anyhow::{bail, Context};
use serde::Serialize;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::time::{Duration, Instant};

/// The aggregate poll rate stays at or below one poll per this interval.
const POLL_BUDGET: Duration = Duration::from_micros(100);
/// A change not served by then fails the run: something is broken, not slow.
const CHANGE_LIMIT: Duration = Duration::from_secs(10);
/// Debug builds of 20 gateways starting on a shared 2-core machine take their time.
const START_LIMIT: Duration = Duration::from_secs(60);
/// Pause between changes, so one change's aftermath (gateways compiling, long-polls being
/// renewed) is not measured as the next change's delay.
const SETTLE: Duration = Duration::from_millis(20);

const API: &str = "bench";
const GATEWAY: &str = "fleet";

/// What one fleet size measured.
#[derive(Debug, Clone, Serialize)]
pub struct PropagationResult {
    pub gateways: usize,
    pub changes: usize,
    /// How often each gateway was asked, in milliseconds: the resolution of the figures.
    pub poll_every_ms: f64,
    /// From the PUT being sent until every gateway serves the change.
    pub all_serving: Percentiles,
    /// The PUT's own round trip (the change stored and acknowledged).
    pub put: Percentiles,
}

/// Measures `changes` changes against fleets of each size in `fleets`, in turn.
pub fn measure(
    dir: &Path,
    backend: &str,
    fleets: &[usize],
    changes: usize,
) -> anyhow::Result<Vec<PropagationResult>> {
    let dir = dir.join("propagation");
    std::fs::create_dir_all(&dir)?;
    let cp = ControlPlane::start(&dir, free_addr()?)?;
    cp.put_open_api(API, backend)?;
    cp.put_api_policy(API, &policy(0))?;
    let token = cp.put_gateway(GATEWAY, &[API])?;
    // The counter keeps rising across fleets, so a gateway can never pass with an old value.
    let mut served = 0;
    let mut results = Vec::new();
    for &size in fleets {
        let fleet = Fleet::start(&dir, size, &cp.url(), &token)?;
        fleet
            .wait_serving(served)
            .with_context(|| format!("starting {size} gateways"))?;
        results.push(fleet.measure(&cp, served + 1..=served + changes)?);
        served += changes;
        eprintln!(
            "  propagation to {size} gateway(s): p99 {:.1} ms",
            results.last().map_or(f64::NAN, |r| r.all_serving.p99_ms)
        );
    }
    Ok(results)
}

/// Time between two polls of one gateway that did not serve the change yet: every
/// millisecond, less often for fleets so large that the polls would load the machine.
fn poll_interval(gateways: usize) -> Duration {
    let budget = POLL_BUDGET * u32::try_from(gateways).unwrap_or(u32::MAX);
    budget.max(Duration::from_millis(1))
}

/// The policy of change `n`: answer with its counter, without calling the backend.
fn policy(n: usize) -> String {
    format!(
        r#"<policies><inbound><return-response><set-status code="200" reason="OK"/><set-body>{}</set-body></return-response></inbound></policies>"#,
        body(n)
    )
}

fn body(n: usize) -> String {
    format!("change {n}")
}

/// N gateway processes fed by the control plane.
#[derive(Debug)]
struct Fleet {
    gateways: Vec<(Proc, SocketAddr)>,
}

impl Fleet {
    /// Unpinned: N gateways pinned to one core would measure that core's queue instead.
    fn start(dir: &Path, size: usize, url: &str, token: &str) -> anyhow::Result<Self> {
        let mut gateways = Vec::with_capacity(size);
        for i in 0..size {
            let gw_dir = dir.join(format!("fleet-{size}-gw-{i}"));
            std::fs::create_dir_all(&gw_dir)?;
            let listen = free_addr()?;
            let proc = portico::start(
                &gw_dir,
                &PorticoRun {
                    config: Config::ControlPlane { url, token },
                    listen,
                    ops: free_addr()?,
                    workers: 1,
                    access_log: false,
                    cores: None,
                    tls: None,
                },
            )?;
            gateways.push((proc, listen));
        }
        Ok(Self { gateways })
    }

    /// Waits until every gateway serves change `n`.
    fn wait_serving(&self, n: usize) -> anyhow::Result<()> {
        let every = poll_interval(self.gateways.len());
        for (_, addr) in &self.gateways {
            poll_until(&mut None, *addr, &body(n), every, START_LIMIT)?;
        }
        Ok(())
    }

    /// Makes the `changes` one after the other and times each.
    fn measure(
        &self,
        cp: &ControlPlane,
        changes: std::ops::RangeInclusive<usize>,
    ) -> anyhow::Result<PropagationResult> {
        let (seen_tx, seen) = channel();
        let every = poll_interval(self.gateways.len());
        std::thread::scope(|scope| {
            let pollers: Vec<Sender<String>> = self
                .gateways
                .iter()
                .map(|(_, addr)| {
                    let (want_tx, want) = channel();
                    let (addr, seen_tx) = (*addr, seen_tx.clone());
                    scope.spawn(move || poller(addr, every, want, seen_tx));
                    want_tx
                })
                .collect();
            // Dropping `pollers` when this returns, even early with an error, ends the threads.
            let (mut all_serving, mut puts) = (Vec::new(), Vec::new());
            for n in changes.clone() {
                let sent = Instant::now();
                cp.put_api_policy(API, &policy(n))?;
                puts.push(sent.elapsed());
                // Polls begin now, not while the control plane is committing the change.
                for poller in &pollers {
                    poller.send(body(n)).context("a poller thread ended")?;
                }
                let mut last = sent;
                for _ in &pollers {
                    let at = seen.recv().context("a poller thread ended")??;
                    last = last.max(at);
                }
                all_serving.push(last - sent);
                std::thread::sleep(SETTLE);
            }
            Ok(PropagationResult {
                gateways: self.gateways.len(),
                changes: all_serving.len(),
                poll_every_ms: every.as_secs_f64() * 1e3,
                all_serving: Percentiles::of(&all_serving).context("no change measured")?,
                put: Percentiles::of(&puts).context("no change measured")?,
            })
        })
    }
}

/// One gateway's poller: for each body it is told to wait for, reports when the gateway
/// first answered with it.
fn poller(
    addr: SocketAddr,
    every: Duration,
    want: Receiver<String>,
    seen: Sender<anyhow::Result<Instant>>,
) {
    let mut conn = None;
    for body in want {
        let at = poll_until(&mut conn, addr, &body, every, CHANGE_LIMIT);
        if seen.send(at).is_err() {
            return;
        }
    }
}

/// Asks the gateway at `addr` until it answers 200 with `body`; returns when it did.
/// A failed request drops the connection and the next poll opens a new one.
fn poll_until(
    conn: &mut Option<Conn<TcpStream>>,
    addr: SocketAddr,
    body: &str,
    every: Duration,
    limit: Duration,
) -> anyhow::Result<Instant> {
    let started = Instant::now();
    loop {
        let answer = match conn {
            Some(c) => c.request("GET", &format!("/{API}/"), &[], b""),
            None => http::connect(addr)
                .and_then(|c| conn.insert(c).request("GET", &format!("/{API}/"), &[], b"")),
        };
        let last = match answer {
            Ok(r) if r.status == 200 && r.body == body.as_bytes() => return Ok(Instant::now()),
            Ok(r) => format!("{} {:?}", r.status, r.text()),
            Err(e) => {
                *conn = None;
                format!("{e:#}")
            }
        };
        if started.elapsed() > limit {
            bail!("the gateway on {addr} did not answer {body:?} within {limit:?}; last answer: {last}");
        }
        std::thread::sleep(every);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polls_every_millisecond_until_the_fleet_would_exceed_the_budget() {
        assert_eq!(poll_interval(1), Duration::from_millis(1));
        assert_eq!(poll_interval(10), Duration::from_millis(1));
        assert_eq!(poll_interval(20), Duration::from_millis(2));
    }
}
