//! Opening a connection to a backend: TCP (with a timeout), TLS when the scheme is `https`
//! (server name from the URL, ALPN choosing HTTP/2 or HTTP/1.1), then the HTTP handshake. The
//! connection's I/O runs in its own task; what comes back is the handle to send requests on.

use crate::proxy::body::RequestBody;
use crate::proxy::tls::Alpn;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::pki_types::ServerName;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Largest read buffer of one HTTP/1.1 backend connection.
const BACKEND_READ_BUFFER: usize = 64 * 1024;

/// Where to connect and how.
#[derive(Debug, Clone)]
pub struct ConnectTarget {
    pub host: String,
    pub port: u16,
    /// TLS settings; `None` for plain HTTP.
    pub tls: Option<TlsTarget>,
    pub timeout: Duration,
}

/// How to speak TLS to one backend.
#[derive(Debug, Clone)]
pub struct TlsTarget {
    /// Offers HTTP/2 and HTTP/1.1.
    pub any_http: Arc<rustls::ClientConfig>,
    /// Offers HTTP/1.1 only, for protocol upgrades.
    pub http1_only: Arc<rustls::ClientConfig>,
    /// The name sent by SNI and checked against the certificate.
    pub name: ServerName<'static>,
}

/// A ready connection.
#[derive(Debug)]
pub enum Connected {
    Http1(http1::SendRequest<RequestBody>),
    Http2(http2::SendRequest<RequestBody>),
}

/// Why a connection could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("connecting to {0} timed out")]
    Timeout(String),
    #[error("cannot connect to {addr}: {source}")]
    Tcp {
        addr: String,
        source: std::io::Error,
    },
    #[error("TLS handshake with {addr} failed: {source}")]
    Tls {
        addr: String,
        source: std::io::Error,
    },
    #[error("HTTP handshake with {addr} failed: {source}")]
    Http { addr: String, source: hyper::Error },
}

impl ConnectTarget {
    /// `tls` gives the configurations for [`Alpn::H2OrHttp1`] and [`Alpn::Http1`].
    pub fn new(
        host: &str,
        port: u16,
        tls: Option<(Arc<rustls::ClientConfig>, Arc<rustls::ClientConfig>)>,
        timeout: Duration,
    ) -> Result<Self, String> {
        // IPv6 literals arrive bracketed from the URL.
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let tls = match tls {
            None => None,
            Some((any_http, http1_only)) => {
                let name = ServerName::try_from(host.clone())
                    .map_err(|e| format!("{host:?} is not a valid TLS server name: {e}"))?;
                Some(TlsTarget {
                    any_http,
                    http1_only,
                    name,
                })
            }
        };
        Ok(Self {
            host,
            port,
            tls,
            timeout,
        })
    }

    /// Opens a new connection offering `alpn` (which matters only for TLS backends).
    pub async fn connect(&self, alpn: Alpn) -> Result<Connected, ConnectError> {
        let addr = format!("{}:{}", self.host, self.port);
        let within = |what| tokio::time::timeout(self.timeout, what);
        let tcp = within(TcpStream::connect((self.host.as_str(), self.port)))
            .await
            .map_err(|_| ConnectError::Timeout(addr.clone()))?
            .map_err(|source| ConnectError::Tcp {
                addr: addr.clone(),
                source,
            })?;
        let _ = tcp.set_nodelay(true);
        let Some(tls) = &self.tls else {
            return http1_handshake(TokioIo::new(tcp), &addr).await;
        };
        let tls = tokio::time::timeout(
            self.timeout,
            TlsConnector::from(match alpn {
                Alpn::H2OrHttp1 => tls.any_http.clone(),
                Alpn::Http1 => tls.http1_only.clone(),
            })
            .connect(tls.name.clone(), tcp),
        )
        .await
        .map_err(|_| ConnectError::Timeout(addr.clone()))?
        .map_err(|source| ConnectError::Tls {
            addr: addr.clone(),
            source,
        })?;
        if tls.get_ref().1.alpn_protocol() == Some(b"h2") {
            let (sender, conn) = http2::Builder::new(TokioExecutor::new())
                .timer(TokioTimer::new())
                .handshake(TokioIo::new(tls))
                .await
                .map_err(|source| ConnectError::Http {
                    addr: addr.clone(),
                    source,
                })?;
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!(error = %e, "backend HTTP/2 connection ended");
                }
            });
            Ok(Connected::Http2(sender))
        } else {
            http1_handshake(TokioIo::new(tls), &addr).await
        }
    }
}

async fn http1_handshake<T>(io: T, addr: &str) -> Result<Connected, ConnectError>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (sender, conn) = http1::Builder::new()
        // Bounds the read buffer each backend connection may grow to while streaming a large
        // body, keeping memory flat however many connections are busy.
        .max_buf_size(BACKEND_READ_BUFFER)
        .handshake(io)
        .await
        .map_err(|source| ConnectError::Http {
            addr: addr.to_owned(),
            source,
        })?;
    tokio::spawn(async move {
        // Upgrades (WebSocket) take the connection over once the backend answers 101.
        if let Err(e) = conn.with_upgrades().await {
            tracing::debug!(error = %e, "backend HTTP/1.1 connection ended");
        }
    });
    Ok(Connected::Http1(sender))
}
