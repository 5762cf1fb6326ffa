//! Traffic and access policies over real sockets: rate limits and quotas (status, headers,
//! APIM's messages, exact counts under concurrency, bandwidth, counts surviving a snapshot
//! swap), limit-concurrency, retry, wait, check-header, ip-filter (IPv4, IPv6, trusted
//! proxies), cors and authentication-basic.

mod common;

use common::*;
use http::Request;
use portico_gateway::net::TrustedProxies;
use portico_gateway::ListenerLimits;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;

fn block(xml: &str, depth: usize) -> String {
    let pad = " ".repeat(depth);
    xml.trim().lines().map(|l| format!("{pad}{l}\n")).collect()
}

/// API `api` (operations `user` = `GET /users/{id}` and `all` = `* /*`) with a policy;
/// `keyed` adds a subscription requirement and subscriptions `one` and `two`.
fn doc(backend: SocketAddr, policy: &str, keyed: bool) -> String {
    let subs = if keyed {
        "subscriptions:\n  - { id: one, scope: /apis, primaryKey: key-one }\n  - { id: two, scope: /apis, primaryKey: key-two }\n"
    } else {
        ""
    };
    format!(
        "apis:\n  - id: api\n    path: api\n    serviceUrl: 'http://{backend}'\n    subscriptionRequired: {keyed}\n    operations:\n      - {{ id: user, method: GET, urlTemplate: '/users/{{id}}' }}\n      - {{ id: all, method: '*', urlTemplate: '/*' }}\n    policy: |\n{}{subs}",
        block(policy, 6)
    )
}

fn inbound(xml: &str) -> String {
    format!("<policies><inbound>{xml}</inbound><backend><base/></backend><outbound><base/></outbound><on-error><base/></on-error></policies>")
}

async fn gateway(policy: &str) -> TestGateway {
    TestGateway::start(&doc(start_backend().await, policy, false)).await
}

async fn keyed_gateway(policy: &str) -> TestGateway {
    TestGateway::start(&doc(start_backend().await, policy, true)).await
}

const BY_CLIENT: &str =
    r#"counter-key="@(context.Request.Headers.GetValueOrDefault("x-client","anon"))""#;

#[tokio::test]
async fn rate_limit_by_key_refuses_over_the_limit_with_apim_answer() {
    let gw = gateway(&inbound(&format!(
        r#"<rate-limit-by-key calls="3" renewal-period="60" {BY_CLIENT} remaining-calls-header-name="x-remaining" total-calls-header-name="x-total" remaining-calls-variable-name="left" />
        <set-header name="x-left"><value>@(context.Variables.GetValueOrDefault<int>("left").ToString())</value></set-header>"#
    )))
    .await;
    for left in ["2", "1", "0"] {
        let a = get(&gw.url("/api/x"), &[("x-client", "a")]).await;
        assert_eq!(a.status, 200);
        assert_eq!(a.headers["x-remaining"], left);
        assert_eq!(a.headers["x-total"], "3");
        assert_eq!(a.backend_header("x-left").as_deref(), Some(left));
    }
    let a = get(&gw.url("/api/x"), &[("x-client", "a")]).await;
    assert_apim_error(&a, 429, "Rate limit is exceeded. Try again in ");
    let wait: u64 = a.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let msg = a.json()["message"].as_str().unwrap().to_owned();
    assert_eq!(
        msg,
        format!("Rate limit is exceeded. Try again in {wait} seconds.")
    );
    assert_eq!(
        get(&gw.url("/api/x"), &[("x-client", "b")]).await.status,
        200
    );
}

#[tokio::test]
async fn rate_limit_is_exact_under_concurrency_and_survives_a_snapshot_swap() {
    let backend = start_backend().await;
    let yaml = doc(
        backend,
        &inbound(&format!(
            r#"<rate-limit-by-key calls="40" renewal-period="300" {BY_CLIENT} />"#
        )),
        false,
    );
    let gw = TestGateway::start(&yaml).await;
    let url = gw.url("/api/x");
    let tasks: Vec<_> = (0..120)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { get(&url, &[]).await.status })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            200 => ok += 1,
            429 => {}
            s => panic!("status {s}"),
        }
    }
    assert_eq!(ok, 40);
    gw.gateway.apply(&snapshot(&yaml, 2)).unwrap();
    assert_eq!(get(&url, &[]).await.status, 429);
}

