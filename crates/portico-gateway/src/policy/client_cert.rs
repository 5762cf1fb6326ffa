//! `validate-client-certificate` run against the connection's client certificate: the
//! rules first (present, not before, not after, trusted: in the order APIM reports them),
//! then the identities, any one of which must match in full. A refusal carries APIM's
//! reason code and answers 401 with APIM's body, unless `ignore-error` lets the request go
//! on.

use super::execute::Run;
use super::failure::Failure;
use crate::errors::GatewayError;
use crate::tls::ClientCertificate;
use http::StatusCode;
use portico_policy::policies::{CertificateIdentity, ValidateClientCertificate};
use rustls::pki_types::CertificateDer;
use std::time::UNIX_EPOCH;

/// A `validate-client-certificate` compiled with its snapshot.
#[derive(Debug)]
pub struct ClientCertificateCheck {
    policy: ValidateClientCertificate,
    /// Per identity, the certificate its `issuer-certificate-id` names.
    issuers: Vec<Option<CertificateDer<'static>>>,
}

/// APIM's reason code and the message `context.LastError` shows.
type Refusal = (&'static str, String);

impl ClientCertificateCheck {
    /// Resolves each `issuer-certificate-id` through `certificate` (an unknown id is an
    /// error now, not a refusal of every request later).
    pub fn new(
        policy: &ValidateClientCertificate,
        certificate: impl Fn(&str) -> Result<CertificateDer<'static>, String>,
    ) -> Result<Self, String> {
        let issuers = policy
            .identities
            .iter()
            .map(|identity| {
                identity
                    .issuer_certificate_id
                    .as_deref()
                    .map(|id| {
                        certificate(id).map_err(|e| {
                            format!(
                                "<identity> at {}: issuer-certificate-id: {e}",
                                identity.position
                            )
                        })
                    })
                    .transpose()
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            policy: policy.clone(),
            issuers,
        })
    }

    /// Why `cert` does not pass at `now` (Unix seconds), if it does not.
    fn judge(&self, cert: Option<&ClientCertificate>, now: i64) -> Result<(), Refusal> {
        let p = &self.policy;
        let Some(cert) = cert else {
            return Err((
                "ClientCertificateNotFound",
                "Client certificate missing.".into(),
            ));
        };
        if p.validate_not_before && now < cert.info.not_before_unix() {
            return Err((
                "ClientCertificateNotYetValid",
                format!("Certificate is not valid before {}.", cert.info.not_before),
            ));
        }
        if p.validate_not_after && now > cert.info.not_after_unix() {
            return Err((
                "ClientCertificateExpired",
                format!("Certificate expired on {}.", cert.info.expiration_date),
            ));
        }
        if let (true, Err(why)) = (p.validate_trust, &cert.trust) {
            return Err((
                "ClientCertificateNotTrusted",
                format!(
                    "A certificate chain could not be built to a trusted root authority. ({why})"
                ),
            ));
        }
        let matched = p.identities.is_empty()
            || p.identities
                .iter()
                .zip(&self.issuers)
                .any(|(identity, issuer)| matches(identity, issuer.as_ref(), cert));
        if !matched {
            return Err((
                "ClientCertificateIdentityNotMatched",
                "Certificate does not match any of allowed identities.".into(),
            ));
        }
        Ok(())
    }
}

/// Whether `cert` satisfies every claim `identity` makes. Hex compares ignoring case, names
/// ignoring case and surrounding spaces.
fn matches(
    identity: &CertificateIdentity,
    issuer: Option<&CertificateDer<'static>>,
    cert: &ClientCertificate,
) -> bool {
    let same = |a: &str, b: &str| a.trim().to_lowercase() == b.trim().to_lowercase();
    let serial = cert.info.serial_number.trim_start_matches('0');
    identity
        .thumbprint
        .as_deref()
        .is_none_or(|t| t.eq_ignore_ascii_case(&cert.info.thumbprint))
        && identity
            .serial_number
            .as_deref()
            .is_none_or(|s| s.trim_start_matches('0').eq_ignore_ascii_case(serial))
        && identity
            .common_name
            .as_deref()
            .is_none_or(|want| cert.common_names().any(|cn| same(cn, want)))
        && identity
            .subject
            .as_ref()
            .is_none_or(|dn| dn.matches(&cert.subject))
        && identity.dns_name.as_deref().is_none_or(|want| {
            cert.dns_names
                .iter()
                .any(|dns| dns.trim_end_matches('.').eq_ignore_ascii_case(want))
        })
        && identity
            .issuer_subject
            .as_ref()
            .is_none_or(|dn| dn.matches(&cert.issuer))
        && identity
            .issuer_thumbprint
            .as_deref()
            .is_none_or(|t| cert.issuer_thumbprint() == Some(t))
        && issuer.is_none_or(|der| cert.issued_by(der))
}

impl Run<'_, '_> {
    pub(super) fn validate_client_certificate(
        &mut self,
        check: &ClientCertificateCheck,
    ) -> Result<(), Failure> {
        let now = (self.env.clock)()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let Err((reason, message)) = check.judge(self.env.client_certificate.as_deref(), now)
        else {
            return Ok(());
        };
        if check.policy.ignore_error {
            tracing::debug!(
                request_id = ?self.exchange.request_id,
                reason,
                message,
                "client certificate refused; ignore-error lets the request go on"
            );
            return Ok(());
        }
        // APIM's body says only whether a certificate was missing or invalid; the reason is
        // in context.LastError and the log.
        let body = if reason == "ClientCertificateNotFound" {
            "Client certificate missing"
        } else {
            "Invalid client certificate"
        };
        Err(Failure {
            reason,
            message,
            answer: GatewayError::PolicyRefused {
                status: StatusCode::UNAUTHORIZED,
                message: body.to_owned(),
            },
        })
    }
}
