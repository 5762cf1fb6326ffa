//! Whether one certificate issued another: the issuer's subject must be the certificate's
//! issuer name *and* the issuer's key must verify the certificate's signature. A name alone
//! proves nothing (anyone can put a CA's name in a certificate they sign themselves), and
//! `validate-client-certificate`'s `issuer-thumbprint` and `issuer-certificate-id` are
//! meant to pin the key, so both are checked, by webpki with the candidate as the only
//! trust anchor.

use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::RootCertStore;
use std::sync::{Arc, OnceLock};

fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .clone()
}

/// The raw subject and issuer names of a DER certificate.
fn names(der: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    Some((
        cert.subject().as_raw().to_vec(),
        cert.issuer().as_raw().to_vec(),
    ))
}

/// Whether `issuer` signed `leaf`, judged at `at` (a moment inside the leaf's validity, so
/// that dates stay a separate question).
pub(super) fn issued(
    leaf: &CertificateDer<'_>,
    issuer: &CertificateDer<'static>,
    at: UnixTime,
) -> bool {
    let (Some((_, leaf_issuer)), Some((issuer_subject, _))) = (names(leaf), names(issuer)) else {
        return false;
    };
    if leaf_issuer != issuer_subject {
        return false;
    }
    let mut anchor = RootCertStore::empty();
    if anchor.add(issuer.clone()).is_err() {
        return false;
    }
    WebPkiClientVerifier::builder_with_provider(Arc::new(anchor), provider())
        .build()
        .is_ok_and(|verifier| verifier.verify_client_cert(leaf, &[], at).is_ok())
}
