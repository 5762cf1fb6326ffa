//! `validate-jwt` over real sockets, with tokens made here: HS256 with an inline key, RS256
//! with an inline modulus and exponent, ES256 keys served as JWKS through OpenID discovery
//! (rotation picked up, a failed fetch refusing every token). Each refusal answers the
//! configured status and message.

mod common;

use base64::Engine;
use common::*;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

const SECRET: &[u8] = b"a-test-secret-of-32-bytes-length!";

fn b64url(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn claims() -> serde_json::Value {
    json!({"iss": "https://issuer", "aud": "api://portico", "exp": now() + 600, "scp": "read write", "sub": "alice"})
}

fn hs256(claims: &serde_json::Value, secret: &[u8]) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .unwrap()
}

fn api(backend: SocketAddr, validate: &str) -> String {
    let policy = format!(
        "<policies><inbound>{validate}<set-header name=\"x-sub\" exists-action=\"override\"><value>@(((Jwt)context.Variables[\"jwt\"]).Subject)</value></set-header></inbound><backend><base/></backend><outbound><base/></outbound><on-error><base/></on-error></policies>"
    );
    let pad = "      ";
    format!(
        "apis:\n  - id: api\n    path: api\n    serviceUrl: 'http://{backend}'\n    subscriptionRequired: false\n    operations:\n      - {{ id: all, method: '*', urlTemplate: '/*' }}\n    policy: |\n{pad}{policy}\n"
    )
}

fn checks() -> &'static str {
    r#"<audiences><audience>api://portico</audience></audiences>
       <issuers><issuer>https://issuer</issuer></issuers>
       <required-claims><claim name="scp" match="all" separator=" "><value>read</value></claim></required-claims>"#
}

#[tokio::test]
async fn hs256_token_is_checked_and_each_failure_answers_the_configured_status() {
    let backend = start_backend().await;
    let key = base64::engine::general_purpose::STANDARD.encode(SECRET);
    let validate = format!(
        r#"<validate-jwt header-name="Authorization" failed-validation-httpcode="403" failed-validation-error-message="Go away." require-scheme="Bearer" output-token-variable-name="jwt"><issuer-signing-keys><key>{key}</key></issuer-signing-keys>{}</validate-jwt>"#,
        checks()
    );
    let gw = TestGateway::start(&api(backend, &validate)).await;
    let call = |token: String| {
        let url = gw.url("/api/x");
        async move { get(&url, &[("authorization", &format!("Bearer {token}"))]).await }
    };
    let ok = call(hs256(&claims(), SECRET)).await;
    assert_eq!(ok.status, 200, "{:?}", String::from_utf8_lossy(&ok.body));
    assert_eq!(ok.backend_header("x-sub").as_deref(), Some("alice"));

    let mut bad = Vec::new();
    bad.push((
        "wrong signature",
        hs256(&claims(), b"another-secret-another-secret-xx"),
    ));
    for (what, field, value) in [
        ("audience", "aud", json!("api://other")),
        ("issuer", "iss", json!("https://evil")),
        ("expired", "exp", json!(now() - 3600)),
        ("claim value", "scp", json!("write")),
    ] {
        let mut c = claims();
        c[field] = value;
        bad.push((what, hs256(&c, SECRET)));
    }
    let mut missing = claims();
    missing.as_object_mut().unwrap().remove("scp");
    bad.push(("missing claim", hs256(&missing, SECRET)));
    bad.push(("garbage", "not.a.jwt".to_owned()));
    for (what, token) in bad {
        let a = call(token).await;
        assert_apim_error(&a, 403, "Go away.");
        assert_eq!(a.json()["message"], "Go away.", "{what}");
    }
    // No scheme: the required scheme is missing.
    let a = get(
        &gw.url("/api/x"),
        &[("authorization", &hs256(&claims(), SECRET))],
    )
    .await;
    assert_apim_error(&a, 403, "Go away.");
}

#[tokio::test]
async fn defaults_answer_401_with_apims_messages_and_reasons_reach_on_error() {
    let backend = start_backend().await;
    let key = base64::engine::general_purpose::STANDARD.encode(SECRET);
    let validate = format!(
        r#"<validate-jwt query-parameter-name="token" output-token-variable-name="jwt"><issuer-signing-keys><key>{key}</key></issuer-signing-keys></validate-jwt>"#
    );
    let gw = TestGateway::start(&api(backend, &validate)).await;
    let a = get(&gw.url("/api/x"), &[]).await;
    assert_apim_error(&a, 401, "JWT not present.");
    let mut c = claims();
    c["exp"] = json!(now() - 10);
    let a = get(&gw.url(&format!("/api/x?token={}", hs256(&c, SECRET))), &[]).await;
    assert_apim_error(&a, 401, "Invalid JWT.");
    let a = get(
        &gw.url(&format!("/api/x?token={}", hs256(&claims(), SECRET))),
        &[],
    )
    .await;
    assert_eq!(a.status, 200);

    let on_error = format!(
        "<policies><inbound>{validate}</inbound><on-error><return-response><set-status code=\"418\"/><set-body>@(context.LastError.Source + \"|\" + context.LastError.Reason)</set-body></return-response></on-error></policies>"
    );
    let doc = api(backend, "").replace(
        &api(backend, "").lines().last().unwrap().to_owned(),
        &format!("      {on_error}"),
    );
    let gw = TestGateway::start(&doc).await;
    let a = get(&gw.url(&format!("/api/x?token={}", hs256(&c, SECRET))), &[]).await;
    assert_eq!(a.status, 418);
    assert_eq!(&a.body[..], b"validate-jwt|TokenExpired");
}

