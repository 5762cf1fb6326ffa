//! `rate-limit`, `rate-limit-by-key`, `quota` and `quota-by-key` applied to a request:
//! counts go to the gateway's [`Counters`](super::counters::Counters); a call over
//! a rate limit is answered 429 with `Retry-After`, one over a quota 403, each with APIM's
//! message. `rate-limit` and `quota` count per subscription (calls without one are not
//! counted), under a key naming the policy's scope and position. When counts cannot be kept
//! (Redis unavailable, failing closed) the call is refused with 503.

use super::counters::{Decision, Unavailable, Window};
use super::eval::{param, text};
use super::execute::{set_length, Flow, Run};
use super::failure::Failure;
use super::plan::Site;
use super::state::{ResponsePayload, ResponseState};
use bytes::Bytes;
use http::{header, HeaderName, HeaderValue, StatusCode};
use portico_policy::expr::Value;
use portico_policy::policies::{KeyedLimit, Limit, LimitOutputs, Quota, RateLimit, ScopedLimit};
use std::time::Duration;

/// A limit with its values worked out.
struct Counted {
    key: String,
    window: Window,
    calls: Option<u64>,
    bytes: Option<u64>,
}

impl Run<'_, '_> {
    fn counted(&mut self, key: String, l: &Limit, anchor: Option<u64>) -> Result<Counted, Failure> {
        let calls = match &l.calls {
            Some(c) => Some(u64::from(param(c, &mut self.cx())?)),
            None => None,
        };
        let bytes = match &l.bandwidth_kb {
            Some(b) => Some(u64::from(param(b, &mut self.cx())?) * 1024),
            None => None,
        };
        let period = u64::from(param(&l.renewal_period, &mut self.cx())?);
        Ok(Counted {
            key,
            window: Window {
                period_ms: period * 1000,
                anchor_ms: anchor.map(|s| s * 1000),
            },
            calls,
            bytes,
        })
    }

    /// The limits of a `rate-limit`/`quota` that apply to this request, most specific
    /// first; empty without a subscription.
    fn subscription_limits(
        &mut self,
        kind: &str,
        site: &Site,
        top: &Limit,
        apis: &[ScopedLimit],
    ) -> Result<Vec<Counted>, Failure> {
        let Some((_, sub)) = &self.env.subscription else {
            return Ok(Vec::new());
        };
        // `join`, not `format!`: this runs per request and the formatting machinery costs
        // several times the copying.
        let base = [kind, &site.policy_id, sub].join("|");
        let (api, op) = (self.env.api, self.env.operation);
        let is = |s: &ScopedLimit, id: &str, name: &str| {
            s.id.as_deref().is_some_and(|i| i.eq_ignore_ascii_case(id))
                || s.name.as_deref() == Some(name)
        };
        let mut out = Vec::new();
        for a in apis.iter().filter(|a| is(a, &api.id, &api.name)) {
            for o in a.operations.iter().filter(|o| is(o, &op.id, &op.name)) {
                let key = format!("{base}|op|{}|{}", api.id, op.id);
                out.push(self.counted(key, &o.limit, None)?);
            }
            out.push(self.counted(format!("{base}|api|{}", api.id), &a.limit, None)?);
        }
        out.push(self.counted(base, top, None)?);
        Ok(out)
    }

    pub(super) async fn rate_limit(&mut self, r: &RateLimit, site: &Site) -> Result<Flow, Failure> {
        let limits = self.subscription_limits("rl", site, &r.limit, &r.apis)?;
        let mut last = None;
        for l in &limits {
            let calls = l.calls.unwrap_or(u64::MAX);
            let d = match self
                .shared
                .counters
                .increment(&l.key, l.window, calls, 1)
                .await
            {
                Ok(d) => d,
                Err(Unavailable) => return Ok(self.uncounted()),
            };
            if !d.allowed {
                return Ok(self.too_many(&r.outputs, d));
            }
            last = Some((d, calls));
        }
        if let Some((d, calls)) = last {
            self.report_remaining(&r.outputs, calls.saturating_sub(d.count), calls);
        }
        Ok(Flow::Next)
    }

    pub(super) async fn rate_limit_by_key(&mut self, k: &KeyedLimit) -> Result<Flow, Failure> {
        let (l, cost) = self.keyed("rlk", k)?;
        let calls = l.calls.unwrap_or(u64::MAX);
        // With a condition the call is counted once the response is known; until then it
        // is only checked.
        let now = if k.increment_condition.is_some() {
            0
        } else {
            cost
        };
        let d = match self
            .shared
            .counters
            .increment(&l.key, l.window, calls, now)
            .await
        {
            Ok(d) => d,
            Err(Unavailable) => return Ok(self.uncounted()),
        };
        if !d.allowed {
            return Ok(self.too_many(&k.outputs, d));
        }
        if let Some(c) = &k.increment_condition {
            self.count_if(l.key, l.window, cost, c);
        }
        let used = d.count + if now == 0 { cost } else { 0 };
        self.report_remaining(&k.outputs, calls.saturating_sub(used), calls);
        Ok(Flow::Next)
    }

    /// A keyed limit: its counter (`kind|period|key`) and how much one call counts.
    fn keyed(&mut self, kind: &str, k: &KeyedLimit) -> Result<(Counted, u64), Failure> {
        let key = text(&k.counter_key, &mut self.cx())?.into_owned();
        let mut l = self.counted(String::new(), &k.limit, k.first_period_start)?;
        l.key = format!("{kind}|{}|{key}", l.window.period_ms);
        let cost = u64::from(param(&k.increment_count, &mut self.cx())?);
        Ok((l, cost))
    }

