//! Several control-plane replicas on one PostgreSQL database: each replica listens on the
//! store's revision channel ([`REVISION_CHANNEL`], fed by a trigger on every commit, whichever
//! replica made it) and wakes its [`Hub`](super::Hub), so gateways held on one replica get a
//! change written through another in milliseconds.
//!
//! The listener reconnects on its own ([`follow`] never returns). While it is not listening it
//! wakes the hub at each reconnect attempt, and once listening again it wakes the hub once more,
//! so a commit announced while nobody listened is still picked up. The hub's own periodic check
//! ([`SAFETY_RECHECK`]) covers what remains: a connection that died silently (no RST, so the
//! listener does not notice until TCP gives up).

use crate::store::REVISION_CHANNEL;
use sqlx::postgres::PgListener;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// How often a PostgreSQL replica checks the revision when no notification came.
pub const SAFETY_RECHECK: Duration = Duration::from_secs(10);

/// First and longest wait between reconnect attempts.
const RETRY_FIRST: Duration = Duration::from_millis(500);
const RETRY_MAX: Duration = Duration::from_secs(5);

/// Listens for commits on the PostgreSQL database at `url` and notifies `others` for each;
/// runs until the task is dropped, reconnecting as needed.
pub async fn follow(url: String, others: Arc<Notify>) {
    let mut wait = RETRY_FIRST;
    loop {
        let Err(error) = listen(&url, &others, &mut wait).await;
        tracing::warn!(
            error = %error,
            retry_in = ?wait,
            "not listening for other control-plane replicas' commits; checking the database revision instead until reconnected"
        );
        // Whatever was committed meanwhile is read by the hub's revision check.
        others.notify_one();
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(RETRY_MAX);
    }
}

/// One connection's life: connect, `LISTEN`, relay notifications. Returns only on failure.
async fn listen(
    url: &str,
    others: &Notify,
    wait: &mut Duration,
) -> Result<std::convert::Infallible, sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(REVISION_CHANNEL).await?;
    tracing::info!(
        channel = REVISION_CHANNEL,
        "listening for other control-plane replicas' commits"
    );
    *wait = RETRY_FIRST;
    // Commits made before LISTEN took effect were not announced to this connection.
    others.notify_one();
    loop {
        match listener.try_recv().await? {
            Some(notification) => {
                tracing::trace!(revision = notification.payload(), "commit announced");
                others.notify_one();
            }
            None => {
                // The connection broke and the listener re-established it (LISTEN included);
                // notifications sent in between are lost, so look at the store.
                tracing::warn!("the notification connection to PostgreSQL was lost and re-established; checking for missed commits");
                others.notify_one();
            }
        }
    }
}
