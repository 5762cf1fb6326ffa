//! Keys from OpenID Connect discovery: the configuration document at `openid-config url`
//! names a `jwks_uri`, whose keys are fetched over the gateway's pools, cached, refreshed
//! hourly and again when a token names a key id not seen yet (at most every
//! [`MIN_REFETCH`], so tokens with made-up ids cannot make the gateway hammer the identity
//! provider). A failed fetch keeps the keys already known; with none, every token is
//! refused — a fetch failure never lets a token through.

use super::keys::{self, Key};
use crate::policy::outcall::{self, Call};
use crate::proxy::pool::Upstreams;
use http::{HeaderMap, Method};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

const REFRESH: Duration = Duration::from_secs(3600);
pub const MIN_REFETCH: Duration = Duration::from_secs(1);
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Default, Clone)]
struct Known {
    keys: Arc<Vec<Key>>,
    fetched: Option<Instant>,
    attempted: Option<Instant>,
}

/// One `openid-config` source.
#[derive(Debug)]
pub struct OpenId {
    url: String,
    known: Mutex<Known>,
    /// One fetch at a time; others wait for its result.
    fetching: tokio::sync::Mutex<()>,
}

impl OpenId {
    pub fn new(url: &str) -> Result<Self, String> {
        check_url(url)?;
        Ok(Self {
            url: url.to_owned(),
            known: Mutex::new(Known::default()),
            fetching: tokio::sync::Mutex::new(()),
        })
    }

    fn known(&self) -> Known {
        self.known
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The keys, fetched when there are none yet, when they are old, or when `unknown_kid`
    /// asks for a refetch.
    pub async fn keys(&self, upstreams: &Upstreams, unknown_kid: bool) -> Arc<Vec<Key>> {
        let now = Instant::now();
        let fresh = |k: &Known| {
            let stale = k.fetched.is_none_or(|t| now.duration_since(t) > REFRESH);
            let recent_try = k.attempted.is_some_and(|t| t.elapsed() < MIN_REFETCH);
            recent_try || (!stale && !unknown_kid)
        };
        let k = self.known();
        if fresh(&k) {
            return k.keys;
        }
        let _one = self.fetching.lock().await;
        // Someone else may have fetched while this request waited.
        let k = self.known();
        if fresh(&k) {
            return k.keys;
        }
        let result = self.fetch(upstreams).await;
        let mut known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        known.attempted = Some(Instant::now());
        match result {
            Ok(keys) => {
                known.keys = Arc::new(keys);
                known.fetched = Some(Instant::now());
            }
            Err(e) => tracing::warn!(url = %self.url, error = %e, "OpenID keys not refreshed"),
        }
        known.keys.clone()
    }

    async fn fetch(&self, upstreams: &Upstreams) -> Result<Vec<Key>, String> {
        let config = get_json(&self.url, upstreams).await?;
        let jwks_uri = config
            .get("jwks_uri")
            .and_then(|u| u.as_str())
            .ok_or("the OpenID configuration has no jwks_uri")?;
        check_url(jwks_uri)?;
        let jwks = get_json(jwks_uri, upstreams).await?;
        Ok(keys::from_jwks(&jwks))
    }
}

async fn get_json(url: &str, upstreams: &Upstreams) -> Result<serde_json::Value, String> {
    let call = Call {
        method: Method::GET,
        url: url.to_owned(),
        headers: HeaderMap::new(),
        body: bytes::Bytes::new(),
        timeout: FETCH_TIMEOUT,
        certificate: None,
    };
    let answer = outcall::send(call, upstreams)
        .await
        .map_err(|e| e.to_string())?;
    if !answer.status.is_success() {
        return Err(format!("{url} answered {}", answer.status));
    }
    serde_json::from_slice(&answer.body).map_err(|_| format!("{url} did not answer JSON"))
}

/// HTTPS only; plain HTTP to a loopback address is allowed (a local identity provider, tests).
fn check_url(url: &str) -> Result<(), String> {
    let uri: http::Uri = url.parse().map_err(|_| format!("`{url}` is not a URL"))?;
    let loopback = matches!(uri.host(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match uri.scheme_str() {
        Some("https") => Ok(()),
        Some("http") if loopback => Ok(()),
        _ => Err(format!("openid-config url must be https: `{url}`")),
    }
}