    pub(super) async fn quota(&mut self, q: &Quota, site: &Site) -> Result<Flow, Failure> {
        for l in self.subscription_limits("q", site, &q.limit, &q.apis)? {
            if let Some(flow) = self.charge(l, 1, None).await {
                return Ok(flow);
            }
        }
        Ok(Flow::Next)
    }

    pub(super) async fn quota_by_key(&mut self, k: &KeyedLimit) -> Result<Flow, Failure> {
        let (l, cost) = self.keyed("qk", k)?;
        Ok(self
            .charge(l, cost, k.increment_condition.as_ref())
            .await
            .unwrap_or(Flow::Next))
    }

    /// Counts a call against a quota's calls and checks its bandwidth (counted once the
    /// response is known); `Some` is the 403 answer when the quota is used up.
    async fn charge(
        &mut self,
        l: Counted,
        cost: u64,
        condition: Option<&portico_policy::Param<bool>>,
    ) -> Option<Flow> {
        let counters = &self.shared.counters;
        if let Some(calls) = l.calls {
            let key = format!("{}|calls", l.key);
            let now = if condition.is_some() { 0 } else { cost };
            let Ok(d) = counters.increment(&key, l.window, calls, now).await else {
                return Some(self.uncounted());
            };
            if !d.allowed {
                return Some(self.refuse(StatusCode::FORBIDDEN, &quota_message("call volume", d)));
            }
            if let Some(c) = condition {
                self.count_if(key, l.window, cost, c);
            }
        }
        if let Some(bytes) = l.bytes {
            let key = format!("{}|kb", l.key);
            let Ok(d) = counters.increment(&key, l.window, bytes, 0).await else {
                return Some(self.uncounted());
            };
            if !d.allowed {
                return Some(self.refuse(StatusCode::FORBIDDEN, &quota_message("bandwidth", d)));
            }
            self.count_bytes(key, l.window);
        }
        None
    }

    /// The 429 answer, with the retry-after header and variable.
    fn too_many(&mut self, o: &LimitOutputs, d: Decision) -> Flow {
        let secs = seconds(d.reset_in);
        let name = o
            .retry_after_header_name
            .as_deref()
            .unwrap_or("Retry-After");
        if let Ok(name) = HeaderName::from_bytes(name.as_bytes()) {
            self.after_header(name, HeaderValue::from(secs));
        }
        if let Some(v) = &o.retry_after_variable_name {
            self.st
                .set_variable(v, Value::Int(i32::try_from(secs).unwrap_or(i32::MAX)));
        }
        self.report_remaining(o, 0, 0);
        let message = format!("Rate limit is exceeded. Try again in {secs} seconds.");
        self.refuse(StatusCode::TOO_MANY_REQUESTS, &message)
    }

    /// The 503 answer when counts cannot be kept (Redis unavailable, failing closed): the
    /// limit cannot be checked, and admitting the call could exceed it.
    fn uncounted(&mut self) -> Flow {
        self.refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "Rate limit and quota counters are unavailable. Try again later.",
        )
    }

    /// The remaining-calls variable and headers (`total` 0: leave the total header out).
    fn report_remaining(&mut self, o: &LimitOutputs, remaining: u64, total: u64) {
        if let Some(v) = &o.remaining_calls_variable_name {
            self.st
                .set_variable(v, Value::Int(i32::try_from(remaining).unwrap_or(i32::MAX)));
        }
        let mut header = |name: &Option<String>, n: u64| {
            if let Some(name) = name.as_deref() {
                if let Ok(name) = HeaderName::from_bytes(name.as_bytes()) {
                    self.after_header(name, HeaderValue::from(n));
                }
            }
        };
        header(&o.remaining_calls_header_name, remaining);
        if total > 0 {
            header(&o.total_calls_header_name, total);
        }
    }

    /// Answers with APIM's error shape and stops the pipeline.
    pub(super) fn refuse(&mut self, status: StatusCode, message: &str) -> Flow {
        self.st.response = Some(apim_answer(status, message));
        Flow::Stop
    }
}

/// `{"statusCode": N, "message": "…"}`.
pub(super) fn apim_answer(status: StatusCode, message: &str) -> ResponseState {
    let body = serde_json::json!({ "statusCode": status.as_u16(), "message": message });
    let bytes = Bytes::from(body.to_string());
    let mut r = ResponseState::new(status);
    r.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    set_length(&mut r.headers, bytes.len());
    r.body = ResponsePayload::Buffered(bytes);
    r
}

/// Whole seconds, rounded up (a client that waits that long will get through).
fn seconds(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// APIM's quota message; the wait is a .NET `TimeSpan` (`[d.]hh:mm:ss`).
fn quota_message(what: &str, d: Decision) -> String {
    if d.reset_in == Duration::MAX {
        return format!("Out of {what} quota.");
    }
    // .NET prints a TimeSpan truncated to the second.
    let s = d.reset_in.as_secs();
    let (days, h, m, s) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    let days = if days > 0 {
        format!("{days}.")
    } else {
        String::new()
    };
    format!("Out of {what} quota. Quota will be replenished in {days}{h:02}:{m:02}:{s:02}.")
}
