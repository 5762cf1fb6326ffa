//! TLS to backends: a backend behind a private CA is trusted through `tls.caCertificateIds`
//! (and refused without it), a backend that requires mTLS gets the client certificate of
//! `credentials.certificateIds`, and a rotated client certificate is used on the next
//! request without waiting for pooled connections to age out. The `authentication-certificate`
//! policy presents a certificate chosen per request, by id or thumbprint, over the backend's.

mod common;

use common::tls::{snapshot_of, Ca, Issued};
use common::{get, TestGateway};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use portico_gateway::ListenerLimits;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::net::TcpListener;

/// An HTTPS backend with `server`'s certificate that requires a client certificate issued
/// by `clients`, and answers with the SHA-1 thumbprint of the one it got. Counts the
/// handshakes it completes.
async fn mtls_backend(server: &Issued, clients: &Ca) -> (SocketAddr, Arc<AtomicUsize>) {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(clients.der()).unwrap();
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let chain = CertificateDer::pem_slice_iter(server.chain_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(server.key_pem.as_bytes()).unwrap();
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let handshakes = Arc::new(AtomicUsize::new(0));
    let counted = handshakes.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let counted = counted.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                counted.fetch_add(1, Ordering::SeqCst);
                let client = tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .map(|c| common::tls::thumbprint(c))
                    .unwrap_or_default();
                let service = service_fn(move |_req| {
                    let body = json!({"client": client}).to_string();
                    async move {
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(common::full(body)))
                    }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    (addr, handshakes)
}

fn document(backend: SocketAddr, certificates: Value, backend_extra: Value) -> Value {
    with_policy(backend, certificates, backend_extra, None)
}

fn with_policy(
    backend: SocketAddr,
    certificates: Value,
    backend_extra: Value,
    policy: Option<&str>,
) -> Value {
    let mut b = json!({"id": "secure", "url": format!("https://{backend}")});
    b.as_object_mut()
        .unwrap()
        .extend(backend_extra.as_object().unwrap().clone());
    json!({
        "apis": [{"id": "api", "path": "api", "backendId": "secure", "subscriptionRequired": false,
                  "policy": policy,
                  "operations": [{"id": "get", "method": "GET", "urlTemplate": "/*"}]}],
        "backends": [b],
        "certificates": certificates,
    })
}

#[tokio::test]
async fn a_private_ca_is_trusted_when_named_and_the_client_certificate_is_presented_and_rotated() {
    let server_ca = Ca::new("Backend Server CA");
    let client_ca = Ca::new("Backend Client CA");
    let server = server_ca.issue(&["127.0.0.1"]);
    let (backend, _) = mtls_backend(&server, &client_ca).await;
    let (first, second) = (
        client_ca.issue(&["gateway-1"]),
        client_ca.issue(&["gateway-1"]),
    );
    let certificates = |client: &Issued| json!([{"id": "server-ca", "pem": server_ca.pem()}, client.entry("client")]);
    let settings = json!({"tls": {"caCertificateIds": ["server-ca"]},
                          "credentials": {"certificateIds": ["client"]}});
    let gw = TestGateway::unconfigured(common::options(), ListenerLimits::default()).await;
    gw.gateway
        .apply(&snapshot_of(
            &document(backend, certificates(&first), settings.clone()),
            1,
        ))
        .unwrap();
    let a = get(&gw.url("/api/x"), &[]).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.json()["client"], first.thumbprint.as_str());

    // Rotated: the very next request presents the new certificate (a new pool), although a
    // connection with the old one sits idle in the previous pool.
    gw.gateway
        .apply(&snapshot_of(
            &document(backend, certificates(&second), settings),
            2,
        ))
        .unwrap();
    let a = get(&gw.url("/api/x"), &[]).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.json()["client"], second.thumbprint.as_str());

    // Without trusting the private CA the backend's certificate is refused: 502.
    let untrusted = json!({"credentials": {"certificateIds": ["client"]}});
    gw.gateway
        .apply(&snapshot_of(
            &document(backend, certificates(&second), untrusted),
            3,
        ))
        .unwrap();
    assert_eq!(get(&gw.url("/api/x"), &[]).await.status, 502);

    // Without a client certificate the backend refuses the handshake: 502.
    let anonymous = json!({"tls": {"caCertificateIds": ["server-ca"]}});
    gw.gateway
        .apply(&snapshot_of(
            &document(backend, certificates(&second), anonymous),
            4,
        ))
        .unwrap();
    assert_eq!(get(&gw.url("/api/x"), &[]).await.status, 502);
}

