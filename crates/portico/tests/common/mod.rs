//! Helpers shared by the binary's integration tests: free ports, child processes killed on
//! drop, and a minimal HTTP/1.1 client (tests talk to real sockets, no client library).

#![allow(dead_code)] // Each test file uses a part of it.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_portico");

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn wait_for_port(addr: SocketAddr) {
    let started = Instant::now();
    while TcpStream::connect(addr).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "nothing listening on {addr}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A minimal HTTP/1.1 GET returning the status code and body.
pub fn http_get(addr: SocketAddr, path: &str, headers: &str) -> (u16, String) {
    http(addr, "GET", path, headers, "")
}

/// Waits (up to 10 s) for a process to exit and returns how it did.
pub fn wait_exit(p: &mut Process) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(code) = p.0.try_wait().unwrap() {
            return code;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "did not exit");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn start_echo() -> (Process, SocketAddr) {
    let addr = free_addr();
    let child = Command::new(BIN)
        .args(["echo", "--listen", &addr.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_port(addr);
    (Process(child), addr)
}

/// A minimal HTTP/1.1 request returning the status code and body.
/// A minimal HTTP/1.1 request returning the status code and body.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> (u16, String) {
    let (status, _, body) = http_full(addr, method, path, headers, body);
    (status, body)
}

/// A minimal HTTP/1.1 request returning the status code, the response head and the body.
pub fn http_full(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(40))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: x\r\n{headers}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out[9..12].parse().unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    (status, head.to_owned(), body.to_owned())
}

pub fn free_addr() -> SocketAddr {
    format!("127.0.0.1:{}", free_port()).parse().unwrap()
}
