//! [`Snapshot`]: a validated document with the revision it was published as. A gateway only
//! ever compiles snapshots, so it never sees a document that failed validation.

use crate::document::Document;
use crate::errors::ConfigErrors;

/// A validated configuration at a revision.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    revision: u64,
    document: Document,
}

impl Snapshot {
    /// Validates `document` and stamps it with `revision`.
    pub fn new(revision: u64, document: Document) -> Result<Self, ConfigErrors> {
        document.validate()?;
        Ok(Self { revision, document })
    }

    /// The revision this snapshot was published as; higher is newer.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// The validated resources.
    pub fn document(&self) -> &Document {
        &self.document
    }
}
