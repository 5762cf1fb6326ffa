//! `forward-request follow-redirects="true"` over real sockets: same-host redirects keep the
//! request's credentials, a redirect to another host drops them, and a relative reference
//! goes back to the client rather than being taken for a host name.

mod common;

use common::*;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::convert::Infallible;
use std::net::SocketAddr;

/// A backend that redirects `/same` to its own `/landed`, `/away` to `elsewhere`, `/relative`
/// to a relative reference, and echoes anything else.
async fn redirecting(elsewhere: SocketAddr) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let svc = service_fn(move |req: Request<Incoming>| async move {
                let to = match req.uri().path() {
                    "/same" => Some("/landed".to_owned()),
                    "/away" => Some(format!("http://{elsewhere}/landed")),
                    "/relative" => Some("next".to_owned()),
                    _ => None,
                };
                match to {
                    Some(location) => Ok::<_, Infallible>(
                        Response::builder()
                            .status(302)
                            .header("location", location)
                            .body(empty())
                            .unwrap(),
                    ),
                    None => portico_echo::echo(req).await,
                }
            });
            tokio::spawn(async move {
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn redirects_are_followed_without_carrying_credentials_to_other_hosts() {
    let elsewhere = start_backend().await;
    let backend = redirecting(elsewhere).await;
    let yaml = format!(
        "apis:\n  - id: api\n    path: api\n    serviceUrl: 'http://{backend}'\n    subscriptionRequired: false\n    operations:\n      - {{ id: all, method: '*', urlTemplate: '/*' }}\n    policy: '<policies><inbound/><backend><forward-request follow-redirects=\"true\"/></backend><outbound/><on-error/></policies>'\n"
    );
    let gw = TestGateway::start(&yaml).await;
    let creds = [("authorization", "Bearer secret-token"), ("cookie", "s=1")];

    let same = get(&gw.url("/api/same"), &creds).await;
    assert_eq!(same.status, 200);
    let j = same.json();
    assert_eq!(j["path"], "/landed");
    assert_eq!(
        j["headers"]["authorization"], "Bearer secret-token",
        "same host keeps them"
    );

    let away = get(&gw.url("/api/away"), &creds).await;
    assert_eq!(away.status, 200);
    let j = away.json();
    assert_eq!(j["path"], "/landed");
    assert!(j["headers"].get("authorization").is_none(), "{j}");
    assert!(j["headers"].get("cookie").is_none(), "{j}");

    let relative = get(&gw.url("/api/relative"), &[]).await;
    assert_eq!(
        relative.status, 302,
        "a relative reference is the client's to follow"
    );
}
