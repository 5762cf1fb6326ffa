//! APIM's policy language for Portico: the XML policy documents operators write (parsed into a
//! typed tree that keeps line and column), their composition across scopes, and the C#-subset
//! expression language used inside them. Everything here is pure: no sockets, no clocks read
//! behind the caller's back; the gateway compiles policies once per snapshot and evaluates them
//! per request.
//!
//! Compiling a snapshot: parse every scope document with [`PolicyDocument::parse_with`] and
//! every fragment with [`Fragment::parse_with`] (both given the snapshot's [`NamedValues`]),
//! put the fragments in a [`Fragments`] (which expands nested includes and finds cycles), then
//! call [`compose`] once per route (global, product?, API, operation) to get the [`Pipeline`]
//! an executor walks.

pub mod compose;
pub mod document;
pub mod error;
pub mod expr;
pub mod fragment;
pub mod named_values;
pub mod policies;
pub mod section;
pub mod template;
mod xml;

pub use compose::{compose, Fragments, Pipeline, Scopes};
pub use document::PolicyDocument;
pub use error::{PolicyError, PolicyErrors, Position};
pub use fragment::Fragment;
pub use named_values::{NamedValue, NamedValues};
pub use policies::{Policy, PolicyNode};
pub use section::Section;
pub use template::{Expr, Literal, Param, Template};
