//! Routing and subscription keys, end to end: a real gateway in front of a real backend.

mod common;

use common::*;

fn document(backend: std::net::SocketAddr) -> String {
    format!(
        r#"
apis:
  - id: echo
    path: echo
    serviceUrl: http://{backend}/base
    operations:
      - {{ id: get-user, method: GET, urlTemplate: "/users/{{id}}" }}
      - {{ id: get-me, method: GET, urlTemplate: "/users/me" }}
      - {{ id: search, method: GET, urlTemplate: "/search?q={{q}}" }}
      - {{ id: files, method: GET, urlTemplate: "/files/*" }}
      - {{ id: post-any, method: POST, urlTemplate: "/*" }}
  - id: echo-v2
    path: echo/v2
    serviceUrl: http://{backend}/v2
    operations:
      - {{ id: all, method: "*", urlTemplate: "/*" }}
  - id: root
    path: ""
    serviceUrl: http://{backend}/root
    subscriptionRequired: false
    operations:
      - {{ id: all, method: GET, urlTemplate: "/*" }}
  - id: custom-names
    path: custom
    serviceUrl: http://{backend}
    subscriptionKeyParameterNames: {{ header: X-Api-Key, query: apikey }}
    operations:
      - {{ id: all, method: GET, urlTemplate: "/*" }}
  - id: https-only
    path: secure
    serviceUrl: http://{backend}
    protocols: [https]
    subscriptionRequired: false
    operations:
      - {{ id: all, method: GET, urlTemplate: "/*" }}
  - id: no-ops
    path: empty
    serviceUrl: http://{backend}
    subscriptionRequired: false
products:
  - {{ id: gold, apis: [echo, echo-v2] }}
  - {{ id: silver, apis: [custom-names] }}
subscriptions:
  - {{ id: all-apis, scope: /apis, primaryKey: key-all, secondaryKey: key-all-2 }}
  - {{ id: only-echo, scope: /apis/echo, primaryKey: key-echo }}
  - {{ id: gold-sub, scope: /products/gold, primaryKey: key-gold }}
  - {{ id: silver-sub, scope: /products/silver, primaryKey: key-silver }}
  - {{ id: suspended, scope: /apis, primaryKey: key-suspended, state: suspended }}
"#
    )
}

async fn gateway() -> TestGateway {
    let backend = start_backend().await;
    TestGateway::start(&document(backend)).await
}

const KEY: (&str, &str) = ("Ocp-Apim-Subscription-Key", "key-all");

#[tokio::test]
async fn api_is_chosen_by_longest_path_prefix_ignoring_case() {
    let gw = gateway().await;
    let a = get(&gw.url("/echo/v2/things?x=1"), &[KEY]).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.json()["path"], "/v2/things");
    assert_eq!(a.json()["query"], "x=1");
    let a = get(&gw.url("/ECHO/Users/42"), &[KEY]).await;
    assert_eq!(a.json()["path"], "/base/Users/42", "suffix keeps its case");
    // "echoes" is not under "echo": the empty-path API takes it.
    let a = get(&gw.url("/echoes/x"), &[]).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.json()["path"], "/root/echoes/x");
}

