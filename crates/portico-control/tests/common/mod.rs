//! Setup shared by the tests that run against real databases: a fresh SQLite file and a
//! fresh PostgreSQL database (`PORTICO_TEST_POSTGRES`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`; each run creates and drops its own).

#![allow(dead_code)] // Each test file uses a part of it.
use portico_control::store::{Change, Precondition, ResourcePath, SqlStore};

pub fn path(p: &str) -> ResourcePath {
    ResourcePath::parse(p).unwrap()
}

pub fn put(p: &str, properties: serde_json::Value) -> Change {
    Change::Put {
        path: path(p),
        properties,
        precondition: Precondition::None,
    }
}

/// Runs `check` on a fresh SQLite store and a fresh PostgreSQL store.
pub async fn on_both<F, Fut>(check: F)
where
    F: Fn(SqlStore) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqlStore::open(&format!("sqlite://{}/portico.db", dir.path().display()))
        .await
        .unwrap();
    check(sqlite).await;

    let db = TestDatabase::create().await;
    let pg = SqlStore::open(&db.url).await.unwrap();
    check(pg.clone()).await;
    pg.close().await;
    db.drop().await;
}

/// A PostgreSQL database of its own for one test.
pub struct TestDatabase {
    pub url: String,
    name: String,
    admin: sqlx::AnyPool,
}

impl TestDatabase {
    pub async fn create() -> Self {
        let admin_url = std::env::var("PORTICO_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let name = format!("portico_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::any::install_default_drivers();
        let admin = sqlx::AnyPool::connect(&admin_url).await.unwrap_or_else(|e| {
            panic!("PostgreSQL is needed for these tests ({admin_url}): {e}. Start it, or set PORTICO_TEST_POSTGRES.")
        });
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await
            .unwrap();
        let url = match admin_url.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => unreachable!("a PostgreSQL URL has a path"),
        };
        Self { url, name, admin }
    }

    /// Runs `sql` as the administrator (on the administrator's database).
    pub async fn admin_sql(&self, sql: String) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&self.admin)
            .await
            .unwrap();
    }

    /// Whether `sql` (run as the administrator) returns a row.
    pub async fn finds(&self, sql: &str) -> bool {
        sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_optional(&self.admin)
            .await
            .unwrap()
            .is_some()
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Drops the database, closing what is still connected to it.
    pub async fn drop(self) {
        self.admin_sql(format!("DROP DATABASE {} WITH (FORCE)", self.name))
            .await;
    }
}
