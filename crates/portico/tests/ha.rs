//! A highly available control plane: several `portico control-plane` replicas on one
//! PostgreSQL database, as real processes. A change written through one replica wakes the
//! gateways held by another (LISTEN/NOTIFY), heartbeats sent to one are seen from all, and a
//! replica killed under load costs no request and no acknowledged change.

mod common;
#[path = "ha/postgres.rs"]
mod postgres;
#[path = "hybrid/support.rs"]
mod support;

use common::*;
use postgres::Database;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::*;

/// Every replica of one deployment shares the master key (secrets are sealed with it).
const MASTER_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/// Starts a replica on `db`, logging to `dir/NAME.log`.
fn start_replica(db: &Database, dir: &Path, name: &str) -> (Process, SocketAddr) {
    let addr = free_addr();
    let log = std::fs::File::create(dir.join(format!("{name}.log"))).unwrap();
    let process = start_control_plane_with(
        &db.url,
        addr,
        &[],
        &[("PORTICO_MASTER_KEY", MASTER_KEY)],
        Stdio::from(log),
    );
    (process, addr)
}

/// The instances `cp` lists for gateway `ga`.
fn instances(cp: SocketAddr) -> Vec<serde_json::Value> {
    let (status, _, body) = admin(cp, "GET", "/gateways/ga/instances", "");
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["value"].as_array().unwrap().clone()
}

#[test]
fn a_change_through_one_replica_reaches_a_gateway_held_by_another_and_heartbeats_are_shared() {
    let db = Database::create();
    let dir = tempfile::tempdir().unwrap();
    let (_echo, backend) = start_echo();
    let (_a, a) = start_replica(&db, dir.path(), "a");
    let (_b, b) = start_replica(&db, dir.path(), "b");
    put_api(a, "a", backend, "0");
    let token = put_gateway(a, "ga", &["a"]);
    let on_a = start_gateway(&format!("http://{a}"), &["--token", &token]);
    let on_b = start_gateway(&format!("http://{b}"), &["--token", &token]);
    on_a.revision_after(Duration::from_secs(30));
    on_b.revision_after(Duration::from_secs(30));

    // Changes written through B reach the gateway held by A (and the one held by B).
    let mut samples = Vec::new();
    for change in 1..=10 {
        let revision = put(
            b,
            "/apis/a",
            &format!(
                r#"{{"path": "a", "serviceUrl": "http://{backend}", "subscriptionRequired": false, "description": "{change}"}}"#
            ),
        );
        samples.push(on_a.wait_revision(revision, Duration::from_secs(5)));
        on_b.wait_revision(revision, Duration::from_secs(5));
    }
    put_api(b, "b", backend, "");
    let revision = put(b, "/gateways/ga/apis/b", "{}");
    samples.push(on_a.wait_revision(revision, Duration::from_secs(5)));
    assert_eq!(on_a.get("/b/hello"), 200);
    samples.sort();
    eprintln!(
        "B's writes to the gateway held by A: median {:.1} ms, max {:.1} ms over {} changes",
        samples[samples.len() / 2].as_secs_f64() * 1e3,
        samples[samples.len() - 1].as_secs_f64() * 1e3,
        samples.len()
    );

    // Each gateway heartbeats to its own replica; both replicas list both instances.
    for cp in [a, b] {
        eventually(
            Duration::from_secs(10),
            "both instances on both replicas",
            || {
                let list = instances(cp);
                list.len() == 2
                    && list.iter().all(|i| {
                        i["latest"] == true
                            && i["stale"] == false
                            && i["appliedRevision"] == revision
                    })
            },
        );
    }
}

