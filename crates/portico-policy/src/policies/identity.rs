//! `<authentication-managed-identity>`: the gateway obtains an access token for `resource`
//! from the platform's managed-identity endpoint and sends it to the backend as
//! `Authorization: Bearer …` (or keeps it in a variable).

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
