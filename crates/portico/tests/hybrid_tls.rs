//! Certificates through the hybrid push: a certificate replaced on the control plane (PUT on
//! the same id) reaches a `portico gateway` process's HTTPS listener, new handshakes get it
//! within a second, heartbeats report it, and the expiry view lists certificates by date.

mod common;
#[path = "hybrid/support.rs"]
mod support;

use common::*;
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use sha1::Digest;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::*;

const HOST: &str = "api.example.com";

struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl Ca {
    fn new() -> Self {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let cert = params.self_signed(&key).unwrap();
        Self { cert, key }
    }

    /// A leaf for `HOST` valid for `days`: its properties JSON and SHA-1 thumbprint.
    fn issue(&self, days: i64) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec![HOST.to_owned()]).unwrap();
        params.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(30);
        params.not_after = time::OffsetDateTime::now_utc() + time::Duration::days(days);
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        let properties = serde_json::json!({"pem": cert.pem(), "key": key.serialize_pem()});
        (properties.to_string(), thumbprint(cert.der()))
    }
}

fn thumbprint(der: &[u8]) -> String {
    sha1::Sha1::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

/// The thumbprint of the certificate a new handshake with `addr` for `HOST` gets, after a
/// request over it succeeded; `None` if the handshake or request failed.
fn served(addr: SocketAddr, ca: &Ca) -> Option<String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.cert.der().clone()).ok()?;
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .ok()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from(HOST).ok()?;
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name).ok()?;
    let mut tcp = TcpStream::connect(addr).ok()?;
    tcp.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut tls = rustls::Stream::new(&mut conn, &mut tcp);
    tls.write_all(
        format!("GET /a/hello HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .ok()?;
    let mut answer = String::new();
    let _ = tls.read_to_string(&mut answer);
    if !answer.starts_with("HTTP/1.1 200") {
        return None;
    }
    Some(thumbprint(conn.peer_certificates()?.first()?))
}

#[test]
fn a_certificate_replaced_on_the_control_plane_is_served_by_new_handshakes_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let (_echo, backend) = start_echo();
    let cp = free_addr();
    let _control = start_control_plane(dir.path(), cp);
    put_api(cp, "a", backend, "");
    let ca = Ca::new();
    let (first, first_thumbprint) = ca.issue(20);
    put(cp, "/certificates/tls", &first);
    let token = put_gateway(cp, "edge", &["a"]);
    let revision = put(
        cp,
        "/gateways/edge/hostnameConfigurations/api",
        &format!(r#"{{"hostname": "{HOST}", "certificateId": "tls"}}"#),
    );
    let gw = start_gateway(&format!("http://{cp}"), &["--token", &token]);
    gw.wait_revision(revision, Duration::from_secs(20));
    assert_eq!(served(gw.tls, &ca), Some(first_thumbprint.clone()));

    // Rotation: the same id, new content.
    let (second, second_thumbprint) = ca.issue(90);
    let started = Instant::now();
    put(cp, "/certificates/tls", &second);
    loop {
        let seen = served(gw.tls, &ca);
        if seen.as_ref() == Some(&second_thumbprint) {
            break;
        }
        assert!(
            seen.as_ref() == Some(&first_thumbprint),
            "every request succeeds during the rotation; saw {seen:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the rotation never arrived"
        );
    }
    let took = started.elapsed();
    println!("certificate rotation reached new handshakes {took:?} after the PUT");

    // Heartbeats report what is served now.
    eventually(
        Duration::from_secs(10),
        "the heartbeat reports the new certificate",
        || {
            let (_, _, body) = admin(cp, "GET", "/gateways/edge/instances", "");
            body.contains(&second_thumbprint)
        },
    );

    // Only the certificate expiring within 30 days is listed... after rotation none is.
    let (status, _, body) = admin(cp, "GET", "/expiringCertificates", "");
    assert_eq!(status, 200, "{body}");
    let listed: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(listed["value"], serde_json::json!([]), "{body}");
    let (_, _, body) = admin(cp, "GET", "/expiringCertificates?withinDays=120", "");
    let listed: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        listed["value"][0]["thumbprint"],
        second_thumbprint.as_str(),
        "{body}"
    );
    assert_eq!(
        listed["value"][0]["servedBy"][0]["hostname"], HOST,
        "{body}"
    );
    assert!(
        listed["value"][0]["daysRemaining"].as_i64().unwrap() >= 89,
        "{body}"
    );
}

#[test]
fn an_expired_certificate_upload_is_refused_naming_the_date() {
    let dir = tempfile::tempdir().unwrap();
    let cp = free_addr();
    let _control = start_control_plane(dir.path(), cp);
    let ca = Ca::new();
    let (expired, _) = ca.issue(-1);
    let (status, _, body) = admin(
        cp,
        "PUT",
        "/certificates/old",
        &format!(r#"{{"properties": {expired}}}"#),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("expired on"), "{body}");
}
