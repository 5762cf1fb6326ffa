//! Portico's control plane. This first part is the resource [`store`]: every resource an
//! operator manages, kept in SQLite (the embedded default) or PostgreSQL behind one
//! [`store::Store`] trait, with a global revision bumped by every change and an audit trail.
//!
//! The management API, the snapshot compiler and the distributor that feeds gateways build on
//! it and are not written yet (see the README).

pub mod store;
