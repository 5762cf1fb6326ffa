//! The management API's policy, fragment, certificate and gateway resources, in-process over a
//! real SQLite file.

mod api_client;

use api_client::{echo_api, Api};
use http::StatusCode;
use portico_control::gateway_token;
use serde_json::json;

#[tokio::test]
async fn policies_are_stored_at_every_scope_and_refused_with_line_and_column() {
    let api = Api::new().await;
    api.put("/apis/echo", echo_api()).await;
    api.put(
        "/apis/echo/operations/o",
        json!({"method": "GET", "urlTemplate": "/"}),
    )
    .await;
    api.put("/products/p", json!({})).await;
    let fragment = api
        .put(
            "/policyFragments/common",
            json!({"format": "xml", "value": "<fragment/>"}),
        )
        .await;
    assert_eq!(fragment.status, StatusCode::CREATED, "{}", fragment.body);
    assert_eq!(fragment.body["properties"]["format"], "rawxml");
    let xml =
        "<policies><inbound><base/><include-fragment fragment-id=\"common\"/></inbound></policies>";
    for scope in [
        "/policies/policy",
        "/products/p/policies/policy",
        "/apis/echo/policies/policy",
        "/apis/echo/operations/o/policies/policy",
    ] {
        let put = api
            .put(scope, json!({"format": "rawxml", "value": xml}))
            .await;
        assert_eq!(put.status, StatusCode::CREATED, "{scope}: {}", put.body);
        let got = api.call("GET", scope, None, &[]).await;
        assert_eq!(got.body["properties"]["value"], xml, "{scope}");
    }

    let broken = api
        .put(
            "/apis/echo/policies/policy",
            json!({"format": "rawxml", "value": "<policies>\n  <inbound>\n</policies>"}),
        )
        .await;
    assert_eq!(broken.status, StatusCode::BAD_REQUEST, "{}", broken.body);
    let detail = &broken.body["error"]["details"][0];
    assert_eq!(
        (detail["line"].as_u64(), detail["column"].as_u64()),
        (Some(3), Some(1)),
        "{detail}"
    );
    assert!(
        detail["message"]
            .as_str()
            .unwrap()
            .starts_with("line 3, column 1: "),
        "{detail}"
    );

    let linked = api
        .put(
            "/policies/policy",
            json!({"format": "rawxml-link", "value": "https://x"}),
        )
        .await;
    assert_eq!(linked.status, StatusCode::BAD_REQUEST, "{}", linked.body);
    let unenforced = api
        .put(
            "/policies/policy",
            json!({"value": "<policies><inbound><log-to-eventhub logger-id=\"x\">text</log-to-eventhub></inbound></policies>"}),
        )
        .await;
    assert_eq!(
        unenforced.status,
        StatusCode::BAD_REQUEST,
        "{}",
        unenforced.body
    );
    assert!(
        unenforced.body.to_string().contains("log-to-eventhub"),
        "{}",
        unenforced.body
    );

    // A fragment in use cannot go; the policy that includes it goes first.
    let in_use = api
        .call("DELETE", "/policyFragments/common", None, &[])
        .await;
    assert_eq!(in_use.status, StatusCode::CONFLICT, "{}", in_use.body);
}

fn pem_pair(name: &str) -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec![name.to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    (cert.pem(), key.serialize_pem())
}

