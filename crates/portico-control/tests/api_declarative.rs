//! `POST /apply`, `GET /export` and OpenAPI import over REST, in-process over a real SQLite
//! file.

mod api_client;
mod common;

use api_client::Api;
use http::StatusCode;
use serde_json::{json, Value};

fn document() -> Value {
    json!({
        "policy": "<policies><inbound><set-header name=\"x-global\" exists-action=\"override\"><value>1</value></set-header></inbound></policies>",
        "apis": [{
            "id": "echo", "path": "echo", "serviceUrl": "http://127.0.0.1:9",
            "operations": [{"id": "get", "method": "GET", "urlTemplate": "/"}]
        }],
        "products": [{"id": "starter", "apis": ["echo"]}],
        "subscriptions": [{"id": "s", "scope": "/products/starter", "primaryKey": "k-primary-1"}],
        "namedValues": [{"id": "token", "value": "hunter2", "secret": true}],
        "gateways": [{"id": "edge", "locationData": {"name": "factory"}}]
    })
}

async fn apply(api: &Api, doc: &Value, query: &str) -> (StatusCode, Value) {
    let answer = api
        .call("POST", &format!("/apply{query}"), Some(doc.clone()), &[])
        .await;
    (answer.status, answer.body)
}

#[tokio::test]
async fn apply_is_atomic_idempotent_and_round_trips_through_export() {
    common::on_both(|store| async move { round_trip(&Api::on(store)).await }).await;
}

async fn round_trip(api: &Api) {
    let (status, first) = apply(api, &document(), "").await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let changes = first["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 8, "{first}");
    assert!(changes.iter().all(|c| c["action"] == "create"), "{first}");
    let revision = first["revision"].as_u64().unwrap();
    assert_eq!(revision, 1, "one document, one revision");

    let (_, again) = apply(api, &document(), "").await;
    assert_eq!(again["changes"], json!([]), "{again}");
    assert_eq!(
        again["revision"].as_u64(),
        Some(revision),
        "nothing changed"
    );

    let exported = api.call("GET", "/export", None, &[]).await;
    assert_eq!(exported.status, StatusCode::OK);
    let doc = exported.body;
    assert_eq!(
        doc["namedValues"][0]["value"], "hunter2",
        "export keeps secrets for restore"
    );
    assert!(doc["gateways"][0]["primaryKey"].is_string(), "{doc}");
    let (_, reapplied) = apply(api, &doc, "").await;
    assert_eq!(reapplied["changes"], json!([]), "{reapplied}");
    let second = api.call("GET", "/export", None, &[]).await.body;
    assert_eq!(
        second.to_string(),
        doc.to_string(),
        "export → apply → export changes nothing"
    );
}

#[tokio::test]
async fn dry_run_and_prune_show_updates_and_deletions() {
    let api = Api::new().await;
    apply(&api, &document(), "").await;
    api.put("/backends/extra", json!({"url": "http://127.0.0.1:9"}))
        .await;
    let mut changed = document();
    changed["apis"][0]["displayName"] = json!("Echo v2");
    let (status, plan) = apply(&api, &changed, "?prune=true&dryRun=true").await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    assert_eq!(
        plan["changes"],
        json!([
            {"action": "update", "path": "apis/echo", "properties": ["displayName"]},
            {"action": "delete", "path": "backends/extra"}
        ]),
        "{plan}"
    );
    assert_eq!(
        api.call("GET", "/backends/extra", None, &[]).await.status,
        StatusCode::OK,
        "a dry run changes nothing"
    );
    let (_, done) = apply(&api, &changed, "?prune=true").await;
    assert_eq!(done["changes"].as_array().unwrap().len(), 2, "{done}");
    assert_eq!(
        api.call("GET", "/backends/extra", None, &[]).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn an_invalid_document_is_refused_whole_naming_its_entries() {
    let api = Api::new().await;
    let mut bad = document();
    bad["apis"][0]["serviceUrl"] = json!("ftp://nope");
    bad["products"][0]["apis"] = json!(["missing"]);
    let (status, body) = apply(&api, &bad, "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let targets: Vec<&str> = body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["target"].as_str().unwrap())
        .collect();
    assert_eq!(
        targets,
        ["apis[0].serviceUrl", "products[0].apis[0]"],
        "{body}"
    );
    assert!(!body.to_string().contains("hunter2"), "{body}");
    assert_eq!(
        api.call("GET", "/apis/echo", None, &[]).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn openapi_imports_create_and_update_an_api_in_place() {
    let api = Api::new().await;
    let petstore = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/corpus/openapi/petstore.yaml"
    ))
    .unwrap();
    let created = api
        .put(
            "/apis/pets",
            json!({"format": "openapi", "value": petstore, "path": "pets"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(
        created.body["properties"]["serviceUrl"],
        "http://petstore.swagger.io/v1"
    );
    let ops = api
        .call("GET", "/apis/pets/operations", None, &[])
        .await
        .body;
    let ids: Vec<&str> = ops["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["createPets", "listPets", "showPetById"], "{ops}");
    api.put(
        "/apis/pets/operations/listPets/policies/policy",
        json!({"value": "<policies/>"}),
    )
    .await;

    // Re-import a document without listPets: that operation and its policy go, the rest stay.
    let trimmed = petstore.replacen("operationId: listPets", "operationId: listAllPets", 1);
    let updated = api
        .put(
            "/apis/pets",
            json!({"format": "openapi", "value": trimmed, "serviceUrl": "http://127.0.0.1:9"}),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(
        updated.body["properties"]["path"], "pets",
        "the path is kept"
    );
    assert_eq!(
        updated.body["properties"]["serviceUrl"],
        "http://127.0.0.1:9"
    );
    for (path, status) in [
        ("/apis/pets/operations/listAllPets", StatusCode::OK),
        ("/apis/pets/operations/listPets", StatusCode::NOT_FOUND),
        (
            "/apis/pets/operations/listPets/policies/policy",
            StatusCode::NOT_FOUND,
        ),
    ] {
        assert_eq!(
            api.call("GET", path, None, &[]).await.status,
            status,
            "{path}"
        );
    }

    let linked = api
        .put(
            "/apis/x",
            json!({"format": "openapi-link", "value": "https://example.com/o.yaml", "path": "x"}),
        )
        .await;
    assert_eq!(linked.status, StatusCode::BAD_REQUEST, "{}", linked.body);
    let broken = api
        .put(
            "/apis/y",
            json!({"format": "openapi", "value": "openapi: 3.0.0\npaths: [", "path": "y"}),
        )
        .await;
    assert_eq!(broken.status, StatusCode::BAD_REQUEST, "{}", broken.body);
    assert!(
        broken.body["error"]["details"][0]["line"].is_u64(),
        "{}",
        broken.body
    );
}
