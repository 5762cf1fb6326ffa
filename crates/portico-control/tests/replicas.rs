//! Two control-plane replicas on one PostgreSQL database: a commit through one wakes the other's
//! hub by `LISTEN/NOTIFY`, long before its periodic check, and still does after the listener's
//! connection is killed.

mod common;

use common::{put, TestDatabase};
use portico_control::distributor::{replicas, Audience, Hub};
use portico_control::store::{SqlStore, Store};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Far longer than the test: a wake-up can only come from a notification.
const NO_RECHECK: Duration = Duration::from_secs(3600);
/// Generous for a loaded machine; the real figure is printed.
const LIMIT: Duration = Duration::from_secs(5);

fn api(description: &str) -> serde_json::Value {
    json!({"displayName": "A", "path": "a", "serviceUrl": "http://127.0.0.1:9", "description": description})
}

/// Commits through `writer`, then waits until `hub` (the other replica's) serves it.
async fn commit_and_wait(writer: &SqlStore, hub: &Hub, description: &str) -> Duration {
    let before = writer.revision().await.unwrap();
    let started = Instant::now();
    let revision = writer
        .commit(None, &[put("apis/a", api(description))])
        .await
        .unwrap();
    assert!(revision > before);
    let view = hub
        .next(&Audience::Managed, before, LIMIT, |_| true)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("revision {revision} not seen within {LIMIT:?}"));
    assert_eq!(view.revision, revision);
    started.elapsed()
}

#[tokio::test]
async fn a_commit_on_one_replica_wakes_the_other_by_notification_and_after_a_reconnect() {
    let db = TestDatabase::create().await;
    let a = SqlStore::open(&db.url).await.unwrap();
    let b = SqlStore::open(&db.url).await.unwrap();
    a.commit(None, &[put("apis/a", api("first"))])
        .await
        .unwrap();

    let others = Arc::new(Notify::new());
    let (_commits, commits_rx) = tokio::sync::watch::channel(0);
    let listener = tokio::spawn(replicas::follow(db.url.clone(), others.clone()));
    let hub = Hub::start_replicated(Arc::new(a.clone()), commits_rx, others, NO_RECHECK).await;
    // LISTEN is in place once the listener's backend shows up.
    let listening = format!(
        "SELECT pid FROM pg_stat_activity WHERE datname = '{}' AND query LIKE 'LISTEN%'",
        db.name()
    );
    wait_for_listener(&db, &listening).await;

    let took = commit_and_wait(&b, &hub, "second").await;
    eprintln!("replica B's commit reached replica A's hub in {took:?}");

    // Kill the listener's connection: the listener reconnects, and commits keep arriving.
    db.admin_sql(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}' AND query LIKE 'LISTEN%'",
        db.name()
    ))
    .await;
    let took = commit_and_wait(&b, &hub, "third").await;
    eprintln!("after the listener's connection was killed: {took:?}");
    wait_for_listener(&db, &listening).await;
    let took = commit_and_wait(&b, &hub, "fourth").await;
    eprintln!("after the listener reconnected: {took:?}");

    listener.abort();
    a.close().await;
    b.close().await;
    db.drop().await;
}

/// Waits until `query` finds a row.
async fn wait_for_listener(db: &TestDatabase, query: &str) {
    let started = Instant::now();
    while !db.finds(query).await {
        assert!(started.elapsed() < LIMIT * 4, "the listener never listened");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
