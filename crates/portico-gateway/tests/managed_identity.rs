//! `authentication-managed-identity` over real sockets, against a fake managed-identity
//! endpoint on 127.0.0.1 that counts its calls: the token reaches the backend as a Bearer
//! header (or a variable), is cached per (resource, client id) and refreshed before it
//! expires, `send-request` can authenticate its call with it, the IMDS and App Service
//! protocols are spoken, and a failure goes to on-error
//! (without the token or the identity header in the message) unless `ignore-error` is set.

mod common;

use common::*;
use http::Request;
use hyper::body::Incoming;
use portico_gateway::policy::identity::IdentityEndpoint;
use portico_gateway::ListenerLimits;
use serde_json::json;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the fake endpoint saw and how it answers.
#[derive(Default)]
struct Fake {
    calls: AtomicUsize,
    /// Path and query, and headers, of each call.
    seen: Mutex<Vec<(String, http::HeaderMap)>>,
    /// Answer this status instead of a token.
    fail: Mutex<Option<u16>>,
    expires_in: Mutex<u64>,
}

impl Fake {
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
    fn last(&self) -> (String, http::HeaderMap) {
        self.seen.lock().unwrap().last().cloned().unwrap()
    }
}

/// Answers `tok-{n}` for its n-th call (from 1).
async fn fake_endpoint() -> (SocketAddr, Arc<Fake>) {
    let fake = Arc::new(Fake::default());
    *fake.expires_in.lock().unwrap() = 3600;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = fake.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let state = state.clone();
            let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                let n = state.calls.fetch_add(1, Ordering::SeqCst) + 1;
                let pq = req.uri().path_and_query().unwrap().to_string();
                state.seen.lock().unwrap().push((pq, req.headers().clone()));
                let fail = *state.fail.lock().unwrap();
                let expires_in = *state.expires_in.lock().unwrap();
                async move {
                    let mut resp = match fail {
                        Some(status) => {
                            let mut r = http::Response::new(full(
                                r#"{"error":"invalid_request","access_token":"leaked"}"#,
                            ));
                            *r.status_mut() = http::StatusCode::from_u16(status).unwrap();
                            r
                        }
                        None => http::Response::new(full(
                            json!({"access_token": format!("tok-{n}"), "expires_in": expires_in.to_string(), "token_type": "Bearer"}).to_string(),
                        )),
                    };
                    resp.headers_mut()
                        .insert("content-type", "application/json".parse().unwrap());
                    Ok::<_, std::convert::Infallible>(resp)
                }
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc),
            );
        }
    });
    (addr, fake)
}

fn api(backend: SocketAddr, inbound: &str, on_error: &str) -> String {
    let policy = format!(
        "<policies><inbound>{inbound}</inbound><backend><base/></backend><outbound><base/></outbound><on-error>{on_error}</on-error></policies>"
    );
    format!(
        "apis:\n  - id: api\n    path: api\n    serviceUrl: 'http://{backend}'\n    subscriptionRequired: false\n    operations:\n      - {{ id: all, method: '*', urlTemplate: '/*' }}\n    policy: |\n      {policy}\n"
    )
}

async fn gateway(endpoint: IdentityEndpoint, inbound: &str, on_error: &str) -> TestGateway {
    let backend = start_backend().await;
    let options = portico_gateway::GatewayOptions {
        managed_identity: endpoint,
        ..options()
    };
    TestGateway::start_with(
        &api(backend, inbound, on_error),
        options,
        ListenerLimits::default(),
    )
    .await
}

fn imds(addr: SocketAddr) -> IdentityEndpoint {
    IdentityEndpoint::Imds {
        url: format!("http://{addr}/metadata/identity/oauth2/token"),
    }
}

const REPORT: &str = r#"<return-response><set-status code="503"/><set-body>@(context.LastError.Source + "|" + context.LastError.Reason + "|" + context.LastError.Message)</set-body></return-response>"#;

#[tokio::test]
async fn the_token_reaches_the_backend_and_is_cached() {
    let (addr, fake) = fake_endpoint().await;
    let gw = gateway(
        imds(addr),
        r#"<authentication-managed-identity resource="https://vault.azure.net"/>"#,
        "",
    )
    .await;
    for _ in 0..3 {
        let a = get(
            &gw.url("/api/x"),
            &[("authorization", "Bearer from-client")],
        )
        .await;
        assert_eq!(a.status, 200, "{:?}", String::from_utf8_lossy(&a.body));
        assert_eq!(
            a.backend_header("authorization").as_deref(),
            Some("Bearer tok-1")
        );
    }
    assert_eq!(fake.calls(), 1, "one fetch, then the cache");
    let (pq, headers) = fake.last();
    assert_eq!(
        pq,
        "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net"
    );
    assert_eq!(headers["metadata"], "true");
}

#[tokio::test]
async fn client_id_and_variable_output_with_the_app_service_protocol() {
    let (addr, fake) = fake_endpoint().await;
    let endpoint = IdentityEndpoint::AppService {
        url: format!("http://{addr}/msi/token"),
        header: "identity-secret".into(),
    };
    let inbound = r#"<authentication-managed-identity resource="api://backend" client-id="11111111-2222" output-token-variable-name="msi"/>
        <authentication-managed-identity resource="api://backend"/>
        <set-header name="x-token" exists-action="override"><value>@((string)context.Variables["msi"])</value></set-header>"#;
    let gw = gateway(endpoint, inbound, "").await;
    let a = get(&gw.url("/api/x"), &[]).await;
    assert_eq!(a.status, 200, "{:?}", String::from_utf8_lossy(&a.body));
    // The user-assigned and the system-assigned identity are cached apart.
    assert_eq!(fake.calls(), 2);
    assert_eq!(a.backend_header("x-token").as_deref(), Some("tok-1"));
    assert_eq!(
        a.backend_header("authorization").as_deref(),
        Some("Bearer tok-2")
    );
    let seen = fake.seen.lock().unwrap().clone();
    assert_eq!(
        seen[0].0,
        "/msi/token?api-version=2019-08-01&resource=api%3A%2F%2Fbackend&client_id=11111111-2222"
    );
    assert_eq!(
        seen[1].0,
        "/msi/token?api-version=2019-08-01&resource=api%3A%2F%2Fbackend"
    );
    assert_eq!(seen[0].1["x-identity-header"], "identity-secret");
    assert!(!seen[0].1.contains_key("metadata"));
}

