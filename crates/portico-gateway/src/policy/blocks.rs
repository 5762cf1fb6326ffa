//! The policies that run the steps inside them: `limit-concurrency` (at most N requests per
//! key inside at once, the rest answered 429), `retry` (again while its condition holds,
//! with a buffered request body so it can be sent again). `wait` is in [`super::wait`].

use super::eval::{param, text};
use super::execute::{Flow, Run};
use super::failure::Failure;
use super::plan::{Site, Step};
use crate::errors::GatewayError;
use http::StatusCode;
use portico_policy::policies::Retry;
use portico_policy::{Section, Template};
use std::sync::Arc;
use std::time::Duration;

type Failed = (Failure, Arc<Site>);

impl Run<'_, '_> {
    pub(super) async fn limit_concurrency(
        &mut self,
        key: &Template,
        max: u32,
        steps: &[Step],
        section: Section,
        site: &Arc<Site>,
    ) -> Result<Flow, Failed> {
        let key = text(key, &mut self.cx())
            .map_err(|f| (f, site.clone()))?
            .into_owned();
        let shared = self.shared;
        let Some(_permit) = shared.concurrency.try_acquire(&key, max) else {
            let message = "Too many concurrent requests. Try again later.";
            return Ok(self.refuse(StatusCode::TOO_MANY_REQUESTS, message));
        };
        Box::pin(self.section(section, steps)).await
    }

    pub(super) async fn retry(
        &mut self,
        r: &Retry,
        steps: &[Step],
        section: Section,
        site: &Arc<Site>,
    ) -> Result<Flow, Failed> {
        let at = |f: Failure| (f, site.clone());
        let count = param(&r.count, &mut self.cx()).map_err(at)?;
        // The body is sent again on each attempt, so it has to stay in memory.
        if matches!(section, Section::Inbound | Section::Backend) {
            self.st
                .body
                .buffer()
                .await
                .map_err(|e| at(Failure::body(e, true)))?;
        }
        let mut attempt = 0;
        loop {
            let outcome = Box::pin(self.section(section, steps)).await;
            let again = attempt < count
                && match &outcome {
                    Ok(Flow::Stop) => false,
                    Ok(Flow::Next) => param(&r.condition, &mut self.cx()).map_err(at)?,
                    // A backend that could not be reached is worth another try.
                    Err((f, _)) => matches!(
                        f.answer,
                        GatewayError::BackendUnavailable { .. } | GatewayError::BackendTimeout(_)
                    ),
                };
            if !again {
                return outcome;
            }
            attempt += 1;
            let wait = self.retry_delay(r, attempt).map_err(at)?;
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
    }

    /// APIM's schedule: fixed `interval`; with `delta`, linear (`interval + (n-1)·delta`);
    /// with `delta` and `max-interval`, exponential (`interval + (2^(n-1)-1)·delta`) capped
    /// at `max-interval`. `first-fast-retry` makes the first retry immediate.
    fn retry_delay(&mut self, r: &Retry, attempt: u32) -> Result<Duration, Failure> {
        if attempt == 1 && param(&r.first_fast_retry, &mut self.cx())? {
            return Ok(Duration::ZERO);
        }
        let interval = u64::from(param(&r.interval, &mut self.cx())?);
        let delta = match &r.delta {
            Some(d) => u64::from(param(d, &mut self.cx())?),
            None => return Ok(Duration::from_secs(interval)),
        };
        let n = u64::from(attempt);
        let secs = match &r.max_interval {
            None => interval + (n - 1) * delta,
            Some(m) => {
                let max = u64::from(param(m, &mut self.cx())?);
                let growth = 1u64.checked_shl((attempt - 1).min(62)).unwrap_or(u64::MAX) - 1;
                interval
                    .saturating_add(growth.saturating_mul(delta))
                    .min(max)
            }
        };
        Ok(Duration::from_secs(secs))
    }
}
