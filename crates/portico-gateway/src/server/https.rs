//! The TLS client listener. Each handshake reads the client's hello first, picks the site
//! for its server name from the gateway's current TLS state (one atomic load), and finishes
//! with that site's configuration: certificate rotation reaches the next handshake and never
//! closes the listener or a connection. The handshake has the header timeout to complete.

use super::accept::{accept_loop, Accepted, HttpServer};
use super::{ListenerLimits, ShutdownSignal};
use crate::gateway::Gateway;
use crate::handler::Connection;
use crate::tls::ClientCertificate;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_rustls::LazyConfigAcceptor;

/// Serves HTTPS on `listener` until `shutdown` fires, then drains like
/// [`super::serve_http`].
pub async fn serve_https(
    listener: TcpListener,
    gateway: Gateway,
    limits: ListenerLimits,
    shutdown: ShutdownSignal,
) {
    let server = HttpServer::new(gateway.clone(), &limits);
    let handshake_timeout = limits.header_timeout;
    accept_loop(listener, &gateway, &limits, shutdown, |accepted| {
        let server = server.clone();
        tokio::spawn(async move {
            let metrics = server.gateway().metrics();
            metrics.connection_opened();
            match tokio::time::timeout(handshake_timeout, handshake(&server, accepted)).await {
                Ok(Some((stream, conn_info, watcher, permit))) => {
                    server.serve(stream, conn_info, watcher).await;
                    drop(permit);
                }
                Ok(None) => {}
                Err(_) => tracing::debug!("TLS handshake not completed within the header timeout"),
            }
            server.gateway().metrics().connection_closed();
        });
    })
    .await;
}

type Handshaken = (
    tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
    Connection,
    hyper_util::server::graceful::Watcher,
    tokio::sync::OwnedSemaphorePermit,
);

/// Completes the TLS handshake with the site the client's server name selects. `None` (after
/// a debug log) when the client goes away, names no site, or the handshake fails.
async fn handshake(server: &HttpServer, accepted: Accepted) -> Option<Handshaken> {
    let Accepted {
        stream,
        peer,
        permit,
        watcher,
    } = accepted;
    let gateway = server.gateway();
    let start = LazyConfigAcceptor::new(rustls::server::Acceptor::default(), stream)
        .await
        .map_err(|e| tracing::debug!(%peer, error = %e, "no TLS client hello"))
        .ok()?;
    let server_name = start.client_hello().server_name().map(str::to_owned);
    let Some(site) = gateway.tls().select(server_name.as_deref()) else {
        tracing::debug!(%peer, ?server_name, "no certificate for this server name; handshake refused");
        gateway
            .metrics()
            .record_tls_handshake_failure("no_certificate");
        return None;
    };
    let stream = start
        .into_stream(site.server_config())
        .await
        .map_err(|e| {
            tracing::debug!(%peer, ?server_name, error = %e, "TLS handshake failed");
            gateway.metrics().record_tls_handshake_failure("handshake");
        })
        .ok()?;
    let client_certificate = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| ClientCertificate::from_handshake(chain, &site))
        .map(Arc::new);
    let conn_info = Connection::tls(peer, &gateway.shared().trusted_proxies, client_certificate);
    Some((stream, conn_info, watcher, permit))
}