#[tokio::test]
async fn send_request_authenticates_its_call_with_the_cached_token() {
    let (addr, fake) = fake_endpoint().await;
    let side = start_backend().await;
    let inbound = format!(
        r#"<send-request mode="new" response-variable-name="r"><set-url>http://{side}/vault/secret</set-url><set-method>GET</set-method><authentication-managed-identity resource="https://vault.azure.net"/></send-request>
        <set-header name="x-side-auth" exists-action="override"><value>@(((IResponse)context.Variables["r"]).Body.As<JObject>()["headers"]["authorization"].ToString())</value></set-header>
        <authentication-managed-identity resource="https://vault.azure.net"/>"#
    );
    let gw = gateway(imds(addr), &inbound, "").await;
    let a = get(&gw.url("/api/x"), &[]).await;
    assert_eq!(a.status, 200, "{:?}", String::from_utf8_lossy(&a.body));
    assert_eq!(
        a.backend_header("x-side-auth").as_deref(),
        Some("Bearer tok-1")
    );
    assert_eq!(
        a.backend_header("authorization").as_deref(),
        Some("Bearer tok-1")
    );
    assert_eq!(
        fake.calls(),
        1,
        "the call and the backend share the cached token"
    );
}

#[tokio::test]
async fn a_token_is_fetched_again_shortly_before_it_expires() {
    let (addr, fake) = fake_endpoint().await;
    // Five minutes and one second: cached for one second (refreshed five minutes early).
    *fake.expires_in.lock().unwrap() = 301;
    let gw = gateway(
        imds(addr),
        r#"<authentication-managed-identity resource="https://storage.azure.com/"/>"#,
        "",
    )
    .await;
    let token = |a: Answer| a.backend_header("authorization");
    assert_eq!(
        token(get(&gw.url("/api/x"), &[]).await).as_deref(),
        Some("Bearer tok-1")
    );
    assert_eq!(
        token(get(&gw.url("/api/x"), &[]).await).as_deref(),
        Some("Bearer tok-1")
    );
    assert_eq!(fake.calls(), 1);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(
        token(get(&gw.url("/api/x"), &[]).await).as_deref(),
        Some("Bearer tok-2")
    );
    assert_eq!(fake.calls(), 2);
    // A token with no more than the margin left is never cached.
    *fake.expires_in.lock().unwrap() = 60;
    tokio::time::sleep(Duration::from_millis(1300)).await;
    get(&gw.url("/api/x"), &[]).await;
    get(&gw.url("/api/x"), &[]).await;
    assert_eq!(fake.calls(), 4);
}

#[tokio::test]
async fn a_failure_goes_to_on_error_unless_ignored() {
    let (addr, fake) = fake_endpoint().await;
    *fake.fail.lock().unwrap() = Some(400);
    let endpoint = IdentityEndpoint::AppService {
        url: format!("http://{addr}/msi/token"),
        header: "identity-secret".into(),
    };
    let policy = r#"<authentication-managed-identity resource="https://vault.azure.net"/>"#;

    let gw = gateway(endpoint.clone(), policy, REPORT).await;
    let a = get(&gw.url("/api/x"), &[]).await;
    assert_eq!(a.status, 503);
    let body = String::from_utf8_lossy(&a.body).into_owned();
    assert!(
        body.starts_with("authentication-managed-identity|ManagedIdentityTokenFailure|"),
        "{body}"
    );
    assert!(body.contains("400"), "{body}");
    assert!(
        !body.contains("leaked") && !body.contains("identity-secret"),
        "{body}"
    );

    // No on-error: APIM's 500.
    let gw = gateway(endpoint.clone(), policy, "").await;
    assert_apim_error(&get(&gw.url("/api/x"), &[]).await, 500, "");

    // ignore-error: on to the backend, without a token.
    let gw = gateway(
        endpoint,
        r#"<authentication-managed-identity resource="https://vault.azure.net" ignore-error="true"/>"#,
        REPORT,
    )
    .await;
    let a = get(&gw.url("/api/x"), &[]).await;
    assert_eq!(a.status, 200, "{:?}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.backend_header("authorization"), None);

    // An unreachable endpoint fails the same way; nothing failed is cached.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let gw = gateway(
        imds(dead),
        r#"<authentication-managed-identity resource="https://vault.azure.net"/>"#,
        REPORT,
    )
    .await;
    let a = get(&gw.url("/api/x"), &[]).await;
    assert_eq!(a.status, 503);
    assert!(
        String::from_utf8_lossy(&a.body).contains("ManagedIdentityTokenFailure"),
        "{:?}",
        a.body
    );
    *fake.fail.lock().unwrap() = None;
}

#[test]
fn the_policy_is_refused_outside_inbound() {
    let doc = portico_model::Document::parse_valid(
        &api(
            "127.0.0.1:1".parse().unwrap(),
            "",
            r#"<authentication-managed-identity resource="x"/>"#,
        ),
        portico_model::DocumentFormat::Yaml,
    );
    let err = format!("{:?}", doc.expect_err("refused in on-error"));
    assert!(err.contains("not allowed in <on-error>"), "{err}");
}
