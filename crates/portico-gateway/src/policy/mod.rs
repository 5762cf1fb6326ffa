//! The policy engine's executor: policies are compiled once per snapshot ([`compile`]: the
//! scope documents, fragments and named values become one [`plan::Plan`] per route) and
//! run per request ([`execute`]). Routes with no policy have no plan and never enter this
//! module.
//!
//! Modules: [`plan`] (the executable pipeline), [`compile`] (snapshot → plans), [`info`]
//! (configuration facts expressions read), [`state`] (one request's state), [`context`]
//! (the expression `Context` over that state), [`execute`] (sections, errors, answers),
//! [`message`], [`routing`] and [`observe`] (what each policy does), [`headers`] and
//! [`query`] (exists-action rules), [`body`] (buffering with a cap), [`eval`] (templates and
//! typed attributes), [`failure`] (runtime errors and `context.LastError`), [`identity`]
//! (managed-identity tokens), [`client_cert`] (`validate-client-certificate`), [`backend_certificate`]
//! (`authentication-certificate`), [`wait`] (calls side by side).

mod access;
mod after;
pub mod backend_certificate;
mod blocks;
pub mod body;
pub mod cache;
mod client_cert;
pub mod compile;
pub mod concurrency;
pub mod context;
pub mod counters;
mod dispatch;
pub mod entry;
pub mod eval;
pub mod execute;
pub mod failure;
pub mod headers;
pub mod identity;
pub mod info;
mod jwt;
mod message;
mod observe;
mod outcall;
pub mod plan;
pub mod query;
mod routing;
mod send;
pub mod state;
mod throttle;
mod traffic;
mod wait;
mod walk;

pub use body::BODY_CAP;
pub use compile::{compile, ApiPolicies, RoutePlans};
pub use info::SnapshotInfo;
pub use plan::Plan;
