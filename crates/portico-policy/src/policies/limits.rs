//! Throttling policies: `rate-limit`, `rate-limit-by-key`, `quota`, `quota-by-key` and
//! `limit-concurrency`, with the attributes and defaults of Microsoft's policy reference.
//! Counting happens in the gateway; this module only reads what was written.

use super::{parse_list, Policy, PolicyNode};
use crate::template::{Param, Template};
use crate::xml::attrs::Attrs;
use crate::xml::reader::El;

/// How many calls and/or kilobytes per renewal period (seconds).
#[derive(Debug, Clone)]
pub struct Limit {
    pub calls: Option<Param<u32>>,
    /// Kilobytes (quota only).
    pub bandwidth_kb: Option<Param<u32>>,
    /// Seconds; 0 in a quota means the period never renews.
    pub renewal_period: Param<u32>,
}

/// A nested `<api>` or `<operation>` limit of `rate-limit`/`quota`, named or by id.
#[derive(Debug, Clone)]
pub struct ScopedLimit {
    pub name: Option<String>,
    pub id: Option<String>,
    pub limit: Limit,
    /// `<operation>` limits inside an `<api>`.
    pub operations: Vec<ScopedLimit>,
}

/// Where `rate-limit`/`rate-limit-by-key` report their counts (all optional; the
/// retry-after header defaults to `Retry-After`).
#[derive(Debug, Clone, Default)]
pub struct LimitOutputs {
    pub retry_after_header_name: Option<String>,
    pub retry_after_variable_name: Option<String>,
    pub remaining_calls_header_name: Option<String>,
    pub remaining_calls_variable_name: Option<String>,
    pub total_calls_header_name: Option<String>,
}

/// `<rate-limit>`: calls per renewal period per subscription, with per-API and
/// per-operation limits nested.
#[derive(Debug, Clone)]
pub struct RateLimit {
    pub limit: Limit,
    pub outputs: LimitOutputs,
    pub apis: Vec<ScopedLimit>,
}

/// `<rate-limit-by-key>` and `<quota-by-key>`: a counter per `counter-key` value.
#[derive(Debug, Clone)]
pub struct KeyedLimit {
    pub limit: Limit,
    pub counter_key: Template,
    /// Evaluated once the response is known (it usually reads `context.Response`).
    pub increment_condition: Option<Param<bool>>,
    pub increment_count: Param<u32>,
    pub outputs: LimitOutputs,
    /// quota-by-key: periods are aligned on this instant (Unix seconds).
    pub first_period_start: Option<u64>,
}

/// `<quota>`: calls and/or kilobytes per renewal period per subscription.
#[derive(Debug, Clone)]
pub struct Quota {
    pub limit: Limit,
    pub apis: Vec<ScopedLimit>,
}

/// `<limit-concurrency>`: at most `max_count` requests with the same key run the
/// enclosed policies at once; the rest are refused with 429.
#[derive(Debug, Clone)]
pub struct LimitConcurrency {
    pub key: Template,
    pub max_count: u32,
    pub policies: Vec<PolicyNode>,
}

const WHOLE: &str = "a whole number";

fn positive(n: &u32) -> bool {
    *n > 0
}

/// `calls`, `bandwidth` and `renewal-period`; `quota` needs calls or bandwidth, the rate
/// limits need calls.
fn limit(el: &El<'_, '_>, a: &mut Attrs<'_, '_>, quota: bool) -> Option<Limit> {
    let calls = if quota {
        a.param("calls", WHOLE, positive)
    } else {
        a.required_param("calls", WHOLE, positive)
    };
    let bandwidth_kb = if quota {
        a.param("bandwidth", "a number of kilobytes", positive)
    } else {
        None
    };
    let renewal_period = if quota {
        a.required_param("renewal-period", "a number of seconds", |_: &u32| true)
    } else {
        a.required_param("renewal-period", "a number of seconds", positive)
    };
    if quota && calls.is_none() && bandwidth_kb.is_none() {
        el.error("needs calls, bandwidth or both");
    }
    Some(Limit {
        calls,
        bandwidth_kb,
        renewal_period: renewal_period?,
    })
}

fn outputs(a: &mut Attrs<'_, '_>) -> LimitOutputs {
    LimitOutputs {
        retry_after_header_name: a.literal("retry-after-header-name", false),
        retry_after_variable_name: a.literal("retry-after-variable-name", false),
        remaining_calls_header_name: a.literal("remaining-calls-header-name", false),
        remaining_calls_variable_name: a.literal("remaining-calls-variable-name", false),
        total_calls_header_name: a.literal("total-calls-header-name", false),
    }
}

