//! `<validate-client-certificate>`: the rules a client's TLS certificate must pass (trust,
//! validity dates) and the identities it may match, with APIM's attributes and defaults. No
//! attribute takes an expression, as in APIM.
//!
//! Revocation is the one rule Portico cannot check (it fetches no CRL and asks no OCSP
//! responder), and APIM checks it unless told not to: `validate-revocation` must be written
//! `"false"`, so a policy never silently gets less checking than it asked for.

use super::distinguished_name::DistinguishedName;
use super::Policy;
use crate::error::Position;
use crate::template::Param;
use crate::xml::reader::El;

/// `<validate-client-certificate>`.
#[derive(Debug, Clone)]
pub struct ValidateClientCertificate {
    /// The chain must lead to a trusted certificate authority. APIM default: true.
    pub validate_trust: bool,
    /// The certificate's `NotBefore` must have passed. APIM default: true.
    pub validate_not_before: bool,
    /// The certificate's `NotAfter` must not have passed. APIM default: true.
    pub validate_not_after: bool,
    /// Go on to the next policy when validation fails. APIM default: false.
    pub ignore_error: bool,
    /// The certificate must match one of these (every attribute given); none: any
    /// certificate that passes the rules.
    pub identities: Vec<CertificateIdentity>,
}

/// One `<identity>`: the claims a certificate must all satisfy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertificateIdentity {
    pub position: Position,
    /// Upper-case hex SHA-1, separators removed.
    pub thumbprint: Option<String>,
    /// Upper-case hex without leading zeros.
    pub serial_number: Option<String>,
    /// A common name (`CN`) of the subject.
    pub common_name: Option<String>,
    pub subject: Option<DistinguishedName>,
    /// A `dNSName` of the subject alternative names.
    pub dns_name: Option<String>,
    pub issuer_subject: Option<DistinguishedName>,
    /// The issuer certificate's thumbprint, as `thumbprint`.
    pub issuer_thumbprint: Option<String>,
    /// The id of a certificate resource holding the issuer's public key.
    pub issuer_certificate_id: Option<String>,
}

/// A `true`/`false` attribute where APIM allows no expression; `default` when absent.
fn fixed_flag(el: &El<'_, '_>, name: &str, p: Option<Param<bool>>, default: bool) -> bool {
    match p {
        Some(Param::Value(v)) => v,
        Some(Param::Expr(_)) => {
            el.error(format!(
                "{name} must be true or false, not an expression (as in APIM)"
            ));
            default
        }
        None => default,
    }
}

pub(super) fn validate_client_certificate(el: &El<'_, '_>) -> Option<Policy> {
    let mut a = el.attrs();
    let revocation = a.flag("validate-revocation");
    let trust = a.flag("validate-trust");
    let not_before = a.flag("validate-not-before");
    let not_after = a.flag("validate-not-after");
    let ignore_error = a.flag("ignore-error");
    a.finish();
    let revocation_written = el.node.attribute("validate-revocation").is_some();
    let revocation_expr = matches!(revocation, Some(Param::Expr(_)));
    if fixed_flag(el, "validate-revocation", revocation, true) && !revocation_expr {
        let how = if revocation_written {
            "validate-revocation=\"true\""
        } else {
            "without validate-revocation=\"false\" (APIM's default is true), the policy"
        };
        el.error(format!(
            "{how} asks for a revocation check, which Portico cannot do (it fetches no CRL and asks no OCSP responder): write validate-revocation=\"false\" to accept certificates without one"
        ));
    }
    let policy = ValidateClientCertificate {
        validate_trust: fixed_flag(el, "validate-trust", trust, true),
        validate_not_before: fixed_flag(el, "validate-not-before", not_before, true),
        validate_not_after: fixed_flag(el, "validate-not-after", not_after, true),
        ignore_error: fixed_flag(el, "ignore-error", ignore_error, false),
        identities: identities(el),
    };
    Some(Policy::ValidateClientCertificate(Box::new(policy)))
}

