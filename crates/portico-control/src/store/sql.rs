//! [`SqlStore`]: the [`Store`] on SQLite (`sqlite://PATH`, the embedded default) or
//! PostgreSQL (`postgres://…`), through sqlx's driver-neutral `Any` pool so one body of SQL
//! serves both. Each backend has its own migrations, applied at start in order and recorded in
//! `schema_migrations`.
//!
//! Writers are serialised by the first statement of every commit, which bumps the single
//! `revision` row: SQLite takes its write lock there, PostgreSQL a row lock. On PostgreSQL a
//! trigger on that row announces each committed revision to every replica
//! ([`revision_notify`]).

use super::{
    AuditEntry, Change, Heartbeat, Kind, Page, Precondition, ResourcePath, Store, StoreError,
    Stored,
};
use async_trait::async_trait;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};
use std::time::SystemTime;

mod heartbeats;
pub mod revision_notify;

/// Which database is behind a [`SqlStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Schema versions, oldest first. Never edit one that has shipped: add the next.
const SQLITE_MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        "CREATE TABLE resources (
        key TEXT PRIMARY KEY,
        path TEXT NOT NULL,
        kind TEXT NOT NULL,
        parent TEXT,
        properties TEXT NOT NULL,
        revision BIGINT NOT NULL
    );
    CREATE INDEX resources_by_kind ON resources (kind, parent, key);
    CREATE TABLE revision (id INTEGER PRIMARY KEY CHECK (id = 1), value BIGINT NOT NULL);
    INSERT INTO revision (id, value) VALUES (1, 0);
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        revision BIGINT NOT NULL,
        key TEXT NOT NULL,
        path TEXT NOT NULL,
        action TEXT NOT NULL,
        at TEXT NOT NULL
    );",
    ),
    (2, heartbeats::MIGRATION),
];

/// Keys compare byte-wise (`COLLATE "C"`) so ordering and prefix `LIKE` match SQLite's.
const POSTGRES_MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        "CREATE TABLE resources (
        key TEXT COLLATE \"C\" PRIMARY KEY,
        path TEXT NOT NULL,
        kind TEXT NOT NULL,
        parent TEXT,
        properties TEXT NOT NULL,
        revision BIGINT NOT NULL
    );
    CREATE INDEX resources_by_kind ON resources (kind, parent, key);
    CREATE TABLE revision (id INTEGER PRIMARY KEY CHECK (id = 1), value BIGINT NOT NULL);
    INSERT INTO revision (id, value) VALUES (1, 0);
    CREATE TABLE audit (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        revision BIGINT NOT NULL,
        key TEXT NOT NULL,
        path TEXT NOT NULL,
        action TEXT NOT NULL,
        at TEXT NOT NULL
    );",
    ),
    (2, heartbeats::MIGRATION),
    (3, revision_notify::POSTGRES_MIGRATION),
];

/// A store on a SQL database.
#[derive(Debug, Clone)]
pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
}

impl SqlStore {
    /// Connects to `url` (`sqlite://PATH`, created if missing, or `postgres://…`) and
    /// applies pending migrations.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let (backend, url) = if let Some(path) = url.strip_prefix("sqlite://") {
            let sep = if path.contains('?') { '&' } else { '?' };
            let url = if path.contains("mode=") {
                url.to_owned()
            } else {
                format!("{url}{sep}mode=rwc")
            };
            (Backend::Sqlite, url)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Backend::Postgres, url.to_owned())
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        };
        let max = if backend == Backend::Sqlite { 4 } else { 10 };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .connect(&url)
            .await?;
        let store = Self { pool, backend };
        if backend == Backend::Sqlite {
            // Readers never block the writer and vice versa; persistent in the file.
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&store.pool)
                .await?;
        }
        store.migrate().await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes every connection (a SQLite file can then be reopened or removed cleanly).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A transaction that will write: SQLite takes its write lock at `BEGIN IMMEDIATE`, so a
    /// read-then-write transaction never fails to upgrade its lock.
    async fn write_transaction(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let migrations = match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS,
            Backend::Postgres => POSTGRES_MIGRATIONS,
        };
        sqlx::raw_sql("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY)")
            .execute(&self.pool)
            .await?;
        for (version, sql) in migrations {
            // Replicas starting together must not both apply a migration.
            let mut tx = self.write_transaction().await?;
            if self.backend == Backend::Postgres {
                sqlx::query("SELECT pg_advisory_xact_lock(7411985)")
                    .execute(&mut *tx)
                    .await?;
            }
            let applied = sqlx::query("SELECT version FROM schema_migrations WHERE version = $1")
                .bind(*version)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            if !applied {
                sqlx::raw_sql(*sql).execute(&mut *tx).await?;
                sqlx::query("INSERT INTO schema_migrations (version) VALUES ($1)")
                    .bind(*version)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        }
        Ok(())
    }
}

