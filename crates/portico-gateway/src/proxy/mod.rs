//! Proxying to backends: pooled clients, header rules, streaming bodies, upgrades.

pub mod body;
pub mod client;
pub mod forward;
pub mod headers;
pub mod upgrade;
