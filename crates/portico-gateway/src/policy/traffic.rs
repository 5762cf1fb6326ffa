//! The traffic and access policies in a plan, and where the section walker hands them over:
//! [`Traffic`] for the ones that act once (`rate-limit`, `quota`, `check-header`,
//! `ip-filter`, `cors`, `authentication-basic`, …) and [`Block`] for the ones that run the
//! steps inside them (`limit-concurrency`, `retry`, `wait`). What each does is in
//! [`super::throttle`], [`super::access`] and [`super::blocks`].

use super::execute::{Flow, Run};
use super::failure::Failure;
use super::plan::{Site, Step};
use http::HeaderValue;
use portico_policy::policies::{
    CheckHeader, Cors, IpFilter, KeyedLimit, Limit, Quota, RateLimit, Retry, ScopedLimit,
};
use portico_policy::{Expr, Param, Policy, PolicyNode, Section, Template};
use std::sync::Arc;

/// A policy of this family, ready to run.
#[derive(Debug)]
pub enum Traffic {
    RateLimit(RateLimit),
    RateLimitByKey(KeyedLimit),
    Quota(Quota),
    QuotaByKey(KeyedLimit),
    CheckHeader(CheckHeader),
    IpFilter(IpFilter),
    Cors(Cors),
    AuthBasic(AuthBasic),
}

/// `authentication-basic`: the header, computed once when both values are literal.
#[derive(Debug)]
pub enum AuthBasic {
    Fixed(HeaderValue),
    Computed(Template, Template),
}

/// A policy that runs the steps inside it.
#[derive(Debug)]
pub enum Block {
    LimitConcurrency {
        key: Template,
        max_count: u32,
        steps: Vec<Step>,
    },
    /// The `retry` attributes (its `policies` left empty: they are `steps`).
    Retry {
        retry: Retry,
        steps: Vec<Step>,
    },
    Wait {
        any: bool,
        steps: Vec<Step>,
    },
}

/// Whether `p` belongs to this family.
pub fn is_traffic(p: &Policy) -> bool {
    matches!(
        p,
        Policy::RateLimit(_)
            | Policy::RateLimitByKey(_)
            | Policy::Quota(_)
            | Policy::QuotaByKey(_)
            | Policy::LimitConcurrency(_)
            | Policy::CheckHeader(_)
            | Policy::IpFilter(_)
            | Policy::Cors(_)
            | Policy::AuthenticationBasic(_)
            | Policy::Retry(_)
            | Policy::Wait(_)
    )
}

/// The action for a policy of this family; `lower_children` lowers nested policies with
/// the path prefix it is given.
pub fn lower(
    p: &Policy,
    path: &str,
    mut lower_children: impl FnMut(&[PolicyNode], &str) -> Result<Vec<Step>, String>,
) -> Result<super::plan::Action, String> {
    use super::plan::Action;
    let traffic = |t| Ok(Action::Traffic(Box::new(t)));
    let block = |b| Ok(Action::Block(Box::new(b)));
    match p {
        Policy::RateLimit(r) => traffic(Traffic::RateLimit(r.clone())),
        Policy::RateLimitByKey(k) => traffic(Traffic::RateLimitByKey(k.clone())),
        Policy::Quota(q) => traffic(Traffic::Quota(q.clone())),
        Policy::QuotaByKey(k) => traffic(Traffic::QuotaByKey(k.clone())),
        Policy::CheckHeader(c) => traffic(Traffic::CheckHeader(c.clone())),
        Policy::IpFilter(f) => traffic(Traffic::IpFilter(f.clone())),
        Policy::Cors(c) => traffic(Traffic::Cors(c.clone())),
        Policy::AuthenticationBasic(a) => traffic(Traffic::AuthBasic(
            match (a.username.as_literal(), a.password.as_literal()) {
                (Some(u), Some(p)) => AuthBasic::Fixed(super::access::basic_header(u, p)),
                _ => AuthBasic::Computed(a.username.clone(), a.password.clone()),
            },
        )),
        Policy::LimitConcurrency(l) => block(Block::LimitConcurrency {
            key: l.key.clone(),
            max_count: l.max_count,
            steps: lower_children(&l.policies, path)?,
        }),
        Policy::Retry(r) => block(Block::Retry {
            steps: lower_children(&r.policies, path)?,
            retry: Retry {
                policies: Vec::new(),
                ..r.clone()
            },
        }),
        Policy::Wait(w) => block(Block::Wait {
            any: w.any,
            steps: lower_children(&w.policies, path)?,
        }),
        other => Err(format!("<{}> is not a traffic policy", other.name())),
    }
}

