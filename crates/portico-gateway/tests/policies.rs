//! Policies executed by the gateway, over real sockets: each policy of the issue-4 set,
//! scope composition, named values and fragments, on-error and LastError, short-circuits,
//! unhandled errors and the body cap. The echo backend reflects what it received.

mod common;

use common::*;
use http::Request;
use std::net::SocketAddr;

/// Indents `xml` so it can sit under a `policy: |` key at `depth` spaces.
fn block(xml: &str, depth: usize) -> String {
    let pad = " ".repeat(depth);
    xml.trim().lines().map(|l| format!("{pad}{l}\n")).collect()
}

/// One open API `api` (operations `all` = `* /*` and `user` = `GET /users/{id}`) with an
/// API-scope policy, in front of `backend`.
fn api_doc(backend: SocketAddr, api_policy: &str) -> String {
    format!(
        "apis:\n  - id: api\n    path: api\n    serviceUrl: 'http://{backend}'\n    subscriptionRequired: false\n    operations:\n      - {{ id: user, method: GET, urlTemplate: '/users/{{id}}' }}\n      - {{ id: all, method: '*', urlTemplate: '/*' }}\n    policy: |\n{}",
        block(api_policy, 6)
    )
}

async fn gateway_with(api_policy: &str) -> TestGateway {
    let backend = start_backend().await;
    TestGateway::start(&api_doc(backend, api_policy)).await
}

fn inbound(xml: &str) -> String {
    format!("<policies><inbound>{xml}</inbound><backend><base/></backend><outbound><base/></outbound><on-error><base/></on-error></policies>")
}

#[tokio::test]
async fn scopes_compose_global_product_api_operation_with_base() {
    let backend = start_backend().await;
    let append = |v: &str| {
        format!("<policies><inbound><base/><set-header name=\"x-order\" exists-action=\"append\"><value>{v}</value></set-header></inbound><outbound><base/><set-header name=\"x-out\" exists-action=\"append\"><value>{v}</value></set-header></outbound></policies>")
    };
    let yaml = format!(
        "policy: |\n{global}apis:\n  - id: api\n    path: api\n    serviceUrl: 'http://{backend}'\n    policy: |\n{api}    operations:\n      - id: all\n        method: '*'\n        urlTemplate: '/*'\n        policy: |\n{op}products:\n  - id: gold\n    apis: [api]\n    policy: |\n{product}  - id: plain\n    apis: [api]\nsubscriptions:\n  - {{ id: gold-sub, scope: /products/gold, primaryKey: key-gold }}\n  - {{ id: plain-sub, scope: /products/plain, primaryKey: key-plain }}\n  - {{ id: all-sub, scope: /apis, primaryKey: key-all }}\n",
        global = block(&append("global"), 2),
        api = block(&append("api"), 6),
        op = block(&append("operation"), 10),
        product = block(&append("product"), 6),
    );
    let gw = TestGateway::start(&yaml).await;
    let a = get(
        &gw.url("/api/x"),
        &[("ocp-apim-subscription-key", "key-gold")],
    )
    .await;
    assert_eq!(a.status, 200);
    assert_eq!(
        a.backend_header("x-order").as_deref(),
        Some("global, product, api, operation")
    );
    assert_eq!(a.headers["x-out"], "global, product, api, operation");
    for key in ["key-plain", "key-all"] {
        let a = get(&gw.url("/api/x"), &[("ocp-apim-subscription-key", key)]).await;
        assert_eq!(
            a.backend_header("x-order").as_deref(),
            Some("global, api, operation"),
            "{key}: a product without a policy (or none) adds no scope"
        );
    }
}

#[tokio::test]
async fn set_header_exists_actions_and_several_values() {
    let gw = gateway_with(&inbound(
        r#"<set-header name="x-over" exists-action="override"><value>new</value></set-header>
           <set-header name="x-skip" exists-action="skip"><value>new</value></set-header>
           <set-header name="x-skip-absent" exists-action="skip"><value>new</value></set-header>
           <set-header name="x-app" exists-action="append"><value>b</value><value>c</value></set-header>
           <set-header name="x-del" exists-action="delete"/>
           <set-header name="x-expr"><value>@(context.Request.Method + "!")</value></set-header>"#,
    ))
    .await;
    let a = get(
        &gw.url("/api/x"),
        &[
            ("x-over", "old"),
            ("x-skip", "old"),
            ("x-app", "a"),
            ("x-del", "1"),
        ],
    )
    .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.backend_header("x-over").as_deref(), Some("new"));
    assert_eq!(a.backend_header("x-skip").as_deref(), Some("old"));
    assert_eq!(a.backend_header("x-skip-absent").as_deref(), Some("new"));
    assert_eq!(a.backend_header("x-app").as_deref(), Some("a, b, c"));
    assert_eq!(a.backend_header("x-del"), None);
    assert_eq!(a.backend_header("x-expr").as_deref(), Some("GET!"));
}

