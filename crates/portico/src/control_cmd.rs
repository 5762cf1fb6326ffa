//! `portico control-plane --database URL`: the management API on a SQLite file or a
//! PostgreSQL database. The admin token comes from `PORTICO_ADMIN_TOKEN`; without it, a
//! SQLite control plane generates one on first start and keeps it beside the database file
//! (mode 0600), and a PostgreSQL one refuses to start. The master key that encrypts secrets
//! at rest follows the same rule with `PORTICO_MASTER_KEY` and a `master-key` file.
//!
//! Several replicas may share one PostgreSQL database: any of them takes writes, and each
//! hears the others' commits through `LISTEN/NOTIFY` so the gateways it holds wake at once.
//! With `--admin-tls-cert`/`--admin-tls-key` everything is served over HTTPS only.

use crate::cli::{AdminTlsArgs, ControlPlaneArgs};
use crate::gateway_cmd::Signals;
use anyhow::Context;
use portico_control::admin_tls::{server_config, AdminTls, TlsListener};
use portico_control::api::{router, ApiState};
use portico_control::distributor::{self, replicas, Hub};
use portico_control::master_key::{KeySource, MasterKey};
use portico_control::store::{Backend, SealedStore, SqlStore, Store};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub fn run(args: ControlPlaneArgs) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("portico-control")
        .build()
        .context("starting the async runtime")?
        .block_on(serve(args))
}

async fn serve(args: ControlPlaneArgs) -> anyhow::Result<()> {
    let mut signals = Signals::install()?;
    let token = admin_token(&args.database)?;
    let tls = admin_tls(&args.admin_tls)?;
    let (store, backend) = open_store(&args.database).await?;
    let listener = bind_admin(args.admin_listen).await?;
    tracing::info!(admin = %listener.local_addr()?, ?backend, https = tls.is_some(), "portico control plane started");
    let api = ApiState::new(store, &token);
    let hub = match backend {
        Backend::Sqlite => Hub::start(api.store.clone(), api.commits.subscribe()).await,
        Backend::Postgres => {
            let others = Arc::new(tokio::sync::Notify::new());
            tokio::spawn(replicas::follow(args.database.clone(), others.clone()));
            Hub::start_replicated(
                api.store.clone(),
                api.commits.subscribe(),
                others,
                replicas::SAFETY_RECHECK,
            )
            .await
        }
    };
    let app = router(api.clone()).merge(distributor::routes(api, hub));
    serve_admin(listener, tls, app, async move { signals.wait().await }).await
}

/// The TLS configuration of `--admin-tls-cert`/`--admin-tls-key`, if given.
pub fn admin_tls(args: &AdminTlsArgs) -> anyhow::Result<Option<AdminTls>> {
    match (&args.admin_tls_cert, &args.admin_tls_key) {
        (Some(cert), Some(key)) => Ok(Some(server_config(cert, key)?)),
        (None, None) => Ok(None),
        _ => {
            anyhow::bail!("--admin-tls-cert and --admin-tls-key go together: give both or neither")
        }
    }
}

/// Serves `app` on `listener`, over TLS when `tls` is given, until `shutdown` completes.
pub async fn serve_admin(
    listener: tokio::net::TcpListener,
    tls: Option<AdminTls>,
    app: axum::Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    match tls {
        Some(tls) => {
            axum::serve(TlsListener::new(listener, tls)?, app)
                .with_graceful_shutdown(shutdown)
                .await
        }
        None => {
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
        }
    }
    .context("serving the management API")
}

/// Binds the management API's listener.
pub async fn bind_admin(addr: std::net::SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (--admin-listen / PORTICO_ADMIN_LISTEN)"))
}

/// Opens the store at `database` behind the seal that keeps its secrets encrypted, with the
/// master key from `PORTICO_MASTER_KEY` or (SQLite) the `master-key` file beside the database.
/// A key that does not match the stored secrets stops the start here.
pub async fn open_store(database: &str) -> anyhow::Result<(Arc<dyn Store>, Backend)> {
    let (key, source) = MasterKey::from_env_or_file(sqlite_dir(database).as_deref())?;
    if let KeySource::Generated(file) = source {
        eprintln!(
            "portico: generated a master key in {} (mode 0600); back it up with the database: without it the secrets stored there cannot be read",
            file.display()
        );
    }
    let sql = SqlStore::open(database)
        .await
        .context("opening the database (--database / PORTICO_DATABASE)")?;
    let backend = sql.backend();
    let store = SealedStore::new(Arc::new(sql), &key);
    store
        .verify()
        .await
        .context("reading the stored configuration")?;
    Ok((Arc::new(store), backend))
}

/// The directory of a `sqlite://PATH` database, where its generated files live; `None` for
/// PostgreSQL.
fn sqlite_dir(database: &str) -> Option<PathBuf> {
    let db_path = database.strip_prefix("sqlite://")?;
    let db_path = db_path.split('?').next().unwrap_or(db_path);
    let dir = Path::new(db_path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    Some(dir.to_owned())
}

/// `PORTICO_ADMIN_TOKEN`, or (for SQLite) the token kept beside the database file.
pub fn admin_token(database: &str) -> anyhow::Result<String> {
    if let Ok(token) = std::env::var("PORTICO_ADMIN_TOKEN") {
        anyhow::ensure!(
            token.len() >= 16,
            "PORTICO_ADMIN_TOKEN must be at least 16 characters"
        );
        return Ok(token);
    }
    let Some(dir) = sqlite_dir(database) else {
        anyhow::bail!(
            "set PORTICO_ADMIN_TOKEN: a PostgreSQL control plane does not generate its own token"
        );
    };
    let dir = dir.as_path();
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let file = dir.join("admin-token");
    if let Ok(existing) = std::fs::read_to_string(&file) {
        return Ok(existing.trim().to_owned());
    }
    let token = portico_control::keys::random_key();
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&file)
        .with_context(|| format!("writing {}", file.display()))?;
    writeln!(f, "{token}")?;
    eprintln!(
        "portico: generated an admin token in {} (send it as `Authorization: Bearer …`)",
        file.display()
    );
    Ok(token)
}
