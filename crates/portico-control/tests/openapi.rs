//! `GET /openapi.json`: the document is well-formed OpenAPI 3 covering every path shape, every
//! `$ref` resolves, and real answers of the API (in-process, over a real SQLite file) match
//! the schemas the document gives for their path, method and status.

mod api_client;

use api_client::{echo_api, Answer, Api};
use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use portico_control::store::Kind;
use serde_json::{json, Value};
use tower::ServiceExt;

/// The document as the API serves it, fetched without the admin token.
async fn served(api: &Api) -> Value {
    let req = Request::get("/openapi.json").body(Body::empty()).unwrap();
    let resp = api.router.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "the document is public");
    assert_eq!(resp.headers()["content-type"], "application/json");
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes).unwrap()
}

/// Every `$ref` in `value`.
fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r);
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

/// Whether an OpenAPI path template (`/apis/{apiId}`) has the shape (`apis`, `*`).
fn matches(template: &str, shape: &[&str]) -> bool {
    let segments: Vec<&str> = template.trim_start_matches('/').split('/').collect();
    segments.len() == shape.len()
        && segments.iter().zip(shape).all(|(got, want)| {
            if *want == "*" {
                got.starts_with('{') && got.ends_with('}')
            } else {
                got == want
            }
        })
}

#[tokio::test]
async fn the_document_is_openapi_3_and_covers_every_shape() {
    let api = Api::new().await;
    let doc = served(&api).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let paths = doc["paths"].as_object().unwrap();
    for (shape, kind) in Kind::shapes() {
        let template = paths
            .keys()
            .find(|t| matches(t, shape))
            .unwrap_or_else(|| panic!("no path for {kind:?} ({shape:?})"));
        for method in ["get", "put", "delete"] {
            let op = &paths[template][method];
            for status in ["401", "404"] {
                assert!(
                    op["responses"][status].is_object(),
                    "{method} {template} {status}"
                );
            }
        }
        if shape.last() == Some(&"*") {
            let collection = &shape[..shape.len() - 1];
            assert!(
                paths.keys().any(|t| matches(t, collection)),
                "{collection:?}"
            );
        }
    }
    for path in ["/apply", "/export", "/openapi.json"] {
        assert!(paths.contains_key(path), "{path}");
    }
    assert_eq!(doc["paths"]["/openapi.json"]["get"]["security"], json!([]));
    assert!(doc["security"][0]["bearerAuth"].is_array());

    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(all.len() > 50, "schemas are shared by reference");
    for r in all {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("external $ref {r}"));
        assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
    }
    let mut ids = Vec::new();
    for item in paths.values() {
        for op in item.as_object().unwrap().values() {
            ids.push(op["operationId"].as_str().unwrap().to_owned());
        }
    }
    for item in paths.values() {
        for op in item.as_object().unwrap().values() {
            for response in op["responses"].as_object().unwrap().values() {
                for link in response["links"]
                    .as_object()
                    .into_iter()
                    .flat_map(|l| l.values())
                {
                    let target = link["operationId"]
                        .as_str()
                        .expect("links name an operationId");
                    assert!(ids.iter().any(|id| id == target), "link to {target}");
                }
            }
        }
    }
    let count = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), count, "operation ids are unique");
}

/// Checks an answer against the document's schema for it (and its `ETag` where documented).
fn conforms(doc: &Value, template: &str, method: &str, answer: &Answer) {
    let status = answer.status.as_str();
    let response = &doc["paths"][template][method]["responses"][status];
    assert!(
        response.is_object(),
        "{method} {template} answered {status}, which the document does not list: {}",
        answer.body
    );
    if response["headers"]["ETag"].is_object() {
        assert!(
            answer.etag.is_some(),
            "{method} {template} {status}: no ETag"
        );
    }
    let Some(schema) = response["content"]["application/json"].get("schema") else {
        assert!(
            answer.body.is_null(),
            "{method} {template} {status} has no body"
        );
        return;
    };
    // The schema, resolved against the whole document (its components).
    let mut root = doc.clone();
    root.as_object_mut().unwrap().remove("paths");
    root["allOf"] = json!([schema]);
    let validator = jsonschema::draft202012::options().build(&root).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&answer.body)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {template} {status}: {errors:#?}\n{}",
        answer.body
    );
}

