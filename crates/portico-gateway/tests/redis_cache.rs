//! The external cache on real Redis: responses stored by one gateway are served by another
//! without a backend call, values stored by one are read and removed by another, a value
//! tied to the request is refused by name, a Redis outage is a miss rather than an error,
//! and a gateway without `--redis` refuses `caching-type="external"` naming the flag.

mod common;
#[path = "common/redis.rs"]
mod redis_server;

use bytes::Bytes;
use common::*;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use portico_gateway::redis::RedisOptions;
use portico_gateway::{Gateway, GatewayOptions, ListenerLimits};
use redis_server::*;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A backend answering `hit N` (N counting its requests), with a `Content-Length`.
async fn counting_backend() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let counter = counter.clone();
            tokio::spawn(async move {
                let service = service_fn(move |_req| {
                    let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                    async move {
                        let mut r = http::Response::new(Full::new(Bytes::from(format!("hit {n}"))));
                        r.headers_mut()
                            .insert("x-backend", http::HeaderValue::from_static("yes"));
                        Ok::<_, std::convert::Infallible>(r)
                    }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, hits)
}

fn doc(backend: SocketAddr, policy: &str) -> String {
    let policy: String = policy.lines().map(|l| format!("      {l}\n")).collect();
    format!(
        "apis:\n  - id: api\n    path: api\n    serviceUrl: 'http://{backend}'\n    subscriptionRequired: false\n    operations:\n      - {{ id: all, method: '*', urlTemplate: '/*' }}\n    policy: |\n{policy}"
    )
}

async fn gateway(yaml: &str, url: &str, prefix: &str) -> TestGateway {
    let mut redis = RedisOptions::new(url).unwrap();
    redis.key_prefix = prefix.to_owned();
    let options = GatewayOptions {
        redis: Some(redis),
        ..options()
    };
    let gw = TestGateway::start_with(yaml, options, ListenerLimits::default()).await;
    for _ in 0..200 {
        let r = get(&format!("http://{}/readyz", gw.ops), &[]).await;
        if String::from_utf8_lossy(&r.body).contains("redis: connected") {
            return gw;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the gateway never reached Redis");
}

const RESPONSES: &str = r#"<policies>
  <inbound><cache-lookup vary-by-developer="false" vary-by-developer-groups="false" caching-type="external" downstream-caching-type="private" /></inbound>
  <backend><base/></backend>
  <outbound><cache-store duration="60" /></outbound>
</policies>"#;

#[tokio::test]
async fn responses_cached_by_one_gateway_are_served_by_another() {
    if !redis_available("responses_cached_by_one_gateway_are_served_by_another") {
        return;
    }
    let mut server = RedisServer::start();
    let prefix = key_prefix("responses");
    let (backend, hits) = counting_backend().await;
    let yaml = doc(backend, RESPONSES);
    let a = gateway(&yaml, &server.url(), &prefix).await;
    let b = gateway(&yaml, &server.url(), &prefix).await;

    let first = get(&a.url("/api/items"), &[]).await;
    assert_eq!((first.status, &first.body[..]), (200, &b"hit 1"[..]));
    let second = get(&b.url("/api/items"), &[]).await;
    assert_eq!((second.status, &second.body[..]), (200, &b"hit 1"[..]));
    assert_eq!(second.headers["x-backend"], "yes", "headers are kept");
    assert_eq!(
        second.headers["cache-control"],
        "private, max-age=60, must-revalidate"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1, "served from Redis");

    let mut conn = connect(&server.url()).await;
    let keys = keys_with_ttl(&mut conn, &format!("{prefix}r:")).await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].1 > 0 && keys[0].1 <= 60_000, "{keys:?}");

    // Without Redis the cache misses: the backend answers, nothing fails.
    server.stop();
    let third = get(&b.url("/api/items"), &[]).await;
    assert_eq!((third.status, &third.body[..]), (200, &b"hit 2"[..]));
    let metrics = get(&format!("http://{}/metrics", b.ops), &[]).await;
    let metrics = String::from_utf8_lossy(&metrics.body);
    assert!(
        metrics.contains("portico_external_cache_unavailable_total "),
        "{metrics}"
    );
    assert!(
        !metrics.contains("portico_external_cache_unavailable_total 0"),
        "{metrics}"
    );
}

#[tokio::test]
async fn values_stored_by_one_gateway_are_read_and_removed_by_another() {
    if !redis_available("values_stored_by_one_gateway_are_read_and_removed_by_another") {
        return;
    }
    let server = RedisServer::start();
    let prefix = key_prefix("values");
    // `prefer-external` and an unspecified caching-type both go to Redis when there is one.
    let policy = r#"<policies><inbound>
  <choose>
    <when condition="@(context.Request.Headers.GetValueOrDefault(&quot;x-op&quot;, &quot;&quot;) == &quot;store&quot;)">
      <cache-store-value key="user" value="@(new JObject(new JProperty(&quot;n&quot;, 5), new JProperty(&quot;tags&quot;, new JArray(&quot;a&quot;, &quot;b&quot;))))" duration="60" caching-type="external" />
      <cache-store-value key="count" value="@(41 + 1)" duration="60" />
    </when>
    <when condition="@(context.Request.Headers.GetValueOrDefault(&quot;x-op&quot;, &quot;&quot;) == &quot;remove&quot;)">
      <cache-remove-value key="user" caching-type="external" />
    </when>
  </choose>
  <cache-lookup-value key="user" default-value="none" variable-name="user" caching-type="prefer-external" />
  <cache-lookup-value key="count" variable-name="count" caching-type="external" />
  <set-header name="x-user" exists-action="override"><value>@(context.Variables["user"].ToString().Replace("\n", "").Replace(" ", ""))</value></set-header>
  <set-header name="x-count" exists-action="override"><value>@(context.Variables.ContainsKey("count") ? (context.Variables.GetValueOrDefault&lt;int&gt;("count") + 1).ToString() : "missing")</value></set-header>
</inbound></policies>"#;
    let yaml = doc(start_backend().await, policy);
    let a = gateway(&yaml, &server.url(), &prefix).await;
    let b = gateway(&yaml, &server.url(), &prefix).await;
    let seen = |r: &Answer| {
        (
            r.backend_header("x-user").unwrap(),
            r.backend_header("x-count").unwrap(),
        )
    };
    let r = get(&b.url("/api/x"), &[]).await;
    assert_eq!(seen(&r), ("none".into(), "missing".into()));
    get(&a.url("/api/x"), &[("x-op", "store")]).await;
    let r = get(&b.url("/api/x"), &[]).await;
    assert_eq!(
        seen(&r),
        (r#"{"n":5,"tags":["a","b"]}"#.into(), "43".into()),
        "an int stays an int"
    );
    get(&b.url("/api/x"), &[("x-op", "remove")]).await;
    let r = get(&a.url("/api/x"), &[]).await;
    assert_eq!(seen(&r), ("none".into(), "43".into()));
}

#[tokio::test]
async fn a_value_tied_to_the_request_is_refused_by_the_external_cache() {
    if !redis_available("a_value_tied_to_the_request_is_refused_by_the_external_cache") {
        return;
    }
    let server = RedisServer::start();
    let policy = r#"<policies>
  <inbound><cache-store-value key="r" value="@(new Random())" duration="60" caching-type="external" /></inbound>
  <on-error><return-response><set-status code="500" /><set-body>@(context.LastError.Reason + ": " + context.LastError.Message)</set-body></return-response></on-error>
</policies>"#;
    let gw = gateway(
        &doc(start_backend().await, policy),
        &server.url(),
        &key_prefix("refused"),
    )
    .await;
    let r = get(&gw.url("/api/x"), &[]).await;
    assert_eq!(r.status, 500);
    assert_eq!(
        String::from_utf8_lossy(&r.body),
        "CacheValueNotSerializable: A Random cannot be kept in the external cache; store plain \
         data (a string, number, JSON token, or an array or dictionary of those)."
    );
}

#[tokio::test]
async fn without_redis_external_caching_is_refused_naming_the_flag() {
    let gw = Gateway::new(options());
    let yaml = doc("127.0.0.1:9".parse().unwrap(), RESPONSES);
    let e = gw.apply(&snapshot(&yaml, 1)).unwrap_err();
    assert!(
        e.contains("<cache-lookup>: caching-type=\"external\" needs an external cache: start the gateway with --redis URL"),
        "{e}"
    );
    assert!(e.contains("policy of operation all of API api"), "{e}");
    // prefer-external is served by the internal cache.
    let yaml = doc(
        "127.0.0.1:9".parse().unwrap(),
        &RESPONSES.replace("\"external\"", "\"prefer-external\""),
    );
    gw.apply(&snapshot(&yaml, 2)).unwrap();
}