/// `(n, e)` of an RSA public key in PKCS#1 DER, base64url.
fn rsa_n_e(der: &[u8]) -> (String, String) {
    fn read(d: &[u8]) -> (u8, &[u8], &[u8]) {
        let tag = d[0];
        let (len, start) = if d[1] & 0x80 == 0 {
            (d[1] as usize, 2)
        } else {
            let n = (d[1] & 0x7f) as usize;
            (
                d[2..2 + n].iter().fold(0usize, |a, b| a << 8 | *b as usize),
                2 + n,
            )
        };
        (tag, &d[start..start + len], &d[start + len..])
    }
    let (_, seq, _) = read(der);
    let (_, n, rest) = read(seq);
    let (_, e, _) = read(rest);
    let strip = |b: &[u8]| {
        b.iter()
            .skip_while(|x| **x == 0)
            .copied()
            .collect::<Vec<u8>>()
    };
    (b64url(&strip(n)), b64url(&strip(e)))
}

#[tokio::test]
async fn rs256_with_inline_modulus_and_exponent() {
    let backend = start_backend().await;
    let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
    let (n, e) = rsa_n_e(kp.public_key_raw());
    let signing = EncodingKey::from_rsa_pem(kp.serialize_pem().as_bytes()).unwrap();
    let validate = format!(
        r#"<validate-jwt header-name="Authorization" output-token-variable-name="jwt"><issuer-signing-keys><key n="{n}" e="{e}"/></issuer-signing-keys>{}</validate-jwt>"#,
        checks()
    );
    let gw = TestGateway::start(&api(backend, &validate)).await;
    for alg in [Algorithm::RS256, Algorithm::PS256] {
        let t = encode(&Header::new(alg), &claims(), &signing).unwrap();
        let a = get(
            &gw.url("/api/x"),
            &[("authorization", &format!("Bearer {t}"))],
        )
        .await;
        assert_eq!(a.status, 200, "{alg:?}");
    }
    // An HS256 token cannot pass with an RSA key (algorithm confusion).
    let t = hs256(&claims(), n.as_bytes());
    let a = get(
        &gw.url("/api/x"),
        &[("authorization", &format!("Bearer {t}"))],
    )
    .await;
    assert_apim_error(&a, 401, "Invalid JWT.");
}

/// An ES256 key: its signing key and its public JWK.
fn ec_key(kid: &str) -> (EncodingKey, serde_json::Value) {
    let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let raw = kp.public_key_raw();
    let jwk = json!({"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig",
        "x": b64url(&raw[1..33]), "y": b64url(&raw[33..65])});
    (
        EncodingKey::from_ec_pem(kp.serialize_pem().as_bytes()).unwrap(),
        jwk,
    )
}

fn es256(kid: &str, key: &EncodingKey) -> String {
    let mut h = Header::new(Algorithm::ES256);
    h.kid = Some(kid.to_owned());
    encode(&h, &claims(), key).unwrap()
}

/// An OpenID provider on a local socket serving `jwks` (which the test may change).
async fn provider(jwks: Arc<Mutex<serde_json::Value>>) -> SocketAddr {
    use hyper::service::service_fn;
    use hyper_util::rt::{TokioExecutor, TokioIo};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let jwks = jwks.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let body = if req.uri().path().ends_with("openid-configuration") {
                        json!({"issuer": "https://issuer", "jwks_uri": format!("http://{addr}/keys")})
                    } else {
                        jwks.lock().unwrap().clone()
                    };
                    async move {
                        Ok::<_, std::convert::Infallible>(http::Response::new(full(
                            body.to_string(),
                        )))
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
async fn openid_keys_are_fetched_and_rotation_is_picked_up() {
    let backend = start_backend().await;
    let (key_a, jwk_a) = ec_key("a");
    let (key_b, jwk_b) = ec_key("b");
    let jwks = Arc::new(Mutex::new(json!({"keys": [jwk_a]})));
    let idp = provider(jwks.clone()).await;
    let validate = format!(
        r#"<validate-jwt header-name="Authorization" output-token-variable-name="jwt"><openid-config url="http://{idp}/.well-known/openid-configuration"/>{}</validate-jwt>"#,
        checks()
    );
    let gw = TestGateway::start(&api(backend, &validate)).await;
    let call = |t: String| {
        let url = gw.url("/api/x");
        async move { get(&url, &[("authorization", &format!("Bearer {t}"))]).await }
    };
    assert_eq!(call(es256("a", &key_a)).await.status, 200);
    // Key b is not published yet.
    assert_apim_error(&call(es256("b", &key_b)).await, 401, "Invalid JWT.");
    *jwks.lock().unwrap() = json!({"keys": [jwk_b]});
    // Refetches on an unknown key id are at most one a second.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(
        call(es256("b", &key_b)).await.status,
        200,
        "rotation picked up"
    );
    // A token signed by b but claiming to be a: refused.
    assert_apim_error(&call(es256("a", &key_b)).await, 401, "Invalid JWT.");
}

#[tokio::test]
async fn an_unreachable_openid_provider_lets_no_token_through() {
    let backend = start_backend().await;
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (key, _) = ec_key("a");
    let validate = format!(
        r#"<validate-jwt header-name="Authorization"><openid-config url="http://{dead}/.well-known/openid-configuration"/></validate-jwt>"#
    );
    let gw = TestGateway::start(&api(backend, &validate).replace("<set-header name=\"x-sub\" exists-action=\"override\"><value>@(((Jwt)context.Variables[\"jwt\"]).Subject)</value></set-header>", "")).await;
    let t = es256("a", &key);
    let a = get(
        &gw.url("/api/x"),
        &[("authorization", &format!("Bearer {t}"))],
    )
    .await;
    assert_apim_error(&a, 401, "Invalid JWT.");
}
