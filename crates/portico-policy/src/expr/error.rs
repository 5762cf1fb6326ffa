//! The two error types: [`ExprError`] when an expression does not compile, [`EvalError`] when
//! an evaluation fails (null reference, bad cast, parse failure, step budget exhausted…). Both
//! carry a byte offset into the source so the policy layer can report a line and column.

/// Why an expression does not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ExprError {
    /// Byte offset into the source given to [`Expression::compile`](super::Expression::compile).
    pub offset: usize,
    pub message: String,
}

/// Why an evaluation failed. The gateway turns it into an on-error with this message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct EvalError {
    /// Byte offset into the source of the construct that failed.
    pub offset: usize,
    pub message: String,
}

/// Marks an error whose offset is not known yet; the evaluator fills it in on the way out.
const UNSET: usize = usize::MAX;

impl EvalError {
    /// An error raised by a builtin; the evaluator attaches the offset of the call.
    pub fn msg(message: impl Into<String>) -> Self {
        EvalError {
            offset: UNSET,
            message: message.into(),
        }
    }

    /// Sets the offset if it is not set yet.
    pub fn at(mut self, offset: usize) -> Self {
        if self.offset == UNSET {
            self.offset = offset;
        }
        self
    }
}
