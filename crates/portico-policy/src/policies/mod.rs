//! The typed policy tree: one variant per supported APIM policy, each carrying what
//! Microsoft's policy reference documents for it, plus the position it was written at.
//! Parsing of each area lives in its own module; this one dispatches by element name and
//! refuses, by name, everything else.

mod access;
mod blocks;
mod cache;
mod calls;
mod client_cert;
mod distinguished_name;
mod flow;
mod identity;
mod jwt;
mod known;
mod limits;
mod message;
mod observe;
mod routing;

use std::sync::Arc;

pub use access::{AnyOr, AuthenticationBasic, CheckHeader, Cors, IpFilter, IpSpan};
pub use blocks::{Retry, Wait};
pub use cache::{
    CacheLookup, CacheLookupValue, CacheRemoveValue, CacheStore, CacheStoreValue, CachingType,
    DownstreamCaching,
};
pub use calls::{CallRequest, SendMode, SendRequest};
pub use client_cert::{CertificateIdentity, ValidateClientCertificate};
pub use distinguished_name::{attribute_type_of_oid, DistinguishedName};
pub use flow::{Choose, IncludeFragment, ReturnResponse, When};
pub use identity::{AuthenticationCertificate, AuthenticationManagedIdentity, CertificateRef};
pub use jwt::{RequiredClaim, SigningKey, TokenSource, ValidateJwt};
pub use limits::{
    KeyedLimit, Limit, LimitConcurrency, LimitOutputs, Quota, RateLimit, ScopedLimit,
};
pub use message::{
    BodyContent, ExistsAction, FindAndReplace, LiquidBody, MockResponse, SetBody, SetHeader,
    SetQueryParameter, SetStatus, SetVariable, XsiNil,
};
pub use observe::{Dimension, EmitMetric, Severity, Trace, TraceMetadata};
pub use routing::{BackendTarget, ForwardRequest, RewriteUri, SetBackendService};

use crate::error::Position;
use crate::template::Template;
use crate::xml::reader::El;

/// A policy where it was written.
#[derive(Debug, Clone)]
pub struct PolicyNode {
    /// Position of the element's `<` in its document.
    pub position: Position,
    /// The document it came from once composed ("global", "api", "fragment `x`", …);
    /// `None` in a single parsed document.
    pub origin: Option<Arc<str>>,
    pub policy: Policy,
}

/// One policy. A composed pipeline never contains `Base` or `IncludeFragment`: composition
/// replaces them with what they stand for.
#[derive(Debug, Clone)]
pub enum Policy {
    Base,
    Choose(Choose),
    SetVariable(SetVariable),
    SetHeader(SetHeader),
    SetQueryParameter(SetQueryParameter),
    /// `<set-method>`: the method (or an expression giving it) as text.
    SetMethod(Template),
    SetStatus(SetStatus),
    SetBody(SetBody),
    RewriteUri(RewriteUri),
    SetBackendService(SetBackendService),
    ForwardRequest(ForwardRequest),
    ReturnResponse(ReturnResponse),
    MockResponse(MockResponse),
    IncludeFragment(IncludeFragment),
    FindAndReplace(FindAndReplace),
    Trace(Trace),
    EmitMetric(EmitMetric),
    RateLimit(RateLimit),
    RateLimitByKey(KeyedLimit),
    Quota(Quota),
    QuotaByKey(KeyedLimit),
    LimitConcurrency(LimitConcurrency),
    CheckHeader(CheckHeader),
    IpFilter(IpFilter),
    Cors(Cors),
    AuthenticationBasic(AuthenticationBasic),
    Retry(Retry),
    Wait(Wait),
    SendRequest(SendRequest),
    SendOneWayRequest(CallRequest),
    CacheLookupValue(CacheLookupValue),
    CacheStoreValue(CacheStoreValue),
    CacheRemoveValue(CacheRemoveValue),
    ValidateJwt(Box<ValidateJwt>),
    CacheLookup(CacheLookup),
    CacheStore(CacheStore),
    AuthenticationManagedIdentity(AuthenticationManagedIdentity),
    AuthenticationCertificate(AuthenticationCertificate),
    ValidateClientCertificate(Box<ValidateClientCertificate>),
}

