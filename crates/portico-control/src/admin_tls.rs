//! The management API (and the gateway sync routes beside it) over HTTPS: a rustls server
//! configuration read from a PEM certificate chain and key ([`server_config`]), and a
//! listener that hands axum only connections whose TLS handshake finished ([`TlsListener`]).
//!
//! Handshakes run in their own tasks, so a client that connects and never speaks holds up
//! nobody else; each has [`HANDSHAKE_TIMEOUT`] to finish. TLS 1.2 and 1.3 only, with the
//! aws-lc-rs provider used everywhere else in Portico; ALPN offers HTTP/2 and HTTP/1.1.
//!
//! The files are read at start and read again whenever their modification time or size
//! changes (checked every [`RELOAD_CHECK`]; `stat` follows symlinks, so a Kubernetes secret's
//! `..data` swap counts): new handshakes get the renewed certificate, connections already
//! open keep theirs, nothing restarts. A renewed pair that does not load (half-written, key of
//! another certificate) is logged and the previous certificate stays in service.

use arc_swap::ArcSwap;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// Time a client has to complete the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshaken connections waiting for axum to take them.
const BACKLOG: usize = 64;
/// How often the certificate and key files are checked for a renewal.
pub const RELOAD_CHECK: Duration = Duration::from_secs(2);

/// Why the certificate or key cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("--admin-tls-cert {file}: {message}")]
    Cert { file: String, message: String },
    #[error("--admin-tls-key {file}: {message}")]
    Key { file: String, message: String },
    #[error("the certificate and key do not form a usable TLS configuration: {0} (does the key belong to the first certificate of the chain?)")]
    Config(rustls::Error),
}

/// The management listener's TLS: the server configuration and the certificate it presents,
/// which [`TlsListener`] keeps up to date with the files.
#[derive(Debug, Clone)]
pub struct AdminTls {
    pub config: Arc<ServerConfig>,
    certificate: Arc<AdminCertificate>,
}

/// The certificate every handshake gets, swapped whole when the files change.
#[derive(Debug)]
struct AdminCertificate {
    cert_file: PathBuf,
    key_file: PathBuf,
    current: ArcSwap<CertifiedKey>,
}

impl ResolvesServerCert for AdminCertificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

/// A server configuration serving the chain in `cert_file` (leaf first, then intermediates)
/// with the private key in `key_file` (PKCS#8, PKCS#1 or SEC1 PEM).
pub fn server_config(cert_file: &Path, key_file: &Path) -> Result<AdminTls, TlsSetupError> {
    let certificate = Arc::new(AdminCertificate {
        current: ArcSwap::new(load(cert_file, key_file)?),
        cert_file: cert_file.to_owned(),
        key_file: key_file.to_owned(),
    });
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(TlsSetupError::Config)?
        .with_no_client_auth()
        .with_cert_resolver(certificate.clone());
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(AdminTls {
        config: Arc::new(config),
        certificate,
    })
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Reads the chain and key and checks that the key belongs to the chain's first certificate.
fn load(cert_file: &Path, key_file: &Path) -> Result<Arc<CertifiedKey>, TlsSetupError> {
    let cert_err = |message: String| TlsSetupError::Cert {
        file: cert_file.display().to_string(),
        message,
    };
    let chain = CertificateDer::pem_file_iter(cert_file)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| cert_err(e.to_string()))?;
    if chain.is_empty() {
        return Err(cert_err(
            "holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)".into(),
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key_file).map_err(|e| TlsSetupError::Key {
        file: key_file.display().to_string(),
        message: format!("{e} (expected one PEM private key)"),
    })?;
    let certified =
        CertifiedKey::from_der(chain, key, &provider()).map_err(TlsSetupError::Config)?;
    Ok(Arc::new(certified))
}

/// What a renewal changes: each file's inode (a file renamed over it), modification time
/// and size; `None` while unreadable.
type Stamp = [Option<(u64, SystemTime, u64)>; 2];

fn stamp(c: &AdminCertificate) -> Stamp {
    use std::os::unix::fs::MetadataExt;
    [&c.cert_file, &c.key_file].map(|f| {
        let m = std::fs::metadata(f).ok()?;
        Some((m.ino(), m.modified().ok()?, m.len()))
    })
}

/// Checks the files every [`RELOAD_CHECK`] and swaps in a renewed certificate. A pair that
/// fails to load is reported once per change and tried again when the files change again.
async fn follow_renewals(certificate: Arc<AdminCertificate>) {
    let mut seen = stamp(&certificate);
    loop {
        tokio::time::sleep(RELOAD_CHECK).await;
        let now = stamp(&certificate);
        if now == seen {
            continue;
        }
        seen = now;
        let (cert_file, key_file) = (&certificate.cert_file, &certificate.key_file);
        match load(cert_file, key_file) {
            Ok(renewed) => {
                certificate.current.store(renewed);
                tracing::info!(cert = %cert_file.display(), "management API certificate reloaded; new connections get it");
            }
            Err(e) => {
                tracing::warn!(error = %e, "renewed management API certificate not loaded; still serving the previous one")
            }
        }
    }
}

/// A TCP listener whose connections come out TLS-terminated; serve it with `axum::serve`.
#[derive(Debug)]
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    accepting: tokio::task::JoinHandle<()>,
    renewing: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    /// Starts accepting on `tcp` and handshaking with `tls`, following renewals of its files.
    pub fn new(tcp: TcpListener, tls: AdminTls) -> std::io::Result<Self> {
        let local = tcp.local_addr()?;
        let (tx, ready) = mpsc::channel(BACKLOG);
        let accepting = tokio::spawn(accept_loop(tcp, TlsAcceptor::from(tls.config), tx));
        let renewing = tokio::spawn(follow_renewals(tls.certificate));
        Ok(Self {
            ready,
            local,
            accepting,
            renewing,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accepting.abort();
        self.renewing.abort();
    }
}

async fn accept_loop(
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    ready: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    loop {
        let (stream, peer) = match tcp.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait rather than spin.
                tracing::warn!(error = %e, "cannot accept a management API connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let (acceptor, ready) = (acceptor.clone(), ready.clone());
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    let _ = ready.send((tls, peer)).await;
                }
                // A client that does not trust the certificate ends up here; it reports the
                // reason on its side.
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accept loop only ends when aborted, which happens when this is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
