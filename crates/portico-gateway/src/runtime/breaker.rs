//! Circuit breakers (APIM's backend `circuitBreaker`): a backend that fails often enough
//! within an interval is left alone for the trip duration, and requests for it are answered
//! 503 at once instead of waiting on it. Time is passed in, so the rules are tested without
//! sleeping. The state survives configuration changes that keep the rule (see
//! `Upstreams::breaker`), so a push does not reset a tripped breaker.

use portico_model::{parse_iso_duration, CircuitBreaker};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A compiled rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BreakerRule {
    threshold: Threshold,
    interval: Duration,
    trip: Duration,
    /// Inclusive status ranges that count as failures.
    failing_statuses: Vec<(u16, u16)>,
    accept_retry_after: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Threshold {
    Count(u32),
    Percentage(u32),
}

impl BreakerRule {
    /// The rule of a validated backend's circuit breaker.
    pub fn compile(cb: &CircuitBreaker) -> Result<Self, String> {
        let rule = cb.rules.first().ok_or("a circuit breaker needs a rule")?;
        let fc = &rule.failure_condition;
        let duration = |text: &str| {
            parse_iso_duration(text).ok_or_else(|| format!("{text:?} is not an ISO 8601 duration"))
        };
        Ok(Self {
            threshold: match (fc.count, fc.percentage) {
                (Some(n), _) => Threshold::Count(n.max(1)),
                (None, Some(p)) => Threshold::Percentage(p.clamp(1, 100)),
                (None, None) => return Err("set count or percentage".into()),
            },
            interval: duration(&fc.interval)?,
            trip: duration(&rule.trip_duration)?,
            failing_statuses: fc
                .status_code_ranges
                .iter()
                .map(|r| (r.min, r.max))
                .collect(),
            accept_retry_after: rule.accept_retry_after,
        })
    }
}

/// How an attempt to reach the backend ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The backend answered with this status (and `Retry-After`, if it sent one).
    Answered(u16, Option<Duration>),
    /// No answer: the connection failed or the backend timed out.
    NoAnswer,
}

/// One backend's breaker.
#[derive(Debug)]
pub struct Breaker {
    rule: BreakerRule,
    state: Mutex<Window>,
}

/// Counts in the current fixed window, and when an open breaker closes again.
#[derive(Debug)]
struct Window {
    started: Instant,
    failures: u64,
    requests: u64,
    open_until: Option<Instant>,
}

/// Longest trip a backend's `Retry-After` may ask for; longer values are cut to this.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// Fewest requests in a window before a percentage rule may trip: one failed request out of
/// one is 100 %, which says little about the backend.
const MIN_REQUESTS_FOR_PERCENTAGE: u64 = 5;

impl Breaker {
    pub fn new(rule: BreakerRule, now: Instant) -> Self {
        Self {
            rule,
            state: Mutex::new(Window {
                started: now,
                failures: 0,
                requests: 0,
                open_until: None,
            }),
        }
    }

    pub fn rule(&self) -> &BreakerRule {
        &self.rule
    }

    /// Whether a request may go to the backend now. A breaker whose trip has elapsed closes
    /// with fresh counts.
    pub fn admits(&self, now: Instant) -> bool {
        let mut w = self.lock();
        match w.open_until {
            Some(until) if now < until => false,
            Some(_) => {
                *w = Window {
                    started: now,
                    failures: 0,
                    requests: 0,
                    open_until: None,
                };
                true
            }
            None => true,
        }
    }

