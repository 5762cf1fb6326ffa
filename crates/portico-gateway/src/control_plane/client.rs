//! The gateway's HTTP client for the control plane: HTTP/1.1 over TCP, TLS with rustls
//! (system roots plus `--control-plane-ca`), optionally tunnelled through a proxy
//! ([`super::proxy`]). One connection per request: a gateway makes one long-poll every ~30 s
//! or per change and one heartbeat a minute, so pooling would save nothing measurable and add
//! stale-connection failure modes.
//!
//! Every request offers `Accept-Encoding: gzip`; a gzipped answer (a large configuration, about
//! a fifth of its JSON size) is inflated here, so callers always see the plain body.

use super::proxy::ProxySettings;
use bytes::Bytes;
use http::{header, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::RootCertStore;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Time to open the TCP connection (and proxy tunnel and TLS session).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest answer accepted (a whole configuration).
const MAX_BODY: usize = 256 * 1024 * 1024;

/// One control-plane base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub https: bool,
    pub host: String,
    pub port: u16,
    /// Path prefix, without a trailing slash (empty for the root).
    pub base: String,
    /// The URL as given, for logs.
    pub url: String,
}

impl Endpoint {
    pub fn parse(url: &str) -> Result<Self, String> {
        let uri: http::Uri = url
            .trim()
            .parse()
            .map_err(|e| format!("{url:?} is not a URL: {e}"))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(format!("{url:?} must start with https:// or http://")),
        };
        let host = uri
            .host()
            .ok_or_else(|| format!("{url:?} has no host"))?
            .to_owned();
        Ok(Self {
            https,
            port: uri.port_u16().unwrap_or(if https { 443 } else { 80 }),
            host,
            base: uri.path().trim_end_matches('/').to_owned(),
            url: url.trim().to_owned(),
        })
    }

    fn authority(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// An answer from the control plane.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Bytes,
}

/// Why a request did not get an answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect: {0}")]
    Connect(std::io::Error),
    #[error("TLS handshake failed: {0} (is --control-plane-ca set for a private CA?)")]
    Tls(std::io::Error),
    #[error("HTTP error: {0}")]
    Http(#[from] hyper::Error),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("reading the answer failed: {0}")]
    Body(String),
}

/// The client; cheap to clone.
#[derive(Clone)]
pub struct Client {
    tls: TlsConnector,
    proxies: Arc<ProxySettings>,
}

