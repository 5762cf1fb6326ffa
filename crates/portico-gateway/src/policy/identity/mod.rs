//! `authentication-managed-identity` in a running pipeline, as a policy of its own (the
//! backend request) or inside `send-request` (that call): the token for the resource (and
//! user-assigned identity, if any) comes from the gateway-wide [`Tokens`] cache, and goes
//! into `Authorization: Bearer …` or into a variable. A failure is `context.LastError`
//! reason `ManagedIdentityTokenFailure` (a 500 when unhandled) unless `ignore-error` is set;
//! its message never holds a token.

mod endpoint;
mod tokens;

pub use endpoint::IdentityEndpoint;
pub use tokens::Tokens;

use super::eval::text;
use super::execute::Run;
use super::failure::Failure;
use http::{header, HeaderMap, HeaderValue};
use portico_policy::expr::Value;
use portico_policy::policies::AuthenticationManagedIdentity;

const REASON: &str = "ManagedIdentityTokenFailure";

impl Run<'_, '_> {
    /// The policy on its own: authenticates the backend request.
    pub(in crate::policy) async fn managed_identity(
        &mut self,
        p: &AuthenticationManagedIdentity,
    ) -> Result<(), Failure> {
        let mut headers = std::mem::take(&mut self.st.headers);
        let result = self.authenticate(p, &mut headers).await;
        self.st.headers = headers;
        result
    }

    /// Puts a token into `headers` (or the variable the policy names).
    pub(in crate::policy) async fn authenticate(
        &mut self,
        p: &AuthenticationManagedIdentity,
        headers: &mut HeaderMap,
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
                    REASON,
                    format!("Unable to obtain a managed identity token for `{resource}`: {e}"),
                ))
            }
        };
        match &p.output_token_variable_name {
            Some(name) => {
                let name = text(name, &mut self.cx())?.into_owned();
                self.st.set_variable(&name, Value::Str(token));
            }
            None => {
                let mut value = HeaderValue::try_from(format!("Bearer {token}")).map_err(|_| {
                    Failure::policy(
                        REASON,
                        "The managed identity endpoint answered a token that is not a header value.",
                    )
                })?;
                value.set_sensitive(true);
                headers.insert(header::AUTHORIZATION, value);
            }
        }
        Ok(())
    }
}
