//! Compiled backend targets: a service URL split into the parts the proxy needs per request
//! (scheme, authority, base path, `Host` value), and how its TLS certificate is checked.

use http::uri::{Authority, Scheme};
use http::HeaderValue;

/// How a TLS backend's certificate is verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsVerification {
    /// Chain and name checked against the system's root certificates (the default).
    Full,
    /// APIM's `validateCertificateChain: false` / `validateCertificateName: false`.
    None,
}

/// Where and how to forward a request.
#[derive(Debug, Clone)]
pub struct BackendTarget {
    pub scheme: Scheme,
    pub authority: Authority,
    /// Path of the service URL without a trailing slash (`/base`, or empty).
    pub base_path: String,
    /// The `Host` header sent upstream.
    pub host: HeaderValue,
    pub tls: TlsVerification,
}

impl BackendTarget {
    /// Parses a validated service URL. `ws`/`wss` map to `http`/`https`: a WebSocket is an
    /// HTTP request with an upgrade.
    pub fn parse(url: &str, tls: TlsVerification) -> Result<Self, String> {
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
            scheme,
            authority,
            base_path: uri.path().trim_end_matches('/').to_owned(),
            host,
            tls,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_service_urls() {
        let t = BackendTarget::parse("wss://b.example:8443/base/", TlsVerification::Full).unwrap();
        assert_eq!(t.scheme, Scheme::HTTPS);
        assert_eq!(t.authority.as_str(), "b.example:8443");
        assert_eq!(t.base_path, "/base");
        let t = BackendTarget::parse("http://b", TlsVerification::Full).unwrap();
        assert_eq!(t.base_path, "");
        assert_eq!(t.host, "b");
    }
}
