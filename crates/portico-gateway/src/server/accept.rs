//! What the plain and the TLS listener share: the accept loop with its connection cap and
//! graceful drain, and serving one accepted connection with hyper (HTTP/1.1 and HTTP/2 on
//! the same port, with the header-read protections).

use super::{shutdown_requested, ListenerLimits, ShutdownSignal, MIN_HEADER_BYTES};
use crate::gateway::Gateway;
use crate::handler::{handle, Connection};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

const H2_PING_INTERVAL: Duration = Duration::from_secs(30);
const H2_PING_TIMEOUT: Duration = Duration::from_secs(20);

/// One accepted TCP connection, with what it needs to be served and drained.
pub(super) struct Accepted {
    pub stream: TcpStream,
    pub peer: SocketAddr,
    /// Holds one of the listener's connection slots until dropped.
    pub permit: OwnedSemaphorePermit,
    /// Lets graceful shutdown wait for (and then end) the connection.
    pub watcher: Watcher,
}

/// Accepts connections until `shutdown` fires, handing each to `on_accept` (which spawns),
/// then marks the gateway draining and waits for connections to finish up to the deadline.
pub(super) async fn accept_loop(
    listener: TcpListener,
    gateway: &Gateway,
    limits: &ListenerLimits,
    shutdown: ShutdownSignal,
    mut on_accept: impl FnMut(Accepted),
) {
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
        on_accept(Accepted {
            stream,
            peer,
            permit,
            watcher: graceful.watcher(),
        });
    }
    gateway.begin_draining();
    let address = listener.local_addr().ok();
    drop(listener);
    tracing::info!(?address, "listener closed; draining requests in flight");
    if tokio::time::timeout(limits.shutdown_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(after = ?limits.shutdown_timeout, "drain deadline passed; closing remaining connections");
    }
}

/// Serves HTTP on accepted (and, for TLS, handshaken) connections.
#[derive(Clone)]
pub(super) struct HttpServer {
    builder: Arc<auto::Builder<TokioExecutor>>,
    gateway: Gateway,
    /// Time a client has to send its first request head.
    first_request_deadline: Duration,
}

impl HttpServer {
    pub fn new(gateway: Gateway, limits: &ListenerLimits) -> Self {
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
        Self {
            builder: Arc::new(builder),
            gateway,
            first_request_deadline: limits.header_timeout,
        }
    }

    pub fn gateway(&self) -> &Gateway {
        &self.gateway
    }

    /// Serves `io` until the client or graceful shutdown ends it. Counted in
    /// `portico_connections_open` for its whole life.
    pub async fn serve<IO>(&self, io: IO, conn_info: Connection, watcher: Watcher)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let peer = conn_info.peer;
        let shared = self.gateway.shared().clone();
        let spoke = Arc::new(AtomicBool::new(false));
        let spoke_in_service = spoke.clone();
        let service = service_fn(move |req| {
            spoke_in_service.store(true, Ordering::Relaxed);
            let (shared, conn_info) = (shared.clone(), conn_info.clone());
            async move { Ok::<_, Infallible>(handle(shared, conn_info, req).await) }
        });
        let conn = self
            .builder
            .serve_connection_with_upgrades(TokioIo::new(io), service)
            .into_owned();
        let conn = watcher.watch(conn);
        tokio::pin!(conn);
        // hyper's header timer starts only once it knows the protocol, so a client that
        // connects and sends nothing (or half an HTTP/2 preface) is cut off here.
        let ended = tokio::select! {
            r = &mut conn => Some(r),
            _ = tokio::time::sleep(self.first_request_deadline) => None,
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
    }
}
