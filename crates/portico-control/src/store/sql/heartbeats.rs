//! Heartbeat rows of [`SqlStore`](super::SqlStore): one per gateway instance, replaced by each
//! new report. Same SQL on SQLite and PostgreSQL (the table is created by migration 2).

use super::{to_i64, to_u64};
use crate::store::heartbeat::FORGET_AFTER_MS;
use crate::store::{Heartbeat, StoreError};
use sqlx::{AnyPool, Row};

/// Migration 2 for both backends: the table has no tie to `revision` or `audit` on purpose.
pub(super) const MIGRATION: &str = "CREATE TABLE heartbeats (
        gateway TEXT NOT NULL,
        instance TEXT NOT NULL,
        gateway_id TEXT NOT NULL,
        received_at BIGINT NOT NULL,
        report TEXT NOT NULL,
        PRIMARY KEY (gateway, instance)
    );";

pub(super) async fn record(pool: &AnyPool, hb: &Heartbeat) -> Result<(), StoreError> {
    let report =
        serde_json::to_string(&hb.report).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let gateway = hb.gateway_id.to_ascii_lowercase();
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO heartbeats (gateway, instance, gateway_id, received_at, report) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (gateway, instance) DO UPDATE SET gateway_id = excluded.gateway_id, received_at = excluded.received_at, report = excluded.report",
    )
    .bind(&gateway)
    .bind(&hb.instance_id)
    .bind(&hb.gateway_id)
    .bind(to_i64(hb.received_at_ms))
    .bind(report)
    .execute(&mut *tx)
    .await?;
    // Instances come and go (containers get new ids); forget the long-gone ones here rather
    // than in a separate sweeper.
    sqlx::query("DELETE FROM heartbeats WHERE gateway = $1 AND received_at < $2")
        .bind(&gateway)
        .bind(to_i64(hb.received_at_ms.saturating_sub(FORGET_AFTER_MS)))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn list(pool: &AnyPool, gateway_id: &str) -> Result<Vec<Heartbeat>, StoreError> {
    let rows = sqlx::query(
        "SELECT gateway_id, instance, received_at, report FROM heartbeats WHERE gateway = $1 ORDER BY instance",
    )
    .bind(gateway_id.to_ascii_lowercase())
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            let report: String = r.try_get(3)?;
            Ok(Heartbeat {
                gateway_id: r.try_get(0)?,
                instance_id: r.try_get(1)?,
                received_at_ms: to_u64(r.try_get(2)?),
                report: serde_json::from_str(&report)
                    .map_err(|e| StoreError::Corrupt(format!("heartbeat report: {e}")))?,
            })
        })
        .collect()
}
