//! The call, cache and JWT policies over real sockets: `send-request` and
//! `send-one-way-request` against local servers, the internal cache (values and whole
//! responses, hits counted at the backend), and `validate-jwt` with tokens made here.

mod common;

use common::*;
use http::Request;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Indents `xml` so it can sit under a `policy: |` key at `depth` spaces.
fn block(xml: &str, depth: usize) -> String {
    let pad = " ".repeat(depth);
    xml.trim().lines().map(|l| format!("{pad}{l}\n")).collect()
}

/// An open API `api` (operation `all` = `* /*`) in front of `backend`, with a policy.
fn api_doc(backend: SocketAddr, policy: &str) -> String {
    format!(
        "apis:\n  - id: api\n    path: api\n    serviceUrl: 'http://{backend}'\n    subscriptionRequired: false\n    operations:\n      - {{ id: all, method: '*', urlTemplate: '/*' }}\n    policy: |\n{}",
        block(policy, 6)
    )
}

fn inbound(xml: &str) -> String {
    format!("<policies><inbound>{xml}</inbound><backend><base/></backend><outbound><base/></outbound><on-error><base/></on-error></policies>")
}

/// A local server answering every request with `body` (JSON) and counting the requests.
async fn counting_server(body: &'static str) -> (SocketAddr, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let addr = serve(move |_req| {
        counter.fetch_add(1, Ordering::SeqCst);
        (200, body.to_owned())
    })
    .await;
    (addr, hits)
}

/// A local HTTP server whose answers come from `f` (status, JSON body).
async fn serve<F>(f: F) -> SocketAddr
where
    F: Fn(&Request<hyper::body::Incoming>) -> (u16, String) + Send + Sync + 'static,
{
    let f = Arc::new(f);
    serve_async(move |req| {
        let answer = f(&req);
        async move { answer }
    })
    .await
}

