//! Header rules for forwarding: hop-by-hop headers removed in both directions (RFC 9110
//! §7.6.1, including those a `Connection` header names), WebSocket upgrades kept intact, and
//! `X-Forwarded-For/-Proto/-Host` added.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use std::net::IpAddr;

/// An address as `X-Forwarded-For` text (IPv4-mapped IPv6 addresses shown as IPv4).
pub fn ip_header_value(ip: IpAddr) -> HeaderValue {
    HeaderValue::from_str(&ip.to_canonical().to_string())
        .expect("an IP address is valid header text")
}

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// Whether a header describes one connection and never travels past a proxy. A `match` on
/// the (lower-case) name compiles to a length switch and one comparison, cheaper per header
/// than probing the map for each hop-by-hop name.
fn is_hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
    )
}

/// Whether a request asks to switch protocols (a WebSocket handshake, typically).
pub fn is_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(header::UPGRADE) && connection_has(headers, "upgrade")
}

fn connection_has(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// Removes hop-by-hop headers. With `keep_upgrade`, the `Upgrade` header and a
/// `Connection: upgrade` survive so a protocol switch can pass through.
///
/// One pass over the headers finds what must go; most messages carry at most a
/// `Connection: keep-alive`, so this is cheaper than probing for each hop-by-hop name.
pub fn strip_hop_by_hop(headers: &mut HeaderMap, keep_upgrade: bool) {
    let mut doomed: smallvec::SmallVec<[HeaderName; 4]> = smallvec::SmallVec::new();
    for (name, value) in headers.iter() {
        if name == header::CONNECTION {
            // Headers named by Connection are hop-by-hop too.
            let tokens = value.to_str().unwrap_or("").split(',');
            doomed.extend(tokens.filter_map(|t| HeaderName::from_bytes(t.trim().as_bytes()).ok()));
        }
        // `TE: trailers` may travel on: gRPC needs it end to end over HTTP/2.
        let te_trailers = name == header::TE && value.as_bytes().eq_ignore_ascii_case(b"trailers");
        if is_hop_by_hop(name) && !te_trailers {
            doomed.push(name.clone());
        }
    }
    if doomed.is_empty() {
        return;
    }
    let upgrade = headers.remove(header::UPGRADE);
    for name in &doomed {
        headers.remove(name);
    }
    if let (true, Some(protocol)) = (keep_upgrade, upgrade) {
        headers.insert(header::UPGRADE, protocol);
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    }
}

/// What the gateway knows about the client side of a request.
#[derive(Debug, Clone, Copy)]
pub struct ClientSide<'a> {
    /// The client's address as header text, formatted once per connection.
    pub ip: &'a HeaderValue,
    /// `http` or `https`, as the client reached the gateway.
    pub scheme: &'static str,
    /// Whether the peer is a trusted front proxy whose forwarded headers are believed.
    pub trusted: bool,
}

/// Adds `X-Forwarded-For` (appending to any chain already there), and sets
/// `X-Forwarded-Proto`/`-Host` from this hop unless a trusted proxy already set them.
pub fn add_forwarded(
    headers: &mut HeaderMap,
    client: ClientSide<'_>,
    original_host: Option<HeaderValue>,
) {
    let chain = match headers.get(&X_FORWARDED_FOR).map(HeaderValue::as_bytes) {
        Some(prev) if !prev.trim_ascii().is_empty() => {
            let mut joined = Vec::with_capacity(prev.len() + 2 + client.ip.len());
            joined.extend_from_slice(prev);
            joined.extend_from_slice(b", ");
            joined.extend_from_slice(client.ip.as_bytes());
            HeaderValue::from_bytes(&joined).ok()
        }
        _ => Some(client.ip.clone()),
    };
    if let Some(v) = chain {
        headers.insert(X_FORWARDED_FOR.clone(), v);
    }
    if !(client.trusted && headers.contains_key(&X_FORWARDED_PROTO)) {
        headers.insert(
            X_FORWARDED_PROTO.clone(),
            HeaderValue::from_static(client.scheme),
        );
    }
    if !(client.trusted && headers.contains_key(&X_FORWARDED_HOST)) {
        match original_host {
            Some(host) => headers.insert(X_FORWARDED_HOST.clone(), host),
            None => headers.remove(&X_FORWARDED_HOST),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn strips_hop_by_hop_and_connection_named_headers() {
        let mut h = map(&[
            ("connection", "keep-alive, x-private"),
            ("keep-alive", "timeout=5"),
            ("x-private", "1"),
            ("te", "gzip"),
            ("upgrade", "websocket"),
            ("x-kept", "1"),
        ]);
        strip_hop_by_hop(&mut h, false);
        let names: Vec<_> = h.keys().map(|k| k.as_str()).collect();
        assert_eq!(names, vec!["x-kept"]);
        let mut h = map(&[("te", "trailers")]);
        strip_hop_by_hop(&mut h, false);
        assert_eq!(h["te"], "trailers", "gRPC's TE: trailers travels on");
    }

    #[test]
    fn keeps_upgrade_when_asked() {
        let mut h = map(&[("connection", "Upgrade"), ("upgrade", "websocket")]);
        assert!(is_upgrade(&h));
        strip_hop_by_hop(&mut h, true);
        assert_eq!(h["upgrade"], "websocket");
        assert_eq!(h["connection"], "upgrade");
    }

    #[test]
    fn forwarded_headers_trust_only_trusted_proxies() {
        let ip = ip_header_value("::ffff:10.0.0.7".parse().unwrap());
        let client = |trusted| ClientSide {
            ip: &ip,
            scheme: "http",
            trusted,
        };
        let incoming = [
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "api.example.com"),
        ];
        let mut h = map(&incoming);
        add_forwarded(
            &mut h,
            client(false),
            Some(HeaderValue::from_static("gw:8080")),
        );
        assert_eq!(h["x-forwarded-for"], "1.2.3.4, 10.0.0.7");
        assert_eq!(h["x-forwarded-proto"], "http");
        assert_eq!(h["x-forwarded-host"], "gw:8080");
        let mut h = map(&incoming);
        add_forwarded(
            &mut h,
            client(true),
            Some(HeaderValue::from_static("gw:8080")),
        );
        assert_eq!(h["x-forwarded-proto"], "https");
        assert_eq!(h["x-forwarded-host"], "api.example.com");
    }
}
