//! The gateway-wide cache of managed-identity tokens, per (resource, client id): a token is
//! reused until [`MARGIN`] before it expires (`expires_in`, else `expires_on`), then fetched
//! again. It outlives configuration changes, like the connection pools. One fetch runs at a
//! time, so a burst of requests asks the endpoint once.

use super::endpoint::IdentityEndpoint;
use crate::policy::outcall::{self, CallError};
use crate::proxy::pool::Upstreams;
use serde_json::Value as Json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long before its expiry a token is replaced.
pub const MARGIN: Duration = Duration::from_secs(300);
/// Resources can come from expressions: the cache stays bounded.
const MAX_ENTRIES: usize = 1024;

type Key = (String, Option<String>);

/// Why no token could be had. The messages name no token and no identity header.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("{0}")]
    Call(#[from] CallError),
    #[error("the managed identity endpoint answered {0}")]
    Status(http::StatusCode),
    #[error("the managed identity endpoint's answer holds no access_token")]
    Malformed,
}

/// The token cache and the endpoint it asks.
#[derive(Debug)]
pub struct Tokens {
    endpoint: IdentityEndpoint,
    cached: Mutex<HashMap<Key, (Arc<str>, Instant)>>,
    fetching: tokio::sync::Mutex<()>,
}

impl Tokens {
    pub fn new(endpoint: IdentityEndpoint) -> Self {
        Self {
            endpoint,
            cached: Mutex::new(HashMap::new()),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    fn fresh(&self, key: &Key) -> Option<Arc<str>> {
        let cached = self.cached.lock().unwrap_or_else(PoisonError::into_inner);
        cached
            .get(key)
            .filter(|(_, until)| Instant::now() < *until)
            .map(|(t, _)| t.clone())
    }

    /// A token for `resource`, from the cache or the endpoint.
    pub async fn token(
        &self,
        resource: &str,
        client_id: Option<&str>,
        upstreams: &Upstreams,
    ) -> Result<Arc<str>, TokenError> {
        let key = (resource.to_owned(), client_id.map(str::to_owned));
        if let Some(t) = self.fresh(&key) {
            return Ok(t);
        }
        let _one = self.fetching.lock().await;
        // Another request may have fetched it while this one waited.
        if let Some(t) = self.fresh(&key) {
            return Ok(t);
        }
        let answer = outcall::send(self.endpoint.call(resource, client_id), upstreams).await?;
        if !answer.status.is_success() {
            return Err(TokenError::Status(answer.status));
        }
        let json: Json = serde_json::from_slice(&answer.body).map_err(|_| TokenError::Malformed)?;
        let token: Arc<str> = json
            .get("access_token")
            .and_then(Json::as_str)
            .filter(|t| !t.is_empty())
            .ok_or(TokenError::Malformed)?
            .into();
        if let Some(until) = lifetime(&json)
            .and_then(|l| l.checked_sub(MARGIN))
            .and_then(|l| Instant::now().checked_add(l))
        {
            let mut cached = self.cached.lock().unwrap_or_else(PoisonError::into_inner);
            if cached.len() >= MAX_ENTRIES {
                let now = Instant::now();
                cached.retain(|_, (_, until)| now < *until);
                if cached.len() >= MAX_ENTRIES {
                    cached.clear();
                }
            }
            cached.insert(key, (token.clone(), until));
        }
        Ok(token)
    }
}

/// How long the token is valid from now: `expires_in` seconds, else `expires_on` (Unix
/// seconds). Both come as numbers or as numeric strings.
fn lifetime(json: &Json) -> Option<Duration> {
    let seconds = |name: &str| -> Option<u64> {
        match json.get(name)? {
            Json::Number(n) => n.as_u64(),
            Json::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    };
    if let Some(s) = seconds("expires_in") {
        return Some(Duration::from_secs(s));
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
    seconds("expires_on")?
        .checked_sub(now)
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lifetime_reads_expires_in_then_expires_on() {
        assert_eq!(
            lifetime(&json!({"expires_in": "3599"})),
            Some(Duration::from_secs(3599))
        );
        assert_eq!(
            lifetime(&json!({"expires_in": 60})),
            Some(Duration::from_secs(60))
        );
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let l = lifetime(&json!({"expires_on": (now + 1000).to_string()})).unwrap();
        assert!(l.as_secs() >= 998 && l.as_secs() <= 1000, "{l:?}");
        assert_eq!(lifetime(&json!({"expires_on": "not a number"})), None);
        assert_eq!(lifetime(&json!({})), None);
    }
}
