//! The resource store. Every resource is a JSON object of APIM properties at a
//! [`ResourcePath`]. Every [`Store::commit`] is one transaction that applies a batch of
//! changes, checks their preconditions (`If-Match` ETags, create-only), bumps the global
//! revision once and writes one audit entry per resource touched. A resource's ETag is the
//! revision that last changed it.
//!
//! Validation of what the resources mean (references, conflicts such as two APIs on one path)
//! is not the store's job: the management API checks the would-be configuration with
//! `portico-model` before committing.

mod heartbeat;
mod path;
mod sealed;
mod sql;

pub use heartbeat::Heartbeat;
pub use path::{CollectionPath, InvalidPath, Kind, ResourcePath};
pub use sealed::{SealedStore, SENSITIVE};
pub use sql::revision_notify::CHANNEL as REVISION_CHANNEL;
pub use sql::{Backend, SqlStore};

use async_trait::async_trait;

/// A stored resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub path: ResourcePath,
    /// The revision that last changed it; its ETag is derived from this.
    pub revision: u64,
    pub properties: serde_json::Value,
}

impl Stored {
    /// The HTTP entity tag of this version.
    pub fn etag(&self) -> String {
        etag(self.revision)
    }
}

/// The entity tag of a resource last changed at `revision`.
pub fn etag(revision: u64) -> String {
    format!("\"{revision}\"")
}

/// What a change requires of the resource's current state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precondition {
    None,
    /// The resource exists with this ETag (`If-Match`).
    Matches(String),
    /// The resource does not exist (`If-None-Match: *`).
    Absent,
}

/// One change in a commit.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Create or replace the resource's properties.
    Put {
        path: ResourcePath,
        properties: serde_json::Value,
        precondition: Precondition,
    },
    /// Remove the resource and everything under it (an API's operations and policies).
    Delete {
        path: ResourcePath,
        precondition: Precondition,
    },
}

/// One audit record: which resource a revision changed, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Increasing position in the trail; page with it.
    pub id: u64,
    pub revision: u64,
    pub path: String,
    /// `put` or `delete`.
    pub action: String,
    /// RFC 3339, UTC.
    pub at: String,
}

/// A page of a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub skip: u64,
    pub top: u64,
}

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} does not exist")]
    NotFound(String),
    /// An `If-Match` ETag is stale; `current` is the resource's ETag now.
    #[error("{path} has changed (its ETag is now {current})")]
    PreconditionFailed { path: String, current: String },
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// Another change was committed since the caller's `base` revision.
    #[error("the configuration changed (revision {current}) since it was read at revision {base}")]
    Stale { base: u64, current: u64 },
    #[error("the database URL {0:?} is not supported: use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// Where resources live.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// The current global revision (0 for an empty store).
    async fn revision(&self) -> Result<u64, StoreError>;

    async fn get(&self, path: &ResourcePath) -> Result<Option<Stored>, StoreError>;

    /// Resources of one kind, under `parent` (a parent key) when given, ordered by key.
    async fn list(
        &self,
        kind: Kind,
        parent: Option<&str>,
        page: Page,
    ) -> Result<Vec<Stored>, StoreError>;

    /// Every resource, with the revision they were read at, from one consistent view.
    async fn all(&self) -> Result<(u64, Vec<Stored>), StoreError>;

    /// Applies `changes` atomically as one new revision, which it returns. If any
    /// precondition fails, nothing changes. With `base`, the commit also fails
    /// ([`StoreError::Stale`]) unless the store is still at that revision: a caller that
    /// validated the whole configuration as of `base` knows its check still holds.
    async fn commit(&self, base: Option<u64>, changes: &[Change]) -> Result<u64, StoreError>;

    /// Audit entries after the entry with id `after` (0 for the start), oldest first, at most
    /// `limit`.
    async fn audit(&self, after: u64, limit: u64) -> Result<Vec<AuditEntry>, StoreError>;

    /// Keeps `heartbeat` as its instance's latest, without touching the revision.
    async fn record_heartbeat(&self, heartbeat: &Heartbeat) -> Result<(), StoreError>;

    /// The latest heartbeat of every instance of the gateway `gateway_id`.
    async fn heartbeats(&self, gateway_id: &str) -> Result<Vec<Heartbeat>, StoreError>;
}