#[tokio::test]
async fn rate_limit_counts_per_subscription_with_api_and_operation_limits() {
    let gw = keyed_gateway(&inbound(
        r#"<rate-limit calls="5" renewal-period="60" retry-after-header-name="x-retry">
             <api id="api" calls="4" renewal-period="60">
               <operation id="user" calls="2" renewal-period="60" />
             </api>
           </rate-limit>"#,
    ))
    .await;
    let one = [("ocp-apim-subscription-key", "key-one")];
    let two = [("ocp-apim-subscription-key", "key-two")];
    for _ in 0..2 {
        assert_eq!(get(&gw.url("/api/users/1"), &one).await.status, 200);
    }
    let a = get(&gw.url("/api/users/1"), &one).await;
    assert_apim_error(&a, 429, "Rate limit is exceeded.");
    assert!(a.headers.contains_key("x-retry"));
    // The API limit (4) still has room for two calls to other operations.
    assert_eq!(get(&gw.url("/api/other"), &one).await.status, 200);
    assert_eq!(get(&gw.url("/api/other"), &one).await.status, 200);
    assert_eq!(get(&gw.url("/api/other"), &one).await.status, 429);
    // Another subscription has its own counts.
    assert_eq!(get(&gw.url("/api/users/1"), &two).await.status, 200);
}

#[tokio::test]
async fn increment_condition_counts_only_matching_responses() {
    let gw = gateway(&inbound(&format!(
        r#"<rate-limit-by-key calls="2" renewal-period="60" {BY_CLIENT} increment-condition="@(context.Response.StatusCode == 200 &amp;&amp; context.Request.Headers.GetValueOrDefault("x-count","") == "yes")" />"#
    )))
    .await;
    for _ in 0..5 {
        assert_eq!(get(&gw.url("/api/x"), &[]).await.status, 200);
    }
    let counted = [("x-count", "yes")];
    assert_eq!(get(&gw.url("/api/x"), &counted).await.status, 200);
    assert_eq!(get(&gw.url("/api/x"), &counted).await.status, 200);
    assert_eq!(get(&gw.url("/api/x"), &[]).await.status, 429);
}

#[tokio::test]
async fn quota_by_key_refuses_with_the_replenish_time() {
    let gw = gateway(&inbound(&format!(
        r#"<quota-by-key calls="2" renewal-period="3600" {BY_CLIENT} />"#
    )))
    .await;
    assert_eq!(get(&gw.url("/api/x"), &[]).await.status, 200);
    assert_eq!(get(&gw.url("/api/x"), &[]).await.status, 200);
    let a = get(&gw.url("/api/x"), &[]).await;
    assert_apim_error(
        &a,
        403,
        "Out of call volume quota. Quota will be replenished in 00:59:",
    );
}

