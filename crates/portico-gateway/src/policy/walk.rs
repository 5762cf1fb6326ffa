//! The expressions and secret literals of the call, cache, JWT and managed-identity policies, for the plan's
//! walkers (whether a step reads a body, whether it must keep its errors out of the log).

use portico_policy::policies::{AuthenticationManagedIdentity, CallRequest, Policy, SetHeader};
use portico_policy::{Expr, Param, Template};

/// Every template a policy of this family holds.
fn templates(p: &Policy) -> Vec<&Template> {
    let mut out = Vec::new();
    match p {
        Policy::SendRequest(s) => {
            out.push(&s.response_variable_name);
            call(&s.request, &mut out);
        }
        Policy::SendOneWayRequest(r) => call(r, &mut out),
        Policy::CacheLookupValue(v) => {
            out.push(&v.key);
            out.extend(&v.default_value);
        }
        Policy::CacheStoreValue(v) => out.extend([&v.key, &v.value]),
        Policy::CacheRemoveValue(r) => out.push(&r.key),
        Policy::AuthenticationManagedIdentity(m) => identity(m, &mut out),
        Policy::ValidateJwt(j) => {
            out.push(match &j.source {
                portico_policy::policies::TokenSource::Header(t)
                | portico_policy::policies::TokenSource::Query(t)
                | portico_policy::policies::TokenSource::Value(t) => t,
            });
            out.extend(&j.failed_message);
            out.extend(&j.require_scheme);
            out.extend(&j.audiences);
            out.extend(&j.issuers);
            out.extend(j.required_claims.iter().flat_map(|c| &c.values));
            for k in &j.keys {
                if let portico_policy::policies::SigningKey::Symmetric { key, .. } = k {
                    out.push(key);
                }
            }
        }
        _ => {}
    }
    out
}

fn call<'p>(r: &'p CallRequest, out: &mut Vec<&'p Template>) {
    out.extend(&r.url);
    out.extend(&r.method);
    for h in &r.headers {
        header(h, out);
    }
    out.extend(r.body.as_ref().and_then(|b| b.template()));
    if let Some(m) = &r.managed_identity {
        identity(m, out);
    }
}

fn identity<'p>(m: &'p AuthenticationManagedIdentity, out: &mut Vec<&'p Template>) {
    out.push(&m.resource);
    out.extend(&m.client_id);
    out.extend(&m.output_token_variable_name);
}

fn header<'p>(h: &'p SetHeader, out: &mut Vec<&'p Template>) {
    out.push(&h.name);
    out.extend(&h.values);
}

/// Typed attributes that may be expressions.
fn params(p: &Policy) -> Vec<Option<&Expr>> {
    fn e<T>(p: &Param<T>) -> Option<&Expr> {
        match p {
            Param::Expr(e) => Some(e),
            Param::Value(_) => None,
        }
    }
    match p {
        Policy::SendRequest(s) => vec![e(&s.request.mode), e(&s.request.timeout_seconds)],
        Policy::SendOneWayRequest(r) => vec![e(&r.mode), e(&r.timeout_seconds)],
        Policy::CacheStoreValue(v) => vec![e(&v.duration)],
        Policy::ValidateJwt(j) => vec![
            e(&j.failed_status),
            e(&j.require_expiration_time),
            e(&j.require_signed_tokens),
            e(&j.clock_skew),
        ],
        Policy::CacheLookup(c) => vec![
            e(&c.vary_by_developer),
            e(&c.allow_private_response_caching),
            e(&c.must_revalidate),
        ],
        Policy::CacheStore(c) => vec![e(&c.duration), e(&c.cache_response)],
        _ => Vec::new(),
    }
}

/// Adds the expressions of `p` to `out`.
pub(super) fn exprs<'p>(p: &'p Policy, out: &mut Vec<&'p Expr>) {
    for t in templates(p) {
        if let Template::Expr(e) = t {
            out.push(e);
        }
    }
    out.extend(params(p).into_iter().flatten());
}

/// Whether a literal of `p` holds a secret named value.
pub(super) fn secret(p: &Policy) -> bool {
    let call_body = match p {
        Policy::SendRequest(s) => s.request.body.as_ref(),
        Policy::SendOneWayRequest(r) => r.body.as_ref(),
        _ => None,
    };
    call_body.is_some_and(|b| b.is_secret())
        || templates(p)
            .iter()
            .any(|t| matches!(t, Template::Literal(l) if l.is_secret()))
}
