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
//! Bodies go out uncompressed. Measured on a synthetic large configuration (1,000 APIs with 5
//! operations and a policy each, 5,000 subscriptions): 1.58 MB of JSON, 282 KB gzipped (18%)
//! for ~15 ms of gzip-6 per view. Worth it across slow WAN links, not on a LAN; since the body
//! is serialised once per view, a gzip copy would be made there too (once per change, shared
//! by every instance). The per-gateway cut plus not waking unaffected gateways already keeps
//! most changes from being sent at all.
//!
//! Wake-ups come from the management API's `commits` channel (in-process). Commits made by
//! another replica are seen by the periodic revision check ([`RECHECK`]); PostgreSQL
//! `LISTEN/NOTIFY` would plug in at [`Hub::start`]'s select.

use super::per_gateway::{document_for, Audience};
use crate::declarative::document_of;
use crate::snapshot::SnapshotError;
use crate::store::Store;
use bytes::Bytes;
use portico_model::Document;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// How often the store's revision is checked without a notification (commits by other
/// replicas, or by anything that bypasses the API).
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
}

/// The compiled configuration and the per-audience views cut from it.
#[derive(Debug)]
pub struct Hub {
    latest: watch::Sender<Option<Arc<Compiled>>>,
    views: Mutex<HashMap<Audience, Arc<View>>>,
}

impl Hub {
    /// Compiles the store now and follows `commits` (revisions announced by the management
    /// API) for as long as the returned hub is alive.
    pub async fn start(store: Arc<dyn Store>, mut commits: watch::Receiver<u64>) -> Arc<Self> {
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
                    _ = tokio::time::sleep(RECHECK) => {}
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
                checked_at: compiled.revision,
            },
            _ => View {
                revision: compiled.revision,
                body: body(compiled.revision, &document),
                document: Arc::new(document),
                checked_at: compiled.revision,
            },
        };
        let view = Arc::new(view);
        views.insert(audience.clone(), view.clone());
        Ok(view)
    }

    /// Waits until `audience`'s view is newer than `after`, or `hold` passes (`None`).
    pub async fn next(
        &self,
        audience: &Audience,
        after: u64,
        hold: Duration,
    ) -> Result<Option<Arc<View>>, HubError> {
        let deadline = Instant::now() + hold;
        // Subscribed before the first look, so a compile between the look and the wait
        // still wakes us.
        let mut compiled = self.latest.subscribe();
        loop {
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

fn body(revision: u64, document: &Document) -> Bytes {
    let wire = serde_json::json!({"revision": revision, "document": document});
    Bytes::from(serde_json::to_vec(&wire).unwrap_or_default())
}
