//! Child processes of a run (backend, proxies, control plane) and what the kernel says about
//! them: CPU time (utime + stime) and peak resident memory. Processes are pinned to cores with
//! `taskset` so the proxy under test never competes with the load generator.

use anyhow::{bail, Context};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process killed when dropped.
#[derive(Debug)]
pub struct Proc {
    child: Child,
}

/// What a child gets besides its program and arguments.
#[derive(Debug, Default, Clone, Copy)]
pub struct Extras<'a> {
    /// Standard output goes to this file (an access log, say), else nowhere.
    pub stdout: Option<&'a Path>,
    /// Standard error (the process's own log) goes to this file, else nowhere.
    pub stderr: Option<&'a Path>,
    /// Environment variables set for it.
    pub env: &'a [(&'a str, &'a str)],
    /// Environment variables taken away from it (a proxy setting that would reroute
    /// 127.0.0.1 traffic, say).
    pub env_remove: &'a [&'a str],
}

impl Proc {
    /// Starts `program args…` pinned to `cores` (a taskset list such as "0").
    pub fn spawn(
        name: &str,
        cores: Option<&str>,
        program: &str,
        args: &[&str],
        extras: Extras<'_>,
    ) -> anyhow::Result<Self> {
        let file = |path: Option<&Path>| -> anyhow::Result<Stdio> {
            Ok(match path {
                Some(path) => Stdio::from(
                    std::fs::File::create(path)
                        .with_context(|| format!("creating {}", path.display()))?,
                ),
                None => Stdio::null(),
            })
        };
        let mut cmd = pinned(program, cores);
        cmd.args(args)
            .envs(extras.env.iter().copied())
            .stdin(Stdio::null())
            .stdout(file(extras.stdout)?)
            .stderr(file(extras.stderr)?);
        for name in extras.env_remove {
            cmd.env_remove(name);
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {name} ({program})"))?;
        Ok(Self { child })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// `program`, run through `taskset -c cores` when cores are given.
pub fn pinned(program: &str, cores: Option<&str>) -> Command {
    match cores {
        Some(c) => {
            let mut cmd = Command::new("taskset");
            cmd.args(["-c", c, program]);
            cmd
        }
        None => Command::new(program),
    }
}

impl Drop for Proc {
    /// SIGTERM first, so a supervisor such as nginx's master stops its workers too (SIGKILL
    /// would orphan them); SIGKILL only if it is still running two seconds later.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until something accepts connections on `addr`.
pub fn wait_for_port(addr: SocketAddr, what: &str) -> anyhow::Result<()> {
    let started = Instant::now();
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if started.elapsed() > Duration::from_secs(30) {
            bail!("{what} is not listening on {addr} after 30 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// CPU time (user + system) a process has used, in microseconds.
pub fn cpu_micros(pid: u32) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields.get(11).and_then(|f| f.parse().ok()).unwrap_or(0)
        + fields
            .get(12)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0);
    Ok(ticks * 1_000_000 / clock_ticks_per_second())
}

fn clock_ticks_per_second() -> u64 {
    static TICKS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok()?.trim().parse().ok())
            .unwrap_or(100)
    })
}

/// Peak and current resident memory of a process, in KiB.
pub fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// Child PIDs of a process (nginx's workers, for instance).
pub fn children(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// Checks that a command exists, with an install hint if it does not.
pub fn require(program: &str, package: &str) -> anyhow::Result<()> {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !found {
        bail!("{program} is not installed: apt-get install {package}");
    }
    Ok(())
}