#[tokio::test]
async fn certificates_show_their_facts_and_never_their_key() {
    let api = Api::new().await;
    let (pem, key) = pem_pair("api.example.com");
    let created = api
        .put("/certificates/tls", json!({"pem": pem, "key": key}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let props = &created.body["properties"];
    assert_eq!(props["thumbprint"].as_str().unwrap().len(), 40, "{props}");
    assert!(
        props["subject"].is_string() && props["expirationDate"].is_string(),
        "{props}"
    );
    let listed = api
        .call("GET", "/certificates", None, &[])
        .await
        .body
        .to_string();
    for shown in [created.body.to_string(), listed] {
        assert!(!shown.contains("PRIVATE KEY"), "{shown}");
    }
    let junk = api
        .put(
            "/certificates/bad",
            json!({"data": "bm90IGEgcGZ4", "password": "pw"}),
        )
        .await;
    assert_eq!(junk.status, StatusCode::BAD_REQUEST, "{}", junk.body);
    assert!(!junk.body.to_string().contains("\"pw\""), "{}", junk.body);
}

#[tokio::test]
async fn gateways_hold_hostnames_apis_and_authorities_and_sign_tokens() {
    let api = Api::new().await;
    api.put("/apis/echo", echo_api()).await;
    let (pem, key) = pem_pair("gw.example.com");
    api.put("/certificates/tls", json!({"pem": pem, "key": key}))
        .await;
    let gw = api
        .put(
            "/gateways/edge",
            json!({"locationData": {"name": "Factory 1"}, "description": "floor"}),
        )
        .await;
    assert_eq!(gw.status, StatusCode::CREATED, "{}", gw.body);
    assert!(
        gw.body["properties"].get("primaryKey").is_none(),
        "{}",
        gw.body
    );
    let children = [
        (
            "/gateways/edge/hostnameConfigurations/main",
            json!({"hostname": "gw.example.com", "certificateId": "tls"}),
        ),
        ("/gateways/edge/apis/echo", json!({})),
        (
            "/gateways/edge/certificateAuthorities/tls",
            json!({"isTrusted": true}),
        ),
    ];
    for (path, props) in children {
        let put = api.put(path, props).await;
        assert_eq!(put.status, StatusCode::CREATED, "{path}: {}", put.body);
    }
    let bad_host = api
        .put(
            "/gateways/edge/hostnameConfigurations/bad",
            json!({"hostname": "a b"}),
        )
        .await;
    assert_eq!(
        bad_host.status,
        StatusCode::BAD_REQUEST,
        "{}",
        bad_host.body
    );
    let listed = api.call("GET", "/gateways/edge/apis", None, &[]).await;
    assert_eq!(listed.body["value"][0]["name"], "echo", "{}", listed.body);

    // Tokens: signed with the gateway's key, invalid once that key is regenerated.
    let expiry = (time::OffsetDateTime::now_utc() + time::Duration::days(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let token = api
        .call(
            "POST",
            "/gateways/edge/generateToken",
            Some(json!({"keyType": "primary", "expiry": expiry})),
            &[],
        )
        .await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.body);
    let token = token.body["value"].as_str().unwrap().to_owned();
    let store = api.state.store.clone();
    let keys = |props: serde_json::Value| {
        [
            props["primaryKey"].as_str().unwrap().to_owned(),
            props["secondaryKey"].as_str().unwrap().to_owned(),
        ]
    };
    let edge = portico_control::store::ResourcePath::parse("gateways/edge").unwrap();
    let before = keys(store.get(&edge).await.unwrap().unwrap().properties);
    let now = time::OffsetDateTime::now_utc();
    let refs = [before[0].as_str(), before[1].as_str()];
    assert_eq!(
        gateway_token::verify(&token, &refs, now),
        Ok("edge".to_owned())
    );
    let regenerated = api
        .call(
            "POST",
            "/gateways/edge/regenerateKey",
            Some(json!({"keyType": "primary"})),
            &[],
        )
        .await;
    assert_eq!(
        regenerated.status,
        StatusCode::NO_CONTENT,
        "{}",
        regenerated.body
    );
    let after = keys(store.get(&edge).await.unwrap().unwrap().properties);
    assert_eq!(after[1], before[1], "only the primary key changes");
    let refs = [after[0].as_str(), after[1].as_str()];
    assert!(gateway_token::verify(&token, &refs, now).is_err());

    let too_far = api
        .call(
            "POST",
            "/gateways/edge/generateToken",
            Some(json!({"keyType": "primary", "expiry": "2999-01-01T00:00:00Z"})),
            &[],
        )
        .await;
    assert_eq!(too_far.status, StatusCode::BAD_REQUEST, "{}", too_far.body);
}

#[tokio::test]
async fn deleting_an_api_takes_it_out_of_products_and_gateways() {
    let api = Api::new().await;
    api.put("/apis/echo", echo_api()).await;
    api.put("/products/p", json!({})).await;
    api.put("/products/p/apis/echo", json!({})).await;
    api.put("/gateways/g", json!({"locationData": {"name": "x"}}))
        .await;
    api.put("/gateways/g/apis/echo", json!({})).await;
    let deleted = api.call("DELETE", "/apis/echo", None, &[]).await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
    for gone in ["/products/p/apis/echo", "/gateways/g/apis/echo"] {
        assert_eq!(
            api.call("GET", gone, None, &[]).await.status,
            StatusCode::NOT_FOUND,
            "{gone}"
        );
    }
    assert_eq!(
        api.call("GET", "/products/p", None, &[]).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_policy_may_name_only_an_uploaded_certificate_with_its_key() {
    let api = Api::new().await;
    api.put("/apis/echo", echo_api()).await;
    let policy = |id: &str| json!({"value": format!("<policies><inbound><base/><authentication-certificate certificate-id=\"{id}\"/></inbound></policies>")});
    let missing = api
        .put("/apis/echo/policies/policy", policy("client"))
        .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST, "{}", missing.body);
    assert!(
        missing
            .body
            .to_string()
            .contains("names no uploaded certificate"),
        "{}",
        missing.body
    );

    let (pem, key) = pem_pair("gateway-client");
    api.put("/certificates/ca-only", json!({"pem": pem})).await;
    let keyless = api
        .put("/apis/echo/policies/policy", policy("ca-only"))
        .await;
    assert_eq!(keyless.status, StatusCode::BAD_REQUEST, "{}", keyless.body);
    assert!(
        keyless.body.to_string().contains("without a private key"),
        "{}",
        keyless.body
    );

    let up = api
        .put("/certificates/client", json!({"pem": pem, "key": key}))
        .await;
    assert_eq!(up.status, StatusCode::CREATED, "{}", up.body);
    let named = api
        .put("/apis/echo/policies/policy", policy("client"))
        .await;
    assert_eq!(named.status, StatusCode::CREATED, "{}", named.body);
    // Still named by a policy: the certificate stays.
    let delete = api.call("DELETE", "/certificates/client", None, &[]).await;
    assert!(delete.status.is_client_error(), "{}", delete.body);
    assert!(
        delete
            .body
            .to_string()
            .contains("names no uploaded certificate"),
        "{}",
        delete.body
    );
}
