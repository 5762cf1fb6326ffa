//! Streaming a large body both ways with flat memory. In its own test binary so no other test
//! allocates in the same process while resident memory is measured.

mod common;

use common::*;
use http_body_util::BodyExt;

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

#[tokio::test]
async fn large_bodies_stream_both_ways_with_flat_memory() {
    const SIZE: u64 = 256 * 1024 * 1024;
    let gw = open_gateway().await;
    let before = rss_bytes();

    let upload = http::Request::post(gw.url("/api/count"))
        .body(zeros(SIZE))
        .unwrap();
    let a = send(upload).await;
    assert_eq!(a.status, 200);
    assert_eq!(std::str::from_utf8(&a.body).unwrap(), SIZE.to_string());

    let resp = client()
        .request(
            http::Request::get(gw.url(&format!("/api/bytes/{SIZE}")))
                .body(empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let mut body = resp.into_body();
    let mut received = 0u64;
    while let Some(frame) = body.frame().await {
        received += frame
            .unwrap()
            .into_data()
            .map(|d| d.len() as u64)
            .unwrap_or(0);
    }
    assert_eq!(received, SIZE);

    let grown = rss_bytes().saturating_sub(before);
    assert!(
        grown < 64 * 1024 * 1024,
        "memory grew by {} MiB while streaming {} MiB",
        grown >> 20,
        SIZE >> 20
    );
    let log = gw.access_log_lines().await;
    assert_eq!(log[0]["bytesIn"], SIZE);
    assert_eq!(log[1]["bytesOut"], SIZE);
}
