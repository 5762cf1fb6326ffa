//! Compiled backend targets: a service URL split into the parts the proxy needs per request
//! (base path, `Host` value) and the connection pool of its address, with the backend's
//! circuit breaker; or a pool of such targets. [`BackendTarget::pick`] is the one place a
//! request learns which address it goes to.

use super::backend_pool::PoolMembers;
use super::breaker::{Breaker, Outcome};
use crate::errors::GatewayError;
use crate::proxy::pool::{Endpoint, Upstreams};
use http::uri::Scheme;
use http::HeaderValue;
use std::sync::Arc;
use std::time::Instant;

/// How a TLS backend's certificate is verified (APIM's `validateCertificateChain` and
/// `validateCertificateName`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TlsVerification {
    /// The chain must lead to one of the system's root certificates.
    pub chain: bool,
    /// The certificate must be valid for the URL's host name.
    pub name: bool,
}

impl TlsVerification {
    /// Both checks: the default.
    pub const FULL: Self = Self {
        chain: true,
        name: true,
    };
}

/// How the gateway speaks TLS to one backend: what it verifies, which authorities it trusts,
/// and the client certificate it presents. Part of the connection pool's key, so a backend
/// whose client certificate was rotated gets a new pool and new connections at once.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BackendTlsSettings {
    pub verification: TlsVerification,
    /// When set, the chain must lead to one of these authorities (and not to the system's
    /// roots): a private CA.
    pub roots: Option<Arc<[rustls::pki_types::CertificateDer<'static>]>>,
    /// The client certificate for backend mTLS.
    pub identity: Option<Arc<crate::proxy::tls::ClientIdentity>>,
}

impl From<TlsVerification> for BackendTlsSettings {
    fn from(verification: TlsVerification) -> Self {
        Self {
            verification,
            roots: None,
            identity: None,
        }
    }
}

/// Where and how to forward a request.
#[derive(Debug, Clone)]
pub struct BackendTarget {
    /// Path of the service URL without a trailing slash (`/base`, or empty).
    pub base_path: String,
    /// The `Host` header sent upstream.
    pub host: HeaderValue,
    pub endpoint: Arc<Endpoint>,
    /// The backend's circuit breaker, if it has one.
    pub breaker: Option<Arc<Breaker>>,
    /// For a pool backend, its members; the fields above are then its first member's, used
    /// only where one address must stand for the pool (policy expressions reading its URL).
    pub pool: Option<Arc<PoolMembers>>,
}

impl BackendTarget {
    /// The URL this target forwards to (`https://host:port/base`), for policies to read.
    pub fn url(&self) -> String {
        format!(
            "{}://{}{}",
            self.endpoint.scheme(),
            self.endpoint.authority(),
            self.base_path
        )
    }

    /// Parses a validated service URL. `ws`/`wss` map to `http`/`https`: a WebSocket is an
    /// HTTP request with an upgrade.
    pub fn parse(
        url: &str,
        tls: impl Into<BackendTlsSettings>,
        upstreams: &Upstreams,
    ) -> Result<Self, String> {
        let uri: http::Uri = url.parse().map_err(|e| format!("{url:?}: {e}"))?;
        let scheme = match uri.scheme_str().map(str::to_ascii_lowercase).as_deref() {
            Some("http" | "ws") => Scheme::HTTP,
            Some("https" | "wss") => Scheme::HTTPS,
            other => return Err(format!("{url:?}: unsupported scheme {other:?}")),
        };
        let authority = uri
            .authority()
            .cloned()
            .ok_or_else(|| format!("{url:?} has no host"))?;
        let host = HeaderValue::from_str(authority.as_str()).map_err(|e| e.to_string())?;
        Ok(Self {
            base_path: uri.path().trim_end_matches('/').to_owned(),
            host,
            endpoint: upstreams.endpoint(&scheme, &authority, tls.into())?,
            breaker: None,
            pool: None,
        })
    }

    /// A pool backend over `members`.
    pub fn pool(members: PoolMembers) -> Result<Self, String> {
        let first = members
            .first()
            .ok_or("a pool needs members")?
            .as_ref()
            .clone();
        Ok(Self {
            breaker: None,
            pool: Some(Arc::new(members)),
            ..first
        })
    }

    /// Whether this target's breaker (if any) lets a request through now.
    pub fn admits(&self, now: Instant) -> bool {
        self.breaker.as_ref().is_none_or(|b| b.admits(now))
    }

    /// The target a request goes to now: a pool's chosen member, or this one. 503 when its
    /// circuit breaker is open (for a pool: every member's).
    pub fn pick(self: &Arc<Self>, now: Instant) -> Result<&Arc<Self>, GatewayError> {
        let picked = match &self.pool {
            Some(members) => members.pick(now),
            None => self.admits(now).then_some(self),
        };
        picked.ok_or(GatewayError::CircuitOpen)
    }

