//! How every write through the API happens: read the whole configuration at a revision, edit
//! it (recording the store changes that make the same edit), validate the result with the same
//! checks the gateway applies to a declarative file, and commit as of the revision read. If
//! another write landed in between, the store refuses the commit and the write starts over, so
//! a validated configuration is always the one committed.

use super::error::ApiError;
use super::{secrets, ApiState};
use crate::declarative::{canonical, document_of};
use crate::store::{Change, Kind, Precondition, ResourcePath, StoreError, Stored};
use http::StatusCode;
use serde_json::Value;

/// How often a write starts over when other writes keep landing first.
const ATTEMPTS: usize = 5;

/// The configuration being edited, and the changes that make the edit.
#[derive(Debug)]
pub struct Edit {
    all: Vec<Stored>,
    changes: Vec<Change>,
}

impl Edit {
    /// The resource at `path`, as it is in this edit.
    pub fn get(&self, path: &ResourcePath) -> Option<&Stored> {
        self.all.iter().find(|s| s.path.key() == path.key())
    }

    /// Every resource, as it is in this edit.
    pub fn all(&self) -> &[Stored] {
        &self.all
    }

    /// Creates or replaces a resource; returns whether that changed anything. Changes nothing
    /// when the resource already has exactly these properties (so repeating a write keeps the
    /// revision), though the precondition must still hold.
    pub fn put(
        &mut self,
        path: &ResourcePath,
        properties: Value,
        precondition: Precondition,
    ) -> Result<bool, ApiError> {
        let properties = canonical(path, &properties)?;
        let candidate = Stored {
            path: path.clone(),
            revision: 0,
            properties: properties.clone(),
        };
        match self.all.iter().position(|s| s.path.key() == path.key()) {
            Some(i) if self.all[i].properties == properties && self.all[i].path == *path => {
                let current = self.all[i].etag();
                return match precondition {
                    Precondition::Matches(etag) if etag != "*" && etag != current => {
                        Err(StoreError::PreconditionFailed {
                            path: path.to_string(),
                            current,
                        }
                        .into())
                    }
                    Precondition::Absent => Err(StoreError::AlreadyExists(path.to_string()).into()),
                    _ => Ok(false),
                };
            }
            Some(i) => self.all[i] = candidate,
            None => self.all.push(candidate),
        }
        if path.kind() == Kind::Certificate {
            // Checked only when the certificate changes: one that expired while stored must
            // not block unrelated writes. (Nothing is committed when this fails.)
            secrets::check_uploaded_certificate(&properties)
                .map_err(|e| ApiError::bad_request(format!("{path}: {e}")))?;
        }
        self.changes.push(Change::Put {
            path: path.clone(),
            properties,
            precondition,
        });
        Ok(true)
    }

    /// Deletes a resource and everything under it (the store does the same).
    pub fn delete(&mut self, path: &ResourcePath, precondition: Precondition) {
        let subtree = format!("{}/", path.key());
        self.all
            .retain(|s| s.path.key() != path.key() && !s.path.key().starts_with(&subtree));
        self.changes.push(Change::Delete {
            path: path.clone(),
            precondition,
        });
    }
}

/// What a committed (or checked) write did.
#[derive(Debug)]
pub struct Outcome<T> {
    /// The revision committed; `None` when nothing changed or nothing was to be committed.
    pub revision: Option<u64>,
    pub value: T,
}

/// Runs `plan` on the current configuration, validates the result (problems answer
/// `invalid`, or 409 when they are clashes between resources) and, unless `dry_run`, commits
/// its changes as one revision, announced to the API's followers.
pub async fn write<T>(
    state: &ApiState,
    invalid: StatusCode,
    dry_run: bool,
    mut plan: impl FnMut(&mut Edit) -> Result<T, ApiError>,
) -> Result<Outcome<T>, ApiError> {
    for _ in 0..ATTEMPTS {
        let (base, all) = state.store.all().await?;
        let mut edit = Edit {
            all,
            changes: Vec::new(),
        };
        let value = plan(&mut edit)?;
        check(&edit.all, invalid)?;
        if dry_run || edit.changes.is_empty() {
            return Ok(Outcome {
                revision: None,
                value,
            });
        }
        match state.store.commit(Some(base), &edit.changes).await {
            Err(StoreError::Stale { .. }) => continue,
            Err(e) => return Err(e.into()),
            Ok(revision) => {
                state.commits.send_replace(revision);
                return Ok(Outcome {
                    revision: Some(revision),
                    value,
                });
            }
        }
    }
    Err(ApiError::new(
        StatusCode::CONFLICT,
        "Conflict",
        "Other changes kept landing while this one was checked; retry.",
    ))
}

/// Validates the configuration `all` makes: clashes with other resources (a duplicate path,
/// key or name) are 409 Conflict, other problems `status`.
fn check(all: &[Stored], status: StatusCode) -> Result<(), ApiError> {
    let doc = document_of(all)?;
    doc.validate().map_err(|errors| {
        let status = if errors.all_conflicts() {
            StatusCode::CONFLICT
        } else {
            status
        };
        ApiError::invalid_configuration(status, &errors)
    })
}