#[test]
fn a_client_certificate_without_its_key_or_an_unknown_id_is_refused() {
    let ca = Ca::new("Refusals");
    let doc = document(
        "127.0.0.1:1".parse().unwrap(),
        json!([{"id": "bare", "pem": ca.pem()}]),
        json!({"tls": {"caCertificateIds": ["missing"]}, "credentials": {"certificateIds": ["bare"]}}),
    );
    let parsed =
        portico_model::Document::parse(&doc.to_string(), portico_model::DocumentFormat::Json)
            .unwrap();
    let errors = parsed.validate().unwrap_err().to_string();
    assert!(
        errors.contains("backends[0].tls.caCertificateIds[0]"),
        "{errors}"
    );
    assert!(errors.contains("has no private key"), "{errors}");
}

#[tokio::test]
async fn authentication_certificate_presents_the_certificate_it_names_per_request() {
    let server_ca = Ca::new("Backend Server CA");
    let client_ca = Ca::new("Backend Client CA");
    let server = server_ca.issue(&["127.0.0.1"]);
    let (backend, handshakes) = mtls_backend(&server, &client_ca).await;
    let (by_id, by_thumbprint, backends_own) = (
        client_ca.issue(&["by-id"]),
        client_ca.issue(&["by-thumbprint"]),
        client_ca.issue(&["backend-credentials"]),
    );
    let certificates = json!([
        {"id": "server-ca", "pem": server_ca.pem()},
        by_id.entry("client"),
        by_thumbprint.entry("other"),
        backends_own.entry("backend-own"),
    ]);
    // The header picks the certificate; the policy's choice wins over the backend's own.
    let policy = format!(
        r#"<policies><inbound><base/><choose>
             <when condition="@(context.Request.Headers.ContainsKey(&quot;x-alt&quot;))">
               <authentication-certificate thumbprint="{}"/>
             </when>
             <otherwise><authentication-certificate certificate-id="client"/></otherwise>
           </choose></inbound><backend><base/></backend><outbound><base/></outbound><on-error><base/></on-error></policies>"#,
        by_thumbprint.thumbprint.to_ascii_lowercase()
    );
    let settings = json!({"tls": {"caCertificateIds": ["server-ca"]},
                          "credentials": {"certificateIds": ["backend-own"]}});
    let gw = TestGateway::unconfigured(common::options(), ListenerLimits::default()).await;
    gw.gateway
        .apply(&snapshot_of(
            &with_policy(backend, certificates, settings, Some(&policy)),
            1,
        ))
        .unwrap();
    // Alternating proves each request gets its own certificate even with warm connections
    // made with the other one in the pool.
    for _ in 0..3 {
        let a = get(&gw.url("/api/x"), &[]).await;
        assert_eq!(a.status, 200, "{:?}", a.body);
        assert_eq!(a.json()["client"], by_id.thumbprint.as_str());
        let b = get(&gw.url("/api/x"), &[("x-alt", "1")]).await;
        assert_eq!(b.status, 200, "{:?}", b.body);
        assert_eq!(b.json()["client"], by_thumbprint.thumbprint.as_str());
    }
    // One kept-alive connection per certificate, not one per request.
    assert_eq!(handshakes.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn send_request_presents_the_certificate_named_inside_it() {
    let server_ca = Ca::new("Call Server CA");
    let client_ca = Ca::new("Call Client CA");
    let server = server_ca.issue(&["127.0.0.1"]);
    let (backend, _) = mtls_backend(&server, &client_ca).await;
    let client = client_ca.issue(&["caller"]);
    // send-request verifies against the system's roots (as APIM does); this test's roots are
    // its own CA, read when the gateway starts. No other test here relies on system roots.
    let roots = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(roots.path(), server_ca.pem()).unwrap();
    std::env::set_var("SSL_CERT_FILE", roots.path());
    let gw = TestGateway::unconfigured(common::options(), ListenerLimits::default()).await;
    let policy = format!(
        r#"<policies><inbound><base/>
             <send-request mode="new" response-variable-name="probe" timeout="10">
               <set-url>https://{backend}/probe</set-url>
               <authentication-certificate certificate-id="client"/>
             </send-request>
             <return-response><set-body>@(((IResponse)context.Variables["probe"]).Body.As<string>())</set-body></return-response>
           </inbound></policies>"#
    );
    gw.gateway
        .apply(&snapshot_of(
            &with_policy(
                backend,
                json!([client.entry("client")]),
                json!({}),
                Some(&policy),
            ),
            1,
        ))
        .unwrap();
    let a = get(&gw.url("/api/x"), &[]).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.json()["client"], client.thumbprint.as_str());
}