#[test]
fn a_replica_killed_under_load_fails_no_request_and_loses_no_acknowledged_change() {
    let db = Database::create();
    let dir = tempfile::tempdir().unwrap();
    let (_echo, backend) = start_echo();
    let (mut replica_a, a) = start_replica(&db, dir.path(), "a");
    let (_b, b) = start_replica(&db, dir.path(), "b");
    put_api(a, "a", backend, "0");
    let token = put_gateway(a, "ga", &["a"]);
    let gw = start_gateway(&format!("http://{a},http://{b}"), &["--token", &token]);
    gw.revision_after(Duration::from_secs(30));

    // Clients call the gateway throughout.
    let load = ClientLoad::start(gw.listen, "/a/hello");
    let stop = Arc::new(AtomicBool::new(false));
    // An operator keeps writing through A; every write A acknowledged must survive it.
    let acked = Arc::new(Mutex::new(Vec::<(u64, u64)>::new()));
    let writer = {
        let (stop, acked) = (stop.clone(), acked.clone());
        std::thread::spawn(move || {
            for change in 1.. {
                let body = format!(
                    r#"{{"properties": {{"path": "a", "serviceUrl": "http://{backend}", "subscriptionRequired": false, "description": "{change}"}}}}"#
                );
                match try_put(a, "/apis/a", &body) {
                    Some(revision) => acked.lock().unwrap().push((change, revision)),
                    None => return, // A is gone
                }
                if stop.load(Ordering::Relaxed) {
                    return;
                }
            }
        })
    };
    eventually(Duration::from_secs(30), "writes acknowledged by A", || {
        acked.lock().unwrap().len() >= 5
    });
    let applied_before = gw.revision().unwrap();
    let _ = replica_a.0.kill(); // SIGKILL: no goodbye to anyone
    let _ = replica_a.0.wait();
    writer.join().unwrap();
    let killed = Instant::now();
    let acked = acked.lock().unwrap().clone();
    let &(last_change, last_revision) = acked.last().unwrap();

    // Nothing acknowledged is lost: B holds it (or the one write A may have committed without
    // answering), and the gateway, now on B, applies it.
    let (status, _, body) = admin(b, "GET", "/apis/a", "");
    assert_eq!(status, 200, "{body}");
    let stored: serde_json::Value = serde_json::from_str(&body).unwrap();
    let description: u64 = stored["properties"]["description"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        description == last_change || description == last_change + 1,
        "A acknowledged change {last_change}, B holds {description}"
    );
    gw.wait_revision(last_revision, Duration::from_secs(30));

    // A change written to B after the kill reaches the gateway.
    put_api(b, "late", backend, "");
    let revision = put(b, "/gateways/ga/apis/late", "{}");
    gw.wait_revision(revision, Duration::from_secs(30));
    let failed_over = killed.elapsed();
    assert_eq!(gw.get("/late/hello"), 200);
    eventually(
        Duration::from_secs(10),
        "B's instance view shows the gateway synced with B",
        || {
            instances(b).iter().any(|i| {
                i["appliedRevision"] == revision
                    && i["lastSync"]["message"]
                        .as_str()
                        .is_some_and(|m| m.contains(&b.to_string()))
            })
        },
    );
    std::thread::sleep(Duration::from_millis(300)); // a little more load on the new path
    stop.store(true, Ordering::Relaxed);
    let (ok, failed) = load.finish();
    eprintln!(
        "{} writes acknowledged by A before SIGKILL (gateway at revision {applied_before} then); a change through B applied {:.0} ms after the kill; {ok} requests, {failed} failed",
        acked.len(),
        failed_over.as_secs_f64() * 1e3
    );
    assert_eq!(failed, 0, "{ok} succeeded");
    assert!(ok > 50, "only {ok} requests made");
}

/// `PUT path body` with the admin token; the revision of the answer's ETag, or `None` when the
/// control plane did not answer with success (it may have been killed mid-request).
fn try_put(cp: SocketAddr, path: &str, body: &str) -> Option<u64> {
    let mut s = TcpStream::connect(cp).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    write!(
        s,
        "PUT {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let status: u16 = out.get(9..12)?.parse().ok()?;
    if !(200..300).contains(&status) {
        return None;
    }
    out.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("etag")
            .then(|| value.trim().trim_matches('"').parse().ok())?
    })
}
