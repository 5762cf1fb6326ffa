//! How the management client reaches the server: one HTTP/1.1 connection per request (a CLI
//! command makes one or two), over TCP for `http://` or rustls for `https://`, trusting the
//! system's roots plus the CA certificates of `--ca` (for a control plane with a private CA).

use anyhow::{bail, Context};
use bytes::Bytes;
use http::{Request, Response, Uri};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::RootCertStore;
use std::path::Path;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// A parsed `--server` and, for `https://`, the TLS client.
#[derive(Clone)]
pub struct Transport {
    host: String,
    port: u16,
    /// The server URL's path, without a trailing slash (empty for the root).
    base_path: String,
    tls: Option<TlsConnector>,
}

impl Transport {
    /// Parses `server` (`http://HOST[:PORT][/PATH]` or `https://…`); `ca` adds trusted CA
    /// certificates (PEM) for `https://`.
    pub fn new(server: &str, ca: Option<&Path>) -> anyhow::Result<Self> {
        let uri: Uri = server
            .parse()
            .with_context(|| format!("--server {server:?} is not a URL"))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => bail!("--server {server:?} must start with http:// or https://"),
        };
        if ca.is_some() && !https {
            bail!("--ca is for https:// servers; --server {server:?} is plain http");
        }
        let host = uri
            .host()
            .with_context(|| format!("--server {server:?} has no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        Ok(Self {
            port: uri.port_u16().unwrap_or(if https { 443 } else { 80 }),
            host,
            base_path: uri.path().trim_end_matches('/').to_owned(),
            tls: https.then(|| tls_connector(ca)).transpose()?,
        })
    }

    /// The `Host` header value.
    pub fn authority(&self) -> String {
        match self.host.contains(':') {
            true => format!("[{}]:{}", self.host, self.port),
            false => format!("{}:{}", self.host, self.port),
        }
    }

    /// The prefix every request path goes under.
    pub fn base_path(&self) -> &str {
        &self.base_path
    }

    /// Sends `req` (its URI a path) on a new connection.
    pub async fn request(&self, req: Request<Full<Bytes>>) -> anyhow::Result<Response<Incoming>> {
        let tcp = TcpStream::connect((self.host.as_str(), self.port)).await?;
        let _ = tcp.set_nodelay(true);
        match &self.tls {
            None => send(TokioIo::new(tcp), req).await,
            Some(tls) => {
                let name = ServerName::try_from(self.host.clone())?;
                let stream = tls.connect(name, tcp).await.context(
                    "TLS handshake failed (for a private CA, pass its certificate with --ca or PORTICO_CA)",
                )?;
                send(TokioIo::new(stream), req).await
            }
        }
    }
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("authority", &self.authority())
            .field("https", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

async fn send<IO>(io: IO, req: Request<Full<Bytes>>) -> anyhow::Result<Response<Incoming>>
where
    IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender.send_request(req).await?)
}

/// A TLS client trusting the system's roots and the certificates in `ca`.
fn tls_connector(ca: Option<&Path>) -> anyhow::Result<TlsConnector> {
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if let Some(file) = ca {
        let certs = CertificateDer::pem_file_iter(file)
            .and_then(|i| i.collect::<Result<Vec<_>, _>>())
            .with_context(|| format!("--ca {}", file.display()))?;
        if certs.is_empty() {
            bail!("--ca {} holds no PEM certificate", file.display());
        }
        for cert in certs {
            roots
                .add(cert)
                .with_context(|| format!("--ca {}", file.display()))?;
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsConnector::from(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_parse_with_default_ports_and_paths() {
        let t = Transport::new("https://cp.example.com/portico/", None).unwrap();
        assert_eq!(
            (t.authority(), t.base_path(), t.tls.is_some()),
            ("cp.example.com:443".to_owned(), "/portico", true)
        );
        let t = Transport::new("http://127.0.0.1:9000", None).unwrap();
        assert_eq!(
            (t.authority(), t.base_path()),
            ("127.0.0.1:9000".to_owned(), "")
        );
        assert!(Transport::new("ftp://x", None).is_err());
        let err = Transport::new("http://x", Some(Path::new("ca.pem"))).unwrap_err();
        assert!(err.to_string().contains("--ca is for https://"), "{err}");
    }
}
