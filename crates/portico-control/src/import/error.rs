//! The error an import is refused with: every problem found, each located either by line and
//! column in the text (syntax) or by a path into the document (`paths./pets.get.operationId`).
//! Problems reuse the model's [`ConfigError`] so the management API can report them the same
//! way it reports a bad declarative document.

use portico_model::{ConfigError, ConfigErrors};
use std::fmt;

/// Why an OpenAPI document could not be imported. Holds at least one problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportError {
    problems: Vec<ConfigError>,
}

impl ImportError {
    /// A syntax error at a 1-based line and column.
    pub(crate) fn syntax(line: Option<usize>, column: Option<usize>, message: String) -> Self {
        Self {
            problems: vec![ConfigError {
                line,
                column,
                ..ConfigError::at("", message)
            }],
        }
    }

    /// A single structural problem at a document path.
    pub(crate) fn at(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            problems: vec![ConfigError::at(path, message)],
        }
    }

    /// Every problem, in document order.
    pub fn problems(&self) -> &[ConfigError] {
        &self.problems
    }
}

impl From<ImportError> for ConfigErrors {
    fn from(e: ImportError) -> Self {
        ConfigErrors(e.problems)
    }
}

impl std::error::Error for ImportError {}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problems.as_slice() {
            [one] => write!(f, "OpenAPI document refused: {one}"),
            many => {
                write!(f, "OpenAPI document refused ({} problems):", many.len())?;
                for p in many {
                    write!(f, "\n  - {p}")?;
                }
                Ok(())
            }
        }
    }
}

/// Collects the problems of a conversion that can go on after one (a bad operation does not
/// hide the next one's problem), so an author can fix a document in one pass.
#[derive(Debug, Default)]
pub(crate) struct Problems(Vec<ConfigError>);

impl Problems {
    pub(crate) fn push(&mut self, e: ImportError) {
        self.0.extend(e.problems);
    }

    /// The value of a lookup that may fail without stopping the walk: `None` (recording the
    /// problem) when it failed.
    pub(crate) fn keep<T>(&mut self, result: Result<Option<T>, ImportError>) -> Option<T> {
        result.unwrap_or_else(|e| {
            self.push(e);
            None
        })
    }

    /// `Ok(value)` when nothing was wrong.
    pub(crate) fn finish<T>(self, value: T) -> Result<T, ImportError> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(ImportError { problems: self.0 })
        }
    }
}

/// The location of `key` inside the object at `at`, written the way APIM users read OpenAPI
/// paths: `paths./pets.get`. Keys are not escaped, so a key holding a dot reads ambiguously,
/// but OpenAPI path keys are meant to be read as written.
pub(crate) fn child(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_owned()
    } else {
        format!("{at}.{key}")
    }
}
