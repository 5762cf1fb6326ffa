//! [`Hub`]: the latest compiled configuration, shared by every waiting gateway. The store is
//! compiled once per revision by one follower task, however many gateways wake; each
//! audience's cut ([`View`]) is computed once per revision and serialised once, then shared
//! by every instance of that gateway.
//!
//! A view keeps its revision while its content stays the same: a commit that changes nothing
//! a gateway receives (another site's API, say) does not answer that gateway's long-poll.
//! View revisions are remembered in memory only, so after a control-plane restart (or on
//! another replica) a gateway may receive once more a document it already has; applying it is
//! harmless.
//!
//! Bodies are serialised once per view, and gzipped at most once per view, when the first
//! gateway that accepts gzip asks for it ([`View::gzipped`]; see [`super::compress`]).
//!
//! Wake-ups come from the management API's `commits` channel (this replica's commits) and,
//! on PostgreSQL, from [`super::replicas`] (other replicas' commits, by `LISTEN/NOTIFY`). A
//! periodic revision check (`recheck`: [`RECHECK`] alone on SQLite, a slower safety net
//! beside the listener on PostgreSQL) catches anything neither announced.

use super::per_gateway::{document_for, Audience};
use crate::declarative::document_of;
use crate::snapshot::SnapshotError;
use crate::store::Store;
use bytes::Bytes;
use portico_model::Document;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{watch, Notify, OnceCell};
use tokio::time::Instant;

/// How often a single replica (SQLite) checks the store's revision without a notification
/// (commits by anything that bypasses the API).
pub const RECHECK: Duration = Duration::from_secs(2);

/// The whole configuration at one revision.
#[derive(Debug)]
pub struct Compiled {
    pub revision: u64,
    pub document: Document,
}

/// What one audience receives, as of the revision that last changed it.
#[derive(Debug)]
pub struct View {
    /// The global revision at which this content first appeared.
    pub revision: u64,
    pub document: Arc<Document>,
    /// `{"revision": …, "document": …}`, serialised once for every instance.
    pub body: Bytes,
    /// `body` gzipped, made on first demand and shared like `body`.
    gzipped: Arc<OnceCell<Bytes>>,
    /// The compiled revision this view was last checked against.
    checked_at: u64,
}

/// Why the hub cannot answer.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("the configuration has not been compiled yet; retry shortly")]
    NotCompiled,
    #[error("no gateway has id {0:?}; create it (PUT /gateways/{{id}}) or fix the token")]
    UnknownGateway(String),
    /// The waiting client's credentials stopped being valid (a regenerated key).
    #[error("the credentials of this request were revoked while it waited")]
    Revoked,
}

/// The compiled configuration and the per-audience views cut from it.
#[derive(Debug)]
pub struct Hub {
    latest: watch::Sender<Option<Arc<Compiled>>>,
    views: Mutex<HashMap<Audience, Arc<View>>>,
}

impl Hub {
    /// Compiles the store now and follows `commits` (revisions announced by the management
    /// API) for as long as the returned hub is alive, checking the store every [`RECHECK`]
    /// too. For a single replica (SQLite).
    pub async fn start(store: Arc<dyn Store>, commits: watch::Receiver<u64>) -> Arc<Self> {
        Self::start_replicated(store, commits, Arc::new(Notify::new()), RECHECK).await
    }

    /// Like [`Hub::start`], and also recompiles whenever `others` is notified (another
    /// replica committed), checking the store every `recheck` in case a notification was lost.
    pub async fn start_replicated(
        store: Arc<dyn Store>,
        mut commits: watch::Receiver<u64>,
        others: Arc<Notify>,
        recheck: Duration,
    ) -> Arc<Self> {
        let hub = Arc::new(Self {
            latest: watch::channel(None).0,
            views: Mutex::new(HashMap::new()),
        });
        hub.refresh(store.as_ref()).await;
        let weak = Arc::downgrade(&hub);
        tokio::spawn(async move {
            let mut notified = true;
            loop {
                tokio::select! {
                    changed = commits.changed(), if notified => notified = changed.is_ok(),
                    _ = others.notified() => {}
                    _ = tokio::time::sleep(recheck) => {}
                }
                let Some(hub) = weak.upgrade() else { return };
                hub.refresh(store.as_ref()).await;
            }
        });
        hub
    }

