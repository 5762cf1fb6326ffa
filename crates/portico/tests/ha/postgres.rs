//! A PostgreSQL database of its own for one test (`PORTICO_TEST_POSTGRES`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`), created on demand and dropped (with whatever
//! is still connected) when the guard goes.

pub struct Database {
    pub url: String,
    name: String,
    admin_url: String,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn run(admin_url: &str, sql: String) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(admin_url).await.unwrap_or_else(|e| {
        panic!("PostgreSQL is needed for these tests ({admin_url}): {e}. Start it, or set PORTICO_TEST_POSTGRES.")
    });
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
}

impl Database {
    pub fn create() -> Self {
        let admin_url = std::env::var("PORTICO_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let name = format!("portico_test_{}", uuid::Uuid::new_v4().simple());
        runtime().block_on(run(&admin_url, format!("CREATE DATABASE {name}")));
        let url = match admin_url.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => panic!("PORTICO_TEST_POSTGRES {admin_url:?} has no database path"),
        };
        Self {
            url,
            name,
            admin_url,
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        runtime().block_on(run(&self.admin_url, sql));
    }
}
