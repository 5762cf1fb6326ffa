//! Portico's resource model: the APIM-shaped resources an operator declares, the declarative
//! document that holds them, their validation, and the [`Snapshot`] a gateway runs.
//!
//! This crate does no I/O. Reading files, watching them and talking to a control plane live in
//! the gateway and control-plane crates; they hand text to [`Document::parse`] and get back
//! either a document or every problem found in it, each with its line, column or field path.

mod backends;
mod certificates;
mod document;
mod errors;
mod files;
mod gateways;
mod policies;
mod resources;
mod secret;
mod snapshot;
pub mod template;
mod validate;

pub use backends::parse_iso_duration;
pub use certificates::{Certificate, CertificateInfo, ParsedCertificate};
pub use document::{Document, DocumentFormat};
pub use errors::{ConfigError, ConfigErrors};
pub use files::FileError;
pub use gateways::{CertificateAuthority, Gateway, HostnameConfiguration, LocationData};
pub use policies::PolicyFragment;
pub use resources::{
    Api, Backend, BackendPool, BackendProtocol, BackendTls, BackendType, CircuitBreaker,
    CircuitBreakerRule, FailureCondition, NamedValue, Operation, PoolService, Product, Protocol,
    StatusCodeRange, Subscription, SubscriptionKeyParameterNames, SubscriptionScope,
    SubscriptionState,
};
pub use secret::Secret;
pub use snapshot::Snapshot;
