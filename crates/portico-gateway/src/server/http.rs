//! The plain-TCP client listener: HTTP/1.1 and HTTP/2 (prior knowledge), with a cap on open
//! connections, limits on header size, a header-read timeout against slowloris, and graceful
//! shutdown that stops accepting, lets requests in flight finish up to a deadline, then
//! returns.

use super::accept::{accept_loop, HttpServer};
use super::ShutdownSignal;
use crate::gateway::Gateway;
use crate::handler::Connection;
use std::time::Duration;
use tokio::net::TcpListener;

/// The smallest request-head limit hyper's HTTP/1 parser accepts.
pub const MIN_HEADER_BYTES: usize = 8192;

/// Protections of the client-facing listeners.
#[derive(Debug, Clone)]
pub struct ListenerLimits {
    /// Open connections at most; further clients wait in the kernel's accept queue.
    pub max_connections: usize,
    /// Largest request head (request line plus headers) in bytes; larger gets 431.
    pub max_header_bytes: usize,
    /// Time a client has to complete a TLS handshake and to send a complete request head.
    /// hyper also applies it while an HTTP/1.1 keep-alive connection waits idle for its next
    /// request.
    pub header_timeout: Duration,
    /// Time requests in flight get to finish after shutdown is signalled.
    pub shutdown_timeout: Duration,
}

impl Default for ListenerLimits {
    fn default() -> Self {
        Self {
            max_connections: 10_000,
            max_header_bytes: 32 * 1024,
            header_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(30),
        }
    }
}

/// Serves `listener` until `shutdown` fires, then drains. Returns once every connection has
/// finished or the drain deadline passed.
pub async fn serve_http(
    listener: TcpListener,
    gateway: Gateway,
    limits: ListenerLimits,
    shutdown: ShutdownSignal,
) {
    let server = HttpServer::new(gateway.clone(), &limits);
    accept_loop(listener, &gateway, &limits, shutdown, |accepted| {
        let server = server.clone();
        let metrics_gateway = gateway.clone();
        let conn_info = Connection::plain(accepted.peer, &gateway.shared().trusted_proxies);
        metrics_gateway.metrics().connection_opened();
        tokio::spawn(async move {
            server
                .serve(accepted.stream, conn_info, accepted.watcher)
                .await;
            metrics_gateway.metrics().connection_closed();
            drop(accepted.permit);
        });
    })
    .await;
}
