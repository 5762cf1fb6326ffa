//! [`ClientCertificate`]: what a client's TLS certificate says, read once per connection for
//! `validate-client-certificate` and `context.Request.Certificate`.
//!
//! Trust is judged at the handshake against the gateway's certificate authorities, at a
//! moment inside the certificate's own validity, so trust and the not-before/not-after
//! checks stay separate questions as they are in APIM's policy.

use super::Site;
use portico_model::CertificateInfo;
use rustls::pki_types::{CertificateDer, UnixTime};
use std::time::Duration;

/// A certificate a client presented.
#[derive(Debug)]
pub struct ClientCertificate {
    pub info: CertificateInfo,
    /// Whether the chain leads to a trusted authority; the error says why not.
    pub trust: Result<(), String>,
}

impl ClientCertificate {
    /// Reads the client's chain (leaf first) as `site` received it. `None` when the leaf is
    /// not readable X.509 (the handshake already proved the client holds its key).
    pub(crate) fn from_handshake(chain: &[CertificateDer<'static>], site: &Site) -> Option<Self> {
        let leaf = chain.first()?;
        let info = CertificateInfo::of_der(leaf).ok()?;
        let trust = match &site.trust {
            None => Err("no trusted certificate authority is configured for this gateway".into()),
            Some(verifier) => {
                let mut intermediates = chain[1..].to_vec();
                intermediates.extend(site.intermediates.iter().cloned());
                let middle = info.not_before_unix() / 2 + info.not_after_unix() / 2;
                let at = UnixTime::since_unix_epoch(Duration::from_secs(
                    u64::try_from(middle).unwrap_or_default(),
                ));
                verifier
                    .verify_client_cert(leaf, &intermediates, at)
                    .map(|_| ())
                    .map_err(|e| format!("the certificate chain is not trusted: {e}"))
            }
        };
        Some(Self { info, trust })
    }

    pub fn is_trusted(&self) -> bool {
        self.trust.is_ok()
    }
}