/// The identities of the one `<identities>` element.
fn identities(el: &El<'_, '_>) -> Vec<CertificateIdentity> {
    let mut out = Vec::new();
    let mut seen = false;
    for child in el.children() {
        if child.name() != "identities" {
            child.error("<validate-client-certificate> holds one <identities> element only");
            continue;
        }
        if seen {
            child.error("write every <identity> in one <identities> element");
        }
        seen = true;
        child.attrs().finish();
        for identity in child.children() {
            if identity.name() == "identity" {
                out.extend(self::identity(&identity));
            } else {
                identity.error("<identities> holds <identity> elements only");
            }
        }
    }
    out
}

fn identity(el: &El<'_, '_>) -> Option<CertificateIdentity> {
    let before = el.cx.error_count();
    let mut a = el.attrs();
    let thumbprint = a.literal("thumbprint", false);
    let serial_number = a.literal("serial-number", false);
    let common_name = a.literal("common-name", false);
    let subject = a.literal("subject", false);
    let dns_name = a.literal("dns-name", false);
    let issuer_subject = a.literal("issuer-subject", false);
    let issuer_thumbprint = a.literal("issuer-thumbprint", false);
    let issuer_certificate_id = a.literal("issuer-certificate-id", false);
    a.finish();
    el.expect_empty();
    let name = |attr: &str, text: Option<String>| {
        let text = text?;
        DistinguishedName::parse(&text)
            .map_err(|e| el.error(format!("{attr} is not a distinguished name: {e}")))
            .ok()
    };
    let identity = CertificateIdentity {
        position: el.position(),
        thumbprint: thumbprint.and_then(|t| sha1_hex(el, "thumbprint", &t)),
        serial_number: serial_number.and_then(|s| serial(el, &s)),
        common_name: common_name.map(|c| c.trim().to_owned()),
        subject: name("subject", subject),
        dns_name: dns_name.map(|d| d.trim().trim_end_matches('.').to_owned()),
        issuer_subject: name("issuer-subject", issuer_subject),
        issuer_thumbprint: issuer_thumbprint.and_then(|t| sha1_hex(el, "issuer-thumbprint", &t)),
        issuer_certificate_id: issuer_certificate_id.map(|i| i.trim().to_owned()),
    };
    if identity.issuer_certificate_id.is_some()
        && (identity.issuer_subject.is_some() || identity.issuer_thumbprint.is_some())
    {
        el.error("issuer-certificate-id cannot be combined with issuer-subject or issuer-thumbprint (they are mutually exclusive in APIM)");
    }
    let empty = CertificateIdentity {
        position: identity.position,
        ..CertificateIdentity::default()
    };
    if identity == empty && el.cx.error_count() == before {
        // An identity without claims would let every certificate through.
        el.error("an <identity> needs at least one attribute (thumbprint, serial-number, common-name, subject, dns-name, issuer-subject, issuer-thumbprint or issuer-certificate-id)");
    }
    (el.cx.error_count() == before).then_some(identity)
}

/// Hex with the separators certificate viewers show (spaces, colons, and the invisible
/// left-to-right mark Windows puts in front of a copied thumbprint) removed.
fn bare_hex(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && *c != ':' && *c != '\u{200e}')
        .collect::<String>()
        .to_ascii_uppercase()
}

fn sha1_hex(el: &El<'_, '_>, attr: &str, text: &str) -> Option<String> {
    let hex = bare_hex(text);
    if hex.len() == 40 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Some(hex);
    }
    el.error(format!(
        "{attr} must be a certificate's SHA-1 thumbprint: 40 hexadecimal digits, not `{text}`"
    ));
    None
}

fn serial(el: &El<'_, '_>, text: &str) -> Option<String> {
    let hex = bare_hex(text);
    if !hex.is_empty() && hex.len() <= 42 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        // Leading zero bytes (DER's sign byte) do not change the number.
        let trimmed = hex.trim_start_matches('0');
        return Some(if trimmed.is_empty() { "0" } else { trimmed }.to_owned());
    }
    el.error(format!(
        "serial-number must be the certificate's serial number in hexadecimal, not `{text}`"
    ));
    None
}
