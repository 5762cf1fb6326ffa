//! The management API in-process (tower's `oneshot`) over a real SQLite file.

mod api_client;

use api_client::{echo_api, Api};
use axum::body::Body;
use http::{Request, StatusCode};
use serde_json::json;
use tower::ServiceExt;

#[tokio::test]
async fn resources_are_created_read_and_replaced_with_etags() {
    let api = Api::new().await;
    let created = api.put("/apis/echo", echo_api()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["id"], "/apis/echo");
    assert_eq!(created.body["name"], "echo");
    assert_eq!(created.body["properties"]["path"], "echo");
    let etag = created.etag.unwrap();

    let read = api.call("GET", "/apis/echo", None, &[]).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.etag.as_deref(), Some(etag.as_str()));

    // A stale If-Match is refused and changes nothing.
    let mut changed = echo_api();
    changed["displayName"] = json!("Echo v2");
    let stale = api
        .call(
            "PUT",
            "/apis/echo",
            Some(json!({ "properties": changed })),
            &[("if-match", "\"999\"")],
        )
        .await;
    assert_eq!(
        stale.status,
        StatusCode::PRECONDITION_FAILED,
        "{}",
        stale.body
    );
    assert_eq!(stale.body["error"]["code"], "PreconditionFailed");
    let replaced = api
        .call(
            "PUT",
            "/apis/echo",
            Some(json!({ "properties": changed })),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(replaced.status, StatusCode::OK);
    assert_ne!(replaced.etag.unwrap(), etag);

    let op = api
        .put(
            "/apis/echo/operations/get-user",
            json!({"method": "GET", "urlTemplate": "/users/{id}"}),
        )
        .await;
    assert_eq!(op.status, StatusCode::CREATED, "{}", op.body);
    let missing = api.call("GET", "/apis/nope", None, &[]).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.body["error"]["code"], "ResourceNotFound");
}