impl Policy {
    /// The element name, as APIM spells it.
    pub fn name(&self) -> &'static str {
        match self {
            Policy::Base => "base",
            Policy::Choose(_) => "choose",
            Policy::SetVariable(_) => "set-variable",
            Policy::SetHeader(_) => "set-header",
            Policy::SetQueryParameter(_) => "set-query-parameter",
            Policy::SetMethod(_) => "set-method",
            Policy::SetStatus(_) => "set-status",
            Policy::SetBody(_) => "set-body",
            Policy::RewriteUri(_) => "rewrite-uri",
            Policy::SetBackendService(_) => "set-backend-service",
            Policy::ForwardRequest(_) => "forward-request",
            Policy::ReturnResponse(_) => "return-response",
            Policy::MockResponse(_) => "mock-response",
            Policy::IncludeFragment(_) => "include-fragment",
            Policy::FindAndReplace(_) => "find-and-replace",
            Policy::Trace(_) => "trace",
            Policy::EmitMetric(_) => "emit-metric",
            Policy::RateLimit(_) => "rate-limit",
            Policy::RateLimitByKey(_) => "rate-limit-by-key",
            Policy::Quota(_) => "quota",
            Policy::QuotaByKey(_) => "quota-by-key",
            Policy::LimitConcurrency(_) => "limit-concurrency",
            Policy::CheckHeader(_) => "check-header",
            Policy::IpFilter(_) => "ip-filter",
            Policy::Cors(_) => "cors",
            Policy::AuthenticationBasic(_) => "authentication-basic",
            Policy::Retry(_) => "retry",
            Policy::Wait(_) => "wait",
            Policy::SendRequest(_) => "send-request",
            Policy::SendOneWayRequest(_) => "send-one-way-request",
            Policy::CacheLookupValue(_) => "cache-lookup-value",
            Policy::CacheStoreValue(_) => "cache-store-value",
            Policy::CacheRemoveValue(_) => "cache-remove-value",
            Policy::ValidateJwt(_) => "validate-jwt",
            Policy::CacheLookup(_) => "cache-lookup",
            Policy::CacheStore(_) => "cache-store",
            Policy::AuthenticationManagedIdentity(_) => "authentication-managed-identity",
            Policy::AuthenticationCertificate(_) => "authentication-certificate",
            Policy::ValidateClientCertificate(_) => "validate-client-certificate",
        }
    }

    /// Nested policy lists (the branches of `<choose>`), for walkers.
    pub fn children(&self) -> Vec<&[PolicyNode]> {
        match self {
            Policy::Choose(c) => c
                .whens
                .iter()
                .map(|w| w.policies.as_slice())
                .chain(c.otherwise.as_deref())
                .collect(),
            Policy::LimitConcurrency(l) => vec![l.policies.as_slice()],
            Policy::Retry(r) => vec![r.policies.as_slice()],
            Policy::Wait(w) => vec![w.policies.as_slice()],
            _ => Vec::new(),
        }
    }
}

/// How refusals start, so reports can tell "not supported" from "unknown" apart.
pub const NOT_SUPPORTED: &str = "not supported by Portico yet";
pub const UNKNOWN: &str = "unknown policy";

/// Parses the policy elements under `parent`. `<base/>` is accepted only where `base_ok`
/// (directly in a section), as in APIM.
pub(crate) fn parse_list(parent: &El<'_, '_>, base_ok: bool) -> Vec<PolicyNode> {
    parent
        .children()
        .filter_map(|el| {
            let policy = parse_policy(&el, base_ok)?;
            Some(PolicyNode {
                position: el.position(),
                origin: None,
                policy,
            })
        })
        .collect()
}

fn parse_policy(el: &El<'_, '_>, base_ok: bool) -> Option<Policy> {
    if el.node.tag_name().namespace().is_some() {
        el.error("policy elements have no namespace");
        return None;
    }
    let before = el.cx.error_count();
    let policy = match el.name() {
        "base" => flow::base(el, base_ok),
        "choose" => flow::choose(el),
        "return-response" => flow::return_response(el),
        "include-fragment" => flow::include_fragment(el),
        "set-variable" => message::set_variable(el),
        "set-header" => message::set_header(el).map(Policy::SetHeader),
        "set-query-parameter" => message::set_header(el).map(Policy::SetQueryParameter),
        "set-method" => message::set_method(el),
        "set-status" => message::set_status(el).map(Policy::SetStatus),
        "set-body" => message::set_body(el).map(Policy::SetBody),
        "find-and-replace" => message::find_and_replace(el),
        "mock-response" => message::mock_response(el),
        "rewrite-uri" => routing::rewrite_uri(el),
        "set-backend-service" => routing::set_backend_service(el),
        "forward-request" => routing::forward_request(el),
        "trace" => observe::trace(el),
        "emit-metric" => observe::emit_metric(el),
        "rate-limit" => limits::rate_limit(el),
        "rate-limit-by-key" => limits::by_key(el, false).map(Policy::RateLimitByKey),
        "quota" => limits::quota(el),
        "quota-by-key" => limits::by_key(el, true).map(Policy::QuotaByKey),
        "limit-concurrency" => limits::limit_concurrency(el),
        "check-header" => access::check_header(el),
        "ip-filter" => access::ip_filter(el),
        "cors" => access::cors(el),
        "authentication-basic" => access::authentication_basic(el),
        "retry" => blocks::retry(el),
        "wait" => blocks::wait(el),
        "send-request" => calls::send_request(el),
        "send-one-way-request" => calls::send_one_way_request(el),
        "cache-lookup-value" => cache::cache_lookup_value(el),
        "cache-store-value" => cache::cache_store_value(el),
        "cache-remove-value" => cache::cache_remove_value(el),
        "cache-lookup" => cache::cache_lookup(el),
        "cache-store" => cache::cache_store(el),
        "validate-jwt" => jwt::validate_jwt(el),
        "authentication-managed-identity" => identity::authentication_managed_identity(el),
        "authentication-certificate" => identity::authentication_certificate(el),
        "validate-client-certificate" => client_cert::validate_client_certificate(el),
        name if known::is_apim_policy(name) => {
            el.error(format!(
                "{NOT_SUPPORTED}: remove it or use a supported policy"
            ));
            None
        }
        _ => {
            el.error(format!(
                "{UNKNOWN}: check the spelling against APIM's policy reference"
            ));
            None
        }
    };
    // A policy with any error is dropped; the errors make the whole document fail anyway.
    policy.filter(|_| el.cx.error_count() == before)
}
