//! The external cache: Redis (`--redis`), shared by every replica using it. Which cache a
//! policy uses follows its `caching-type`: `external` and `prefer-external` go to Redis when
//! the gateway has one; without one, `prefer-external` uses the internal cache and
//! `external` is refused when the configuration is compiled ([`refuse_external`]), never
//! accepted and then quietly served from somewhere else. While Redis is unavailable a lookup
//! is a miss and a store or remove is dropped (counted in
//! `portico_external_cache_unavailable_total`): a cache outage costs backend calls, not
//! errors.

use crate::policy::execute::Run;
use crate::redis::Redis;
use portico_policy::policies::CachingType;
use portico_policy::{Pipeline, Policy, PolicyNode, Section};
use std::sync::Arc;

impl Run<'_, '_> {
    /// The Redis a policy with this `caching-type` uses, or `None` for the internal cache.
    pub(super) fn external_cache(&self, t: CachingType) -> Option<Arc<Redis>> {
        match t {
            CachingType::Internal => None,
            CachingType::External | CachingType::PreferExternal => self.shared.redis.clone(),
        }
    }
}

/// The bytes under `key`; `None` on a miss or while Redis is unavailable.
pub(super) async fn get(redis: &Redis, key: &str) -> Option<Vec<u8>> {
    let mut cmd = redis::cmd("GET");
    cmd.arg(redis.key("", key));
    redis.cache_query(&cmd).await.ok().flatten()
}

/// Keeps `bytes` under `key` for `seconds`.
pub(super) async fn put(redis: &Redis, key: &str, bytes: &[u8], seconds: u32) {
    let mut cmd = redis::cmd("SET");
    cmd.arg(redis.key("", key))
        .arg(bytes)
        .arg("EX")
        .arg(seconds);
    let _: Result<(), _> = redis.cache_query(&cmd).await;
}

pub(super) async fn remove(redis: &Redis, key: &str) {
    let mut cmd = redis::cmd("DEL");
    cmd.arg(redis.key("", key));
    let _: Result<(), _> = redis.cache_query(&cmd).await;
}

/// For a gateway without an external cache: the first policy of `pipeline` that demands one
/// (`caching-type="external"`), as an error saying what to do.
pub fn refuse_external(pipeline: &Pipeline) -> Result<(), String> {
    Section::ALL
        .iter()
        .try_for_each(|s| refuse_in(pipeline.section(*s)))
}

fn refuse_in(nodes: &[PolicyNode]) -> Result<(), String> {
    for node in nodes {
        let t = match &node.policy {
            Policy::CacheLookup(c) => c.caching_type,
            Policy::CacheLookupValue(c) => c.caching_type,
            Policy::CacheStoreValue(c) => c.caching_type,
            Policy::CacheRemoveValue(c) => c.caching_type,
            _ => CachingType::Internal,
        };
        if t == CachingType::External {
            let scope = node.origin.as_deref().unwrap_or("policy");
            return Err(format!(
                "{scope}, {}: <{}>: caching-type=\"external\" needs an external cache: start \
                 the gateway with --redis URL (or PORTICO_REDIS), or use caching-type=\"internal\" \
                 or \"prefer-external\"",
                node.position,
                node.policy.name()
            ));
        }
        for branch in node.policy.children() {
            refuse_in(branch)?;
        }
    }
    Ok(())
}
