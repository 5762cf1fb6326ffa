//! The HTTPS listener: certificates chosen per handshake by server name (exact, wildcard,
//! default binding), TLS 1.2/1.3 with ALPN, full chains, refused configurations that keep
//! the old certificate, local certificate files, and rotation under load.

mod common;

use common::tls::{snapshot_of, Ca, Client, Http1, Issued};
use common::{start_backend, TestGateway};
use portico_gateway::ListenerLimits;
use serde_json::{json, Value};
use std::net::SocketAddr;

/// A document serving an open API on `backend` with the given certificates and hostname
/// configurations on gateway `edge`.
fn document(backend: SocketAddr, certificates: Vec<Value>, hostnames: Vec<Value>) -> Value {
    json!({
        "apis": [{"id": "echo", "path": "echo", "serviceUrl": format!("http://{backend}"),
                  "subscriptionRequired": false,
                  "operations": [{"id": "get", "method": "GET", "urlTemplate": "/*"}]}],
        "certificates": certificates,
        "gateways": [{"id": "edge", "locationData": {"name": "test"},
                      "hostnameConfigurations": hostnames}],
    })
}

fn hostname(id: &str, name: &str, certificate: &str) -> Value {
    json!({"id": id, "hostname": name, "certificateId": certificate})
}

async fn gateway_serving(doc: &Value) -> TestGateway {
    let gw = TestGateway::unconfigured(common::options(), ListenerLimits::default()).await;
    gw.gateway.apply(&snapshot_of(doc, 1)).unwrap();
    gw
}

#[tokio::test]
async fn the_server_name_picks_exact_then_wildcard_then_the_default_binding() {
    let backend = start_backend().await;
    let ca = Ca::new("Test Root");
    let exact = ca.issue(&["api.example.com"]);
    let wildcard = ca.issue(&["*.example.com"]);
    let fallback = ca.issue(&["portico.test"]);
    let mut default = hostname("default", "portico.test", "fallback");
    default["defaultSslBinding"] = json!(true);
    let doc = document(
        backend,
        vec![
            exact.entry("exact"),
            wildcard.entry("wild"),
            fallback.entry("fallback"),
        ],
        vec![
            hostname("wild", "*.example.com", "wild"),
            hostname("exact", "api.example.com", "exact"),
            default,
        ],
    );
    let gw = gateway_serving(&doc).await;
    let client = Client::new(&[ca.der()], &[b"http/1.1"], None);
    let seen = |name: &'static str| {
        let client = client.clone();
        let addr = gw.tls;
        async move { client.connect(addr, name).await.unwrap().thumbprint }
    };
    assert_eq!(seen("api.example.com").await, exact.thumbprint);
    assert_eq!(
        seen("API.Example.COM").await,
        exact.thumbprint,
        "names are case-insensitive"
    );
    assert_eq!(seen("shop.example.com").await, wildcard.thumbprint);
    // A wildcard covers one label only; an IP address sends no server name at all.
    let insecure = insecure_client();
    for name in ["a.b.example.com", "127.0.0.1"] {
        let got = insecure.connect(gw.tls, name).await.unwrap().thumbprint;
        assert_eq!(got, fallback.thumbprint, "{name} gets the default binding");
    }

    // And a request over the handshake reaches the backend, marked as HTTPS.
    let hs = client.connect(gw.tls, "api.example.com").await.unwrap();
    let mut http = Http1::over(hs).await;
    let (status, body) = http.get("api.example.com", "/echo/hello").await.unwrap();
    assert_eq!(status, 200);
    let echoed: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(echoed["headers"]["x-forwarded-proto"], "https", "{echoed}");
}

/// A client that accepts any server certificate, to see what is served for names no
/// certificate covers.
fn insecure_client() -> Client {
    let mut config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .dangerous()
    .with_custom_certificate_verifier(std::sync::Arc::new(AnyServer))
    .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Client {
        config: std::sync::Arc::new(config),
    }
}

#[derive(Debug)]
struct AnyServer;

impl rustls::client::danger::ServerCertVerifier for AnyServer {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }
    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        rustls::crypto::aws_lc_rs::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[tokio::test]