#[tokio::test]
async fn invalid_writes_are_refused_naming_the_problem() {
    let api = Api::new().await;
    let bad = api
        .put(
            "/apis/a",
            json!({"path": "/slashes/", "serviceUrl": "ftp://x"}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let details = bad.body["error"]["details"].as_array().unwrap();
    assert!(
        details
            .iter()
            .any(|d| d["target"].as_str().unwrap().ends_with(".path")),
        "{}",
        bad.body
    );
    assert!(
        details
            .iter()
            .any(|d| d["target"].as_str().unwrap().ends_with(".serviceUrl")),
        "{}",
        bad.body
    );

    let unknown = api
        .put(
            "/apis/a",
            json!({"path": "a", "serviceUrl": "http://x", "colour": "red"}),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(
        unknown.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("colour"),
        "{}",
        unknown.body
    );

    // Two APIs on one path.
    assert_eq!(
        api.put("/apis/one", echo_api()).await.status,
        StatusCode::CREATED
    );
    let clash = api.put("/apis/two", echo_api()).await;
    assert_eq!(clash.status, StatusCode::CONFLICT, "{}", clash.body);
    assert_eq!(clash.body["error"]["code"], "Conflict");

    let body = api
        .call("PUT", "/apis/x", Some(json!({"props": {}})), &[])
        .await;
    assert_eq!(body.status, StatusCode::BAD_REQUEST, "{}", body.body);
}

#[tokio::test]
async fn subscription_keys_are_generated_and_never_read_back() {
    let api = Api::new().await;
    assert_eq!(
        api.put("/apis/echo", echo_api()).await.status,
        StatusCode::CREATED
    );
    let sub = api
        .put(
            "/subscriptions/s1",
            json!({"scope": "/apis/echo", "displayName": "S1"}),
        )
        .await;
    assert_eq!(sub.status, StatusCode::CREATED, "{}", sub.body);
    let read = api.call("GET", "/subscriptions/s1", None, &[]).await;
    assert!(
        read.body["properties"].get("primaryKey").is_none(),
        "{}",
        read.body
    );
    assert!(!read.body.to_string().contains("Key\""), "{}", read.body);
    let nv = api
        .put(
            "/namedValues/secret-one",
            json!({"value": "hunter2", "secret": true}),
        )
        .await;
    assert_eq!(nv.status, StatusCode::CREATED, "{}", nv.body);
    assert!(!nv.body.to_string().contains("hunter2"));
    assert!(!api
        .call("GET", "/namedValues", None, &[])
        .await
        .body
        .to_string()
        .contains("hunter2"));
}

#[tokio::test]
async fn deleting_what_others_refer_to_is_a_conflict() {
    let api = Api::new().await;
    api.put("/apis/echo", echo_api()).await;
    api.put(
        "/apis/echo/operations/o",
        json!({"method": "GET", "urlTemplate": "/"}),
    )
    .await;
    api.put("/subscriptions/s1", json!({"scope": "/apis/echo"}))
        .await;
    let refused = api.call("DELETE", "/apis/echo", None, &[]).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert_eq!(
        api.call("DELETE", "/subscriptions/s1", None, &[])
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        api.call("DELETE", "/apis/echo", None, &[]).await.status,
        StatusCode::OK
    );
    assert_eq!(
        api.call("GET", "/apis/echo/operations/o", None, &[])
            .await
            .status,
        StatusCode::NOT_FOUND,
        "operations go with their API"
    );
    assert_eq!(
        api.call("DELETE", "/apis/echo", None, &[]).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn collections_page_with_top_skip_and_next_link() {
    let api = Api::new().await;
    for i in 0..5 {
        let mut props = echo_api();
        props["path"] = json!(format!("p{i}"));
        assert_eq!(
            api.put(&format!("/apis/a{i}"), props).await.status,
            StatusCode::CREATED
        );
    }
    let page = api.call("GET", "/apis?$top=2&$skip=1", None, &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    let names: Vec<&str> = page.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a1", "a2"]);
    assert_eq!(page.body["nextLink"], "/apis?$top=2&$skip=3");
    let last = api.call("GET", "/apis?$top=2&$skip=3", None, &[]).await;
    assert!(last.body.get("nextLink").is_none());
    assert!(page.etag.is_some());
}

#[tokio::test]
async fn every_route_needs_the_admin_token() {
    let api = Api::new().await;
    for token in [None, Some("Bearer wrong"), Some("test-admin-token")] {
        let mut req = Request::get("/apis");
        if let Some(t) = token {
            req = req.header("authorization", t);
        }
        let resp = api
            .router
            .clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{token:?}");
    }
}

#[tokio::test]
async fn every_commit_is_announced() {
    let (api, state) = Api::with_state().await;
    let mut commits = state.commits.subscribe();
    api.put("/apis/echo", echo_api()).await;
    assert_eq!(*commits.borrow_and_update(), 1);
    api.call("DELETE", "/apis/echo", None, &[]).await;
    assert!(commits.has_changed().unwrap());
    assert_eq!(*commits.borrow_and_update(), 2);
}

#[tokio::test]
async fn secrets_are_read_and_regenerated_through_actions() {
    let api = Api::new().await;
    api.put("/apis/echo", echo_api()).await;
    api.put(
        "/subscriptions/s1",
        json!({"scope": "/apis/echo", "primaryKey": "pk-1"}),
    )
    .await;
    let secrets = api
        .call("POST", "/subscriptions/s1/listSecrets", None, &[])
        .await;
    assert_eq!(secrets.status, StatusCode::OK);
    assert_eq!(secrets.body["primaryKey"], "pk-1");
    let secondary = secrets.body["secondaryKey"].as_str().unwrap().to_owned();

    let regen = api
        .call("POST", "/subscriptions/s1/regeneratePrimaryKey", None, &[])
        .await;
    assert_eq!(regen.status, StatusCode::NO_CONTENT);
    let after = api
        .call("POST", "/subscriptions/s1/listSecrets", None, &[])
        .await;
    assert_ne!(after.body["primaryKey"], "pk-1");
    assert_eq!(
        after.body["secondaryKey"],
        secondary.as_str(),
        "the other key stays"
    );

    api.put(
        "/namedValues/nv",
        json!({"value": "hunter2", "secret": true}),
    )
    .await;
    let value = api
        .call("POST", "/namedValues/nv/listValue", None, &[])
        .await;
    assert_eq!(value.body["value"], "hunter2");
    let unknown = api.call("POST", "/apis/echo/listSecrets", None, &[]).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}
