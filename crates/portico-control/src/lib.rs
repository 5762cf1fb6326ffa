//! Portico's control plane. So far: the resource [`store`] (every resource an operator
//! manages, in SQLite, the embedded default, or PostgreSQL behind one [`store::Store`] trait,
//! with a global revision bumped by every change and an audit trail), and the
//! [`declarative`] mapping between stored resources and the declarative document a gateway
//! snapshot is compiled from.
//!
//! The management [`api`] serves the resources over APIM-shaped REST and announces every
//! commit; [`snapshot::compile`] turns the store into what a gateway runs; [`seed`] is the
//! first-start configuration of `portico up`. The [`distributor`] feeds each
//! gateway its own cut of the configuration by long-poll and keeps their heartbeats;
//! [`admin_tls`] serves all of it over HTTPS when given a certificate.

pub mod admin_tls;
pub mod api;
pub mod declarative;
pub mod distributor;
pub mod gateway_token;
pub mod import;
pub mod keys;
pub mod master_key;
pub mod seed;
pub mod snapshot;
pub mod store;
