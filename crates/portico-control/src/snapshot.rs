//! Compiling the store into what a gateway runs: every stored resource, read in one
//! consistent view, becomes the declarative document and then a validated [`Snapshot`] stamped
//! with the store's revision.

use crate::declarative::{document_of, DeclarativeError};
use crate::store::{Store, StoreError};
use portico_model::{ConfigErrors, Snapshot};

/// Why the store could not be compiled.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Resources(#[from] DeclarativeError),
    #[error(transparent)]
    Invalid(#[from] ConfigErrors),
}

/// The snapshot of everything in `store`, at its current revision.
pub async fn compile(store: &dyn Store) -> Result<Snapshot, SnapshotError> {
    let (revision, resources) = store.all().await?;
    let document = document_of(&resources)?;
    Ok(Snapshot::new(revision, document)?)
}