#[tokio::test]
async fn outbound_headers_status_and_body_change_the_response() {
    let gw = gateway_with(
        r#"<policies><inbound><base/></inbound><outbound>
             <set-header name="content-type" exists-action="delete"/>
             <set-header name="x-backend-status"><value>@(context.Response.StatusCode.ToString())</value></set-header>
             <set-status code="201" reason="Made"/>
             <set-body>@(context.Response.Body.As<JObject>()["method"].ToString())</set-body>
           </outbound></policies>"#,
    )
    .await;
    let a = get(&gw.url("/api/x"), &[]).await;
    assert_eq!(a.status, 201);
    assert_eq!(a.headers["x-backend-status"], "200");
    assert!(a.headers.get("content-type").is_none());
    assert_eq!(&a.body[..], b"GET");
}

#[tokio::test]
async fn query_parameters_and_method_are_set() {
    let gw = gateway_with(&inbound(
        r#"<set-query-parameter name="added" exists-action="override"><value>a b</value></set-query-parameter>
           <set-query-parameter name="gone" exists-action="delete"/>
           <set-query-parameter name="kept" exists-action="skip"><value>no</value></set-query-parameter>
           <set-method>DELETE</set-method>"#,
    ))
    .await;
    let a = get(&gw.url("/api/x?gone=1&kept=yes"), &[]).await;
    let j = a.json();
    assert_eq!(j["method"], "DELETE");
    assert_eq!(j["query"], "kept=yes&added=a%20b");
}

#[tokio::test]
async fn rewrite_uri_uses_matched_parameters_and_copies_unmatched_ones() {
    let gw = gateway_with(
        r#"<policies><inbound><choose>
             <when condition="@(context.Request.Headers.GetValueOrDefault(&quot;x-copy&quot;, &quot;&quot;) == &quot;no&quot;)">
               <rewrite-uri template="/people/{id}/profile?v=2" copy-unmatched-params="false"/>
             </when>
             <otherwise><rewrite-uri template="people/{id}/profile?v=2"/></otherwise>
           </choose></inbound></policies>"#,
    )
    .await;
    let a = get(&gw.url("/api/users/42?keep=1"), &[]).await;
    let j = a.json();
    assert_eq!(j["path"], "/people/42/profile");
    assert_eq!(j["query"], "v=2&keep=1");
    let a = get(&gw.url("/api/users/42?keep=1"), &[("x-copy", "no")]).await;
    assert_eq!(a.json()["query"], "v=2");
}

#[tokio::test]
async fn choose_and_variables_pick_a_branch() {
    let gw = gateway_with(&inbound(
        r#"<set-variable name="tier" value="@(context.Request.Headers.GetValueOrDefault(&quot;x-tier&quot;, &quot;free&quot;))"/>
           <choose>
             <when condition="@((string)context.Variables[&quot;tier&quot;] == &quot;gold&quot;)">
               <set-header name="x-branch"><value>gold</value></set-header>
             </when>
             <when condition="@(context.Variables.GetValueOrDefault&lt;string&gt;(&quot;tier&quot;) == &quot;silver&quot;)">
               <set-header name="x-branch"><value>silver</value></set-header>
             </when>
             <otherwise><set-header name="x-branch"><value>@("other:" + context.Variables["tier"])</value></set-header></otherwise>
           </choose>"#,
    ))
    .await;
    for (tier, want) in [
        ("gold", "gold"),
        ("silver", "silver"),
        ("bronze", "other:bronze"),
    ] {
        let a = get(&gw.url("/api/x"), &[("x-tier", tier)]).await;
        assert_eq!(a.backend_header("x-branch").as_deref(), Some(want));
    }
    let a = get(&gw.url("/api/x"), &[]).await;
    assert_eq!(a.backend_header("x-branch").as_deref(), Some("other:free"));
}

async fn post(url: &str, body: impl Into<bytes::Bytes>) -> Answer {
    send(Request::post(url).body(full(body.into())).unwrap()).await
}

