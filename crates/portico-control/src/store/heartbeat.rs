//! [`Heartbeat`]: the last report of one gateway instance. Heartbeats are fleet telemetry, not
//! configuration: they live in their own table, never bump the global revision (which would
//! wake every gateway's long-poll) and never appear in the audit trail.

/// The latest heartbeat of one instance of a gateway.
#[derive(Debug, Clone, PartialEq)]
pub struct Heartbeat {
    /// The gateway resource's id, as the instance's token named it.
    pub gateway_id: String,
    /// Chosen by the instance at start; one row per instance.
    pub instance_id: String,
    /// When the control plane received it, in milliseconds since the Unix epoch.
    pub received_at_ms: u64,
    /// What the instance reported (host, version, applied revision, certificates, …), kept as
    /// sent so new report fields need no migration.
    pub report: serde_json::Value,
}

/// How long an instance that stopped reporting is remembered before its row is dropped.
pub const FORGET_AFTER_MS: u64 = 7 * 24 * 3600 * 1000;
