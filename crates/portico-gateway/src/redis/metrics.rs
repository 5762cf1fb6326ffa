//! Metrics of the shared Redis, registered with the gateway's other metrics only when the
//! gateway runs with `--redis` (a gateway without one has no Redis to be down): whether
//! it is reachable, how many counted calls went without it, and how many external-cache
//! operations it missed.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

/// The Redis series; clones share them.
#[derive(Debug, Clone, Default)]
pub struct RedisMetrics {
    pub up: Gauge,
    /// `outcome="local"` and `outcome="refused"`, resolved once: outages count every call.
    counted_locally: Counter,
    refused: Counter,
    pub cache_unavailable: Counter,
}

impl RedisMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let fallbacks = Family::<OutcomeLabels, Counter>::default();
        let outcome = |outcome| fallbacks.get_or_create(&OutcomeLabels { outcome }).clone();
        let m = Self {
            counted_locally: outcome("local"),
            refused: outcome("refused"),
            ..Self::default()
        };
        registry.register(
            "redis_up",
            "1 while the shared Redis answers; 0 while rate limits and quotas go without it",
            m.up.clone(),
        );
        registry.register(
            "counter_fallbacks",
            "Rate-limit and quota counts made without Redis while it was unavailable, by \
             outcome: local (counted in this process) or refused (503, fail-closed)",
            fallbacks,
        );
        registry.register(
            "external_cache_unavailable",
            "External-cache operations skipped while Redis was unavailable (a lookup is then \
             a miss, a store or remove is dropped)",
            m.cache_unavailable.clone(),
        );
        m
    }

    /// Counts a call counted locally (`refused` false) or refused while Redis was unavailable.
    pub fn counter_fallback(&self, refused: bool) {
        if refused {
            self.refused.inc();
        } else {
            self.counted_locally.inc();
        }
    }
}
