//! Egress through a corporate proxy: `HTTPS_PROXY` (for `https://` control planes) and
//! `HTTP_PROXY` (for `http://`), lower-case twins included, skipped for hosts in `NO_PROXY`.
//! The connection is tunnelled with HTTP `CONNECT`, so TLS to the control plane stays end to
//! end and the proxy sees only the host name. Proxy authentication is not supported yet.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A proxy to tunnel through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proxy {
    /// `host:port` of the proxy.
    pub addr: String,
}

/// Proxy settings read from the environment once at start.
#[derive(Debug, Clone, Default)]
pub struct ProxySettings {
    https: Option<Proxy>,
    http: Option<Proxy>,
    no_proxy: Vec<String>,
}

impl ProxySettings {
    pub fn from_env() -> Self {
        let var = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| std::env::var(n).ok().filter(|v| !v.trim().is_empty()))
        };
        Self::new(
            var(&["HTTPS_PROXY", "https_proxy"]).as_deref(),
            var(&["HTTP_PROXY", "http_proxy"]).as_deref(),
            var(&["NO_PROXY", "no_proxy"]).as_deref().unwrap_or(""),
        )
    }

    pub fn new(https: Option<&str>, http: Option<&str>, no_proxy: &str) -> Self {
        Self {
            https: https.and_then(parse_proxy),
            http: http.and_then(parse_proxy),
            no_proxy: no_proxy
                .split(',')
                .map(|s| s.trim().trim_start_matches('.').to_ascii_lowercase())
                .filter(|s| !s.is_empty())
                .collect(),
        }
    }

    /// The proxy to use for `host` over `https` or plain HTTP, if any.
    pub fn for_host(&self, https: bool, host: &str) -> Option<&Proxy> {
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let bypass = self
            .no_proxy
            .iter()
            .any(|n| n == "*" || host == *n || host.ends_with(&format!(".{n}")));
        if bypass {
            return None;
        }
        if https {
            self.https.as_ref()
        } else {
            self.http.as_ref()
        }
    }
}

/// `http://host:port`, `host:port` or `host` (port 80).
fn parse_proxy(value: &str) -> Option<Proxy> {
    let rest = value.trim();
    let rest = rest.strip_prefix("http://").unwrap_or(rest);
    let rest = rest.split('/').next()?;
    let rest = rest.rsplit('@').next()?;
    if rest.is_empty() {
        return None;
    }
    let has_port = rest
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok());
    Some(Proxy {
        addr: if has_port {
            rest.to_owned()
        } else {
            format!("{rest}:80")
        },
    })
}

/// Opens a tunnel to `target` (`host:port`) through `proxy`.
pub async fn connect(proxy: &Proxy, target: &str) -> std::io::Result<TcpStream> {
    let mut stream = TcpStream::connect(&proxy.addr).await?;
    stream.set_nodelay(true)?;
    let request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    // Read the proxy's answer head byte by byte: anything after it belongs to the tunnel.
    let mut head = Vec::with_capacity(128);
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 8192 {
            return Err(std::io::Error::other(
                "the proxy's CONNECT answer is too long",
            ));
        }
        let mut byte = [0u8; 1];
        if stream.read(&mut byte).await? == 0 {
            return Err(std::io::Error::other(
                "the proxy closed the connection during CONNECT",
            ));
        }
        head.push(byte[0]);
    }
    let status_line = String::from_utf8_lossy(&head);
    let status_line = status_line.lines().next().unwrap_or("");
    if status_line.split_whitespace().nth(1) != Some("200") {
        return Err(std::io::Error::other(format!(
            "the proxy {} refused CONNECT {target}: {status_line}",
            proxy.addr
        )));
    }
    Ok(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_proxy_by_scheme_and_honours_no_proxy() {
        let s = ProxySettings::new(
            Some("http://proxy.corp:3128"),
            Some("plain:8080"),
            "internal.corp, .svc,localhost",
        );
        assert_eq!(
            s.for_host(true, "cp.example.com").unwrap().addr,
            "proxy.corp:3128"
        );
        assert_eq!(
            s.for_host(false, "cp.example.com").unwrap().addr,
            "plain:8080"
        );
        assert_eq!(s.for_host(true, "internal.corp"), None);
        assert_eq!(s.for_host(true, "a.internal.corp"), None);
        assert_eq!(s.for_host(true, "x.svc"), None);
        assert_eq!(s.for_host(true, "LOCALHOST"), None);
        let all = ProxySettings::new(Some("p"), None, "*");
        assert_eq!(all.for_host(true, "anything"), None);
        assert_eq!(
            ProxySettings::new(Some("p"), None, "")
                .for_host(true, "x")
                .unwrap()
                .addr,
            "p:80"
        );
    }
}
