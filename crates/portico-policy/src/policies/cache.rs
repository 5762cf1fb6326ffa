//! Caching: whole responses (`cache-lookup` in inbound, `cache-store` in outbound) and
//! values by key (`cache-lookup-value`, `cache-store-value`, `cache-remove-value`). Only
//! the gateway's internal cache exists: `caching-type="external"` is refused by name until
//! an external (Redis) cache lands; `prefer-external` falls back to internal, as APIM does
//! when no external cache is configured.

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

/// `<cache-lookup>`: the key varies by the listed headers and query parameters.
#[derive(Debug, Clone)]
pub struct CacheLookup {
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
    pub key: Template,
    pub variable_name: String,
    /// Set when the key is not cached; otherwise the variable is not set at all.
    pub default_value: Option<Template>,
}

#[derive(Debug, Clone)]
pub struct CacheStoreValue {
    pub key: Template,
    pub value: Template,
    pub duration: Param<u32>,
}

/// Reads `caching-type`, refusing what has no cache behind it yet.
fn caching_type(el: &El<'_, '_>, a: &mut Attrs<'_, '_>) {
    #[derive(Clone, Copy, PartialEq)]
    enum Kind {
        Internal,
        External,
        PreferExternal,
    }
    let kind = a.choice(
        "caching-type",
        &[
            ("internal", Kind::Internal),
            ("external", Kind::External),
            ("prefer-external", Kind::PreferExternal),
        ],
    );
    if kind == Some(Kind::External) {
        el.error(
            "caching-type=\"external\" is not supported by Portico yet (no external cache): \
             use internal or prefer-external",
        );
    }
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
    caching_type(el, &mut a);
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
    caching_type(el, &mut a);
    a.finish();
    el.expect_empty();
    Some(Policy::CacheLookupValue(CacheLookupValue {
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
    caching_type(el, &mut a);
    a.finish();
    el.expect_empty();
    Some(Policy::CacheStoreValue(CacheStoreValue {
        key: key?,
        value: value?,
        duration: duration?,
    }))
}

pub(super) fn cache_remove_value(el: &El<'_, '_>) -> Option<Policy> {
    let mut a = el.attrs();
    let key = a.required("key");
    caching_type(el, &mut a);
    a.finish();
    el.expect_empty();
    Some(Policy::CacheRemoveValue(key?))
}
