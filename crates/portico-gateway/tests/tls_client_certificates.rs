//! Inbound mTLS over real sockets: a hostname with `negotiateClientCertificate` asks for a
//! client certificate, `validate-client-certificate` judges it (trust against the gateway's
//! certificate authorities, dates, identities) and answers 401 as APIM does, and
//! `context.Request.Certificate` shows it to expressions. A hostname without
//! `negotiateClientCertificate` never asks.

mod common;

use common::tls::{snapshot_of, thumbprint, Ca, Client, Http1, Issued};
use common::{start_backend, TestGateway};
use portico_gateway::ListenerLimits;
use portico_model::CertificateInfo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use serde_json::{json, Value};
use std::net::SocketAddr;

const MTLS: &str = "mtls.example.com";
const PLAIN: &str = "plain.example.com";

/// The certificates a test world holds.
struct World {
    server_ca: Ca,
    client_ca: Ca,
    /// Issued by the trusted client CA: `CN=Client 01, O=Contoso, Inc.`, DNS
    /// `client01.example.com`.
    good: Issued,
    /// Issued by the trusted client CA, another identity.
    other: Issued,
    /// Issued by a CA the gateway does not know.
    untrusted: Issued,
    /// Issued by the trusted client CA, valid in 2020 only.
    expired: Issued,
    /// Issued by the trusted client CA, valid from 2090.
    future: Issued,
    /// `good`'s names, issued (and sent with its chain) by another CA that calls itself
    /// "Client Root" too.
    impostor: Issued,
}

fn client_certificate(ca: &Ca, common_name: &str, dns: &str) -> Issued {
    ca.issue_with(&[dns], |params| {
        let mut dn = rcgen::DistinguishedName::new();
        dn.push(rcgen::DnType::CountryName, "US");
        dn.push(rcgen::DnType::OrganizationName, "Contoso, Inc.");
        dn.push(rcgen::DnType::CommonName, common_name);
        params.distinguished_name = dn;
    })
}

impl World {
    fn new() -> Self {
        let client_ca = Ca::new("Client Root");
        let rogue = Ca::new("Rogue Root");
        let namesake = Ca::new("Client Root");
        let expired = client_ca.issue_with(&["old.example.com"], |params| {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        });
        let future = client_ca.issue_with(&["new.example.com"], |params| {
            params.not_before = rcgen::date_time_ymd(2090, 1, 1);
            params.not_after = rcgen::date_time_ymd(2091, 1, 1);
        });
        Self {
            server_ca: Ca::new("Server Root"),
            future,
            good: client_certificate(&client_ca, "Client 01", "client01.example.com"),
            other: client_certificate(&client_ca, "Client 02", "client02.example.com"),
            untrusted: client_certificate(&rogue, "Client 01", "client01.example.com"),
            expired,
            impostor: client_certificate(&namesake, "Client 01", "client01.example.com")
                .with_intermediate(&namesake),
            client_ca,
        }
    }

    fn client(&self, identity: Option<&Issued>) -> Client {
        Client::new(&[self.server_ca.der()], &[b"http/1.1"], identity)
    }
}

/// The leaf of an issued certificate, read as the gateway reads it.
fn info(issued: &Issued) -> CertificateInfo {
    let leaf = CertificateDer::pem_slice_iter(issued.chain_pem.as_bytes())
        .next()
        .unwrap()
        .unwrap();
    CertificateInfo::of_der(&leaf).unwrap()
}

/// An open API at `/{path}` whose operation runs `inbound`.
fn api(backend: SocketAddr, path: &str, inbound: &str) -> Value {
    json!({
        "id": path, "path": path, "serviceUrl": format!("http://{backend}"),
        "subscriptionRequired": false,
        "operations": [{"id": "get", "method": "GET", "urlTemplate": "/*",
            "policy": format!("<policies><inbound><base />{inbound}</inbound></policies>")}],
    })
}

fn validate(attributes: &str, identities: &str) -> String {
    format!(
        r#"<validate-client-certificate validate-revocation="false" {attributes}><identities>{identities}</identities></validate-client-certificate>"#
    )
}

