//! Policies that run the policies inside them: `retry` (again while a condition holds) and
//! `wait` (side by side, until all or any finish). `limit-concurrency` is with the limits.

use super::{parse_list, Policy, PolicyNode};
use crate::template::Param;
use crate::xml::reader::El;

/// `<retry>`: runs its policies, then again while `condition` holds, at most `count` more
/// times, waiting `interval` seconds (growing by `delta`, capped at `max-interval`).
#[derive(Debug, Clone)]
pub struct Retry {
    pub condition: Param<bool>,
    pub count: Param<u32>,
    pub interval: Param<u32>,
    pub max_interval: Option<Param<u32>>,
    pub delta: Option<Param<u32>>,
    pub first_fast_retry: Param<bool>,
    pub policies: Vec<PolicyNode>,
}

/// `<wait for="all|any">`.
#[derive(Debug, Clone)]
pub struct Wait {
    pub any: bool,
    pub policies: Vec<PolicyNode>,
}

const SECONDS: &str = "a number of seconds";

pub(super) fn retry(el: &El<'_, '_>) -> Option<Policy> {
    let mut a = el.attrs();
    let condition = a.required_flag("condition");
    let count = a.required_param("count", "a whole number from 1", |c: &u32| *c > 0);
    let interval = a.required_param("interval", SECONDS, |_: &u32| true);
    let max_interval = a.param("max-interval", SECONDS, |_: &u32| true);
    let delta = a.param("delta", SECONDS, |_: &u32| true);
    let first_fast_retry = a.flag("first-fast-retry");
    a.finish();
    let policies = parse_list(el, false);
    Some(Policy::Retry(Retry {
        condition: condition?,
        count: count?,
        interval: interval?,
        max_interval,
        delta,
        first_fast_retry: first_fast_retry.unwrap_or(Param::Value(false)),
        policies,
    }))
}

pub(super) fn wait(el: &El<'_, '_>) -> Option<Policy> {
    let mut a = el.attrs();
    let any = a.choice("for", &[("all", false), ("any", true)]);
    a.finish();
    let policies = parse_list(el, false);
    for p in &policies {
        if !matches!(
            p.policy.name(),
            "send-request" | "cache-lookup-value" | "choose" | "forward-request"
        ) {
            el.error(format!(
                "<wait> holds send-request, cache-lookup-value and choose, not <{}>",
                p.policy.name()
            ));
        }
    }
    Some(Policy::Wait(Wait {
        any: any.unwrap_or(false),
        policies,
    }))
}
