//! Caching policies over the gateway's internal cache ([`store::Cache`], which lives in the
//! gateway's long-lived state so entries survive configuration changes): values by key
//! ([`values`]) and whole responses ([`responses`]).

mod responses;
pub mod store;
mod values;

pub use responses::Pending;
pub use store::Cache;

/// The internal cache's bound, in bytes.
pub const CACHE_CAPACITY: usize = 64 * 1024 * 1024;