/// The expressions a policy of this family evaluates itself (not its children's).
pub fn exprs<'p>(p: &'p Policy, out: &mut Vec<&'p Expr>) {
    fn t<'p>(t: &'p Template, out: &mut Vec<&'p Expr>) {
        if let Template::Expr(e) = t {
            out.push(e);
        }
    }
    fn prm<'p, T>(p: &'p Param<T>, out: &mut Vec<&'p Expr>) {
        if let Param::Expr(e) = p {
            out.push(e);
        }
    }
    fn limit<'p>(l: &'p Limit, out: &mut Vec<&'p Expr>) {
        l.calls.iter().for_each(|c| prm(c, out));
        l.bandwidth_kb.iter().for_each(|c| prm(c, out));
        prm(&l.renewal_period, out);
    }
    fn scoped<'p>(s: &'p [ScopedLimit], out: &mut Vec<&'p Expr>) {
        for s in s {
            limit(&s.limit, out);
            scoped(&s.operations, out);
        }
    }
    match p {
        Policy::RateLimit(r) => {
            limit(&r.limit, out);
            scoped(&r.apis, out);
        }
        Policy::Quota(q) => {
            limit(&q.limit, out);
            scoped(&q.apis, out);
        }
        Policy::RateLimitByKey(k) | Policy::QuotaByKey(k) => {
            limit(&k.limit, out);
            t(&k.counter_key, out);
            k.increment_condition.iter().for_each(|c| prm(c, out));
            prm(&k.increment_count, out);
        }
        Policy::LimitConcurrency(l) => t(&l.key, out),
        Policy::CheckHeader(c) => {
            t(&c.name, out);
            prm(&c.failed_check_httpcode, out);
            t(&c.failed_check_error_message, out);
            prm(&c.ignore_case, out);
            c.values.iter().for_each(|v| t(v, out));
        }
        Policy::AuthenticationBasic(a) => {
            t(&a.username, out);
            t(&a.password, out);
        }
        Policy::Retry(r) => {
            prm(&r.condition, out);
            prm(&r.count, out);
            prm(&r.interval, out);
            r.max_interval.iter().for_each(|c| prm(c, out));
            r.delta.iter().for_each(|c| prm(c, out));
            prm(&r.first_fast_retry, out);
        }
        _ => {}
    }
}

/// Whether a literal of the policy holds a secret named value.
pub fn secret(p: &Policy) -> bool {
    let lit = |t: &Template| matches!(t, Template::Literal(l) if l.is_secret());
    match p {
        Policy::AuthenticationBasic(a) => lit(&a.username) || lit(&a.password),
        Policy::CheckHeader(c) => c.values.iter().any(lit),
        _ => false,
    }
}

impl Run<'_, '_> {
    /// Runs a [`Traffic`] step.
    pub(super) async fn traffic(&mut self, t: &Traffic, site: &Site) -> Result<Flow, Failure> {
        match t {
            Traffic::RateLimit(r) => self.rate_limit(r, site).await,
            Traffic::RateLimitByKey(k) => self.rate_limit_by_key(k).await,
            Traffic::Quota(q) => self.quota(q, site).await,
            Traffic::QuotaByKey(k) => self.quota_by_key(k).await,
            Traffic::CheckHeader(c) => self.check_header(c),
            Traffic::IpFilter(f) => Ok(self.ip_filter(f)),
            Traffic::Cors(c) => Ok(self.cors(c)),
            Traffic::AuthBasic(a) => self.authentication_basic(a).map(|()| Flow::Next),
        }
    }

    /// Runs a [`Block`] step: failures inside keep the site of the policy that failed.
    pub(super) async fn block(
        &mut self,
        b: &Block,
        section: Section,
        site: &Arc<Site>,
    ) -> Result<Flow, (Failure, Arc<Site>)> {
        match b {
            Block::LimitConcurrency {
                key,
                max_count,
                steps,
            } => {
                self.limit_concurrency(key, *max_count, steps, section, site)
                    .await
            }
            Block::Retry { retry, steps } => self.retry(retry, steps, section, site).await,
            Block::Wait { any, steps } => Box::pin(self.wait(*any, steps, section)).await,
        }
    }
}
