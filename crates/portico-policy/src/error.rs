//! Compile errors for policy documents: where (document, line, column, policy element) and
//! what to do about it. Runtime failures are the executor's business, not this module's.

use std::fmt;

/// A 1-based line and column (columns count characters, a tab is one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Position {
    pub line: u32,
    pub column: u32,
}

impl Position {
    pub fn new(line: u32, column: u32) -> Self {
        Self { line, column }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// One thing wrong with a policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// Which document, when composition reports it ("fragment `auth`", "API scope"); `None`
    /// while a single document is parsed.
    pub origin: Option<String>,
    pub position: Position,
    /// The policy element the error belongs to, without brackets (`set-header`).
    pub policy: Option<String>,
    pub message: String,
}

impl PolicyError {
    pub fn new(position: Position, policy: Option<&str>, message: impl Into<String>) -> Self {
        Self {
            origin: None,
            position,
            policy: policy.map(str::to_owned),
            message: message.into(),
        }
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(origin) = &self.origin {
            write!(f, "{origin}: ")?;
        }
        write!(f, "{}: ", self.position)?;
        if let Some(policy) = &self.policy {
            write!(f, "<{policy}>: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for PolicyError {}

/// Every error found in a document (or a composition), in document order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PolicyErrors(pub Vec<PolicyError>);

impl PolicyErrors {
    pub fn iter(&self) -> impl Iterator<Item = &PolicyError> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The first error (the one to show when there is room for only one).
    pub fn first(&self) -> Option<&PolicyError> {
        self.0.first()
    }

    /// Labels every error with the document it came from, for composition reports.
    pub fn with_origin(mut self, origin: &str) -> Self {
        for e in &mut self.0 {
            e.origin.get_or_insert_with(|| origin.to_owned());
        }
        self
    }
}

impl From<PolicyError> for PolicyErrors {
    fn from(e: PolicyError) -> Self {
        Self(vec![e])
    }
}

impl fmt::Display for PolicyErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PolicyErrors {}