#[tokio::test]
async fn real_answers_match_their_schemas() {
    let api = Api::new().await;
    let doc = served(&api).await;
    let check = |t: &str, m: &str, a: &Answer| conforms(&doc, t, m, a);

    check(
        "/apis/{apiId}",
        "put",
        &api.put("/apis/echo", echo_api()).await,
    );
    check(
        "/apis/{apiId}",
        "put",
        &api.put("/apis/echo", echo_api()).await,
    );
    check(
        "/apis/{apiId}",
        "get",
        &api.call("GET", "/apis/echo", None, &[]).await,
    );
    check(
        "/apis/{apiId}",
        "get",
        &api.call("GET", "/apis/none", None, &[]).await,
    );
    let conflict = api.put("/apis/other", echo_api()).await;
    assert_eq!(conflict.status, StatusCode::CONFLICT);
    check("/apis/{apiId}", "put", &conflict);
    let bad = api
        .put("/apis/bad", json!({"path": "x", "colour": "red"}))
        .await;
    check("/apis/{apiId}", "put", &bad);
    let stale = api
        .call(
            "PUT",
            "/apis/echo",
            Some(json!({"properties": echo_api()})),
            &[("if-match", "\"0\"")],
        )
        .await;
    check("/apis/{apiId}", "put", &stale);
    let op = json!({"method": "GET", "urlTemplate": "/users/{id}"});
    check(
        "/apis/{apiId}/operations/{operationId}",
        "put",
        &api.put("/apis/echo/operations/get", op).await,
    );
    let policy =
        json!({"format": "xml", "value": "<policies><inbound><base/></inbound></policies>"});
    check(
        "/apis/{apiId}/policies/policy",
        "put",
        &api.put("/apis/echo/policies/policy", policy).await,
    );
    let broken = json!({"value": "<policies><inbound>"});
    check(
        "/policies/policy",
        "put",
        &api.put("/policies/policy", broken).await,
    );

    let page = api.call("GET", "/apis?$top=1", None, &[]).await;
    check("/apis", "get", &page);
    check(
        "/apis",
        "get",
        &api.call("GET", "/apis?$top=x", None, &[]).await,
    );
    check(
        "/apis/{apiId}/operations",
        "get",
        &api.call("GET", "/apis/echo/operations", None, &[]).await,
    );

    let sub = api.put("/subscriptions/s", json!({"scope": "/apis"})).await;
    check("/subscriptions/{subscriptionId}", "put", &sub);
    let secrets = api
        .call("POST", "/subscriptions/s/listSecrets", None, &[])
        .await;
    check(
        "/subscriptions/{subscriptionId}/listSecrets",
        "post",
        &secrets,
    );
    let regenerated = api
        .call("POST", "/subscriptions/s/regeneratePrimaryKey", None, &[])
        .await;
    check(
        "/subscriptions/{subscriptionId}/regeneratePrimaryKey",
        "post",
        &regenerated,
    );
    let nv = json!({"value": "s3cret", "secret": true});
    check(
        "/namedValues/{namedValueId}",
        "put",
        &api.put("/namedValues/k", nv).await,
    );
    let value = api
        .call("POST", "/namedValues/k/listValue", None, &[])
        .await;
    check("/namedValues/{namedValueId}/listValue", "post", &value);

    check(
        "/gateways/{gatewayId}",
        "put",
        &api.put("/gateways/g", json!({})).await,
    );
    let token = json!({"keyType": "primary", "expiry": "2000-01-01T00:00:00Z"});
    let past = api
        .call("POST", "/gateways/g/generateToken", Some(token), &[])
        .await;
    check("/gateways/{gatewayId}/generateToken", "post", &past);
    check(
        "/products/{productId}/apis/{apiId}",
        "put",
        &api.put("/products/p/apis/echo", json!({})).await,
    );

    check(
        "/export",
        "get",
        &api.call("GET", "/export", None, &[]).await,
    );
    let export = api.call("GET", "/export", None, &[]).await.body;
    let applied = api
        .call("POST", "/apply?dryRun=true", Some(export), &[])
        .await;
    check("/apply", "post", &applied);
    check(
        "/apply",
        "post",
        &api.call("POST", "/apply?prune=maybe", None, &[]).await,
    );
    check(
        "/apis/{apiId}",
        "delete",
        &api.call("DELETE", "/apis/echo", None, &[]).await,
    );
}

#[tokio::test]
async fn answers_without_the_token_match_their_schema() {
    let api = Api::new().await;
    let doc = served(&api).await;
    let req = Request::get("/apis").body(Body::empty()).unwrap();
    let resp = api.router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let answer = Answer {
        status,
        etag: None,
        body: serde_json::from_slice(&bytes).unwrap(),
    };
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    conforms(&doc, "/apis", "get", &answer);
}
