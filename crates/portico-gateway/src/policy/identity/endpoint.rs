//! Where managed-identity tokens come from, decided once when the gateway starts: an
//! explicit `PORTICO_MANAGED_IDENTITY_ENDPOINT` (IMDS protocol; tests, non-Azure hosts), App
//! Service / Container Apps' `IDENTITY_ENDPOINT` + `IDENTITY_HEADER`, or else Azure IMDS.

use super::super::outcall::Call;
use super::super::query::encode;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use std::fmt;
use std::time::Duration;

/// Azure's Instance Metadata Service token endpoint (VMs, VM scale sets, AKS).
pub const IMDS: &str = "http://169.254.169.254/metadata/identity/oauth2/token";
const TIMEOUT: Duration = Duration::from_secs(10);

/// A managed-identity token endpoint and the protocol it speaks.
#[derive(Clone, PartialEq, Eq)]
pub enum IdentityEndpoint {
    /// IMDS: `?api-version=2018-02-01&resource=…[&client_id=…]` with `Metadata: true`.
    Imds { url: String },
    /// App Service and Container Apps: `?api-version=2019-08-01&resource=…[&client_id=…]`
    /// with `X-IDENTITY-HEADER` (a secret).
    AppService { url: String, header: String },
}

impl Default for IdentityEndpoint {
    fn default() -> Self {
        Self::Imds { url: IMDS.into() }
    }
}

// The App Service header is a secret: never printed.
impl fmt::Debug for IdentityEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Imds { url } => write!(f, "Imds({url})"),
            Self::AppService { url, .. } => write!(f, "AppService({url})"),
        }
    }
}

impl IdentityEndpoint {
    /// The endpoint the process environment names.
    pub fn from_env() -> Self {
        let var = |n: &str| std::env::var(n).ok().filter(|v| !v.trim().is_empty());
        if let Some(url) = var("PORTICO_MANAGED_IDENTITY_ENDPOINT") {
            return Self::Imds { url };
        }
        match (var("IDENTITY_ENDPOINT"), var("IDENTITY_HEADER")) {
            (Some(url), Some(header)) => Self::AppService { url, header },
            _ => Self::default(),
        }
    }

    /// The token request for `resource` (and a user-assigned identity's `client_id`).
    pub(super) fn call(&self, resource: &str, client_id: Option<&str>) -> Call {
        let (url, version, name, value) = match self {
            Self::Imds { url } => (url, "2018-02-01", "metadata", "true"),
            Self::AppService { url, header } => {
                (url, "2019-08-01", "x-identity-header", header.as_str())
            }
        };
        let sep = if url.contains('?') { '&' } else { '?' };
        let mut url = format!(
            "{url}{sep}api-version={version}&resource={}",
            encode(resource)
        );
        if let Some(id) = client_id {
            url.push_str("&client_id=");
            url.push_str(&encode(id));
        }
        let mut headers = HeaderMap::new();
        if let Ok(mut v) = HeaderValue::from_str(value) {
            v.set_sensitive(true);
            headers.insert(HeaderName::from_static(name), v);
        }
        Call {
            method: Method::GET,
            url,
            headers,
            body: bytes::Bytes::new(),
            timeout: TIMEOUT,
            certificate: None,
        }
    }
}
