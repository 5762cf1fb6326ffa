//! The control plane over HTTPS (`--admin-tls-cert`/`--admin-tls-key`), end to end with a CA
//! and server certificate made by rcgen: plain HTTP is not served, the `portico` CLI reaches it
//! with `--ca`, and a gateway with `--control-plane-ca` syncs and heartbeats while one without
//! it refuses the certificate, says why, and stays not ready. A renewed certificate written
//! over the files is served by new handshakes without a restart; a broken one is not.

mod common;
#[path = "hybrid/support.rs"]
mod support;

use common::*;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use support::*;

/// PEM files of a private CA and a server certificate it signed for 127.0.0.1.
struct Pki {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

fn make_pki(dir: &Path) -> Pki {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Portico test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params
        .subject_alt_names
        .push(rcgen::SanType::IpAddress("127.0.0.1".parse().unwrap()));
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
    let pki = Pki {
        ca: dir.join("ca.pem"),
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    };
    std::fs::write(&pki.ca, ca.pem()).unwrap();
    // The chain as operators deploy it: leaf, then the issuer.
    std::fs::write(&pki.cert, format!("{}{}", cert.pem(), ca.pem())).unwrap();
    std::fs::write(&pki.key, key.serialize_pem()).unwrap();
    pki
}

/// `portico control-plane` on SQLite in `dir`, serving HTTPS on `cp` with `pki`'s files.
fn start_https_control_plane(dir: &Path, pki: &Pki, cp: SocketAddr) -> Process {
    let database = format!("sqlite://{}/portico.db", dir.display());
    let tls = [
        "--admin-tls-cert",
        pki.cert.to_str().unwrap(),
        "--admin-tls-key",
        pki.key.to_str().unwrap(),
    ];
    start_control_plane_with(&database, cp, &tls, &[], Stdio::null())
}

/// A rustls client trusting only `ca`, limited to `versions`.
fn tls_client(
    ca: &Path,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// One HTTPS request with the admin token; returns the negotiated TLS version, the status and
/// the body.
fn https(
    cp: SocketAddr,
    config: Arc<rustls::ClientConfig>,
    method: &str,
    path: &str,
    body: &str,
) -> (rustls::ProtocolVersion, u16, String) {
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let conn = rustls::ClientConnection::new(config, name).unwrap();
    let tcp = TcpStream::connect(cp).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    write!(
        tls,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = Vec::new();
    if let Err(e) = tls.read_to_end(&mut out) {
        // A peer closing without close_notify after a complete answer is fine here.
        assert!(
            e.kind() == std::io::ErrorKind::UnexpectedEof && !out.is_empty(),
            "{e}"
        );
    }
    let version = tls.conn.protocol_version().unwrap();
    let out = String::from_utf8(out).unwrap();
    let status = out[9..12].parse().unwrap();
    let body = out.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_owned();
    (version, status, body)
}

/// Whether a TLS handshake with `cp` succeeds for a client configured by `config`.
fn handshake_succeeds(cp: SocketAddr, config: Arc<rustls::ClientConfig>) -> bool {
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let mut conn = rustls::ClientConnection::new(config, name).unwrap();
    let mut tcp = TcpStream::connect(cp).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    while conn.is_handshaking() {
        if conn.complete_io(&mut tcp).is_err() {
            return false;
        }
    }
    true
}

/// `portico ARGS…` with the admin token; returns success, stdout and stderr.
fn portico(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .env("PORTICO_ADMIN_TOKEN", ADMIN_TOKEN)
        .env_remove("PORTICO_SERVER")
        .env_remove("PORTICO_CA")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_control_plane_serves_https_only_and_gateways_need_its_ca() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path());
    let (_echo, backend) = start_echo();
    let cp = free_addr();
    let _control = start_https_control_plane(dir.path(), &pki, cp);
    let server = format!("https://{cp}");

    // Plain HTTP gets no HTTP answer.
    let mut plain = TcpStream::connect(cp).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    plain
        .write_all(b"GET /apis HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    assert!(!answer.starts_with(b"HTTP/"), "plain HTTP was answered");

    // TLS 1.3 by default, TLS 1.2 for a client that offers only that.
    let tls13 = tls_client(&pki.ca, &[&rustls::version::TLS13]);
    let tls12 = tls_client(&pki.ca, &[&rustls::version::TLS12]);
    let (version, status, _) = https(cp, tls13.clone(), "GET", "/apis", "");
    assert_eq!((version, status), (rustls::ProtocolVersion::TLSv1_3, 200));
    let (version, status, _) = https(cp, tls12, "GET", "/apis", "");
    assert_eq!((version, status), (rustls::ProtocolVersion::TLSv1_2, 200));

    // The CLI reaches it with --ca, and without it says what to do.
    let doc = dir.path().join("portico.yaml");
    std::fs::write(
        &doc,
        format!(
            "apis:\n  - id: a\n    path: a\n    serviceUrl: http://{backend}\n    subscriptionRequired: false\n    operations:\n      - {{ id: hello, method: GET, urlTemplate: /hello }}\ngateways:\n  - id: ga\n    locationData: {{ name: test }}\n    apis: [a]\n"
        ),
    )
    .unwrap();
    let ca = pki.ca.to_str().unwrap();
    let doc = doc.to_str().unwrap();
    let (ok, out, err) = portico(&["apply", "-f", doc, "--server", &server, "--ca", ca]);
    assert!(ok, "{out}{err}");
    let (ok, out, err) = portico(&["export", "--server", &server, "--ca", ca]);
    assert!(ok && out.contains("id: ga"), "{out}{err}");
    let (ok, _, err) = portico(&["export", "--server", &server]);
    assert!(!ok && err.contains("--ca"), "{err}");

    let expiry = humantime::format_rfc3339_seconds(SystemTime::now() + Duration::from_secs(86400));
    let (_, status, body) = https(
        cp,
        tls13.clone(),
        "POST",
        "/gateways/ga/generateToken",
        &format!(r#"{{"keyType": "primary", "expiry": "{expiry}"}}"#),
    );
    assert_eq!(status, 200, "{body}");
    let token: serde_json::Value = serde_json::from_str(&body).unwrap();
    let token = token["value"].as_str().unwrap();

    // A gateway trusting the CA syncs and heartbeats.
    let gw = start_gateway(&server, &["--token", token, "--control-plane-ca", ca]);
    gw.revision_after(Duration::from_secs(30));
    assert_eq!(gw.get("/a/hello"), 200);
    eventually(Duration::from_secs(10), "the heartbeat over HTTPS", || {
        let (_, status, body) = https(cp, tls13.clone(), "GET", "/gateways/ga/instances", "");
        status == 200 && body.contains("\"configSource\":\"controlPlane\"")
    });

    // One that does not trust it refuses the certificate, says so, and stays not ready.
    let log = dir.path().join("untrusting.log");
    let untrusting = start_gateway_with(
        &server,
        &["--token", token],
        &[],
        Stdio::from(std::fs::File::create(&log).unwrap()),
    );
    eventually(Duration::from_secs(15), "the refusal reported", || {
        let (status, ready) = untrusting.readyz();
        status == 503
            && ready.contains("TLS handshake failed")
            && ready.contains("--control-plane-ca")
    });
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("TLS handshake failed") && logged.contains("UnknownIssuer"),
        "{logged}"
    );
    assert_eq!(untrusting.revision(), None);
}

#[test]
fn portico_up_serves_its_management_api_over_https() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path());
    let (admin, listen, ops, echo) = (free_addr(), free_addr(), free_addr(), free_addr());
    let _up = Process(
        Command::new(BIN)
            .arg("up")
            .args(["--data-dir", dir.path().join("data").to_str().unwrap()])
            .args([
                "--listen",
                &listen.to_string(),
                "--ops-listen",
                &ops.to_string(),
                "--tls-listen",
                "127.0.0.1:0",
            ])
            .args([
                "--admin-listen",
                &admin.to_string(),
                "--echo-listen",
                &echo.to_string(),
            ])
            .args(["--admin-tls-cert", pki.cert.to_str().unwrap()])
            .args(["--admin-tls-key", pki.key.to_str().unwrap()])
            .env("PORTICO_ADMIN_TOKEN", ADMIN_TOKEN)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for_port(admin);
    let (_, status, body) = https(
        admin,
        tls_client(&pki.ca, &[&rustls::version::TLS13]),
        "GET",
        "/apis",
        "",
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("echo"), "{body}");
}

#[test]
fn a_renewed_certificate_is_served_without_a_restart_and_a_broken_one_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path());
    let cp = free_addr();
    let _control = start_https_control_plane(dir.path(), &pki, cp);
    let first = tls_client(&pki.ca, &[&rustls::version::TLS13]);
    assert!(handshake_succeeds(cp, first.clone()));

