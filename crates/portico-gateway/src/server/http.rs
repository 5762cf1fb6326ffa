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
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// The smallest request-head limit hyper's HTTP/1 parser accepts.
pub const MIN_HEADER_BYTES: usize = 8192;
const H2_PING_INTERVAL: Duration = Duration::from_secs(30);
const H2_PING_TIMEOUT: Duration = Duration::from_secs(20);

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
        // hyper's floor; the command line refuses smaller values.
        .max_buf_size(limits.max_header_bytes.max(MIN_HEADER_BYTES))
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
        .max_concurrent_streams(256)
        // Pings find HTTP/2 peers that vanished without closing.
        .keep_alive_interval(Some(H2_PING_INTERVAL))
        .keep_alive_timeout(H2_PING_TIMEOUT);

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
        let spoke = Arc::new(AtomicBool::new(false));
        let spoke_in_service = spoke.clone();
        let service = service_fn(move |req| {
            spoke_in_service.store(true, Ordering::Relaxed);
            let (shared, conn_info) = (shared.clone(), conn_info.clone());
            async move { Ok::<_, Infallible>(handle(shared, conn_info, req).await) }
        });
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let conn = graceful.watch(conn);
        let gw = gateway.clone();
        let first_request_deadline = limits.header_timeout;
        gw.metrics().connection_opened();
        tokio::spawn(async move {
            tokio::pin!(conn);
            // hyper's header timer starts only once it knows the protocol, so a client that
            // connects and sends nothing (or half an HTTP/2 preface) is cut off here.
            let ended = tokio::select! {
                r = &mut conn => Some(r),
                _ = tokio::time::sleep(first_request_deadline) => None,
            };
            let result = match ended {
                Some(r) => r,
                None if spoke.load(Ordering::Relaxed) => conn.await,
                None => {
                    tracing::debug!(%peer, "no request within the header timeout; closing");
                    Ok(())
                }
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, %peer, "client connection ended with an error");
            }
            gw.metrics().connection_closed();
            drop(permit);
        });
    }
    gateway.begin_draining();
    drop(listener);
    tracing::info!("listener closed; draining requests in flight");
    if tokio::time::timeout(limits.shutdown_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(after = ?limits.shutdown_timeout, "drain deadline passed; closing remaining connections");
    }
}