fn stored(row: &AnyRow) -> Result<Stored, StoreError> {
    let path: String = row.try_get("path")?;
    let properties: String = row.try_get("properties")?;
    let revision: i64 = row.try_get("revision")?;
    Ok(Stored {
        path: ResourcePath::parse(&path).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        revision: u64::try_from(revision)
            .map_err(|_| StoreError::Corrupt(format!("{path} has revision {revision}")))?,
        properties: serde_json::from_str(&properties)
            .map_err(|e| StoreError::Corrupt(format!("{path}: {e}")))?,
    })
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Database integers are signed; revisions and ids never go below zero.
fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// `LIKE` pattern matching everything under `key`.
fn descendants_pattern(key: &str) -> String {
    // Keys cannot hold '%' or '\' (see `ResourcePath`), but may hold '_'.
    format!("{}/%", key.replace('_', "\\_"))
}

fn check(
    precondition: &Precondition,
    path: &ResourcePath,
    current: Option<u64>,
) -> Result<(), StoreError> {
    match (precondition, current) {
        (Precondition::None, _) => Ok(()),
        (Precondition::Absent, None) => Ok(()),
        (Precondition::Absent, Some(_)) => Err(StoreError::AlreadyExists(path.to_string())),
        // RFC 9110: If-Match on a missing resource fails the precondition.
        (Precondition::Matches(_), None) => Err(StoreError::PreconditionFailed {
            path: path.to_string(),
            current: "none".into(),
        }),
        (Precondition::Matches(want), Some(rev)) => {
            let current = super::etag(rev);
            // `*` matches any existing version.
            if want == "*" || *want == current {
                Ok(())
            } else {
                Err(StoreError::PreconditionFailed {
                    path: path.to_string(),
                    current,
                })
            }
        }
    }
}

#[async_trait]
impl Store for SqlStore {
    async fn revision(&self) -> Result<u64, StoreError> {
        let value: i64 = sqlx::query("SELECT value FROM revision WHERE id = 1")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        Ok(to_u64(value))
    }

    async fn get(&self, path: &ResourcePath) -> Result<Option<Stored>, StoreError> {
        let row = sqlx::query("SELECT path, properties, revision FROM resources WHERE key = $1")
            .bind(path.key())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(stored).transpose()
    }

    async fn list(
        &self,
        kind: Kind,
        parent: Option<&str>,
        page: Page,
    ) -> Result<Vec<Stored>, StoreError> {
        let (top, skip) = (to_i64(page.top), to_i64(page.skip));
        let rows = match parent {
            Some(parent) => {
                sqlx::query("SELECT path, properties, revision FROM resources WHERE kind = $1 AND parent = $2 ORDER BY key LIMIT $3 OFFSET $4")
                    .bind(kind.as_str())
                    .bind(parent.to_ascii_lowercase())
                    .bind(top)
                    .bind(skip)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                sqlx::query("SELECT path, properties, revision FROM resources WHERE kind = $1 ORDER BY key LIMIT $2 OFFSET $3")
                    .bind(kind.as_str()).bind(top).bind(skip).fetch_all(&self.pool).await?
            }
        };
        rows.iter().map(stored).collect()
    }

    async fn all(&self) -> Result<(u64, Vec<Stored>), StoreError> {
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            // Both reads must see the same committed state.
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                .execute(&mut *tx)
                .await?;
        }
        let revision: i64 = sqlx::query("SELECT value FROM revision WHERE id = 1")
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        let rows = sqlx::query("SELECT path, properties, revision FROM resources ORDER BY key")
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let resources = rows.iter().map(stored).collect::<Result<_, _>>()?;
        Ok((to_u64(revision), resources))
    }

    async fn commit(&self, base: Option<u64>, changes: &[Change]) -> Result<u64, StoreError> {
        if changes.is_empty() {
            return self.revision().await;
        }
        let mut tx = self.write_transaction().await?;
        // Serialises writers (PostgreSQL's row lock; SQLite already holds its write lock).
        let revision: i64 =
            sqlx::query("UPDATE revision SET value = value + 1 WHERE id = 1 RETURNING value")
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
        if let Some(base) = base {
            let current = to_u64(revision - 1);
            if current != base {
                tx.rollback().await?;
                return Err(StoreError::Stale { base, current });
            }
        }
        let at = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
        let mut changed = false;
        for change in changes {
            match change {
                Change::Put {
                    path,
                    properties,
                    precondition,
                } => {
                    let current =
                        sqlx::query("SELECT revision, properties FROM resources WHERE key = $1")
                            .bind(path.key())
                            .fetch_optional(&mut *tx)
                            .await?;
                    let current_revision = current
                        .as_ref()
                        .map(|r| r.try_get::<i64, _>(0))
                        .transpose()?
                        .map(to_u64);
                    check(precondition, path, current_revision)?;
                    if let Some(row) = &current {
                        let text: String = row.try_get(1)?;
                        if serde_json::from_str::<serde_json::Value>(&text)
                            .ok()
                            .as_ref()
                            == Some(properties)
                        {
                            continue; // unchanged: no new version, no audit entry
                        }
                    }
                    let text = serde_json::to_string(properties)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    sqlx::query(
                        "INSERT INTO resources (key, path, kind, parent, properties, revision) VALUES ($1, $2, $3, $4, $5, $6)
                         ON CONFLICT (key) DO UPDATE SET path = excluded.path, properties = excluded.properties, revision = excluded.revision",
                    )
                    .bind(path.key())
                    .bind(path.as_str())
                    .bind(path.kind().as_str())
                    .bind(path.parent_key().map(str::to_owned))
                    .bind(text)
                    .bind(revision)
                    .execute(&mut *tx)
                    .await?;
                    audit(&mut tx, revision, path.key(), path.as_str(), "put", &at).await?;
                    changed = true;
                }
                Change::Delete { path, precondition } => {
                    let current: Option<i64> =
                        sqlx::query("SELECT revision FROM resources WHERE key = $1")
                            .bind(path.key())
                            .fetch_optional(&mut *tx)
                            .await?
                            .map(|r| r.try_get(0))
                            .transpose()?;
                    let Some(current) = current else {
                        return Err(StoreError::NotFound(path.to_string()));
                    };
                    check(precondition, path, Some(to_u64(current)))?;
                    let doomed = sqlx::query(
                        "SELECT key, path FROM resources WHERE key = $1 OR key LIKE $2 ESCAPE '\\'",
                    )
                    .bind(path.key())
                    .bind(descendants_pattern(path.key()))
                    .fetch_all(&mut *tx)
                    .await?;
                    for row in &doomed {
                        let (key, written): (String, String) = (row.try_get(0)?, row.try_get(1)?);
                        sqlx::query("DELETE FROM resources WHERE key = $1")
                            .bind(&key)
                            .execute(&mut *tx)
                            .await?;
                        audit(&mut tx, revision, &key, &written, "delete", &at).await?;
                    }
                    changed = true;
                }
            }
        }
        if !changed {
            // Every change was a no-op: keep the revision where it was.
            tx.rollback().await?;
            return Ok(to_u64(revision - 1));
        }
        tx.commit().await?;
        Ok(to_u64(revision))
    }

    async fn audit(&self, after: u64, limit: u64) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, revision, path, action, at FROM audit WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(to_i64(after))
        .bind(to_i64(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    id: to_u64(r.try_get(0)?),
                    revision: to_u64(r.try_get(1)?),
                    path: r.try_get(2)?,
                    action: r.try_get(3)?,
                    at: r.try_get(4)?,
                })
            })
            .collect()
    }

    async fn record_heartbeat(&self, heartbeat: &Heartbeat) -> Result<(), StoreError> {
        heartbeats::record(&self.pool, heartbeat).await
    }

    async fn heartbeats(&self, gateway_id: &str) -> Result<Vec<Heartbeat>, StoreError> {
        heartbeats::list(&self.pool, gateway_id).await
    }
}

async fn audit(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    revision: i64,
    key: &str,
    path: &str,
    action: &str,
    at: &str,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO audit (revision, key, path, action, at) VALUES ($1, $2, $3, $4, $5)")
        .bind(revision)
        .bind(key)
        .bind(path)
        .bind(action)
        .bind(at)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