    /// Counts an attempt; trips the breaker when the rule says so.
    pub fn record(&self, outcome: Outcome, now: Instant) {
        let failed = match outcome {
            Outcome::NoAnswer => true,
            Outcome::Answered(status, _) => self
                .rule
                .failing_statuses
                .iter()
                .any(|(min, max)| (*min..=*max).contains(&status)),
        };
        let mut w = self.lock();
        if w.open_until.is_some() {
            return;
        }
        if now.duration_since(w.started) >= self.rule.interval {
            w.started = now;
            w.failures = 0;
            w.requests = 0;
        }
        w.requests = w.requests.saturating_add(1);
        w.failures = w.failures.saturating_add(u64::from(failed));
        let trips = failed
            && match self.rule.threshold {
                Threshold::Count(n) => w.failures >= u64::from(n),
                Threshold::Percentage(p) => {
                    w.requests >= MIN_REQUESTS_FOR_PERCENTAGE
                        && w.failures.saturating_mul(100) >= u64::from(p).saturating_mul(w.requests)
                }
            };
        if trips {
            let retry_after = match outcome {
                Outcome::Answered(_, Some(d)) if self.rule.accept_retry_after => {
                    Some(d.min(MAX_RETRY_AFTER))
                }
                _ => None,
            };
            let trip = retry_after.unwrap_or(self.rule.trip);
            // A trip too long for the clock means "for as long as this process lives".
            w.open_until = Some(now.checked_add(trip).unwrap_or(now + MAX_RETRY_AFTER * 365));
            tracing::warn!(
                trip_seconds = trip.as_secs_f64(),
                "circuit breaker tripped: the backend gets no requests until the trip ends"
            );
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Window> {
        // A panic elsewhere while holding the lock leaves counts, never broken invariants.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portico_model::{CircuitBreakerRule, FailureCondition, StatusCodeRange};

    fn rule(count: Option<u32>, percentage: Option<u32>, accept_retry_after: bool) -> BreakerRule {
        BreakerRule::compile(&CircuitBreaker {
            rules: vec![CircuitBreakerRule {
                name: "r".into(),
                failure_condition: FailureCondition {
                    count,
                    percentage,
                    interval: "PT10S".into(),
                    status_code_ranges: vec![StatusCodeRange { min: 500, max: 599 }],
                    error_reasons: vec![],
                },
                trip_duration: "PT30S".into(),
                accept_retry_after,
            }],
        })
        .unwrap()
    }

    #[test]
    fn trips_after_count_failures_within_the_interval_and_closes_after_the_trip() {
        let t0 = Instant::now();
        let b = Breaker::new(rule(Some(3), None, false), t0);
        b.record(Outcome::Answered(500, None), t0);
        b.record(Outcome::Answered(200, None), t0);
        b.record(Outcome::NoAnswer, t0);
        assert!(b.admits(t0), "two failures of three");
        // The window restarts after the interval: old failures no longer count.
        let t1 = t0 + Duration::from_secs(11);
        b.record(Outcome::Answered(503, None), t1);
        assert!(b.admits(t1));
        b.record(Outcome::Answered(502, None), t1);
        b.record(Outcome::Answered(504, None), t1);
        assert!(!b.admits(t1), "three failures within the interval trip it");
        assert!(!b.admits(t1 + Duration::from_secs(29)));
        assert!(
            b.admits(t1 + Duration::from_secs(30)),
            "closed after the trip duration"
        );
        b.record(Outcome::Answered(500, None), t1 + Duration::from_secs(30));
        assert!(
            b.admits(t1 + Duration::from_secs(30)),
            "counts start afresh"
        );
    }

    #[test]
    fn percentage_and_retry_after() {
        let t0 = Instant::now();
        let b = Breaker::new(rule(None, Some(50), true), t0);
        b.record(Outcome::Answered(500, None), t0);
        assert!(
            b.admits(t0),
            "one failure of one request is too few to judge"
        );
        for _ in 0..3 {
            b.record(Outcome::Answered(200, None), t0);
        }
        assert!(b.admits(t0), "one failure in four is under 50 %");
        b.record(Outcome::Answered(503, None), t0);
        b.record(Outcome::Answered(503, Some(Duration::from_secs(5))), t0);
        assert!(
            !b.admits(t0 + Duration::from_secs(4)),
            "three in six trips it"
        );
        assert!(
            b.admits(t0 + Duration::from_secs(5)),
            "for Retry-After, not the rule's 30 s"
        );
    }

    #[test]
    fn absurd_retry_after_values_are_capped_not_fatal() {
        let t0 = Instant::now();
        let b = Breaker::new(rule(Some(1), None, true), t0);
        b.record(Outcome::Answered(503, Some(Duration::MAX)), t0);
        assert!(!b.admits(t0 + Duration::from_secs(3600)));
        assert!(b.admits(t0 + MAX_RETRY_AFTER), "capped at a day");
    }
}
