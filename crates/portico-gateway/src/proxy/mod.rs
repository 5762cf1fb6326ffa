//! Proxying to backends: connection pools, TLS, header rules, streaming bodies, upgrades.

pub mod body;
pub mod connect;
pub mod forward;
pub mod headers;
pub mod pool;
pub mod tls;
pub mod upgrade;
