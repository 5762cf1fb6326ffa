//! Compiled backend targets: a service URL split into the parts the proxy needs per request
//! (base path, `Host` value) and the connection pool of its address.

use crate::proxy::pool::{Endpoint, Upstreams};
use http::uri::Scheme;
use http::HeaderValue;
use std::sync::Arc;

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

/// Where and how to forward a request.
#[derive(Debug, Clone)]
pub struct BackendTarget {
    /// Path of the service URL without a trailing slash (`/base`, or empty).
    pub base_path: String,
    /// The `Host` header sent upstream.
    pub host: HeaderValue,
    pub endpoint: Arc<Endpoint>,
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
    pub fn parse(url: &str, tls: TlsVerification, upstreams: &Upstreams) -> Result<Self, String> {
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
            endpoint: upstreams.endpoint(&scheme, &authority, tls)?,
        })
    }
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
