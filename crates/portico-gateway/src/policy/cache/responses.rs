//! `cache-lookup` and `cache-store` (placeholder while they land).

use crate::policy::execute::{Flow, Run};
use crate::policy::failure::Failure;
use portico_policy::policies::{CacheLookup, CacheStore};

impl Run<'_, '_> {
    pub(in crate::policy) async fn cache_lookup(
        &mut self,
        _: &CacheLookup,
    ) -> Result<Flow, Failure> {
        Err(Failure::policy(
            "NotSupported",
            "cache-lookup is not supported by Portico yet",
        ))
    }

    pub(in crate::policy) async fn cache_store(&mut self, _: &CacheStore) -> Result<(), Failure> {
        Err(Failure::policy(
            "NotSupported",
            "cache-store is not supported by Portico yet",
        ))
    }
}
