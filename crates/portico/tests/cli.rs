//! The `portico` binary as an operator runs it: real processes, real signals.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::*;

fn start_gateway(config: &std::path::Path) -> (Process, SocketAddr) {
    let addr = free_addr();
    let ops = free_addr().to_string();
    let child = Command::new(BIN)
        .args([
            "gateway",
            "--config",
            config.to_str().unwrap(),
            "--ops-listen",
            &ops,
            "--workers",
            "2",
        ])
        .env("PORTICO_LISTEN", addr.to_string())
        .env("PORTICO_TLS_LISTEN", "127.0.0.1:0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_port(addr);
    (Process(child), addr)
}

#[test]
fn the_example_document_is_valid_and_serves_the_quick_start() {
    let (_echo, backend) = start_echo();
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/portico.yaml"
    ))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("portico.yaml");
    std::fs::write(
        &config,
        example.replace("127.0.0.1:8081", &backend.to_string()),
    )
    .unwrap();
    let (_gw, addr) = start_gateway(&config);
    let (status, body) = http_get(
        addr,
        "/echo/resource",
        "Ocp-Apim-Subscription-Key: demo-key-change-me\r\n",
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"path\":\"/resource\""), "{body}");
    let (status, body) = http_get(addr, "/echo/resource", "");
    assert_eq!(status, 401);
    assert!(body.contains("missing subscription key"), "{body}");
}

#[test]
fn an_invalid_document_is_refused_at_start_with_every_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.yaml");
    std::fs::write(
        &config,
        "apis:\n  - id: a\n    path: /x/\n    serviceUrl: ftp://nope\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args([
            "gateway",
            "--config",
            config.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--ops-listen",
            "127.0.0.1:0",
            "--tls-listen",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("apis[0].path") && stderr.contains("apis[0].serviceUrl"),
        "{stderr}"
    );
}

#[test]
fn sigterm_drains_requests_in_flight_and_exits_zero() {
    let (_echo, backend) = start_echo();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("portico.yaml");
    // The echo backend streams request bodies back, so a slow upload keeps a request in flight.
    std::fs::write(
        &config,
        format!("apis:\n  - {{ id: a, path: a, serviceUrl: 'http://{backend}', subscriptionRequired: false, operations: [{{ id: o, method: POST, urlTemplate: /up }}] }}\n"),
    )
    .unwrap();
    let (mut gw, addr) = start_gateway(&config);

    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "POST /a/up HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nConnection: close\r\n\r\nhello"
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));

    let pid = gw.0.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    std::thread::sleep(Duration::from_millis(300));
    // The listener is closed to new clients while the upload is still in flight.
    assert!(
        TcpStream::connect(addr).is_err(),
        "still accepting after SIGTERM"
    );
    s.write_all(b"world").unwrap();
    let mut reader = BufReader::new(s);
    let mut status = String::new();
    reader.read_line(&mut status).unwrap();
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    let mut rest = String::new();
    reader.read_to_string(&mut rest).unwrap();
    assert!(rest.ends_with("helloworld"), "{rest}");

    let code = wait_exit(&mut gw);
    assert!(code.success(), "exit status {code}");
}

#[test]
fn the_control_plane_generates_its_token_and_serves_the_api() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let db = format!("sqlite://{}/data/portico.db", dir.path().display());
    let child = Command::new(BIN)
        .args([
            "control-plane",
            "--database",
            &db,
            "--admin-listen",
            &addr.to_string(),
        ])
        .env_remove("PORTICO_ADMIN_TOKEN")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut cp = Process(child);
    wait_for_port(addr);
    let token_file = dir.path().join("data/admin-token");
    let token = std::fs::read_to_string(&token_file)
        .unwrap()
        .trim()
        .to_owned();
    assert_eq!(
        std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let auth = format!("Authorization: Bearer {token}\r\n");
    let api = r#"{"properties": {"path": "echo", "serviceUrl": "http://127.0.0.1:8081"}}"#;
    let (status, body) = http(addr, "PUT", "/apis/echo", &auth, api);
    assert_eq!(status, 201, "{body}");
    let (status, _) = http(addr, "GET", "/apis/echo", &auth, "");
    assert_eq!(status, 200);
    let (status, body) = http(addr, "GET", "/apis/echo", "", "");
    assert_eq!(status, 401, "{body}");

    assert!(Command::new("kill")
        .args(["-TERM", &cp.0.id().to_string()])
        .status()
        .unwrap()
        .success());
    assert!(wait_exit(&mut cp).success());
}

/// Starts `portico up` on free ports in `data_dir`, its echo backend on `echo` (which the
/// seeded API remembers across restarts); returns the process, the gateway and admin
/// addresses, and the demo key from its welcome message.
fn start_up(
    data_dir: &std::path::Path,
    echo: SocketAddr,
) -> (Process, SocketAddr, SocketAddr, String) {
    let (listen, ops, admin) = (free_addr(), free_addr(), free_addr());
    let mut child = Command::new(BIN)
        .arg("up")
        .args(["--data-dir", data_dir.to_str().unwrap()])
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
        .env_remove("PORTICO_ADMIN_TOKEN")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let process = Process(child);
    let key = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("portico up printed its welcome");
        if let Some(rest) = line.split("Ocp-Apim-Subscription-Key: ").nth(1) {
            break rest.split('\'').next().unwrap().to_owned();
        }
    };
    wait_for_port(listen);
    (process, listen, admin, key)
}

