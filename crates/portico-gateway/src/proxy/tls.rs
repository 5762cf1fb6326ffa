//! TLS settings for backend connections. By default a backend's certificate chain is verified
//! against the system's root certificates and its name against the URL's host. APIM's backend
//! properties `validateCertificateChain` and `validateCertificateName` turn each check off on
//! its own; turning one off never turns the other off. A backend may instead trust only its
//! own certificate authorities (`tls.caCertificateIds`) and present a client certificate
//! (`credentials.certificateIds`) for mTLS.

use crate::runtime::{BackendTlsSettings, TlsVerification};
use crate::tls::signatures::HandshakeSignatures;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::PrivateKeyDer;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use std::sync::Arc;

/// The roots and crypto every backend TLS configuration is built from.
#[derive(Debug, Clone)]
pub struct BackendTls {
    provider: Arc<CryptoProvider>,
    /// `None` when the system has no usable root certificates: chain checks then fail.
    webpki: Option<Arc<WebPkiServerVerifier>>,
}

/// Which application protocols a connection offers by ALPN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alpn {
    /// HTTP/2 preferred, HTTP/1.1 accepted: ordinary requests.
    H2OrHttp1,
    /// HTTP/1.1 only: protocol upgrades (WebSocket), which HTTP/2 cannot carry.
    Http1,
}

impl BackendTls {
    /// Loads the system roots. Missing roots are not fatal (plain-HTTP backends still work,
    /// and so do backends with `validateCertificateChain: false`), but are logged because
    /// every other TLS backend will then fail.
    pub fn load() -> Self {
        let mut roots = RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        for e in &native.errors {
            tracing::warn!(error = %e, "could not load some system root certificates");
        }
        let (added, _ignored) = roots.add_parsable_certificates(native.certs);
        if added == 0 {
            tracing::warn!("no system root certificates found: TLS backends that verify their chain will fail (install ca-certificates)");
        }
        Self::with_roots(roots)
    }

    /// Backend TLS trusting exactly `roots`.
    pub fn with_roots(roots: RootCertStore) -> Self {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        // rustls refuses to build a verifier over an empty store.
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .ok();
        Self { provider, webpki }
    }

    /// A client configuration for one backend's TLS settings and ALPN offer. Built when a
    /// snapshot is compiled, never per request.
    pub fn client_config(
        &self,
        settings: &BackendTlsSettings,
        alpn: Alpn,
    ) -> Result<Arc<ClientConfig>, String> {
        let webpki = match &settings.roots {
            None => self.webpki.clone(),
            Some(roots) => {
                let mut store = RootCertStore::empty();
                for root in roots.iter() {
                    store.add(root.clone()).map_err(|e| {
                        format!("a trusted certificate authority cannot be used: {e}")
                    })?;
                }
                Some(
                    WebPkiServerVerifier::builder_with_provider(
                        Arc::new(store),
                        self.provider.clone(),
                    )
                    .build()
                    .map_err(|e| {
                        format!("the trusted certificate authorities cannot be used: {e}")
                    })?,
                )
            }
        };
        let builder = ClientConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .expect("the aws-lc-rs provider supports the default protocol versions")
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(BackendVerifier {
                webpki,
                signatures: HandshakeSignatures::of(&self.provider),
                verification: settings.verification,
            }));
        let mut config = match &settings.identity {
            None => builder.with_no_client_auth(),
            Some(identity) => builder
                .with_client_auth_cert(identity.chain.clone(), identity.key.clone_key())
                .map_err(|e| format!("the client certificate cannot be used: {e}"))?,
        };
        config.alpn_protocols = match alpn {
            Alpn::H2OrHttp1 => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
            Alpn::Http1 => vec![b"http/1.1".to_vec()],
        };
        Ok(Arc::new(config))
    }
}

/// A client certificate with its key, presented to backends that ask for one. Compared and
/// hashed by thumbprint (the certificate binds the key).
pub struct ClientIdentity {
    pub thumbprint: String,
    pub chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl ClientIdentity {
    /// Reads a certificate resource holding a private key.
    pub fn from_certificate(certificate: &portico_model::Certificate) -> Result<Self, String> {
        let parsed = certificate.parse()?;
        let key = parsed
            .key
            .ok_or("the certificate has no private key, so it cannot authenticate the gateway")?;
        Ok(Self {
            thumbprint: parsed.info.thumbprint,
            chain: parsed.chain,
            key,
        })
    }
}

impl std::fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("thumbprint", &self.thumbprint)
            .finish_non_exhaustive()
    }
}

impl PartialEq for ClientIdentity {
    fn eq(&self, other: &Self) -> bool {
        self.thumbprint == other.thumbprint
    }
}

impl Eq for ClientIdentity {}

impl std::hash::Hash for ClientIdentity {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.thumbprint.hash(state);
    }
}

/// Verifies what the backend's settings ask for: chain and name (webpki's full check), the
/// chain without the name, the name without the chain, or neither. Handshake signatures are
/// always checked.
#[derive(Debug)]
struct BackendVerifier {
    webpki: Option<Arc<WebPkiServerVerifier>>,
    signatures: HandshakeSignatures,
    verification: TlsVerification,
}

impl ServerCertVerifier for BackendVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let TlsVerification { chain, name } = self.verification;
        if chain {
            let Some(webpki) = &self.webpki else {
                return Err(rustls::Error::InvalidCertificate(
                    CertificateError::UnknownIssuer,
                ));
            };
            return match webpki.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            ) {
                Err(rustls::Error::InvalidCertificate(
                    CertificateError::NotValidForName
                    | CertificateError::NotValidForNameContext { .. },
                )) if !name => Ok(ServerCertVerified::assertion()),
                other => other,
            };
        }
        if name {
            let cert = ParsedCertificate::try_from(end_entity)?;
            rustls::client::verify_server_name(&cert, server_name)?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.signatures.tls12(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.signatures.tls13(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.signatures.schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_roots_is_not_fatal() {
        let tls = BackendTls::with_roots(RootCertStore::empty());
        assert!(tls.webpki.is_none());
        // Every mode still yields a configuration; chain checks will simply fail.
        for chain in [true, false] {
            for name in [true, false] {
                tls.client_config(&TlsVerification { chain, name }.into(), Alpn::H2OrHttp1)
                    .unwrap();
            }
        }
    }
}