async fn without_a_default_a_name_nothing_matches_gets_the_first_certificate_and_no_certificate_refuses(
) {
    let backend = start_backend().await;
    let ca = Ca::new("Test Root");
    let first = ca.issue(&["one.example.com"]);
    let doc = document(
        backend,
        vec![first.entry("one")],
        vec![hostname("one", "one.example.com", "one")],
    );
    let gw = gateway_serving(&doc).await;
    let got = insecure_client()
        .connect(gw.tls, "other.test")
        .await
        .unwrap();
    assert_eq!(got.thumbprint, first.thumbprint);

    let bare = TestGateway::unconfigured(common::options(), ListenerLimits::default()).await;
    assert!(
        insecure_client()
            .connect(bare.tls, "one.example.com")
            .await
            .is_err(),
        "a gateway with no certificate refuses handshakes"
    );
}

#[tokio::test]
async fn tls_1_2_and_1_3_are_spoken_alpn_follows_http2_enabled_and_the_chain_is_served_whole() {
    let backend = start_backend().await;
    let root = Ca::new("Test Root");
    let intermediate = root.intermediate("Test Issuing CA");
    let leaf = intermediate
        .issue(&["h2.example.com", "h1.example.com"])
        .with_intermediate(&intermediate);
    let mut h1_only = hostname("h1", "h1.example.com", "leaf");
    h1_only["http2Enabled"] = json!(false);
    let doc = document(
        backend,
        vec![leaf.entry("leaf")],
        vec![hostname("h2", "h2.example.com", "leaf"), h1_only],
    );
    let gw = gateway_serving(&doc).await;
    for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
        // Trusting only the root works because the intermediate is served with the leaf.
        let client = Client::with_versions(&[root.der()], &[b"h2", b"http/1.1"], None, &[version]);
        let hs = client.connect(gw.tls, "h2.example.com").await.unwrap();
        assert_eq!(hs.chain_len, 2, "leaf and intermediate");
        assert_eq!(
            hs.stream.get_ref().1.protocol_version(),
            Some(version.version)
        );
        assert_eq!(hs.alpn.as_deref(), Some(&b"h2"[..]));
        let hs = client.connect(gw.tls, "h1.example.com").await.unwrap();
        assert_eq!(hs.alpn.as_deref(), Some(&b"http/1.1"[..]));
    }

    // An HTTP/2 request over the negotiated protocol.
    let client = Client::new(&[root.der()], &[b"h2"], None);
    let hs = client.connect(gw.tls, "h2.example.com").await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(hs.stream),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    let req = http::Request::get("https://h2.example.com/echo/x")
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .unwrap();
    let res = sender.send_request(req).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.version(), http::Version::HTTP_2);
}

#[tokio::test]
async fn a_refused_configuration_keeps_the_old_certificate_serving() {
    let backend = start_backend().await;
    let ca = Ca::new("Test Root");
    let good = ca.issue(&["api.example.com"]);
    let other = ca.issue(&["api.example.com"]);
    let doc = document(
        backend,
        vec![good.entry("tls")],
        vec![hostname("api", "api.example.com", "tls")],
    );
    let gw = gateway_serving(&doc).await;
    // The certificate of one pair with the key of another.
    let mismatched = Issued {
        key_pem: other.key_pem.clone(),
        ..ca.issue(&["api.example.com"])
    };
    let mut bad = doc.clone();
    bad["certificates"] = json!([mismatched.entry("tls")]);
    let parsed =
        portico_model::Document::parse(&bad.to_string(), portico_model::DocumentFormat::Json)
            .unwrap();
    let errors = parsed.validate().unwrap_err().to_string();
    assert!(
        errors.contains("does not belong to the certificate"),
        "{errors}"
    );

    let client = Client::new(&[ca.der()], &[b"http/1.1"], None);
    let hs = client.connect(gw.tls, "api.example.com").await.unwrap();
    assert_eq!(hs.thumbprint, good.thumbprint);
}

/// Writes `issued` as a Kubernetes secret volume does: files behind a `..data` symlink to a
/// timestamped directory, swapped atomically by renaming a new symlink over `..data`.
fn publish_secret(dir: &std::path::Path, generation: u32, cert: &str, key: &str) {
    use std::os::unix::fs::symlink;
    let versioned = dir.join(format!("..2026_11_27_{generation}"));
    std::fs::create_dir(&versioned).unwrap();
    std::fs::write(versioned.join("tls.crt"), cert).unwrap();
    std::fs::write(versioned.join("tls.key"), key).unwrap();
    let staged = dir.join("..data_tmp");
    symlink(versioned.file_name().unwrap(), &staged).unwrap();
    std::fs::rename(&staged, dir.join("..data")).unwrap();
    for name in ["tls.crt", "tls.key"] {
        let link = dir.join(name);
        if link.symlink_metadata().is_err() {
            symlink(format!("..data/{name}"), link).unwrap();
        }
    }
}

