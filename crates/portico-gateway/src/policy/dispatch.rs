//! Runs the call, cache, JWT, managed-identity and client-certificate policies: the executor hands every such step here, so its
//! own dispatch stays one arm.

use super::execute::{Flow, Run};
use super::failure::Failure;
use super::plan::Action;
use portico_policy::Section;

impl Run<'_, '_> {
    pub(super) async fn dispatch(
        &mut self,
        action: &Action,
        section: Section,
    ) -> Result<Flow, Failure> {
        match action {
            Action::SendRequest(s, c) => self.send_request(s, c, section).await?,
            Action::SendOneWay(r, c) => self.send_one_way(r, c, section).await?,
            Action::CacheLookupValue(v) => self.cache_lookup_value(v).await?,
            Action::CacheStoreValue(v) => self.cache_store_value(v).await?,
            Action::CacheRemoveValue(r) => self.cache_remove_value(r).await?,
            Action::ValidateJwt(j) => self.validate_jwt(j).await?,
            Action::CacheLookup(c) => return self.cache_lookup(c).await,
            Action::CacheStore(c) => self.cache_store(c).await?,
            Action::ManagedIdentity(m) => self.managed_identity(m).await?,
            Action::ValidateClientCertificate(c) => self.validate_client_certificate(c)?,
            _ => unreachable!("the executor sends only these policies here"),
        }
        Ok(Flow::Next)
    }
}
