//! Heartbeats in the store, on SQLite and PostgreSQL: one row per instance, replaced by each
//! report, never touching the revision that wakes gateways.

mod common;

use common::{on_both, put};
use portico_control::store::{Heartbeat, Store};
use serde_json::json;

fn beat(gateway: &str, instance: &str, at: u64, revision: u64) -> Heartbeat {
    Heartbeat {
        gateway_id: gateway.into(),
        instance_id: instance.into(),
        received_at_ms: at,
        report: json!({"instanceId": instance, "appliedRevision": revision}),
    }
}

#[tokio::test]
async fn heartbeats_replace_per_instance_and_leave_the_revision_alone() {
    on_both(|store| async move {
        store
            .commit(
                None,
                &[put("gateways/edge", json!({"locationData": {"name": "x"}}))],
            )
            .await
            .unwrap();
        let revision = store.revision().await.unwrap();
        store
            .record_heartbeat(&beat("edge", "i-1", 1_000, 1))
            .await
            .unwrap();
        store
            .record_heartbeat(&beat("Edge", "i-1", 2_000, 2))
            .await
            .unwrap();
        store
            .record_heartbeat(&beat("edge", "i-2", 2_000, 1))
            .await
            .unwrap();
        store
            .record_heartbeat(&beat("core", "i-9", 2_000, 1))
            .await
            .unwrap();
        let listed = store.heartbeats("EDGE").await.unwrap();
        assert_eq!(listed.len(), 2, "{listed:?}");
        assert_eq!(listed[0].instance_id, "i-1");
        assert_eq!(listed[0].received_at_ms, 2_000);
        assert_eq!(listed[0].report["appliedRevision"], 2);
        assert_eq!(store.revision().await.unwrap(), revision);
        assert!(store
            .audit(0, 100)
            .await
            .unwrap()
            .iter()
            .all(|e| e.revision <= revision));
        // An instance silent for a week is forgotten at the next report.
        store
            .record_heartbeat(&beat("edge", "i-2", 2_000 + 8 * 24 * 3600 * 1000, 3))
            .await
            .unwrap();
        let listed = store.heartbeats("edge").await.unwrap();
        assert_eq!(listed.len(), 1, "{listed:?}");
    })
    .await;
}
