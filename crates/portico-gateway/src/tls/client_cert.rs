//! [`ClientCertificate`]: what a client's TLS certificate says, read once per connection for
//! `validate-client-certificate` and `context.Request.Certificate`.
//!
//! Trust is judged at the handshake against the gateway's certificate authorities, at a
//! moment inside the certificate's own validity, so trust and the not-before/not-after
//! checks stay separate questions as they are in APIM's policy. Who issued the certificate
//! is worked out only when a policy asks (`issuer-thumbprint`), once per connection.

use super::client_names::{dotnet_text, Attributes, Names};
use super::Site;
use portico_model::CertificateInfo;
use rustls::pki_types::{CertificateDer, UnixTime};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// A certificate a client presented.
#[derive(Debug)]
pub struct ClientCertificate {
    pub info: CertificateInfo,
    /// Whether the chain leads to a trusted authority; the error says why not.
    pub trust: Result<(), String>,
    /// Subject attributes in certificate order, types as .NET names them (`CN`, `S`, …).
    pub subject: Attributes,
    /// Issuer attributes, likewise.
    pub issuer: Attributes,
    /// The subject as .NET's `X509Certificate2.Subject` prints it (`CN=…, O=…, C=…`).
    pub subject_text: String,
    /// The issuer, likewise.
    pub issuer_text: String,
    /// `dNSName` entries of the subject alternative names.
    pub dns_names: Vec<String>,
    /// What the client sent, leaf first.
    chain: Vec<CertificateDer<'static>>,
    /// The site's certificate authorities, where the issuer may be found too.
    authorities: Arc<[CertificateDer<'static>]>,
    issuer_thumbprint: OnceLock<Option<String>>,
}

impl ClientCertificate {
    /// Reads the client's chain (leaf first) as `site` received it. `None` when the leaf is
    /// not readable X.509 (the handshake already proved the client holds its key).
    pub(crate) fn from_handshake(chain: &[CertificateDer<'static>], site: &Site) -> Option<Self> {
        let leaf = chain.first()?;
        let info = CertificateInfo::of_der(leaf).ok()?;
        let (_, parsed) = x509_parser::parse_x509_certificate(leaf).ok()?;
        let names = Names::of(&parsed);
        let trust = match &site.trust {
            None => Err("no trusted certificate authority is configured for this gateway".into()),
            Some(verifier) => {
                let mut intermediates = chain[1..].to_vec();
                intermediates.extend(site.intermediates.iter().cloned());
                verifier
                    .verify_client_cert(leaf, &intermediates, judged_at(&info))
                    .map(|_| ())
                    .map_err(|e| format!("the certificate chain is not trusted: {e}"))
            }
        };
        Some(Self {
            info,
            trust,
            subject_text: dotnet_text(&names.subject),
            issuer_text: dotnet_text(&names.issuer),
            subject: names.subject,
            issuer: names.issuer,
            dns_names: names.dns_names,
            chain: chain.to_vec(),
            authorities: site.authorities.clone(),
            issuer_thumbprint: OnceLock::new(),
        })
    }

    pub fn is_trusted(&self) -> bool {
        self.trust.is_ok()
    }

    /// The subject's common names (`CN`).
    pub fn common_names(&self) -> impl Iterator<Item = &str> {
        self.subject
            .iter()
            .filter(|(kind, _)| kind == "CN")
            .map(|(_, value)| value.as_str())
    }

    /// The SHA-1 thumbprint of the certificate that issued this one, found among what the
    /// client sent and the gateway's certificate authorities; `None` when none of them did.
    pub fn issuer_thumbprint(&self) -> Option<&str> {
        self.issuer_thumbprint
            .get_or_init(|| {
                self.chain[1..]
                    .iter()
                    .chain(self.authorities.iter())
                    .find(|candidate| self.issued_by(candidate))
                    .and_then(|issuer| CertificateInfo::of_der(issuer).ok())
                    .map(|info| info.thumbprint)
            })
            .as_deref()
    }

    /// Whether `issuer` (a DER certificate) issued this one: its name and its key.
    pub fn issued_by(&self, issuer: &CertificateDer<'static>) -> bool {
        super::issuer::issued(&self.chain[0], issuer, judged_at(&self.info))
    }
}

/// The middle of the certificate's validity: the moment trust and issuers are judged at.
fn judged_at(info: &CertificateInfo) -> UnixTime {
    let middle = info.not_before_unix() / 2 + info.not_after_unix() / 2;
    UnixTime::since_unix_epoch(Duration::from_secs(
        u64::try_from(middle).unwrap_or_default(),
    ))
}