#[tokio::test]
async fn quota_counts_bandwidth_per_subscription() {
    let gw = keyed_gateway(&inbound(r#"<quota bandwidth="1" renewal-period="0" />"#)).await;
    let post = |key: &'static str| {
        let req = Request::post(gw.url("/api/count"))
            .header("ocp-apim-subscription-key", key)
            .body(full(vec![b'x'; 2000]))
            .unwrap();
        send(req)
    };
    assert_eq!(post("key-one").await.status, 200);
    let a = post("key-one").await;
    assert_apim_error(&a, 403, "Out of bandwidth quota.");
    assert_eq!(post("key-two").await.status, 200);
}

#[tokio::test]
async fn quota_counts_streamed_responses_of_unknown_length() {
    let gw = keyed_gateway(&inbound(r#"<quota bandwidth="2" renewal-period="0" />"#)).await;
    let url = gw.url("/api/bytes/3000");
    let key = [("ocp-apim-subscription-key", "key-one")];
    // The backend streams 3000 bytes without a Content-Length: counted once the body has
    // been sent, so the first call passes and a later one finds the 2 KB used up.
    let first = get(&url, &key).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.body.len(), 3000);
    assert!(
        first.headers.get("content-length").is_none(),
        "not a streamed answer"
    );
    let mut refused = false;
    for _ in 0..100 {
        let a = get(&url, &key).await;
        if a.status == 403 {
            assert_apim_error(&a, 403, "Out of bandwidth quota.");
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(refused, "the streamed bytes were never counted");
    assert_eq!(
        get(&url, &[("ocp-apim-subscription-key", "key-two")])
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn limit_concurrency_holds_the_bound() {
    let gw = gateway(
        r#"<policies><inbound><base/></inbound><backend><limit-concurrency key="all" max-count="2"><forward-request /></limit-concurrency></backend></policies>"#,
    )
    .await;
    let url = gw.url("/api/slow/400");
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { get(&url, &[]).await })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        let a = t.await.unwrap();
        if a.status == 429 {
            assert_apim_error(&a, 429, "Too many concurrent requests.");
        }
        statuses.push(a.status);
    }
    statuses.sort();
    assert_eq!(statuses, [200, 200, 429, 429, 429, 429]);
    // The places are given back.
    assert_eq!(get(&url, &[]).await.status, 200);
}

#[tokio::test]
async fn retry_resends_the_body_until_the_condition_clears() {
    let (backend, calls) = flaky_backend(2).await;
    let policy = r#"<policies><inbound><base/></inbound><backend><retry condition="@(context.Response.StatusCode == 500)" count="3" interval="1" first-fast-retry="true"><forward-request /></retry></backend></policies>"#;
    let gw = TestGateway::start(&doc(backend, policy, false)).await;
    let started = std::time::Instant::now();
    let a = send(Request::post(gw.url("/api/x")).body(full("hello")).unwrap()).await;
    assert_eq!(a.status, 200);
    assert_eq!(&a.body[..], b"hello");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    // First retry immediate, second after the 1 s interval.
    assert!(started.elapsed() >= std::time::Duration::from_millis(900));

    // Out of retries: the last answer stands.
    let (backend, calls) = flaky_backend(10).await;
    let policy = policy.replace("count=\"3\"", "count=\"1\"");
    let gw = TestGateway::start(&doc(backend, &policy, false)).await;
    assert_eq!(get(&gw.url("/api/x"), &[]).await.status, 500);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn wait_runs_its_children() {
    let gw = gateway(
        r#"<policies><inbound><base/></inbound><backend><wait for="all"><forward-request /></wait></backend></policies>"#,
    )
    .await;
    assert_eq!(get(&gw.url("/api/x"), &[]).await.status, 200);
}

#[tokio::test]
async fn check_header_refuses_missing_or_wrong_values() {
    let gw = gateway(&inbound(
        r#"<check-header name="x-tenant" failed-check-httpcode="401" failed-check-error-message="Not a known tenant" ignore-case="true"><value>Contoso</value><value>Fabrikam</value></check-header>"#,
    ))
    .await;
    assert_apim_error(
        &get(&gw.url("/api/x"), &[]).await,
        401,
        "Not a known tenant",
    );
    let wrong = [("x-tenant", "other")];
    assert_apim_error(
        &get(&gw.url("/api/x"), &wrong).await,
        401,
        "Not a known tenant",
    );
    assert_eq!(
        get(&gw.url("/api/x"), &[("x-tenant", "CONTOSO")])
            .await
            .status,
        200
    );
}

fn ip_policy(action: &str, addresses: &str) -> String {
    inbound(&format!(
        r#"<ip-filter action="{action}">{addresses}</ip-filter>"#
    ))
}

#[tokio::test]
async fn ip_filter_allows_and_forbids_v4() {
    let gw = gateway(&ip_policy("allow", r#"<address>127.0.0.1</address>"#)).await;
    assert_eq!(get(&gw.url("/api/x"), &[]).await.status, 200);
    let gw = gateway(&ip_policy(
        "forbid",
        r#"<address-range from="127.0.0.0" to="127.0.0.255" />"#,
    ))
    .await;
    assert_apim_error(&get(&gw.url("/api/x"), &[]).await, 403, "Forbidden");
    let gw = gateway(&ip_policy("allow", r#"<address>10.0.0.1</address>"#)).await;
    // X-Forwarded-For from an untrusted peer is not believed.
    let a = get(&gw.url("/api/x"), &[("x-forwarded-for", "10.0.0.1")]).await;
    assert_apim_error(&a, 403, "Forbidden");
}

#[tokio::test]
async fn ip_filter_reads_x_forwarded_for_from_a_trusted_proxy_with_ipv6() {
    let mut options = options();
    options.trusted_proxies = TrustedProxies::new(vec!["127.0.0.1".parse().unwrap()]);
    let policy = ip_policy(
        "allow",
        r#"<address-range from="2001:db8::1" to="2001:db8::ff" /><address>192.0.2.7</address>"#,
    );
    let yaml = doc(start_backend().await, &policy, false);
    let gw = TestGateway::start_with(&yaml, options, ListenerLimits::default()).await;
    let xff = |v: &'static str| [("x-forwarded-for", v)];
    assert_eq!(
        get(&gw.url("/api/x"), &xff("2001:db8::5")).await.status,
        200
    );
    assert_eq!(
        get(&gw.url("/api/x"), &xff("192.0.2.7, 127.0.0.1"))
            .await
            .status,
        200
    );
    assert_apim_error(
        &get(&gw.url("/api/x"), &xff("2001:db9::1")).await,
        403,
        "Forbidden",
    );
    // A client cannot hide behind an address it prepends itself.
    let a = get(&gw.url("/api/x"), &xff("2001:db8::5, 198.51.100.1")).await;
    assert_apim_error(&a, 403, "Forbidden");
    // Without the header the peer (127.0.0.1) is judged.
    assert_apim_error(&get(&gw.url("/api/x"), &[]).await, 403, "Forbidden");
}

const CORS: &str = r#"<cors allow-credentials="true">
  <allowed-origins><origin>https://app.example</origin></allowed-origins>
  <allowed-methods preflight-result-max-age="300"><method>GET</method><method>PUT</method></allowed-methods>
  <allowed-headers><header>x-custom</header><header>content-type</header></allowed-headers>
  <expose-headers><header>x-trace</header></expose-headers>
</cors>"#;

#[tokio::test]
async fn cors_answers_preflight_at_the_gateway_and_decorates_responses() {
    let backend = start_backend().await;
    let yaml = format!(
        "apis:\n  - id: api\n    path: api\n    serviceUrl: 'http://{backend}'\n    subscriptionRequired: false\n    operations:\n      - {{ id: user, method: GET, urlTemplate: '/users/{{id}}' }}\n    policy: |\n{}",
        block(&inbound(CORS), 6)
    );
    let gw = TestGateway::start(&yaml).await;
    let preflight = |origin: &'static str, method: &'static str| {
        send(
            Request::options(gw.url("/api/users/1"))
                .header("origin", origin)
                .header("access-control-request-method", method)
                .header("access-control-request-headers", "X-Custom")
                .body(empty())
                .unwrap(),
        )
    };
    let a = preflight("https://app.example", "GET").await;
    assert_eq!(a.status, 200);
    assert!(a.body.is_empty(), "answered by the gateway, not the echo");
    assert_eq!(
        a.headers["access-control-allow-origin"],
        "https://app.example"
    );
    assert_eq!(a.headers["access-control-allow-credentials"], "true");
    assert_eq!(a.headers["access-control-allow-methods"], "GET");
    assert_eq!(a.headers["access-control-allow-headers"], "x-custom");
    assert_eq!(a.headers["access-control-max-age"], "300");
    let a = preflight("https://evil.example", "GET").await;
    assert_eq!(a.status, 200);
    assert!(!a.headers.contains_key("access-control-allow-origin"));

    let origin = [("origin", "https://app.example")];
    let a = get(&gw.url("/api/users/1"), &origin).await;
    assert_eq!(a.status, 200);
    assert_eq!(
        a.headers["access-control-allow-origin"],
        "https://app.example"
    );
    assert_eq!(a.headers["access-control-expose-headers"], "x-trace");
    assert!(a.json()["headers"].is_object(), "the backend answered");
    // An unmatched simple request is terminated with an empty 200 (terminate-unmatched-request).
    let a = get(
        &gw.url("/api/users/1"),
        &[("origin", "https://evil.example")],
    )
    .await;
    assert_eq!(a.status, 200);
    assert!(a.body.is_empty());
    assert!(!a.headers.contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn authentication_basic_sets_the_backend_authorization() {
    let gw = gateway(&inbound(
        r#"<authentication-basic username="user" password="pass" />"#,
    ))
    .await;
    let a = get(&gw.url("/api/x"), &[("authorization", "Bearer client")]).await;
    assert_eq!(
        a.backend_header("authorization").as_deref(),
        Some("Basic dXNlcjpwYXNz")
    );
}
