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
//!
//! # Executing a pipeline (design for the gateway's executor)
//!
//! - Walk `inbound`, then `backend` (empty means APIM's default: forward the request to the
//!   backend service), then `outbound`, in order, recursing into `<choose>`: evaluate each
//!   `When::condition` in turn and run the first branch that holds, else `otherwise`.
//! - [`Template::Literal`] values are used as they are; [`Template::Expr`] and
//!   [`Param::Expr`] values are evaluated against the request context (they were compiled
//!   with the snapshot, never per request), and a [`Param`] result is converted to its type
//!   at run time (a failed conversion is a runtime error like any other).
//! - `<return-response>` (and `<mock-response>`) end the current section and skip straight to
//!   sending the response: from inbound, backend is skipped and outbound does not run; from
//!   outbound, the rest of outbound is skipped. APIM documents this as "aborts pipeline
//!   execution".
//! - Any runtime error (an expression that throws, a failed conversion, a backend failure)
//!   stops the current section and runs `on_error` with `context.LastError` filled from the
//!   failing node: `Source` = [`Policy::name`], `Section` = the section, `Path` and `PolicyId`
//!   from [`PolicyNode::position`] and [`PolicyNode::origin`], `Reason` and `Message` from the
//!   error. An error inside `on_error` answers 500 with a body that names no internals.
//! - Values marked secret ([`Template::is_secret`]) must not be logged or traced.

pub mod compose;
pub mod document;
pub mod error;
pub mod expr;
pub mod fragment;
pub mod liquid;
pub mod named_values;
pub mod policies;
pub mod section;
pub mod set;
pub mod template;
mod xml;

pub use compose::{compose, Fragments, Pipeline, ResolvedDocument, Scope, Scopes};
pub use document::PolicyDocument;
pub use error::{PolicyError, PolicyErrors, Position};
pub use fragment::Fragment;
pub use named_values::{NamedValue, NamedValues};
pub use policies::{Policy, PolicyNode};
pub use section::Section;
pub use set::{ErrorSite, PolicySet, Source};
pub use template::{Expr, Literal, Param, Template};