#[tokio::test]
async fn set_body_reads_the_request_body_and_find_and_replace_edits_bodies() {
    let gw = gateway_with(
        r#"<policies><inbound>
             <set-body>@{ var j = context.Request.Body.As<JObject>(); j["seen"] = true; return j.ToString(Newtonsoft.Json.Formatting.None); }</set-body>
             <find-and-replace from="true" to="&quot;yes&quot;"/>
           </inbound><outbound><find-and-replace from="yes" to="oui"/></outbound></policies>"#,
    )
    .await;
    let a = post(&gw.url("/api/x"), r#"{"a":1}"#).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.json(), serde_json::json!({"a": 1, "seen": "oui"}));
}

#[tokio::test]
async fn return_response_short_circuits_backend_and_outbound() {
    let (backend, accepted) = start_counting_backend().await;
    let policy = r#"<policies><inbound>
          <return-response>
            <set-status code="418" reason="Teapot"/>
            <set-header name="x-from"><value>policy</value></set-header>
            <set-body>@($"short {context.Request.Url.Path}")</set-body>
          </return-response>
          <set-header name="x-never"><value>1</value></set-header>
        </inbound><outbound><set-header name="x-outbound"><value>ran</value></set-header></outbound></policies>"#;
    let gw = TestGateway::start(&api_doc(backend, policy)).await;
    let a = get(&gw.url("/api/users/7"), &[]).await;
    assert_eq!(a.status, 418);
    assert_eq!(a.headers["x-from"], "policy");
    assert!(a.headers.get("x-outbound").is_none(), "outbound is skipped");
    assert_eq!(&a.body[..], b"short /users/7");
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[tokio::test]
async fn mock_response_answers_without_the_backend() {
    let gw = gateway_with(&inbound(
        r#"<mock-response status-code="202" content-type="application/json"/>"#,
    ))
    .await;
    let a = get(&gw.url("/api/x"), &[]).await;
    assert_eq!(a.status, 202);
    assert_eq!(a.headers["content-type"], "application/json");
    assert_eq!(&a.body[..], b"{}");
}

#[tokio::test]
async fn set_backend_service_by_url_and_by_backend_id() {
    let main = start_backend().await;
    let (other, other_count) = start_counting_backend().await;
    let policy = format!(
        r#"<policies><inbound><choose>
             <when condition="@(context.Request.Headers.ContainsKey(&quot;x-by-id&quot;))"><set-backend-service backend-id="other"/></when>
             <when condition="@(context.Request.Headers.ContainsKey(&quot;x-by-url&quot;))"><set-backend-service base-url="@(&quot;http://{other}/base&quot;)"/></when>
           </choose></inbound></policies>"#
    );
    let yaml = format!(
        "{}backends:\n  - {{ id: other, url: 'http://{other}/viaid' }}\n",
        api_doc(main, &policy)
    );
    let gw = TestGateway::start(&yaml).await;
    let a = get(&gw.url("/api/x"), &[("x-by-id", "1")]).await;
    assert_eq!(a.json()["path"], "/viaid/x");
    let a = get(&gw.url("/api/x"), &[("x-by-url", "1")]).await;
    assert_eq!(a.json()["path"], "/base/x");
    // Both targets share the address, so one pooled connection serves them.
    assert!(other_count.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    let a = get(&gw.url("/api/x"), &[]).await;
    assert_eq!(a.json()["path"], "/x");
}

#[tokio::test]
async fn forward_request_timeout_goes_to_on_error() {
    let gw = gateway_with(
        r#"<policies><inbound><base/></inbound>
           <backend><forward-request timeout="1"/></backend>
           <on-error><set-header name="x-error"><value>@(context.LastError.Source + "/" + context.LastError.Reason)</value></set-header></on-error>
           </policies>"#,
    )
    .await;
    let a = get(&gw.url("/api/slow/3000"), &[]).await;
    assert_apim_error(&a, 504, "The backend service did not respond");
    assert_eq!(a.headers["x-error"], "forward-request/Timeout");
    let a = get(&gw.url("/api/fast"), &[]).await;
    assert_eq!(a.status, 200);
}

#[tokio::test]
async fn expression_errors_reach_on_error_with_last_error() {
    let gw = gateway_with(
        r#"<policies><inbound>
             <set-header name="x-fine"><value>1</value></set-header>
             <set-variable name="n" value="@(int.Parse(context.Request.Headers.GetValueOrDefault(&quot;x-n&quot;, &quot;nope&quot;)))"/>
           </inbound>
           <on-error>
             <return-response>
               <set-status code="400"/>
               <set-body>@(string.Join("|", new[] { context.LastError.Source, context.LastError.Reason, context.LastError.Scope, context.LastError.Section, context.LastError.Path, context.LastError.PolicyId, context.LastError.Message.Length > 0 ? "message" : "" }))</set-body>
             </return-response>
           </on-error></policies>"#,
    )
    .await;
    let a = get(&gw.url("/api/x"), &[]).await;
    assert_eq!(a.status, 400);
    let text = String::from_utf8(a.body.to_vec()).unwrap();
    let parts: Vec<&str> = text.split('|').collect();
    assert_eq!(
        parts[..5],
        [
            "set-variable",
            "ExpressionValueEvaluationFailure",
            "API scope",
            "inbound",
            "inbound/set-variable[1]"
        ]
    );
    assert!(parts[5].starts_with("API scope, line 3"), "{text}");
    assert_eq!(parts[6], "message");
    let a = get(&gw.url("/api/x"), &[("x-n", "5")]).await;
    assert_eq!(a.status, 200);
}

#[tokio::test]
async fn unhandled_errors_answer_500_without_internals() {
    let gw = gateway_with(&inbound(
        r#"<set-header name="x-v"><value>@(context.Request.Headers["missing"][0])</value></set-header>"#,
    ))
    .await;
    let a = get(&gw.url("/api/x"), &[]).await;
    assert_apim_error(&a, 500, "Internal server error");
    let body = String::from_utf8_lossy(&a.body);
    assert!(
        !body.contains("missing") && !body.contains("set-header"),
        "{body}"
    );
    let log = gw.access_log_lines().await;
    assert_eq!(log.last().unwrap()["error"], "policy_error");
}

#[tokio::test]
async fn errors_inside_on_error_answer_500() {
    let gw = gateway_with(
        r#"<policies><inbound><set-status code="@(int.Parse(&quot;x&quot;))"/></inbound>
           <on-error><set-header name="x"><value>@(context.Request.Headers["nope"][0])</value></set-header></on-error></policies>"#,
    )
    .await;
    let a = get(&gw.url("/api/x"), &[]).await;
    assert_apim_error(&a, 500, "Internal server error");
}

#[tokio::test]
async fn named_values_and_fragments_are_substituted_at_compile() {
    let backend = start_backend().await;
    let yaml = format!(
        "{}namedValues:\n  - {{ id: greeting, value: hello }}\n  - {{ id: token, displayName: api-token, value: s3cr3t, secret: true }}\npolicyFragments:\n  - id: tag\n    value: |\n      <fragment><set-header name=\"x-frag\"><value>{{{{greeting}}}} from a fragment</value></set-header></fragment>\n",
        api_doc(
            backend,
            r#"<policies><inbound><include-fragment fragment-id="tag"/>
                 <set-header name="authorization"><value>Bearer {{api-token}}</value></set-header>
                 <trace source="test" severity="information"><message>token {{api-token}}</message></trace>
               </inbound></policies>"#
        )
    );
    let gw = TestGateway::start(&yaml).await;
    let a = get(&gw.url("/api/x"), &[]).await;
    assert_eq!(
        a.backend_header("x-frag").as_deref(),
        Some("hello from a fragment")
    );
    assert_eq!(
        a.backend_header("authorization").as_deref(),
        Some("Bearer s3cr3t")
    );
}

#[tokio::test]
async fn request_bodies_over_the_cap_are_refused_with_413() {
    let gw = gateway_with(&inbound(
        r#"<set-variable name="len" value="@(context.Request.Body.As<string>(preserveContent: true).Length)"/>"#,
    ))
    .await;
    let big = vec![b'a'; portico_gateway::policy::BODY_CAP + 1];
    let a = post(&gw.url("/api/x"), big).await;
    assert_apim_error(&a, 413, "The request body is larger");
    let a = post(&gw.url("/api/count"), "small").await;
    assert_eq!(&a.body[..], b"5", "a preserved body is still forwarded");
}

#[tokio::test]
async fn emit_metric_counts_in_prometheus() {
    let gw = gateway_with(&inbound(
        r#"<emit-metric name="calls" namespace="tests" value="2">
             <dimension name="API ID"/>
             <dimension name="Caller" value="@(context.Request.Headers.GetValueOrDefault(&quot;x-caller&quot;, &quot;anon&quot;))"/>
           </emit-metric>"#,
    ))
    .await;
    get(&gw.url("/api/x"), &[("x-caller", "ci")]).await;
    get(&gw.url("/api/x"), &[("x-caller", "ci")]).await;
    let text = gw.gateway.metrics().render();
    let line = r#"portico_policy_metric_total{metric="calls",namespace="tests",dim_api_id="api",dim_caller="ci"} 4"#;
    assert!(text.contains(line), "{text}");
}

#[tokio::test]
async fn a_snapshot_whose_policies_do_not_compile_is_refused() {
    let backend = start_backend().await;
    let gw = gateway_with(&inbound(
        "<set-header name=\"x-v\"><value>1</value></set-header>",
    ))
    .await;
    let bad = api_doc(
        backend,
        &inbound(r#"<set-backend-service backend-id="does-not-exist"/>"#),
    );
    let err = gw.gateway.apply(&snapshot(&bad, 2)).unwrap_err();
    assert!(err.contains("does-not-exist"), "{err}");
    let a = get(&gw.url("/api/x"), &[]).await;
    assert_eq!(
        a.backend_header("x-v").as_deref(),
        Some("1"),
        "the old config serves"
    );
}