#[tokio::test]
async fn operations_match_templates_queries_and_wildcards() {
    let gw = gateway().await;
    let log_ops = |lines: &[serde_json::Value]| -> Vec<String> {
        lines
            .iter()
            .map(|l| l["operation"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    for path in [
        "/echo/users/me",
        "/echo/users/7",
        "/echo/search?q=rust",
        "/echo/files/a/b/c.txt",
    ] {
        let a = get(&gw.url(path), &[KEY]).await;
        assert_eq!(a.status, 200, "{path}");
    }
    let a = send(
        http::Request::post(gw.url("/echo/anything/at/all"))
            .header(KEY.0, KEY.1)
            .body(full("x"))
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, 200);
    let ops = log_ops(&gw.access_log_lines().await);
    assert_eq!(ops, ["get-me", "get-user", "search", "files", "post-any"]);

    // No operation for the method, a missing query parameter, or a path beyond a template.
    for (method, path) in [
        ("DELETE", "/echo/users/7"),
        ("GET", "/echo/search"),
        ("GET", "/echo/users/7/x"),
    ] {
        let req = http::Request::builder()
            .method(method)
            .uri(gw.url(path))
            .header(KEY.0, KEY.1)
            .body(empty())
            .unwrap();
        assert_apim_error(&send(req).await, 404, "Resource not found");
    }
}

#[tokio::test]
async fn unmatched_requests_get_apims_404() {
    let backend = start_backend().await;
    let doc = format!(
        "apis:\n  - {{ id: a, path: a, serviceUrl: 'http://{backend}', operations: [{{ id: o, method: GET, urlTemplate: /x }}] }}\n"
    );
    let gw = TestGateway::start(&doc).await;
    let a = get(&gw.url("/nope"), &[]).await;
    assert_apim_error(&a, 404, "Resource not found");
    assert_eq!(a.json()["message"], "Resource not found");
    // An API without operations answers nothing.
    let gw = gateway().await;
    assert_apim_error(
        &get(&gw.url("/empty/x"), &[]).await,
        404,
        "Resource not found",
    );
}

#[tokio::test]
async fn protocols_are_enforced() {
    let gw = gateway().await;
    // The test listener is plain HTTP; an https-only API does not exist on it.
    assert_apim_error(
        &get(&gw.url("/secure/x"), &[]).await,
        404,
        "Resource not found",
    );
}

#[tokio::test]
async fn each_subscription_scope_grants_what_it_covers() {
    let gw = gateway().await;
    let cases = [
        ("key-all", "/echo/users/1", 200),
        ("key-all-2", "/echo/users/1", 200), // the secondary key works like the primary
        ("key-all-2", "/custom/x", 401),     // custom API takes its key from X-Api-Key only
        ("key-echo", "/echo/users/1", 200),
        ("key-echo", "/echo/v2/x", 401),
        ("key-gold", "/echo/v2/x", 200),
        ("key-gold", "/echo/users/1", 200),
        ("key-silver", "/echo/users/1", 401),
        ("key-suspended", "/echo/users/1", 401),
        ("no-such-key", "/echo/users/1", 401),
    ];
    for (key, path, status) in cases {
        let a = get(&gw.url(path), &[("Ocp-Apim-Subscription-Key", key)]).await;
        if status == 401 {
            let expected = if path.starts_with("/custom") {
                MISSING_KEY
            } else {
                INVALID_KEY
            };
            assert_apim_error(&a, 401, expected);
        } else {
            assert_eq!(a.status, status, "{key} on {path}");
        }
    }
    let log = gw.access_log_lines().await;
    let gold = log
        .iter()
        .find(|l| l["subscription"] == "gold-sub")
        .unwrap();
    assert_eq!(gold["product"], "gold");
    let all = log
        .iter()
        .find(|l| l["subscription"] == "all-apis")
        .unwrap();
    assert!(all["product"].is_null());
}

#[tokio::test]
async fn missing_key_is_401_and_open_apis_need_none() {
    let gw = gateway().await;
    assert_apim_error(&get(&gw.url("/echo/users/1"), &[]).await, 401, MISSING_KEY);
    assert_eq!(get(&gw.url("/anything"), &[]).await.status, 200);
    // A key sent to an open API must still be valid, as in APIM.
    let a = get(
        &gw.url("/anything"),
        &[("Ocp-Apim-Subscription-Key", "wrong")],
    )
    .await;
    assert_apim_error(&a, 401, INVALID_KEY);
}

#[tokio::test]
async fn keys_come_from_header_or_query_and_are_never_forwarded() {
    let gw = gateway().await;
    let a = get(
        &gw.url("/echo/users/1?a=1&subscription-key=key-all&b=2"),
        &[],
    )
    .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.json()["query"], "a=1&b=2");
    let a = get(&gw.url("/echo/users/1"), &[KEY]).await;
    assert_eq!(a.backend_header("ocp-apim-subscription-key"), None);

    // Per-API names.
    let a = get(&gw.url("/custom/x"), &[("X-Api-Key", "key-silver")]).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.backend_header("x-api-key"), None);
    let a = get(&gw.url("/custom/x?apikey=key-silver"), &[]).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.json()["query"], serde_json::Value::Null);
    let a = get(&gw.url("/custom/x?subscription-key=key-silver"), &[]).await;
    assert_apim_error(&a, 401, MISSING_KEY);

    // Keys never reach the access log.
    let lines = gw.access_log_lines().await; // waits for the writer
    assert_eq!(lines.len(), 5, "{lines:?}");
    let raw = String::from_utf8(gw.access_log.lock().unwrap().clone()).unwrap();
    assert!(
        !raw.contains("key-all") && !raw.contains("key-silver"),
        "{raw}"
    );
}