async fn metric(gw: &TestGateway, name: &str) -> String {
    let text = common::get(&format!("http://{}/metrics", gw.ops), &[])
        .await
        .body;
    String::from_utf8_lossy(&text)
        .lines()
        .filter(|l| l.starts_with(name))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn certificate_files_are_watched_through_a_kubernetes_symlink_swap_and_a_bad_pair_never_replaces_a_good_one(
) {
    use portico_gateway::tls::local_files::CertificateFiles;
    let ca = Ca::new("Files Root");
    let (first, second, third) = (
        ca.issue(&["files.example.com"]),
        ca.issue(&["files.example.com"]),
        ca.issue(&["files.example.com"]),
    );
    let dir = tempfile::tempdir().unwrap();
    publish_secret(dir.path(), 1, &first.chain_pem, &first.key_pem);
    let gw = TestGateway::unconfigured(common::options(), ListenerLimits::default()).await;
    let files = CertificateFiles::start(
        dir.path().join("tls.crt"),
        dir.path().join("tls.key"),
        gw.gateway.clone(),
    )
    .unwrap();
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    tokio::spawn(files.run(shutdown));
    let client = Client::new(&[ca.der()], &[b"http/1.1"], None);
    let served = || async {
        client
            .connect(gw.tls, "files.example.com")
            .await
            .unwrap()
            .thumbprint
    };
    assert_eq!(served().await, first.thumbprint);
    let expiry = metric(&gw, "portico_certificate_expiry_seconds").await;
    assert!(expiry.contains(&first.thumbprint), "{expiry}");

    publish_secret(dir.path(), 2, &second.chain_pem, &second.key_pem);
    wait_until_served(&client, gw.tls, "files.example.com", &second.thumbprint).await;

    // A certificate with another pair's key: refused, counted, the good one keeps serving.
    publish_secret(dir.path(), 3, &third.chain_pem, &first.key_pem);
    let started = std::time::Instant::now();
    while !metric(&gw, "portico_certificate_reload_failures_total")
        .await
        .ends_with(" 1")
    {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "the bad pair was not reported"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(served().await, second.thumbprint);
    let _ = stop.send(true);
}

#[tokio::test]
async fn a_declarative_file_s_referenced_certificate_files_are_watched_in_their_own_folder() {
    use portico_gateway::config_file::FileSource;
    let ca = Ca::new("Document Root");
    let (first, second) = (
        ca.issue(&["doc.example.com"]),
        ca.issue(&["doc.example.com"]),
    );
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::create_dir(&secret).unwrap();
    publish_secret(&secret, 1, &first.chain_pem, &first.key_pem);
    let config = dir.path().join("portico.yaml");
    std::fs::write(
        &config,
        "certificates:\n  - { id: tls, pemFile: secret/tls.crt, keyFile: secret/tls.key }\n\
         gateways:\n  - id: edge\n    locationData: { name: test }\n    hostnameConfigurations:\n\
         \x20     - { id: doc, hostname: doc.example.com, certificateId: tls }\n",
    )
    .unwrap();
    let gw = TestGateway::unconfigured(common::options(), ListenerLimits::default()).await;
    let source = FileSource::start(&config, gw.gateway.clone()).unwrap();
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    tokio::spawn(source.run(shutdown));
    let client = Client::new(&[ca.der()], &[b"http/1.1"], None);
    let served = || async {
        client
            .connect(gw.tls, "doc.example.com")
            .await
            .unwrap()
            .thumbprint
    };
    assert_eq!(served().await, first.thumbprint);
    publish_secret(&secret, 2, &second.chain_pem, &second.key_pem);
    wait_until_served(&client, gw.tls, "doc.example.com", &second.thumbprint).await;
    let _ = stop.send(true);
}

/// Waits (up to 10 s) until new handshakes with `addr` for `name` get `thumbprint`.
async fn wait_until_served(client: &Client, addr: SocketAddr, name: &str, thumbprint: &str) {
    let started = std::time::Instant::now();
    while client.connect(addr, name).await.unwrap().thumbprint != thumbprint {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{name} never got certificate {thumbprint}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
