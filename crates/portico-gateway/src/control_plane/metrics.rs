//! Metrics of the control-plane config source, registered with the gateway's other metrics:
//! whether it is connected, whether the gateway serves its backup, whether its token is
//! accepted, when it last synced, and why syncs failed.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

/// The control-plane source's series.
#[derive(Debug, Default)]
pub struct SyncMetrics {
    pub connected: Gauge,
    pub from_backup: Gauge,
    pub token_valid: Gauge,
    pub last_sync: Gauge,
    failures: Family<ReasonLabels, Counter>,
}

impl SyncMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let m = Self::default();
        m.token_valid.set(1);
        registry.register(
            "control_plane_connected",
            "1 while the last exchange with the control plane succeeded",
            m.connected.clone(),
        );
        registry.register(
            "config_from_backup",
            "1 while the configuration served was loaded from the on-disk backup",
            m.from_backup.clone(),
        );
        registry.register(
            "control_plane_token_valid",
            "0 once the control plane refused the gateway token (expired, revoked or for another gateway)",
            m.token_valid.clone(),
        );
        registry.register(
            "control_plane_last_sync_timestamp_seconds",
            "Unix time of the last successful exchange with the control plane",
            m.last_sync.clone(),
        );
        registry.register(
            "control_plane_sync_failures",
            "Failed exchanges with the control plane, by reason",
            m.failures.clone(),
        );
        m
    }

    /// Counts a failure; `reason` is one of a few fixed words.
    pub fn failed(&self, reason: &'static str) {
        self.failures.get_or_create(&ReasonLabels { reason }).inc();
    }
}
