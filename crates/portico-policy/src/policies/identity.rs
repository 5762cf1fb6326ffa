//! How the gateway proves who it is to a backend: `<authentication-managed-identity>` (an
//! access token for `resource` from the platform's managed-identity endpoint, sent as
//! `Authorization: Bearer …` or kept in a variable) and `<authentication-certificate>` (a
//! client certificate presented in the backend's TLS handshake).

use super::Policy;
use crate::template::{Param, Template};
use crate::xml::reader::El;

/// `<authentication-managed-identity>`.
#[derive(Debug, Clone)]
pub struct AuthenticationManagedIdentity {
    /// The application ID URI of the target API (an expression is allowed, as in APIM).
    pub resource: Template,
    /// A user-assigned identity's client id; the system-assigned identity when absent.
    pub client_id: Option<Template>,
    /// Keep the token in this variable instead of setting the `Authorization` header.
    pub output_token_variable_name: Option<Template>,
    /// Go on without a token when none could be obtained.
    pub ignore_error: bool,
}

pub(super) fn authentication_managed_identity(el: &El<'_, '_>) -> Option<Policy> {
    let mut a = el.attrs();
    let resource = a.required("resource");
    let client_id = a.template("client-id");
    let variable = a.template("output-token-variable-name");
    let ignore_error = a.flag("ignore-error");
    a.refuse(
        &["authentication-provider"],
        ": only the platform's managed identity is (IMDS, App Service, Container Apps)",
    );
    a.finish();
    el.expect_empty();
    for (name, t) in [
        ("client-id", &client_id),
        ("output-token-variable-name", &variable),
    ] {
        if let Some(Template::Expr(_)) = t {
            el.error(format!(
                "{name} must be a fixed value, not an expression (as in APIM)"
            ));
            return None;
        }
    }
    let ignore_error = match ignore_error {
        Some(Param::Value(v)) => v,
        Some(Param::Expr(_)) => {
            el.error("ignore-error must be true or false, not an expression (as in APIM)");
            return None;
        }
        None => false,
    };
    Some(Policy::AuthenticationManagedIdentity(
        AuthenticationManagedIdentity {
            resource: resource?,
            client_id,
            output_token_variable_name: variable,
            ignore_error,
        },
    ))
}

/// Which uploaded certificate `<authentication-certificate>` presents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertificateRef {
    /// `certificate-id`: the certificate resource's id.
    Id(String),
    /// `thumbprint`: the SHA-1 thumbprint of an uploaded certificate (hex, any case).
    Thumbprint(String),
}

/// `<authentication-certificate>`: present this client certificate to the backend.
#[derive(Debug, Clone)]
pub struct AuthenticationCertificate {
    pub certificate: CertificateRef,
}

pub(super) fn authentication_certificate(el: &El<'_, '_>) -> Option<Policy> {
    let before = el.cx.error_count();
    let mut a = el.attrs();
    // Fixed values only: the control plane reads them to send the certificate (and only that
    // one) to the gateways whose policies name it, and the gateway loads the key once per
    // configuration rather than per request.
    let id = a.literal("certificate-id", false);
    let thumbprint = a.literal("thumbprint", false);
    a.refuse(
        &["body", "password"],
        ": upload the certificate (PFX or PEM with its key) and name it with certificate-id",
    );
    a.finish();
    el.expect_empty();
    let certificate = match (id, thumbprint) {
        (Some(id), None) => CertificateRef::Id(id),
        (None, Some(t)) => {
            let t: String = t.chars().filter(|c| !c.is_whitespace()).collect();
            if t.len() != 40 || !t.chars().all(|c| c.is_ascii_hexdigit()) {
                el.error("thumbprint must be a certificate's SHA-1 thumbprint: 40 hex digits");
                return None;
            }
            CertificateRef::Thumbprint(t.to_ascii_uppercase())
        }
        (Some(_), Some(_)) => {
            el.error("set certificate-id or thumbprint, not both");
            return None;
        }
        (None, None) => {
            if el.cx.error_count() == before {
                el.error("needs certificate-id or thumbprint naming an uploaded certificate");
            }
            return None;
        }
    };
    Some(Policy::AuthenticationCertificate(
        AuthenticationCertificate { certificate },
    ))
}
