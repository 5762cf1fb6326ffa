//! Portico's gateway: the data plane that serves a configuration to clients.
//!
//! A request's path through the code: [`server`] accepts it, [`handler`] routes it with the
//! compiled [`runtime`] (API by path, operation by template, subscription key), and
//! [`proxy`] forwards it to the backend and streams the answer back; a route with policies
//! runs its compiled pipeline ([`policy`]) around the forwarding instead. The runtime is swapped
//! atomically by [`Gateway::apply`], fed by a config source such as [`config_file`].
//! [`metrics`], [`exchange`] and [`access_log`] record what happened. With `--redis`, rate
//! limits, quotas and the external cache are shared by every replica through [`redis`].
//!
//! Nothing here touches a store: configurations arrive as validated `Snapshot`s.

pub mod access_log;
pub mod config_file;
pub mod control_plane;
pub mod errors;
pub mod exchange;
mod file_watch;
pub mod gateway;
pub mod handler;
pub mod metrics;
pub mod net;
pub mod policy;
pub mod proxy;
mod query;
pub mod readiness;
pub mod redis;
pub mod runtime;
pub mod server;
pub mod subscription_key;
pub mod tls;

pub use gateway::{Gateway, GatewayOptions};
pub use server::{
    serve_http, serve_https, serve_ops, ListenerLimits, ShutdownSignal, MIN_HEADER_BYTES,
};