/// [`serve`] with an answer that may take its time.
async fn serve_async<F, A>(f: F) -> SocketAddr
where
    F: Fn(Request<hyper::body::Incoming>) -> A + Send + Sync + 'static,
    A: std::future::Future<Output = (u16, String)> + Send + 'static,
{
    use hyper::service::service_fn;
    use hyper_util::rt::{TokioExecutor, TokioIo};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let f = Arc::new(f);
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let f = f.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req| {
                    let answer = f(req);
                    async move {
                        let (status, body) = answer.await;
                        let mut resp = http::Response::new(full(body));
                        *resp.status_mut() = http::StatusCode::from_u16(status).unwrap();
                        resp.headers_mut()
                            .insert("content-type", "application/json".parse().unwrap());
                        Ok::<_, std::convert::Infallible>(resp)
                    }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn send_request_response_is_used_in_an_expression() {
    let backend = start_backend().await;
    let (side, hits) = counting_server(r#"{"token":"abc","n":7}"#).await;
    let policy = inbound(&format!(
        r#"<send-request mode="new" response-variable-name="side" timeout="5" ignore-error="false">
             <set-url>http://{side}/token?x=1</set-url>
             <set-method>POST</set-method>
             <set-header name="x-asked" exists-action="override"><value>yes</value></set-header>
             <set-body>@("from " + context.Request.Method)</set-body>
           </send-request>
           <set-header name="x-token" exists-action="override">
             <value>@(((IResponse)context.Variables["side"]).Body.As<JObject>()["token"].ToString())</value>
           </set-header>
           <set-header name="x-side-status" exists-action="override">
             <value>@(((IResponse)context.Variables["side"]).StatusCode.ToString())</value>
           </set-header>"#
    ));
    let gw = TestGateway::start(&api_doc(backend, &policy)).await;
    let a = get(&gw.url("/api/x"), &[]).await;
    assert_eq!(a.status, 200, "{:?}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.backend_header("x-token").as_deref(), Some("abc"));
    assert_eq!(a.backend_header("x-side-status").as_deref(), Some("200"));
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn send_request_sends_method_headers_and_body_as_written() {
    let backend = start_backend().await;
    // The echo backend describes the call; its answer comes back through a variable.
    let policy = inbound(&format!(
        r#"<send-request response-variable-name="r">
             <set-url>http://{backend}/side/call?q=2</set-url>
             <set-method>PUT</set-method>
             <set-header name="x-one" exists-action="override"><value>1</value></set-header>
           </send-request>
           <return-response>
             <set-status code="200"/>
             <set-body>@(((IResponse)context.Variables["r"]).Body.As<string>())</set-body>
           </return-response>"#
    ));
    let gw = TestGateway::start(&api_doc(backend, &policy)).await;
    let a = get(&gw.url("/api/x"), &[]).await;
    assert_eq!(a.status, 200, "{:?}", String::from_utf8_lossy(&a.body));
    let j = a.json();
    assert_eq!(j["method"], "PUT");
    assert_eq!(j["path"], "/side/call");
    assert_eq!(j["query"], "q=2");
    assert_eq!(j["headers"]["x-one"], "1");
}

#[tokio::test]
async fn send_request_failure_goes_to_on_error_unless_ignored() {
    let backend = start_backend().await;
    // Nothing listens on this port.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let call = |ignore: bool| {
        format!(
            r#"<send-request response-variable-name="r" timeout="2" ignore-error="{ignore}">
                 <set-url>http://{dead}/x</set-url>
               </send-request>
               <set-header name="x-null" exists-action="override">
                 <value>@((context.Variables["r"] == null).ToString())</value>
               </set-header>"#
        )
    };
    let ignored = TestGateway::start(&api_doc(backend, &inbound(&call(true)))).await;
    let a = get(&ignored.url("/api/x"), &[]).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.backend_header("x-null").as_deref(), Some("True"));

    let policy = format!(
        "<policies><inbound>{}</inbound><on-error><return-response><set-status code=\"599\"/><set-body>@(context.LastError.Source + \"|\" + context.LastError.Reason)</set-body></return-response></on-error></policies>",
        call(false)
    );
    let failing = TestGateway::start(&api_doc(backend, &policy)).await;
    let a = get(&failing.url("/api/x"), &[]).await;
    assert_eq!(a.status, 599);
    assert_eq!(&a.body[..], b"send-request|BackendConnectionFailure");
}

#[tokio::test]
async fn send_request_copy_mode_copies_the_current_request() {
    let backend = start_backend().await;
    let policy = inbound(
        r#"<send-request mode="copy" response-variable-name="r">
             <set-header name="x-copy" exists-action="override"><value>1</value></set-header>
           </send-request>
           <return-response>
             <set-body>@(((IResponse)context.Variables["r"]).Body.As<string>())</set-body>
           </return-response>"#,
    );
    let gw = TestGateway::start(&api_doc(backend, &policy)).await;
    let a = get(&gw.url("/api/orig/path?z=9"), &[("x-client", "c")]).await;
    let j = a.json();
    assert_eq!(j["path"], "/orig/path");
    assert_eq!(j["query"], "z=9");
    assert_eq!(j["headers"]["x-client"], "c");
    assert_eq!(j["headers"]["x-copy"], "1");
}

#[tokio::test]
async fn send_one_way_request_does_not_wait_and_reaches_the_server() {
    let backend = start_backend().await;
    let (side, hits) = counting_server("{}").await;
    let policy = inbound(&format!(
        r#"<send-one-way-request mode="new">
             <set-url>http://{side}/log</set-url>
             <set-method>POST</set-method>
             <set-body>hello</set-body>
           </send-one-way-request>"#
    ));
    let gw = TestGateway::start(&api_doc(backend, &policy)).await;
    let a = get(&gw.url("/api/x"), &[]).await;
    assert_eq!(a.status, 200);
    for _ in 0..50 {
        if hits.load(Ordering::SeqCst) == 1 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the one-way request never arrived");
}

/// A server that holds each request until `n` are in at once and then answers them all with
/// the path asked for: calls sent one after another never get an answer.
async fn rendezvous_server(n: usize) -> SocketAddr {
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    serve_async(move |req| {
        let barrier = barrier.clone();
        async move {
            barrier.wait().await;
            (200, format!("\"{}\"", req.uri().path()))
        }
    })
    .await
}

/// `<wait>` around `send-request`s, then a `return-response` listing `variables`, each as
/// its body or `-` when unset.
fn waiting_policy(mode: &str, calls: &[(&str, String)]) -> String {
    let sends: String = calls
        .iter()
        .map(|(name, url)| {
            format!(r#"<send-request response-variable-name="{name}" timeout="5"><set-url>{url}</set-url></send-request>"#)
        })
        .collect();
    let shown: Vec<String> = calls
        .iter()
        .map(|(name, _)| {
            format!(r#"(context.Variables.ContainsKey("{name}") ? ((IResponse)context.Variables["{name}"]).Body.As<string>() : "-")"#)
        })
        .collect();
    inbound(&format!(
        r#"<wait for="{mode}">{sends}</wait><return-response><set-body>@({})</set-body></return-response>"#,
        shown.join(" + \",\" + ")
    ))
}

#[tokio::test]
async fn wait_all_sends_its_calls_side_by_side() {
    let backend = start_backend().await;
    let meet = rendezvous_server(3).await;
    let calls = [
        ("a", format!("http://{meet}/a")),
        ("b", format!("http://{meet}/b")),
        ("c", format!("http://{meet}/c")),
    ];
    let gw = TestGateway::start(&api_doc(backend, &waiting_policy("all", &calls))).await;
    // Sent one at a time, the first call would wait for the other two until its timeout.
    let a = get(&gw.url("/api/x"), &[]).await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(&a.body[..], br#""/a","/b","/c""#);
}

#[tokio::test]
async fn wait_any_stores_the_first_answer_and_leaves_the_rest() {
    let backend = start_backend().await;
    let calls = [
        ("slow", format!("http://{backend}/slow/3000")),
        ("fast", format!("http://{backend}/fast")),
    ];
    let gw = TestGateway::start(&api_doc(backend, &waiting_policy("any", &calls))).await;
    let a = get(&gw.url("/api/x"), &[]).await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let body = String::from_utf8_lossy(&a.body);
    let (slow, fast) = body.split_once(",").unwrap();
    assert_eq!(slow, "-", "for=any went on waiting for the slow call");
    assert!(fast.contains("/fast"), "{fast}");
}

#[tokio::test]
async fn wait_any_ends_with_the_first_child_run_in_place() {
    let backend = start_backend().await;
    let policy = inbound(&format!(
        r#"<wait for="any">
             <send-request response-variable-name="slow" timeout="5"><set-url>http://{backend}/slow/3000</set-url></send-request>
             <choose><when condition="@(true)"><set-variable name="first" value="ran" /></when></choose>
             <choose><when condition="@(true)"><set-variable name="second" value="ran" /></when></choose>
           </wait>
           <return-response><set-body>@(string.Join(",", new[] {{ "slow", "first", "second" }}.Select(n => context.Variables.ContainsKey(n) ? n : "-")))</set-body></return-response>"#
    ));
    let gw = TestGateway::start(&api_doc(backend, &policy)).await;
    let a = get(&gw.url("/api/x"), &[]).await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(&a.body[..], b"-,first,-");
}

#[tokio::test]
async fn cache_values_round_trip_default_and_remove() {
    let backend = start_backend().await;
    let policy = inbound(
        r#"<choose>
             <when condition="@(context.Request.Headers.GetValueOrDefault(&quot;x-op&quot;, &quot;&quot;) == &quot;store&quot;)">
               <cache-store-value key="@(&quot;k-&quot; + context.Request.Headers.GetValueOrDefault(&quot;x-key&quot;, &quot;&quot;))" value="@(new JObject(new JProperty(&quot;n&quot;, 5)))" duration="60"/>
             </when>
             <when condition="@(context.Request.Headers.GetValueOrDefault(&quot;x-op&quot;, &quot;&quot;) == &quot;remove&quot;)">
               <cache-remove-value key="@(&quot;k-&quot; + context.Request.Headers.GetValueOrDefault(&quot;x-key&quot;, &quot;&quot;))"/>
             </when>
           </choose>
           <cache-lookup-value key="@(&quot;k-&quot; + context.Request.Headers.GetValueOrDefault(&quot;x-key&quot;, &quot;&quot;))" default-value="none" variable-name="found" caching-type="prefer-external"/>
           <set-header name="x-found" exists-action="override"><value>@(context.Variables["found"].ToString().Replace("\n", "").Replace(" ", ""))</value></set-header>"#,
    );
    let gw = TestGateway::start(&api_doc(backend, &policy)).await;
    let found = |a: &Answer| a.backend_header("x-found").unwrap();
    let a = get(&gw.url("/api/x"), &[("x-key", "a")]).await;
    assert_eq!(found(&a), "none");
    get(&gw.url("/api/x"), &[("x-key", "a"), ("x-op", "store")]).await;
    let a = get(&gw.url("/api/x"), &[("x-key", "a")]).await;
    assert_eq!(found(&a), r#"{"n":5}"#);
    let a = get(&gw.url("/api/x"), &[("x-key", "b")]).await;
    assert_eq!(found(&a), "none", "another key");
    get(&gw.url("/api/x"), &[("x-key", "a"), ("x-op", "remove")]).await;
    let a = get(&gw.url("/api/x"), &[("x-key", "a")]).await;
    assert_eq!(found(&a), "none", "removed");
}

#[tokio::test]
async fn cache_values_survive_a_configuration_change() {
    let backend = start_backend().await;
    let store = inbound(r#"<cache-store-value key="kept" value="v1" duration="60"/>"#);
    let gw = TestGateway::start(&api_doc(backend, &store)).await;
    get(&gw.url("/api/x"), &[]).await;
    let read = inbound(
        r#"<cache-lookup-value key="kept" variable-name="v"/>
           <set-header name="x-v" exists-action="override"><value>@((string)context.Variables.GetValueOrDefault("v", "missing"))</value></set-header>"#,
    );
    gw.gateway
        .apply(&snapshot(&api_doc(backend, &read), 2))
        .unwrap();
    let a = get(&gw.url("/api/x"), &[]).await;
    assert_eq!(a.backend_header("x-v").as_deref(), Some("v1"));
}

/// `cache-lookup`/`cache-store` around a counting backend.
async fn caching_gateway(lookup_attrs: &str, store_attrs: &str) -> (TestGateway, Arc<AtomicUsize>) {
    let (backend, hits) = counting_server(r#"{"fresh":true}"#).await;
    let policy = format!(
        r#"<policies><inbound><cache-lookup vary-by-developer="false" vary-by-developer-groups="false" {lookup_attrs}><vary-by-query-parameter>v</vary-by-query-parameter></cache-lookup></inbound><backend><base/></backend><outbound><cache-store {store_attrs}/></outbound><on-error><base/></on-error></policies>"#
    );
    (TestGateway::start(&api_doc(backend, &policy)).await, hits)
}

#[tokio::test]
async fn cache_hits_are_served_without_touching_the_backend() {
    let (gw, hits) = caching_gateway(
        r#"downstream-caching-type="public" must-revalidate="true""#,
        r#"duration="60""#,
    )
    .await;
    let first = get(&gw.url("/api/items?v=1"), &[]).await;
    assert_eq!(first.status, 200);
    assert_eq!(
        first.headers["cache-control"],
        "public, max-age=60, must-revalidate"
    );
    let again = get(&gw.url("/api/items?v=1&other=x"), &[]).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body, first.body);
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "the second answer came from the cache"
    );
    get(&gw.url("/api/items?v=2"), &[]).await;
    assert_eq!(
        hits.load(Ordering::SeqCst),
        2,
        "a varying query parameter is another entry"
    );
    get(&gw.url("/api/other?v=1"), &[]).await;
    assert_eq!(
        hits.load(Ordering::SeqCst),
        3,
        "another path is another entry"
    );
    // POST is never cached; Authorization is private by default.
    let post = Request::post(gw.url("/api/items?v=1"))
        .body(empty())
        .unwrap();
    send(post).await;
    get(&gw.url("/api/items?v=1"), &[("authorization", "Bearer x")]).await;
    assert_eq!(hits.load(Ordering::SeqCst), 5);
}

#[tokio::test]
async fn cache_store_keeps_only_200s_and_entries_expire() {
    let (side, hits) = {
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        let addr = serve(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
            (404, "{}".to_owned())
        })
        .await;
        (addr, hits)
    };
    let policy = r#"<policies><inbound><cache-lookup vary-by-developer="false" vary-by-developer-groups="false"/></inbound><backend><base/></backend><outbound><cache-store duration="1"/></outbound></policies>"#;
    let gw = TestGateway::start(&api_doc(side, policy)).await;
    get(&gw.url("/api/x"), &[]).await;
    get(&gw.url("/api/x"), &[]).await;
    assert_eq!(hits.load(Ordering::SeqCst), 2, "a 404 is not cached");

    let (gw, hits) = caching_gateway("", r#"duration="1""#).await;
    get(&gw.url("/api/x"), &[]).await;
    get(&gw.url("/api/x"), &[]).await;
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    get(&gw.url("/api/x"), &[]).await;
    assert_eq!(hits.load(Ordering::SeqCst), 2, "expired after its duration");
}

#[test]
fn developer_groups_are_refused_by_name() {
    // caching-type="external" is the gateway's to accept or refuse (see redis_cache.rs).
    let doc = |xml: &str| {
        portico_policy::PolicyDocument::parse(xml)
            .unwrap_err()
            .to_string()
    };
    let e = doc(
        r#"<policies><inbound><cache-lookup vary-by-developer="false" vary-by-developer-groups="true"/></inbound></policies>"#,
    );
    assert!(e.contains("vary-by-developer-groups"), "{e}");
}