    // Renewal by another CA, so the two certificates cannot be mistaken for each other:
    // written beside the served files and renamed over them, key first, as tools do.
    let next_dir = dir.path().join("next");
    std::fs::create_dir(&next_dir).unwrap();
    let next = make_pki(&next_dir);
    let renewed = tls_client(&next.ca, &[&rustls::version::TLS13]);
    assert!(!handshake_succeeds(cp, renewed.clone()));
    std::fs::rename(&next.key, &pki.key).unwrap();
    std::fs::rename(&next.cert, &pki.cert).unwrap();
    eventually(
        Duration::from_secs(30),
        "the renewed certificate served",
        || handshake_succeeds(cp, renewed.clone()),
    );
    assert!(!handshake_succeeds(cp, first));
    let (_, status, _) = https(cp, renewed.clone(), "GET", "/apis", "");
    assert_eq!(status, 200);

    // A broken renewal (the key of another certificate) is not taken: the last good
    // certificate keeps being served after the files were checked again.
    let other_dir = dir.path().join("other");
    std::fs::create_dir(&other_dir).unwrap();
    let other = make_pki(&other_dir);
    std::fs::rename(&other.key, &pki.key).unwrap();
    std::thread::sleep(portico_control::admin_tls::RELOAD_CHECK * 3);
    assert!(handshake_succeeds(cp, renewed.clone()));
    let (_, status, _) = https(cp, renewed, "GET", "/apis", "");
    assert_eq!(status, 200);
}