    /// Recompiles if the store moved past the published revision.
    async fn refresh(&self, store: &dyn Store) {
        let published = self.latest.borrow().as_ref().map(|c| c.revision);
        match store.revision().await {
            Ok(r) if Some(r) == published => return,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the store's revision; gateways keep their configuration");
                return;
            }
        }
        let compiled = async {
            let (revision, resources) = store.all().await?;
            let document = document_of(&resources)?;
            Ok::<_, SnapshotError>(Compiled { revision, document })
        };
        match compiled.await {
            Ok(c) => {
                tracing::debug!(revision = c.revision, "configuration compiled for gateways");
                self.latest.send_replace(Some(Arc::new(c)));
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot compile the configuration; gateways keep the previous one")
            }
        }
    }

    /// The current view for `audience`.
    pub fn view(&self, audience: &Audience) -> Result<Arc<View>, HubError> {
        let compiled = self.latest.borrow().clone().ok_or(HubError::NotCompiled)?;
        self.view_at(&compiled, audience)
    }

    /// `audience`'s view of `compiled`.
    fn view_at(&self, compiled: &Compiled, audience: &Audience) -> Result<Arc<View>, HubError> {
        let mut views = self.views.lock().unwrap_or_else(|e| e.into_inner());
        let previous = views.get(audience).cloned();
        if let Some(v) = previous
            .as_ref()
            .filter(|v| v.checked_at == compiled.revision)
        {
            return Ok(v.clone());
        }
        let Some(document) = document_for(&compiled.document, audience) else {
            views.remove(audience);
            let id = match audience {
                Audience::Gateway(id) => id.clone(),
                Audience::Managed => String::new(),
            };
            return Err(HubError::UnknownGateway(id));
        };
        let view = match previous {
            Some(old) if *old.document == document => View {
                revision: old.revision,
                document: old.document.clone(),
                body: old.body.clone(),
                gzipped: old.gzipped.clone(),
                checked_at: compiled.revision,
            },
            _ => View {
                revision: compiled.revision,
                body: body(compiled.revision, &document),
                gzipped: Arc::new(OnceCell::new()),
                document: Arc::new(document),
                checked_at: compiled.revision,
            },
        };
        let view = Arc::new(view);
        views.insert(audience.clone(), view.clone());
        Ok(view)
    }

    /// Waits until `audience`'s view is newer than `after`, or `hold` passes (`None`).
    /// `allowed` is asked again at every compiled revision, so a gateway whose key was
    /// regenerated while its request waited is refused at once rather than when it asks
    /// next.
    pub async fn next(
        &self,
        audience: &Audience,
        after: u64,
        hold: Duration,
        allowed: impl Fn(&Compiled) -> bool,
    ) -> Result<Option<Arc<View>>, HubError> {
        let deadline = Instant::now() + hold;
        // Subscribed before the first look, so a compile between the look and the wait
        // still wakes us.
        let mut compiled = self.latest.subscribe();
        loop {
            if compiled
                .borrow_and_update()
                .as_deref()
                .is_some_and(|c| !allowed(c))
            {
                return Err(HubError::Revoked);
            }
            match self.view(audience) {
                Ok(v) if v.revision > after => return Ok(Some(v)),
                Ok(_) | Err(HubError::NotCompiled) => {}
                Err(e) => return Err(e),
            }
            tokio::select! {
                changed = compiled.changed() => if changed.is_err() { return Ok(None) },
                _ = tokio::time::sleep_until(deadline) => return Ok(None),
            }
        }
    }
}

impl View {
    /// [`View::body`] gzipped; compressed by the first caller (off the async workers), then
    /// shared by every instance of the audience until the content changes.
    pub async fn gzipped(&self) -> Bytes {
        let body = self.body.clone();
        self.gzipped
            .get_or_init(|| async move {
                let plain = body.clone();
                // The blocking pool only refuses while the runtime shuts down; then compress here.
                tokio::task::spawn_blocking(move || super::compress::gzip(&plain))
                    .await
                    .unwrap_or_else(|_| super::compress::gzip(&body))
            })
            .await
            .clone()
    }
}

fn body(revision: u64, document: &Document) -> Bytes {
    let wire = serde_json::json!({"revision": revision, "document": document});
    Bytes::from(serde_json::to_vec(&wire).unwrap_or_default())
}
