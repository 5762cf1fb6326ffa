//! Asking for a client certificate without requiring one, as APIM's
//! `negotiateClientCertificate` does: the handshake proves the client holds the key of
//! whatever certificate it sends, and policies (`validate-client-certificate`) decide later
//! whether the certificate is acceptable. The trusted authorities are offered as hints so
//! clients with several certificates pick the right one.

use super::signatures::HandshakeSignatures;
use super::site::ClientTrust;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use std::sync::Arc;

#[derive(Debug)]
pub(super) struct OptionalClientCertificate {
    hints: Vec<DistinguishedName>,
    signatures: HandshakeSignatures,
}

impl OptionalClientCertificate {
    pub fn new(trust: &ClientTrust, provider: Arc<CryptoProvider>) -> Self {
        let hints = trust
            .roots
            .iter()
            .chain(&trust.intermediates)
            .filter_map(|der| {
                let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
                Some(DistinguishedName::from(cert.subject().as_raw().to_vec()))
            })
            .collect();
        Self {
            hints,
            signatures: HandshakeSignatures::of(&provider),
        }
    }
}

impl ClientCertVerifier for OptionalClientCertificate {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }

    /// Any certificate is accepted here; its trust is checked after the handshake and given
    /// to policies (see [`super::ClientCertificate`]).
    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
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
