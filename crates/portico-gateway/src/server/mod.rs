//! Listeners: the gateway's client-facing HTTP and HTTPS listeners with their protections and
//! graceful shutdown, and the ops listener for probes and metrics.

mod accept;
mod http;
mod https;
mod ops;

pub use self::http::{serve_http, ListenerLimits, MIN_HEADER_BYTES};
pub use https::serve_https;
pub use ops::serve_ops;

/// Signals shutdown to every listener: flip to `true` once.
pub type ShutdownSignal = tokio::sync::watch::Receiver<bool>;

/// Resolves when shutdown has been signalled (or the sender is gone).
pub(crate) async fn shutdown_requested(mut signal: ShutdownSignal) {
    let _ = signal.wait_for(|stop| *stop).await;
}