#[test]
fn portico_up_serves_the_seeded_echo_api_and_follows_the_management_api() {
    let dir = tempfile::tempdir().unwrap();
    let echo = free_addr();
    let (mut up, gateway, admin, key) = start_up(dir.path(), echo);
    let (status, body) = http_get(
        gateway,
        "/echo/resource",
        &format!("Ocp-Apim-Subscription-Key: {key}\r\n"),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(http_get(gateway, "/echo/resource", "").0, 401);

    // A change through the management API is served at once.
    let token = std::fs::read_to_string(dir.path().join("admin-token")).unwrap();
    let auth = format!("Authorization: Bearer {}\r\n", token.trim());
    let echo_url = http_get(admin, "/apis/echo-api", &auth).1;
    let service_url = serde_json_field(&echo_url, "serviceUrl");
    let open = format!(
        r#"{{"properties": {{"path": "open", "serviceUrl": "{service_url}", "subscriptionRequired": false}}}}"#
    );
    assert_eq!(http(admin, "PUT", "/apis/open", &auth, &open).0, 201);
    let op = r#"{"properties": {"method": "GET", "urlTemplate": "/*"}}"#;
    let (status, body) = http(admin, "PUT", "/apis/open/operations/all", &auth, op);
    assert_eq!(status, 201, "{body}");
    let started = Instant::now();
    while http_get(gateway, "/open/ping", "").0 != 200 {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the new API was not served"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );

    assert!(Command::new("kill")
        .args(["-TERM", &up.0.id().to_string()])
        .status()
        .unwrap()
        .success());
    assert!(wait_exit(&mut up).success());

    // A restart keeps the data and does not seed again.
    let (_up, gateway, _, key_again) = start_up(dir.path(), echo);
    assert_eq!(key_again, key);
    assert_eq!(http_get(gateway, "/open/ping", "").0, 200);
}

/// The string value of `"name": "…"` in a JSON text (enough for these tests).
fn serde_json_field(json: &str, name: &str) -> String {
    let start = json.find(&format!("\"{name}\":\"")).unwrap() + name.len() + 4;
    json[start..].split('"').next().unwrap().to_owned()
}

/// Runs a CLI command against a control plane; answers its standard output.
fn cli(admin: SocketAddr, token: &str, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .args(["--server", &format!("http://{admin}")])
        .env("PORTICO_ADMIN_TOKEN", token)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn apply_export_and_import_against_a_running_control_plane() {
    let dir = tempfile::tempdir().unwrap();
    let (_up, gateway, admin, _) = start_up(dir.path(), free_addr());
    let token = std::fs::read_to_string(dir.path().join("admin-token")).unwrap();
    let token = token.trim();
    let work = tempfile::tempdir().unwrap();
    std::fs::write(
        work.path().join("open.xml"),
        "<policies><inbound><base/></inbound></policies>",
    )
    .unwrap();
    let doc = work.path().join("portico.yaml");
    std::fs::write(
        &doc,
        "apis:\n  - id: open\n    path: open\n    serviceUrl: http://127.0.0.1:9\n    subscriptionRequired: false\n    policyFile: open.xml\n    operations:\n      - { id: all, method: GET, urlTemplate: /* }\n",
    )
    .unwrap();
    let doc = doc.to_str().unwrap();

    let applied = cli(admin, token, &["apply", "-f", doc]);
    assert!(applied.contains("+ apis/open/policies/policy"), "{applied}");
    assert!(applied.contains("applied 3 changes"), "{applied}");
    let again = cli(admin, token, &["apply", "-f", doc]);
    assert!(again.starts_with("no changes"), "{again}");

    // export → apply → export is byte-identical.
    let exported = cli(admin, token, &["export"]);
    assert!(exported.contains("id: open"), "{exported}");
    let copy = work.path().join("export.yaml");
    std::fs::write(&copy, &exported).unwrap();
    let reapplied = cli(admin, token, &["apply", "-f", copy.to_str().unwrap()]);
    assert!(reapplied.starts_with("no changes"), "{reapplied}");
    assert_eq!(cli(admin, token, &["export"]), exported);

    // A dry run with --prune lists the seeded resources it would delete, and deletes nothing.
    let plan = cli(admin, token, &["apply", "-f", doc, "--prune", "--dry-run"]);
    assert!(plan.contains("- apis/echo-api\n"), "{plan}");
    assert!(plan.contains("dry run: "), "{plan}");
    assert_eq!(cli(admin, token, &["export"]), exported);

    let petstore = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/corpus/openapi/petstore.yaml"
    );
    let imported = cli(
        admin,
        token,
        &[
            "import", "openapi", petstore, "--api-id", "pets", "--path", "pets",
        ],
    );
    assert!(imported.contains("(3 operations)"), "{imported}");
    let started = Instant::now();
    while http_get(gateway, "/open/anything", "").0 != 502 {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the applied API was not served"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
