//! Configuration errors: one [`ConfigError`] per problem, each locating itself by field path
//! (`apis[2].operations[0].urlTemplate`) and, for syntax errors, by line and column.

use std::fmt;

/// One problem found in a configuration document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Field path such as `apis[2].operations[0].urlTemplate`; empty for whole-document errors.
    pub path: String,
    /// 1-based line, when the parser knows it.
    pub line: Option<usize>,
    /// 1-based column, when the parser knows it.
    pub column: Option<usize>,
    /// What is wrong and, where it helps, what to do about it.
    pub message: String,
    /// The problem is a clash with another resource (a duplicate id, path, route, key or
    /// name) rather than a bad value: APIs answer it with 409 Conflict.
    pub conflict: bool,
}

impl ConfigError {
    /// A problem at a field path.
    pub fn at(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            line: None,
            column: None,
            message: message.into(),
            conflict: false,
        }
    }

    /// A clash with another resource at a field path.
    pub fn conflict(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            conflict: true,
            ..Self::at(path, message)
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let (Some(line), Some(column)) = (self.line, self.column) {
            write!(f, "line {line}, column {column}: ")?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// Every problem found in a document. A document with any error is refused whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    /// The individual problems, in document order.
    pub fn errors(&self) -> &[ConfigError] {
        &self.0
    }

    /// Whether every problem is a clash with another resource.
    pub fn all_conflicts(&self) -> bool {
        !self.0.is_empty() && self.0.iter().all(|e| e.conflict)
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(
            f,
            "configuration refused ({n} error{}):",
            if n == 1 { "" } else { "s" }
        )?;
        for e in &self.0 {
            write!(f, "\n  - {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl From<ConfigError> for ConfigErrors {
    fn from(e: ConfigError) -> Self {
        Self(vec![e])
    }
}
