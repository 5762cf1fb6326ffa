//! `cache-lookup` (inbound) and `cache-store` (outbound): whole responses to `GET` requests
//! in the internal or the external cache (`cache-store` keeps the response where its lookup
//! looked). A hit answers at once without calling the backend; a miss
//! remembers its key so `cache-store` can keep the backend's answer (a 200, or any status
//! with `cache-response="true"`). Requests with `Authorization` are neither looked up nor
//! stored unless `allow-private-response-caching` is true, and `Set-Cookie` is never kept.

use super::store::{Cached, CachedResponse};
use super::{external, wire};
use crate::policy::eval::param;
use crate::policy::execute::{Flow, Run};
use crate::policy::failure::Failure;
use crate::policy::query;
use crate::policy::state::{ResponsePayload, ResponseState};
use http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use portico_policy::policies::{CacheLookup, CacheStore, DownstreamCaching};
use std::fmt::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a missed lookup leaves for `cache-store`.
#[derive(Debug)]
pub struct Pending {
    key: String,
    /// The lookup went to the external cache.
    external: bool,
    downstream: DownstreamCaching,
    must_revalidate: bool,
}

impl Run<'_, '_> {
    pub(in crate::policy) async fn cache_lookup(
        &mut self,
        c: &CacheLookup,
    ) -> Result<Flow, Failure> {
        let private = param(&c.allow_private_response_caching, &mut self.cx())?;
        if self.st.method != Method::GET
            || (self.st.headers.contains_key(header::AUTHORIZATION) && !private)
        {
            return Ok(Flow::Next);
        }
        let key = self.response_key(c)?;
        let must_revalidate = param(&c.must_revalidate, &mut self.cx())?;
        let redis = self.external_cache(c.caching_type);
        let pending = Pending {
            key,
            external: redis.is_some(),
            downstream: c.downstream_caching_type,
            must_revalidate,
        };
        let found = match &redis {
            Some(redis) => external::get(redis, &pending.key)
                .await
                .and_then(wire::decode)
                .map(Arc::new),
            None => match self.shared.cache.get(&pending.key, Instant::now()) {
                Some(Cached::Response(hit)) => Some(hit),
                _ => None,
            },
        };
        let Some(hit) = found else {
            self.st.cache_miss = Some(Box::new(pending));
            return Ok(Flow::Next);
        };
        let mut r = ResponseState::new(hit.status);
        r.headers = hit.headers.clone();
        r.body = ResponsePayload::Buffered(hit.body.clone());
        downstream(&mut r.headers, &pending, hit.max_age);
        self.st.response = Some(r);
        Ok(Flow::Stop)
    }

    pub(in crate::policy) async fn cache_store(&mut self, c: &CacheStore) -> Result<(), Failure> {
        let Some(pending) = self.st.cache_miss.take() else {
            return Ok(()); // no lookup missed: nothing to fill
        };
        let any_status = param(&c.cache_response, &mut self.cx())?;
        let seconds = param(&c.duration, &mut self.cx())?;
        let Some(r) = self.st.response.as_mut() else {
            return Ok(());
        };
        if r.status != StatusCode::OK && !any_status {
            return Ok(());
        }
        // A response of unknown length or too large to buffer is served as it streams, not
        // cached (buffering it could turn a good 200 into a 500).
        let declared = r
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_none_or(|n| n > crate::policy::BODY_CAP) {
            return Ok(());
        }
        let body = r
            .buffer()
            .await
            .map_err(|e| Failure::body(e, false))?
            .clone();
        let mut headers = r.headers.clone();
        headers.remove(header::SET_COOKIE);
        downstream(&mut r.headers, &pending, seconds);
        let size = body.len()
            + headers
                .iter()
                .map(|(n, v)| n.as_str().len() + v.len())
                .sum::<usize>();
        let item = CachedResponse {
            status: r.status,
            headers,
            body,
            max_age: seconds,
        };
        if pending.external {
            if let Some(redis) = &self.shared.redis {
                external::put(redis, &pending.key, &wire::encode(&item), seconds).await;
            }
            return Ok(());
        }
        let expires = Instant::now() + Duration::from_secs(seconds.into());
        self.shared.cache.put(
            &pending.key,
            Cached::Response(Arc::new(item)),
            size,
            expires,
        );
        Ok(())
    }

    /// API, operation, path, the varying query parameters and headers, and (for
    /// `vary-by-developer`) the subscription standing for its developer.
    fn response_key(&mut self, c: &CacheLookup) -> Result<String, Failure> {
        let by_developer = param(&c.vary_by_developer, &mut self.cx())?;
        let env = self.env;
        let mut key = format!(
            "r:{}|{}|{}",
            env.api.id,
            env.operation.id,
            env.original_uri.path()
        );
        let q = env.original_uri.query();
        for name in &c.vary_by_query_parameters {
            let values = if name == "*" {
                q.map(|q| vec![q.to_owned()])
            } else {
                query::values(q, name)
            };
            let _ = write!(key, "|q:{name}={values:?}");
        }
        for name in &c.vary_by_headers {
            let values: Vec<_> = self.st.headers.get_all(name.as_str()).iter().collect();
            let _ = write!(key, "|h:{name}={values:?}");
        }
        if by_developer {
            let sub = env.subscription.as_ref().map(|s| &*s.1);
            let _ = write!(key, "|d:{sub:?}");
        }
        Ok(key)
    }
}

/// `Cache-Control` for clients and proxies, as `downstream-caching-type` says.
fn downstream(headers: &mut HeaderMap, p: &Pending, max_age: u32) {
    let kind = match p.downstream {
        DownstreamCaching::None => return,
        DownstreamCaching::Private => "private",
        DownstreamCaching::Public => "public",
    };
    let revalidate = if p.must_revalidate {
        ", must-revalidate"
    } else {
        ""
    };
    if let Ok(v) = HeaderValue::from_str(&format!("{kind}, max-age={max_age}{revalidate}")) {
        headers.insert(header::CACHE_CONTROL, v);
    }
}
