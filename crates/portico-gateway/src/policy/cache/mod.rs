//! Caching policies over the gateway's internal cache ([`store::Cache`], which lives in the
//! gateway's long-lived state so entries survive configuration changes) or the external one
//! ([`external`], Redis shared by every replica): values by key ([`values`]) and whole
//! responses ([`responses`]).

pub mod external;
mod responses;
pub mod store;
mod values;
mod wire;

pub use responses::Pending;
pub use store::Cache;

/// The internal cache's bound, in bytes.
pub const CACHE_CAPACITY: usize = 64 * 1024 * 1024;
