//! Real Redis for the Redis tests (included with `#[path]` by those that need it): a
//! `redis-server` process of the test's own on a free port, which the test may stop, hang
//! (SIGSTOP) and restart without touching anyone else's, and a per-test key prefix. Tests
//! skip, saying why, when `redis-server` is not installed, unless `PORTICO_REQUIRE_REDIS`
//! is set (CI sets it, so there a missing Redis fails the run).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Whether `redis-server` can be run; prints why not (or panics when it is required).
pub fn redis_available(test: &str) -> bool {
    let found = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var_os("PORTICO_REQUIRE_REDIS").is_none(),
            "PORTICO_REQUIRE_REDIS is set but redis-server is not installed \
             (apt-get install redis-server)"
        );
        eprintln!("skipping {test}: redis-server is not installed (apt-get install redis-server)");
    }
    found
}

/// A `redis-server` of this test's own, killed when dropped.
pub struct RedisServer {
    pub port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts one on a free port and waits until it answers.
    pub fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut s = Self { port, child: None };
        s.restart();
        s
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts it again on the same port (empty: nothing is saved).
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "already running");
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.answers() {
            assert!(Instant::now() < deadline, "redis-server did not answer");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills it, as a crash or a restart would.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Freezes it (SIGSTOP): connections stay open and nothing answers, like a hung server.
    pub fn hang(&self) {
        self.signal("-STOP");
    }

    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, sig: &str) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        let ok = Command::new("kill").args([sig, &pid]).status().unwrap();
        assert!(ok.success(), "kill {sig} {pid}");
    }

    fn answers(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
        let mut buf = [0u8; 7];
        s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(c) = &self.child {
            // A hung server must be woken to die promptly.
            let _ = Command::new("kill")
                .args(["-CONT", &c.id().to_string()])
                .status();
        }
        self.stop();
    }
}

/// A key prefix no other test (or run) uses.
pub fn key_prefix(test: &str) -> String {
    format!("portico-test:{test}:{}:", uuid::Uuid::new_v4().simple())
}

/// A direct connection, to look at what the gateways wrote.
pub async fn connect(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// The keys under `prefix`, with their remaining time to live in milliseconds.
pub async fn keys_with_ttl(
    conn: &mut redis::aio::MultiplexedConnection,
    prefix: &str,
) -> Vec<(String, i64)> {
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(conn)
        .await
        .unwrap();
    let mut out = Vec::new();
    for k in keys {
        let ttl: i64 = redis::cmd("PTTL").arg(&k).query_async(conn).await.unwrap();
        out.push((k, ttl));
    }
    out.sort();
    out
}

/// Deletes the keys under `prefix` (a test's leftovers on a shared Redis).
pub async fn delete_prefix(conn: &mut redis::aio::MultiplexedConnection, prefix: &str) {
    for (k, _) in keys_with_ttl(conn, prefix).await {
        let _: i64 = redis::cmd("DEL").arg(&k).query_async(conn).await.unwrap();
    }
}