    /// Counts how an attempt ended, for the circuit breaker.
    pub fn record(&self, outcome: Outcome) {
        if let Some(b) = &self.breaker {
            b.record(outcome, Instant::now());
        }
    }
}

/// A backend's TLS settings, with its trusted authorities and client certificate read from
/// `certificates`.
fn tls_settings(
    backend: &portico_model::Backend,
    certificates: &[portico_model::Certificate],
) -> Result<BackendTlsSettings, String> {
    let find = |id: &str| {
        certificates
            .iter()
            .find(|c| c.id.eq_ignore_ascii_case(id))
            .ok_or_else(|| format!("no certificate has id {id:?}"))
    };
    let mut roots = Vec::new();
    for id in &backend.tls.ca_certificate_ids {
        let parsed = find(id)?.parse()?;
        roots.extend(parsed.chain.into_iter().next());
    }
    let identity = match backend
        .credentials
        .as_ref()
        .and_then(|c| c.certificate_ids.first())
    {
        Some(id) => Some(Arc::new(
            crate::proxy::tls::ClientIdentity::from_certificate(find(id)?)?,
        )),
        None => None,
    };
    Ok(BackendTlsSettings {
        verification: TlsVerification {
            chain: backend.tls.validate_certificate_chain,
            name: backend.tls.validate_certificate_name,
        },
        roots: (!roots.is_empty()).then(|| roots.into()),
        identity,
    })
}

/// Compiles a snapshot's backends, by lower-cased id: single ones first, then the pools
/// over them. Breaker state is kept across snapshots by `upstreams`.
pub fn compile_all(
    backends: &[portico_model::Backend],
    certificates: &[portico_model::Certificate],
    upstreams: &Upstreams,
) -> Result<std::collections::HashMap<String, Arc<BackendTarget>>, String> {
    use portico_model::BackendType;
    let mut out = std::collections::HashMap::new();
    for b in backends.iter().filter(|b| b.kind == BackendType::Single) {
        let tls = tls_settings(b, certificates).map_err(|e| format!("backend {}: {e}", b.id))?;
        let url = b
            .url
            .as_deref()
            .ok_or_else(|| format!("backend {} has no url", b.id))?;
        let mut target = BackendTarget::parse(url, tls, upstreams)
            .map_err(|e| format!("backend {}: {e}", b.id))?;
        if let Some(cb) = &b.circuit_breaker {
            let rule = super::breaker::BreakerRule::compile(cb)
                .map_err(|e| format!("backend {}: {e}", b.id))?;
            target.breaker = Some(upstreams.breaker(&b.id, rule));
        }
        out.insert(b.id.to_ascii_lowercase(), Arc::new(target));
    }
    for b in backends.iter().filter(|b| b.kind == BackendType::Pool) {
        let services = b
            .pool
            .as_ref()
            .map(|p| p.services.as_slice())
            .unwrap_or_default();
        let mut members = Vec::new();
        for s in services {
            let member = out
                .get(&s.backend_id().to_ascii_lowercase())
                .ok_or_else(|| format!("pool {}: no backend {}", b.id, s.backend_id()))?;
            members.push((member.clone(), s.priority, s.weight));
        }
        let target = BackendTarget::pool(PoolMembers::new(members))
            .map_err(|e| format!("pool {}: {e}", b.id))?;
        out.insert(b.id.to_ascii_lowercase(), Arc::new(target));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::pool::PoolSettings;
    use std::time::Duration;

    fn upstreams() -> Upstreams {
        Upstreams::new(PoolSettings {
            connect_timeout: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(1),
            max_idle_per_endpoint: 1,
        })
    }

    #[test]
    fn splits_service_urls_and_shares_endpoints() {
        let up = upstreams();
        let t =
            BackendTarget::parse("wss://b.example:8443/base/", TlsVerification::FULL, &up).unwrap();
        assert_eq!(t.endpoint.authority().as_str(), "b.example:8443");
        assert_eq!(t.base_path, "/base");
        let again =
            BackendTarget::parse("https://B.example:8443/other", TlsVerification::FULL, &up)
                .unwrap();
        assert!(
            Arc::ptr_eq(&t.endpoint, &again.endpoint),
            "same address, same pool"
        );
        let unverified = BackendTarget::parse(
            "https://b.example:8443",
            TlsVerification {
                chain: false,
                name: false,
            },
            &up,
        )
        .unwrap();
        assert!(!Arc::ptr_eq(&t.endpoint, &unverified.endpoint));
        let t = BackendTarget::parse("http://b", TlsVerification::FULL, &up).unwrap();
        assert_eq!(t.base_path, "");
        assert_eq!(t.host, "b");
    }
}
