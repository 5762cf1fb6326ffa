//! The distributor: how gateways get their configuration and report back.
//!
//! - [`per_gateway`] cuts the whole document down to what one gateway serves;
//! - [`hub`] compiles the store once per revision and keeps each gateway's cut, waking
//!   long-polls only when their own cut changed;
//! - [`routes`] serves the gateway-facing long-poll and heartbeat routes (GatewayKey tokens,
//!   checked by [`gateway_auth`]) and the fleet view, kept by [`fleet`];
//! - [`compress`] gzips configuration answers for gateways that accept it;
//! - [`replicas`] wakes the hub when another replica on the same PostgreSQL database commits.
//! - [`expiry`] lists the certificates that expire soon and where they are served.
//!
//! The in-process managed gateway of `portico up` reads the same hub
//! ([`per_gateway::Audience::Managed`]).

pub mod compress;
pub mod expiry;
pub mod fleet;
pub mod gateway_auth;
pub mod hub;
pub mod per_gateway;
pub mod replicas;
pub mod routes;

pub use hub::{Hub, HubError, View};
pub use per_gateway::{document_for, Audience};
pub use routes::{routes, Distributor, HOLD};