impl Client {
    /// A client trusting the system roots and, when given, the CA certificates in `ca_file`.
    pub fn new(ca_file: Option<&Path>, proxies: ProxySettings) -> Result<Self, String> {
        let mut roots = RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(native.certs);
        if let Some(file) = ca_file {
            let certs = CertificateDer::pem_file_iter(file)
                .and_then(|i| i.collect::<Result<Vec<_>, _>>())
                .map_err(|e| format!("--control-plane-ca {}: {e}", file.display()))?;
            if certs.is_empty() {
                return Err(format!(
                    "--control-plane-ca {} holds no PEM certificate",
                    file.display()
                ));
            }
            for cert in certs {
                roots
                    .add(cert)
                    .map_err(|e| format!("--control-plane-ca {}: {e}", file.display()))?;
            }
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            tls: TlsConnector::from(Arc::new(config)),
            proxies: Arc::new(proxies),
        })
    }

    /// Sends one request to `endpoint`'s `path` (which starts with `/`), with the gateway
    /// token, and reads the whole answer within `timeout`.
    pub async fn send(
        &self,
        endpoint: &Endpoint,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Bytes>,
        timeout: Duration,
    ) -> Result<Answer, ClientError> {
        tokio::time::timeout(timeout, self.exchange(endpoint, method, path, token, body))
            .await
            .map_err(|_| ClientError::Timeout(timeout))?
    }

    async fn exchange(
        &self,
        endpoint: &Endpoint,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Bytes>,
    ) -> Result<Answer, ClientError> {
        let io = tokio::time::timeout(CONNECT_TIMEOUT, self.connect(endpoint))
            .await
            .map_err(|_| ClientError::Timeout(CONNECT_TIMEOUT))??;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let has_body = body.is_some();
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", endpoint.base))
            .header(header::HOST, endpoint.authority())
            .header(header::AUTHORIZATION, format!("GatewayKey {token}"))
            .header(header::ACCEPT_ENCODING, "gzip")
            .header(
                header::USER_AGENT,
                concat!("portico-gateway/", env!("CARGO_PKG_VERSION")),
            );
        if has_body {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(Full::new(body.unwrap_or_default()))
            .map_err(|e| ClientError::Body(e.to_string()))?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        let gzipped = response
            .headers()
            .get(header::CONTENT_ENCODING)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
        let body = Limited::new(response.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| ClientError::Body(e.to_string()))?
            .to_bytes();
        let body = match gzipped {
            true => {
                let wire = body.len();
                let body = gunzip(&body)?;
                tracing::debug!(
                    wire,
                    inflated = body.len(),
                    "gzipped answer from the control plane"
                );
                body
            }
            false => body,
        };
        Ok(Answer { status, body })
    }

    async fn connect(&self, endpoint: &Endpoint) -> Result<TokioIo<Box<dyn Io>>, ClientError> {
        let target = endpoint.authority();
        let tcp = match self.proxies.for_host(endpoint.https, &endpoint.host) {
            Some(proxy) => super::proxy::connect(proxy, &target).await,
            None => TcpStream::connect(&target).await,
        }
        .map_err(ClientError::Connect)?;
        let _ = tcp.set_nodelay(true);
        if !endpoint.https {
            return Ok(TokioIo::new(Box::new(tcp)));
        }
        let name = ServerName::try_from(endpoint.host.clone())
            .map_err(|e| ClientError::Tls(std::io::Error::other(e)))?;
        let tls = self
            .tls
            .connect(name, tcp)
            .await
            .map_err(ClientError::Tls)?;
        Ok(TokioIo::new(Box::new(tls)))
    }
}

/// Inflates a gzipped answer, refusing one that inflates beyond [`MAX_BODY`].
fn gunzip(gzipped: &[u8]) -> Result<Bytes, ClientError> {
    let mut plain = Vec::with_capacity(gzipped.len().saturating_mul(5));
    flate2::read::GzDecoder::new(gzipped)
        .take(MAX_BODY as u64 + 1)
        .read_to_end(&mut plain)
        .map_err(|e| ClientError::Body(format!("the gzipped answer is damaged: {e}")))?;
    if plain.len() > MAX_BODY {
        return Err(ClientError::Body(format!(
            "the answer inflates beyond {MAX_BODY} bytes"
        )));
    }
    Ok(Bytes::from(plain))
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("proxies", &self.proxies)
            .finish_non_exhaustive()
    }
}

/// A byte stream: plain TCP or TLS over it.
trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse_with_default_ports_and_base_paths() {
        let e = Endpoint::parse("https://cp.example.com/portico/").unwrap();
        assert_eq!(
            (e.https, e.host.as_str(), e.port, e.base.as_str()),
            (true, "cp.example.com", 443, "/portico")
        );
        let e = Endpoint::parse("http://127.0.0.1:9000").unwrap();
        assert_eq!((e.https, e.port, e.base.as_str()), (false, 9000, ""));
        assert!(Endpoint::parse("ftp://x").is_err());
        assert!(Endpoint::parse("not a url").is_err());
    }

    #[test]
    fn gzipped_answers_are_inflated_and_damaged_ones_refused() {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(b"{\"revision\": 3}").unwrap();
        let packed = encoder.finish().unwrap();
        assert_eq!(&gunzip(&packed).unwrap()[..], b"{\"revision\": 3}");
        assert!(gunzip(&packed[..packed.len() / 2]).is_err());
        assert!(gunzip(b"not gzip").is_err());
    }
}
