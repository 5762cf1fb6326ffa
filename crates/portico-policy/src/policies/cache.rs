//! Caching: whole responses (`cache-lookup` in inbound, `cache-store` in outbound) and
//! values by key (`cache-lookup-value`, `cache-store-value`, `cache-remove-value`), in the
//! gateway's internal cache or an external one ([`CachingType`]). Whether an external cache
//! exists is the gateway's to know (`--redis`): a gateway without one refuses
//! `caching-type="external"` when it compiles the policy; `prefer-external` then uses the
//! internal cache, as APIM does when no external cache is configured. `cache-store` has no
//! `caching-type` of its own: it stores where its `cache-lookup` looked.

use super::Policy;
use crate::template::{Param, Template};
use crate::xml::attrs::Attrs;
use crate::xml::reader::El;

/// `downstream-caching-type`: what `Cache-Control` tells clients and proxies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DownstreamCaching {
    None,
    Private,
    Public,
}

/// `caching-type`: which cache a policy uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CachingType {
    Internal,
    /// The external cache only; a gateway without one refuses the policy.
    External,
    /// The external cache when the gateway has one, else the internal (APIM's default).
    #[default]
    PreferExternal,
}

/// `<cache-lookup>`: the key varies by the listed headers and query parameters.
#[derive(Debug, Clone)]
pub struct CacheLookup {
    pub caching_type: CachingType,
    /// Portico has no developer accounts: a subscription stands for its developer.
    pub vary_by_developer: Param<bool>,
    pub allow_private_response_caching: Param<bool>,
    pub downstream_caching_type: DownstreamCaching,
    pub must_revalidate: Param<bool>,
    pub vary_by_headers: Vec<String>,
    pub vary_by_query_parameters: Vec<String>,
}

/// `<cache-store>`.
#[derive(Debug, Clone)]
pub struct CacheStore {
    /// Seconds a response stays cached.
    pub duration: Param<u32>,
    /// Cache the response whatever its status; by default only a 200 is cached.
    pub cache_response: Param<bool>,
}

#[derive(Debug, Clone)]
pub struct CacheLookupValue {
    pub caching_type: CachingType,
    pub key: Template,
    pub variable_name: String,
    /// Set when the key is not cached; otherwise the variable is not set at all.
    pub default_value: Option<Template>,
}

#[derive(Debug, Clone)]
pub struct CacheStoreValue {
    pub caching_type: CachingType,
    pub key: Template,
    pub value: Template,
    pub duration: Param<u32>,
}

/// `<cache-remove-value>`.
#[derive(Debug, Clone)]
pub struct CacheRemoveValue {
    pub caching_type: CachingType,
    pub key: Template,
}

/// Reads `caching-type` (default `prefer-external`).
fn caching_type(a: &mut Attrs<'_, '_>) -> CachingType {
    a.choice(
        "caching-type",
        &[
            ("internal", CachingType::Internal),
            ("external", CachingType::External),
            ("prefer-external", CachingType::PreferExternal),
        ],
    )
    .unwrap_or_default()
}

fn positive(v: &u32) -> bool {
    *v > 0
}

pub(super) fn cache_lookup(el: &El<'_, '_>) -> Option<Policy> {
    let mut a = el.attrs();
    let vary_by_developer = a.required_flag("vary-by-developer");
    let groups = a.required_flag("vary-by-developer-groups");
    if let Some(Param::Value(true) | Param::Expr(_)) = groups {
        el.error(
            "vary-by-developer-groups is not supported: Portico has no developer groups; \
             set it to false (vary-by-developer varies by subscription)",
        );
    }
    let allow_private = a.flag("allow-private-response-caching");
    let downstream = a.choice(
        "downstream-caching-type",
        &[
            ("none", DownstreamCaching::None),
            ("private", DownstreamCaching::Private),
            ("public", DownstreamCaching::Public),
        ],
    );
    let must_revalidate = a.flag("must-revalidate");
    let caching_type = caching_type(&mut a);
    a.finish();
    let mut headers = Vec::new();
    let mut query = Vec::new();
    for child in el.children() {
        let list = match child.name() {
            "vary-by-header" => &mut headers,
            "vary-by-query-parameter" => &mut query,
            other => {
                child.error(format!(
                    "unexpected element <{other}>: expected vary-by-header or vary-by-query-parameter"
                ));
                continue;
            }
        };
        child.attrs().finish();
        match child.text(true) {
            Some(Template::Literal(l)) => list.push(l.as_str().to_owned()),
            Some(Template::Expr(_)) => {
                child.error("must name a header or parameter, not hold an expression")
            }
            None => {}
        }
    }
    Some(Policy::CacheLookup(CacheLookup {
        caching_type,
        vary_by_developer: vary_by_developer?,
        allow_private_response_caching: allow_private.unwrap_or(Param::Value(false)),
        downstream_caching_type: downstream.unwrap_or(DownstreamCaching::None),
        must_revalidate: must_revalidate.unwrap_or(Param::Value(true)),
        vary_by_headers: headers,
        vary_by_query_parameters: query,
    }))
}

pub(super) fn cache_store(el: &El<'_, '_>) -> Option<Policy> {
    let mut a = el.attrs();
    let duration = a.required_param("duration", "a positive number of seconds", positive);
    let cache_response = a.flag("cache-response");
    a.finish();
    el.expect_empty();
    Some(Policy::CacheStore(CacheStore {
        duration: duration?,
        cache_response: cache_response.unwrap_or(Param::Value(false)),
    }))
}

pub(super) fn cache_lookup_value(el: &El<'_, '_>) -> Option<Policy> {
    let mut a = el.attrs();
    let key = a.required("key");
    let variable_name = a.literal("variable-name", true);
    let default_value = a.template("default-value");
    let caching_type = caching_type(&mut a);
    a.finish();
    el.expect_empty();
    Some(Policy::CacheLookupValue(CacheLookupValue {
        caching_type,
        key: key?,
        variable_name: variable_name?,
        default_value,
    }))
}

pub(super) fn cache_store_value(el: &El<'_, '_>) -> Option<Policy> {
    let mut a = el.attrs();
    let key = a.required("key");
    let value = a.required("value");
    let duration = a.required_param("duration", "a positive number of seconds", positive);
    let caching_type = caching_type(&mut a);
    a.finish();
    el.expect_empty();
    Some(Policy::CacheStoreValue(CacheStoreValue {
        caching_type,
        key: key?,
        value: value?,
        duration: duration?,
    }))
}

pub(super) fn cache_remove_value(el: &El<'_, '_>) -> Option<Policy> {
    let mut a = el.attrs();
    let key = a.required("key");
    let caching_type = caching_type(&mut a);
    a.finish();
    el.expect_empty();
    Some(Policy::CacheRemoveValue(CacheRemoveValue {
        caching_type,
        key: key?,
    }))
}
