//! The pooled HTTP clients that carry requests to backends: HTTP/1.1 and HTTP/2 (chosen by
//! ALPN for TLS backends), keep-alive connections shared across config reloads.
//!
//! Two clients exist because certificate checking is a property of the connection: one
//! verifies backends against the system's root certificates (the default), the other serves
//! backends configured with APIM's `validateCertificateChain: false`.

use crate::proxy::body::RequestBody;
use crate::runtime::TlsVerification;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::sync::Arc;
use std::time::Duration;

/// A pooled client for one verification mode.
pub type UpstreamClient = Client<HttpsConnector<HttpConnector>, RequestBody>;

/// Settings shared by both clients.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    pub connect_timeout: Duration,
    pub pool_idle_timeout: Duration,
    pub pool_max_idle_per_host: usize,
}

/// The gateway's backend clients.
#[derive(Debug, Clone)]
pub struct UpstreamClients {
    verified: UpstreamClient,
    unverified: UpstreamClient,
}

impl UpstreamClients {
    /// Builds both clients. Missing system roots are not fatal (plain-HTTP backends still
    /// work), but are logged because every TLS backend will then fail verification.
    pub fn new(settings: &ClientSettings) -> Self {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut roots = RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        for e in &native.errors {
            tracing::warn!(error = %e, "could not load some system root certificates");
        }
        let (added, _ignored) = roots.add_parsable_certificates(native.certs);
        if added == 0 {
            tracing::warn!("no system root certificates found: TLS backends will fail verification (install ca-certificates)");
        }
        let verified = base_config(&provider)
            .with_root_certificates(roots)
            .with_no_client_auth();
        let unverified = base_config(&provider)
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider.clone())))
            .with_no_client_auth();
        Self {
            verified: build(verified, settings),
            unverified: build(unverified, settings),
        }
    }

    /// The client for a backend's verification mode.
    pub fn for_tls(&self, tls: TlsVerification) -> &UpstreamClient {
        match tls {
            TlsVerification::Full => &self.verified,
            TlsVerification::None => &self.unverified,
        }
    }
}

fn base_config(
    provider: &Arc<CryptoProvider>,
) -> rustls::ConfigBuilder<ClientConfig, rustls::WantsVerifier> {
    ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("the aws-lc-rs provider supports the default protocol versions")
}

fn build(tls: ClientConfig, settings: &ClientSettings) -> UpstreamClient {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(settings.connect_timeout));
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(http);
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(settings.pool_idle_timeout)
        .pool_max_idle_per_host(settings.pool_max_idle_per_host)
        .pool_timer(hyper_util::rt::TokioTimer::new())
        .timer(hyper_util::rt::TokioTimer::new())
        .build(connector)
}

/// Accepts any server certificate but still checks handshake signatures, for backends whose
/// operator turned verification off.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
