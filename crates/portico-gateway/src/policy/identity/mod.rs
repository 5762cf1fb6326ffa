//! `authentication-managed-identity` in a running pipeline: the token for the policy's
//! resource (and user-assigned identity, if any) comes from the gateway-wide [`Tokens`]
//! cache, and goes into `Authorization: Bearer …` on the backend request or into a
//! variable. A failure is `context.LastError` reason `ManagedIdentityTokenFailure` (a 500
//! when unhandled) unless `ignore-error` is set; its message never holds a token.

mod endpoint;
mod tokens;

pub use endpoint::IdentityEndpoint;
pub use tokens::Tokens;

use super::eval::text;
use super::execute::Run;
use super::failure::Failure;
use http::{header, HeaderValue};
use portico_policy::expr::Value;
use portico_policy::policies::AuthenticationManagedIdentity;

impl Run<'_, '_> {
    pub(in crate::policy) async fn managed_identity(
        &mut self,
        p: &AuthenticationManagedIdentity,
    ) -> Result<(), Failure> {
        let resource = text(&p.resource, &mut self.cx())?.into_owned();
        let client_id = match &p.client_id {
            Some(c) => Some(text(c, &mut self.cx())?.into_owned()),
            None => None,
        };
        let token = match self
            .shared
            .identity
            .token(&resource, client_id.as_deref(), &self.shared.upstreams)
            .await
        {
            Ok(token) => token,
            // APIM: the pipeline goes on without a token.
            Err(_) if p.ignore_error => return Ok(()),
            Err(e) => {
                return Err(Failure::policy(
                    "ManagedIdentityTokenFailure",
                    format!("Unable to obtain a managed identity token for `{resource}`: {e}"),
                ))
            }
        };
        match &p.output_token_variable_name {
            Some(name) => {
                let name = text(name, &mut self.cx())?.into_owned();
                self.store_variable(&name, Value::Str(token));
            }
            None => {
                let mut value = HeaderValue::try_from(format!("Bearer {token}")).map_err(|_| {
                    Failure::policy(
                        "ManagedIdentityTokenFailure",
                        "The managed identity endpoint answered a token that is not a header value.",
                    )
                })?;
                value.set_sensitive(true);
                self.st.headers.insert(header::AUTHORIZATION, value);
            }
        }
        Ok(())
    }
}
