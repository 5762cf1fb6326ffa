//! The client-facing listener: HTTP/1.1 and HTTP/2 (prior knowledge) on plain TCP, with a cap
//! on open connections, limits on header size, a header-read timeout against slowloris, and
//! graceful shutdown that stops accepting, lets requests in flight finish up to a deadline,
//! then returns.

use super::{shutdown_requested, ShutdownSignal};
use crate::gateway::Gateway;
use crate::handler::{handle, Connection};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Protections of the client-facing listener.
#[derive(Debug, Clone)]
pub struct ListenerLimits {
    /// Open connections at most; further clients wait in the kernel's accept queue.
    pub max_connections: usize,
    /// Largest request head (request line plus headers) in bytes; larger gets 431.
    pub max_header_bytes: usize,
    /// Time a client has to send a complete request head. hyper also applies it while an
    /// HTTP/1.1 keep-alive connection waits idle for its next request.
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
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192))
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
        .max_concurrent_streams(256);

    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let stop = shutdown_requested(shutdown);
    tokio::pin!(stop);
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            _ = &mut stop => break,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(pair) => pair,
                Err(e) => {
                    // Typically out of file descriptors: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        let _ = stream.set_nodelay(true);
        let shared = gateway.shared().clone();
        let conn_info = Connection::new(peer, false, &shared.trusted_proxies);
        let service = service_fn(move |req| {
            let (shared, conn_info) = (shared.clone(), conn_info.clone());
            async move { Ok::<_, Infallible>(handle(shared, conn_info, req).await) }
        });
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let conn = graceful.watch(conn);
        let gw = gateway.clone();
        gw.metrics().connection_opened();
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, %peer, "client connection ended with an error");
            }
            gw.metrics().connection_closed();
            drop(permit);
        });
    }
    drop(listener);
    tracing::info!("listener closed; draining requests in flight");
    if tokio::time::timeout(limits.shutdown_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(after = ?limits.shutdown_timeout, "drain deadline passed; closing remaining connections");
    }
}
