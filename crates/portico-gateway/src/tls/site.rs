//! [`Site`]: one certificate with the TLS settings it is served with, ready for handshakes.
//! Every site speaks TLS 1.2 and 1.3 only, with the aws-lc-rs provider's default (AEAD,
//! forward-secret) cipher suites, and serves its whole chain.

use super::client_auth::OptionalClientCertificate;
use portico_model::{CertificateInfo, ParsedCertificate};
use rustls::server::danger::ClientCertVerifier;
use rustls::server::WebPkiClientVerifier;
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{RootCertStore, ServerConfig};
use std::sync::Arc;

/// The certificate authorities a site checks client certificates against.
#[derive(Debug, Clone, Default)]
pub struct ClientTrust {
    /// Roots (`isTrusted: true`).
    pub roots: Vec<rustls::pki_types::CertificateDer<'static>>,
    /// Intermediates a client may leave out of its chain (`isTrusted: false`).
    pub intermediates: Vec<rustls::pki_types::CertificateDer<'static>>,
}

/// A served certificate and how handshakes that select it are answered.
#[derive(Debug)]
pub struct Site {
    /// The hostname configured (`*.example.com` for wildcards), or the file name for a
    /// local-file certificate.
    pub hostname: String,
    pub certificate: CertificateInfo,
    pub(super) config: Arc<ServerConfig>,
    /// Checks client certificates for trust after the handshake; `None` when the site does
    /// not ask for them or trusts no authority.
    pub(super) trust: Option<Arc<dyn ClientCertVerifier>>,
    /// Intermediates from the trusted authorities, offered to path building.
    pub(super) intermediates: Vec<rustls::pki_types::CertificateDer<'static>>,
    /// Every configured authority (roots, then intermediates), where a client
    /// certificate's issuer is looked for.
    pub(super) authorities: Arc<[rustls::pki_types::CertificateDer<'static>]>,
    /// Whether handshakes ask the client for a certificate.
    asks_for_client_certificates: bool,
}

/// How a site answers handshakes.
#[derive(Debug, Clone, Default)]
pub struct SiteOptions {
    /// Offer HTTP/2 by ALPN (HTTP/1.1 is always offered).
    pub http2: bool,
    /// Ask for a client certificate (never required by the handshake itself).
    pub client_certificates: Option<ClientTrust>,
}

impl Site {
    /// Builds the TLS configuration for `certificate` (which must have its private key).
    pub fn new(
        hostname: String,
        certificate: ParsedCertificate,
        options: &SiteOptions,
    ) -> Result<Self, String> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let key = certificate
            .key
            .ok_or("the certificate has no private key, so it cannot be served")?;
        let signing = provider
            .key_provider
            .load_private_key(key)
            .map_err(|e| format!("the private key cannot be used: {e}"))?;
        let certified = Arc::new(CertifiedKey::new(certificate.chain, signing));
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| format!("TLS versions: {e}"))?;
        let authorities = options
            .client_certificates
            .iter()
            .flat_map(|trust| trust.roots.iter().chain(&trust.intermediates))
            .cloned()
            .collect();
        let (builder, trust, intermediates) = match &options.client_certificates {
            None => (builder.with_no_client_auth(), None, Vec::new()),
            Some(trust) => {
                let verifier = trust_verifier(trust, &provider)?;
                let asking = OptionalClientCertificate::new(trust, provider.clone());
                (
                    builder.with_client_cert_verifier(Arc::new(asking)),
                    verifier,
                    trust.intermediates.clone(),
                )
            }
        };
        let mut config = builder.with_cert_resolver(Arc::new(SingleCertAndKey::from(certified)));
        config.alpn_protocols = if options.http2 {
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        } else {
            vec![b"http/1.1".to_vec()]
        };
        Ok(Self {
            hostname,
            certificate: certificate.info,
            config: Arc::new(config),
            trust,
            intermediates,
            authorities,
            asks_for_client_certificates: options.client_certificates.is_some(),
        })
    }

    /// Whether handshakes that select this site ask for a client certificate
    /// (`negotiateClientCertificate`).
    pub fn asks_for_client_certificates(&self) -> bool {
        self.asks_for_client_certificates
    }

    /// The rustls configuration handshakes that select this site finish with.
    pub fn server_config(&self) -> Arc<ServerConfig> {
        self.config.clone()
    }
}

/// A webpki verifier over the trusted roots, or `None` when there are none (every client
/// certificate is then untrusted).
fn trust_verifier(
    trust: &ClientTrust,
    provider: &Arc<rustls::crypto::CryptoProvider>,
) -> Result<Option<Arc<dyn ClientCertVerifier>>, String> {
    if trust.roots.is_empty() {
        return Ok(None);
    }
    let mut roots = RootCertStore::empty();
    for root in &trust.roots {
        roots
            .add(root.clone())
            .map_err(|e| format!("a trusted certificate authority cannot be used: {e}"))?;
    }
    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map(Some)
        .map_err(|e| format!("the trusted certificate authorities cannot be used: {e}"))
}
