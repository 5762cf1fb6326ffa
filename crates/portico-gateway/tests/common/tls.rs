//! TLS test kit: a private CA made with rcgen that issues leaf certificates, documents that
//! serve them on hostname configurations, and a rustls client that reports which
//! certificate a handshake got.

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use portico_model::{CertificateInfo, Document, DocumentFormat, Snapshot};
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// A certificate authority that issues certificates.
pub struct Ca {
    pub cert: rcgen::Certificate,
    key: KeyPair,
}

/// An issued certificate: PEM chain (leaf first), PEM key, and the leaf's SHA-1 thumbprint.
#[derive(Clone)]
pub struct Issued {
    pub chain_pem: String,
    pub key_pem: String,
    pub thumbprint: String,
}

/// The parameters and key of a certificate authority named `name`, to self-sign or have signed.
fn authority(name: &str) -> (CertificateParams, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    (params, key)
}

impl Ca {
    pub fn new(name: &str) -> Self {
        let (params, key) = authority(name);
        let cert = params.self_signed(&key).unwrap();
        Self { cert, key }
    }

    /// An intermediate authority signed by this one.
    pub fn intermediate(&self, name: &str) -> Self {
        let (params, key) = authority(name);
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        Self { cert, key }
    }

    pub fn der(&self) -> CertificateDer<'static> {
        self.cert.der().clone()
    }

    pub fn pem(&self) -> String {
        self.cert.pem()
    }

    /// A server certificate for `names`, signed by this authority.
    pub fn issue(&self, names: &[&str]) -> Issued {
        self.issue_with(names, |_| {})
    }

    /// A certificate for `names` with `adjust` applied to its parameters first.
    pub fn issue_with(
        &self,
        names: &[&str],
        adjust: impl FnOnce(&mut CertificateParams),
    ) -> Issued {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
                .unwrap();
        if let Some(first) = names.first() {
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, *first);
        }
        adjust(&mut params);
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        Issued {
            thumbprint: thumbprint(cert.der()),
            chain_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

impl Issued {
    /// This certificate followed by `intermediate` in its chain.
    pub fn with_intermediate(mut self, intermediate: &Ca) -> Self {
        self.chain_pem.push_str(&intermediate.pem());
        self
    }

    /// The `certificates` entry serving this certificate.
    pub fn entry(&self, id: &str) -> serde_json::Value {
        serde_json::json!({"id": id, "pem": self.chain_pem, "key": self.key_pem})
    }
}

pub fn thumbprint(der: &[u8]) -> String {
    CertificateInfo::of_der(der).unwrap().thumbprint
}

/// A snapshot of `base` (a JSON document) at `revision`.
pub fn snapshot_of(base: &serde_json::Value, revision: u64) -> Snapshot {
    let doc = Document::parse_valid(&base.to_string(), DocumentFormat::Json)
        .expect("test document is valid");
    Snapshot::new(revision, doc).unwrap()
}

/// What a TLS client saw.
pub struct Handshake {
    pub stream: TlsStream<TcpStream>,
    /// SHA-1 thumbprint of the leaf the server sent.
    pub thumbprint: String,
    /// Certificates the server sent (leaf first).
    pub chain_len: usize,
    pub alpn: Option<Vec<u8>>,
}

/// Client settings for [`connect`].
#[derive(Clone)]
pub struct Client {
    pub config: Arc<rustls::ClientConfig>,
}

impl Client {
    /// A client trusting `roots`, offering `alpn`, with an optional client certificate.
    pub fn new(
        roots: &[CertificateDer<'static>],
        alpn: &[&[u8]],
        identity: Option<&Issued>,
    ) -> Self {
        Self::with_versions(roots, alpn, identity, rustls::DEFAULT_VERSIONS)
    }

    pub fn with_versions(
        roots: &[CertificateDer<'static>],
        alpn: &[&[u8]],
        identity: Option<&Issued>,
        versions: &[&'static rustls::SupportedProtocolVersion],
    ) -> Self {
        let mut store = rustls::RootCertStore::empty();
        for root in roots {
            store.add(root.clone()).unwrap();
        }
        let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(store);
        let mut config = match identity {
            None => builder.with_no_client_auth(),
            Some(id) => {
                let chain = CertificateDer::pem_slice_iter(id.chain_pem.as_bytes())
                    .collect::<Result<Vec<_>, _>>()
                    .unwrap();
                let key = PrivateKeyDer::from_pem_slice(id.key_pem.as_bytes()).unwrap();
                builder.with_client_auth_cert(chain, key).unwrap()
            }
        };
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Self {
            config: Arc::new(config),
        }
    }

    /// Connects to `addr` and handshakes for `server_name` (an IP address sends no SNI).
    pub async fn connect(&self, addr: SocketAddr, server_name: &str) -> std::io::Result<Handshake> {
        let name = ServerName::try_from(server_name.to_owned()).unwrap();
        let tcp = TcpStream::connect(addr).await?;
        let stream = tokio_rustls::TlsConnector::from(self.config.clone())
            .connect(name, tcp)
            .await?;
        let conn = stream.get_ref().1;
        let chain = conn.peer_certificates().unwrap_or_default();
        Ok(Handshake {
            thumbprint: chain.first().map(|c| thumbprint(c)).unwrap_or_default(),
            chain_len: chain.len(),
            alpn: conn.alpn_protocol().map(<[u8]>::to_vec),
            stream,
        })
    }
}

use rustls::pki_types::pem::PemObject;

/// An HTTP/1.1 connection over a finished handshake.
pub struct Http1 {
    sender: hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
}

impl Http1 {
    pub async fn over(handshake: Handshake) -> Self {
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(handshake.stream))
            .await
            .unwrap();
        tokio::spawn(conn);
        Self { sender }
    }

    /// GETs `path` with `Host: host`; answers status and body.
    pub async fn get(&mut self, host: &str, path: &str) -> Result<(u16, Bytes), String> {
        let (status, _, body) = self.get_with_headers(host, path).await?;
        Ok((status, body))
    }

    /// [`Http1::get`], with the response headers too.
    pub async fn get_with_headers(
        &mut self,
        host: &str,
        path: &str,
    ) -> Result<(u16, http::HeaderMap, Bytes), String> {
        self.sender.ready().await.map_err(|e| e.to_string())?;
        let req = Request::get(path)
            .header("host", host)
            .body(Empty::new())
            .unwrap();
        let res = self
            .sender
            .send_request(req)
            .await
            .map_err(|e| e.to_string())?;
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let body = res
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok((status, headers, body))
    }
}