async fn gateway(world: &World) -> TestGateway {
    let backend = start_backend().await;
    let good = info(&world.good);
    let untrusted = info(&world.untrusted);
    let client_ca = thumbprint(&world.client_ca.der());
    let server = world.server_ca.issue(&[MTLS, PLAIN]);
    let apis = vec![
        api(
            backend,
            "thumbprint",
            &validate(
                "",
                &format!(r#"<identity thumbprint="{}" />"#, good.thumbprint),
            ),
        ),
        api(
            backend,
            "untrusted-allowed",
            &validate(
                r#"validate-trust="false""#,
                &format!(r#"<identity thumbprint="{}" />"#, untrusted.thumbprint),
            ),
        ),
        api(
            backend,
            "rules",
            r#"<validate-client-certificate validate-revocation="false" />"#,
        ),
        api(
            backend,
            "dates-ignored",
            r#"<validate-client-certificate validate-revocation="false" validate-not-before="false" validate-not-after="false" />"#,
        ),
        api(
            backend,
            "names",
            &validate(
                r#"validate-trust="false""#,
                &format!(
                    r#"<identity common-name="client 01" dns-name="CLIENT01.example.com" subject='CN=Client 01, O="Contoso, Inc.", C=US' issuer-subject="CN=Client Root" issuer-thumbprint="{client_ca}" serial-number="{}" />"#,
                    good.serial_number
                ),
            ),
        ),
        api(
            backend,
            "issuer",
            &validate(
                r#"validate-trust="false""#,
                r#"<identity thumbprint="0000000000000000000000000000000000000000" /><identity issuer-certificate-id="client-ca" />"#,
            ),
        ),
        api(
            backend,
            "ignored",
            &validate(
                r#"ignore-error="true""#,
                r#"<identity common-name="nobody" />"#,
            ),
        ),
        api(
            backend,
            "expression",
            r#"<set-header name="X-Client-Thumbprint" exists-action="override"><value>@(context.Request.Certificate?.Thumbprint ?? "none")</value></set-header>
               <set-header name="X-Client-Subject" exists-action="override"><value>@(context.Request.Certificate?.SubjectName.Name ?? "none")</value></set-header>
               <set-header name="X-Client-Issuer" exists-action="override"><value>@(context.Request.Certificate?.Issuer ?? "none")</value></set-header>
               <set-header name="X-Client-Serial" exists-action="override"><value>@(context.Request.Certificate?.SerialNumber ?? "none")</value></set-header>
               <set-header name="X-Client-Dates" exists-action="override"><value>@(context.Request.Certificate == null ? "none" : context.Request.Certificate.NotBefore.ToString("yyyy") + "-" + context.Request.Certificate.NotAfter.ToString("yyyy"))</value></set-header>
               <set-header name="X-Client-Verified" exists-action="override"><value>@(context.Request.Certificate != null &amp;&amp; context.Request.Certificate.Verify() ? "yes" : "no")</value></set-header>"#,
        ),
    ];
    let doc = json!({
        // Every refusal shows its reason, so tests can tell them apart.
        "policy": r#"<policies><inbound /><on-error><set-header name="X-Error-Reason" exists-action="override"><value>@(context.LastError.Reason)</value></set-header></on-error></policies>"#,
        "apis": apis,
        "certificates": [
            server.entry("server"),
            {"id": "client-ca", "pem": world.client_ca.pem()},
        ],
        "gateways": [{
            "id": "edge", "locationData": {"name": "test"},
            "certificateAuthorities": [{"id": "client-ca", "isTrusted": true}],
            "hostnameConfigurations": [
                {"id": "mtls", "hostname": MTLS, "certificateId": "server",
                 "negotiateClientCertificate": true},
                {"id": "plain", "hostname": PLAIN, "certificateId": "server"},
            ],
        }],
    });
    let gw = TestGateway::unconfigured(common::options(), ListenerLimits::default()).await;
    gw.gateway.apply(&snapshot_of(&doc, 1)).unwrap();
    gw
}

/// What one request answered: status, `X-Error-Reason`, body.
struct Answer {
    status: u16,
    reason: Option<String>,
    body: Value,
}

async fn request(
    gw: &TestGateway,
    world: &World,
    host: &str,
    identity: Option<&Issued>,
    path: &str,
) -> Answer {
    let hs = world.client(identity).connect(gw.tls, host).await.unwrap();
    let mut http = Http1::over(hs).await;
    let (status, headers, body) = http.get_with_headers(host, path).await.unwrap();
    Answer {
        status,
        reason: headers
            .get("x-error-reason")
            .map(|v| v.to_str().unwrap().to_owned()),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    }
}

fn assert_refused(a: &Answer, reason: &str, message: &str) {
    assert_eq!(a.status, 401, "{reason}: {}", a.body);
    assert_eq!(a.reason.as_deref(), Some(reason));
    assert_eq!(
        a.body,
        json!({"statusCode": 401, "message": message}),
        "APIM's body for {reason}"
    );
}

#[tokio::test]
async fn validate_client_certificate_passes_and_refuses_as_apim_does() {
    let world = World::new();
    let gw = gateway(&world).await;
    // (a) A trusted certificate whose thumbprint is an identity.
    let a = request(&gw, &world, MTLS, Some(&world.good), "/thumbprint/x").await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["path"], "/x", "the backend answered");

    // (b) No certificate at all.
    for path in ["/thumbprint/x", "/rules/x"] {
        let a = request(&gw, &world, MTLS, None, path).await;
        assert_refused(
            &a,
            "ClientCertificateNotFound",
            "Client certificate missing",
        );
    }

    // (c) A certificate from a CA the gateway does not trust: refused while trust is
    // validated, accepted by thumbprint when validate-trust="false".
    let a = request(&gw, &world, MTLS, Some(&world.untrusted), "/rules/x").await;
    assert_refused(
        &a,
        "ClientCertificateNotTrusted",
        "Invalid client certificate",
    );
    let a = request(
        &gw,
        &world,
        MTLS,
        Some(&world.untrusted),
        "/untrusted-allowed/x",
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);

    // (d) An expired certificate (trusted, and valid when it was issued): refused unless
    // the dates are not validated.
    let a = request(&gw, &world, MTLS, Some(&world.expired), "/rules/x").await;
    assert_refused(&a, "ClientCertificateExpired", "Invalid client certificate");
    let a = request(&gw, &world, MTLS, Some(&world.future), "/rules/x").await;
    assert_refused(
        &a,
        "ClientCertificateNotYetValid",
        "Invalid client certificate",
    );
    for identity in [&world.expired, &world.future] {
        let a = request(&gw, &world, MTLS, Some(identity), "/dates-ignored/x").await;
        assert_eq!(a.status, 200, "{}", a.body);
    }

    // (e) A trusted certificate that is not the identity asked for.
    let a = request(&gw, &world, MTLS, Some(&world.other), "/thumbprint/x").await;
    assert_refused(
        &a,
        "ClientCertificateIdentityNotMatched",
        "Invalid client certificate",
    );

    // ignore-error lets a refused certificate through.
    let a = request(&gw, &world, MTLS, Some(&world.other), "/ignored/x").await;
    assert_eq!(a.status, 200, "{}", a.body);
}

#[tokio::test]
async fn identities_match_names_serial_numbers_and_issuers() {
    let world = World::new();
    let gw = gateway(&world).await;
    // Common name, DNS name, subject in .NET's order, issuer name and thumbprint, serial.
    let a = request(&gw, &world, MTLS, Some(&world.good), "/names/x").await;
    assert_eq!(a.status, 200, "{}", a.body);
    // The same names, issued by another CA: the issuer claims fail.
    let a = request(&gw, &world, MTLS, Some(&world.untrusted), "/names/x").await;
    assert_refused(
        &a,
        "ClientCertificateIdentityNotMatched",
        "Invalid client certificate",
    );
    let a = request(&gw, &world, MTLS, Some(&world.other), "/names/x").await;
    assert_refused(
        &a,
        "ClientCertificateIdentityNotMatched",
        "Invalid client certificate",
    );
    // An issuer's name proves nothing: a CA that only shares the trusted one's name does
    // not have its thumbprint, nor its key.
    for path in ["/names/x", "/issuer/x"] {
        let a = request(&gw, &world, MTLS, Some(&world.impostor), path).await;
        assert_refused(
            &a,
            "ClientCertificateIdentityNotMatched",
            "Invalid client certificate",
        );
    }

    // issuer-certificate-id: the certificate resource's key must have signed the client's.
    let a = request(&gw, &world, MTLS, Some(&world.other), "/issuer/x").await;
    assert_eq!(a.status, 200, "{}", a.body);
    let a = request(&gw, &world, MTLS, Some(&world.untrusted), "/issuer/x").await;
    assert_refused(
        &a,
        "ClientCertificateIdentityNotMatched",
        "Invalid client certificate",
    );
}

#[tokio::test]
async fn expressions_see_the_client_certificate_and_null_without_one() {
    let world = World::new();
    let gw = gateway(&world).await;
    let good = info(&world.good);
    let a = request(&gw, &world, MTLS, Some(&world.good), "/expression/x").await;
    assert_eq!(a.status, 200, "{}", a.body);
    let headers = &a.body["headers"];
    assert_eq!(headers["x-client-thumbprint"], good.thumbprint.as_str());
    assert_eq!(
        headers["x-client-subject"], r#"CN=Client 01, O="Contoso, Inc.", C=US"#,
        "as .NET prints it"
    );
    assert_eq!(headers["x-client-issuer"], "CN=Client Root");
    assert_eq!(headers["x-client-serial"], good.serial_number.as_str());
    assert_eq!(headers["x-client-verified"], "yes");
    let years = headers["x-client-dates"].as_str().unwrap().to_owned();
    assert_eq!(
        years,
        format!("{}-{}", &good.not_before[..4], &good.expiration_date[..4])
    );

    // Untrusted and expired certificates do not verify.
    for identity in [&world.untrusted, &world.expired] {
        let a = request(&gw, &world, MTLS, Some(identity), "/expression/x").await;
        assert_eq!(a.body["headers"]["x-client-verified"], "no");
        assert_eq!(
            a.body["headers"]["x-client-thumbprint"],
            info(identity).thumbprint.as_str()
        );
    }

    let a = request(&gw, &world, MTLS, None, "/expression/x").await;
    assert_eq!(a.body["headers"]["x-client-thumbprint"], "none");
    assert_eq!(a.body["headers"]["x-client-dates"], "none");
    assert_eq!(a.body["headers"]["x-client-verified"], "no");
}

#[tokio::test]
async fn a_hostname_without_negotiate_client_certificate_never_asks_for_one() {
    let world = World::new();
    let gw = gateway(&world).await;
    // The client holds a certificate and would send it if asked.
    let a = request(&gw, &world, PLAIN, Some(&world.good), "/expression/x").await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["headers"]["x-client-thumbprint"], "none");
    let a = request(&gw, &world, PLAIN, Some(&world.good), "/thumbprint/x").await;
    assert_refused(
        &a,
        "ClientCertificateNotFound",
        "Client certificate missing",
    );
    // The same client on the negotiating hostname is asked, and passes.
    let a = request(&gw, &world, MTLS, Some(&world.good), "/thumbprint/x").await;
    assert_eq!(a.status, 200, "{}", a.body);
}

#[tokio::test]
async fn an_unknown_issuer_certificate_id_refuses_the_configuration() {
    let backend = start_backend().await;
    let doc = json!({
        "apis": [api(backend, "issuer", &validate("", r#"<identity issuer-certificate-id="missing" />"#))],
    });
    let gw = TestGateway::unconfigured(common::options(), ListenerLimits::default()).await;
    let e = gw.gateway.apply(&snapshot_of(&doc, 1)).unwrap_err();
    assert!(
        e.contains("issuer-certificate-id: no certificate has the id `missing`"),
        "{e}"
    );
}