/// `<api>` elements, each with `<operation>` elements, under `rate-limit`/`quota`.
fn scoped(el: &El<'_, '_>, quota: bool, level: &str) -> Vec<ScopedLimit> {
    let mut out = Vec::new();
    for child in el.children() {
        if child.name() != level {
            child.error(format!("<{}> holds <{level}> elements only", el.name()));
            continue;
        }
        let mut a = child.attrs();
        let name = a.literal("name", false);
        let id = a.literal("id", false);
        let limit = limit(&child, &mut a, quota);
        a.finish();
        if name.is_none() && id.is_none() {
            child.error("needs name or id");
        }
        let operations = if level == "api" {
            scoped(&child, quota, "operation")
        } else {
            child.expect_empty();
            Vec::new()
        };
        if let Some(limit) = limit {
            out.push(ScopedLimit {
                name,
                id,
                limit,
                operations,
            });
        }
    }
    out
}

pub(super) fn rate_limit(el: &El<'_, '_>) -> Option<Policy> {
    let mut a = el.attrs();
    let limit = limit(el, &mut a, false);
    let outputs = outputs(&mut a);
    a.finish();
    let apis = scoped(el, false, "api");
    Some(Policy::RateLimit(RateLimit {
        limit: limit?,
        outputs,
        apis,
    }))
}

pub(super) fn quota(el: &El<'_, '_>) -> Option<Policy> {
    let mut a = el.attrs();
    let limit = limit(el, &mut a, true);
    a.finish();
    let apis = scoped(el, true, "api");
    Some(Policy::Quota(Quota {
        limit: limit?,
        apis,
    }))
}

/// `rate-limit-by-key` (`quota` false) and `quota-by-key`.
pub(super) fn by_key(el: &El<'_, '_>, quota: bool) -> Option<KeyedLimit> {
    let mut a = el.attrs();
    let limit = limit(el, &mut a, quota);
    let counter_key = a.required("counter-key");
    let increment_condition = a.flag("increment-condition");
    let increment_count = a.param("increment-count", WHOLE, |_: &u32| true);
    let (outputs, first_period_start) = if quota {
        let start = a.literal("first-period-start", false);
        let parsed = start.as_deref().and_then(|s| {
            let t = parse_utc(s);
            if t.is_none() {
                el.error(format!(
                    "first-period-start must be a UTC time like 2024-01-01T00:00:00Z, not `{s}`"
                ));
            }
            t
        });
        (LimitOutputs::default(), parsed)
    } else {
        (outputs(&mut a), None)
    };
    a.finish();
    el.expect_empty();
    Some(KeyedLimit {
        limit: limit?,
        counter_key: counter_key?,
        increment_condition,
        increment_count: increment_count.unwrap_or(Param::Value(1)),
        outputs,
        first_period_start,
    })
}

pub(super) fn limit_concurrency(el: &El<'_, '_>) -> Option<Policy> {
    let mut a = el.attrs();
    let key = a.required("key");
    let max_count = a.constant("max-count", "a whole number above 0", positive);
    if el.node.attribute("max-count").is_none() {
        el.error("the max-count attribute is required");
    }
    a.finish();
    let policies = parse_list(el, false);
    Some(Policy::LimitConcurrency(LimitConcurrency {
        key: key?,
        max_count: max_count?,
        policies,
    }))
}

/// `yyyy-MM-ddTHH:mm:ssZ` (seconds and `Z` optional) as Unix seconds.
fn parse_utc(s: &str) -> Option<u64> {
    let s = s.trim().trim_end_matches('Z');
    let (date, time) = s.split_once('T').unwrap_or((s, "00:00:00"));
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.split(':').map(|p| p.parse::<i64>().ok());
    let (h, min) = (t.next()??, t.next()??);
    let sec = t.next().flatten().unwrap_or(0);
    let valid = (1..=12).contains(&m)
        && (1..=31).contains(&day)
        && (0..24).contains(&h)
        && (0..60).contains(&min)
        && (0..60).contains(&sec);
    if !valid || d.next().is_some() || t.next().is_some() {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + h * 3600 + min * 60 + sec).ok()
}

#[cfg(test)]
mod tests {
    use super::parse_utc;

    #[test]
    fn utc_times_parse() {
        assert_eq!(parse_utc("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_utc("2024-03-01T12:30:15Z"), Some(1_709_296_215));
        assert_eq!(parse_utc("2024-13-01T00:00:00Z"), None);
        assert_eq!(parse_utc("soon"), None);
    }
}
