//! A minimal HTTP/1.1 client over any byte stream (TCP, or rustls on TCP): one request at a
//! time on a kept-alive connection, bodies framed by Content-Length, chunked encoding or the
//! connection's end. The hybrid scenarios time single requests and look at single answers,
//! which wrk cannot do, and the workspace holds no blocking HTTP client worth adding for it.

use anyhow::{bail, Context};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// How long one answer may take before the request counts as failed.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A response head larger than this is not one our targets send.
const MAX_HEAD: usize = 64 * 1024;

/// One response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// Names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A connection that carries requests one after the other.
#[derive(Debug)]
pub struct Conn<S> {
    stream: S,
    /// Bytes read but not yet part of a complete response.
    buf: Vec<u8>,
}

/// A kept-alive TCP connection to `addr`, with Nagle off (requests are small and timed) and
/// a read timeout so a hung target fails the request instead of the run.
pub fn connect(addr: SocketAddr) -> anyhow::Result<Conn<TcpStream>> {
    Ok(Conn::new(tcp(addr)?))
}

/// The TCP stream under [`connect`], for callers that put TLS on it.
pub fn tcp(addr: SocketAddr) -> anyhow::Result<TcpStream> {
    let stream = TcpStream::connect(addr).with_context(|| format!("connecting to {addr}"))?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    Ok(stream)
}

impl<S: Read + Write> Conn<S> {
    pub fn new(stream: S) -> Self {
        Self {
            stream,
            buf: Vec::with_capacity(4096),
        }
    }

    pub fn stream(&self) -> &S {
        &self.stream
    }

    /// Sends one request (with `Host: localhost` and a Content-Length) and reads its response.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> anyhow::Result<Response> {
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\n");
        for (name, value) in headers {
            head.push_str(name);
            head.push_str(": ");
            head.push_str(value);
            head.push_str("\r\n");
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        let mut message = head.into_bytes();
        message.extend_from_slice(body);
        self.stream
            .write_all(&message)
            .and_then(|()| self.stream.flush())
            .with_context(|| format!("sending {method} {path}"))?;
        self.read_response()
            .with_context(|| format!("reading the answer to {method} {path}"))
    }

    fn read_response(&mut self) -> anyhow::Result<Response> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            if let Some((response, used)) = parse_response(&self.buf, false)? {
                self.buf.drain(..used);
                return Ok(response);
            }
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                let Some((response, _)) = parse_response(&self.buf, true)? else {
                    bail!(
                        "the connection closed after {} bytes of a response",
                        self.buf.len()
                    );
                };
                self.buf.clear();
                return Ok(response);
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// A complete response at the start of `buf` and the bytes it took, or `None` if more bytes
/// are needed. `eof` says the connection has ended, which completes a body that has neither
/// length nor chunked framing.
fn parse_response(buf: &[u8], eof: bool) -> anyhow::Result<Option<(Response, usize)>> {
    let Some(head_len) = find(buf, b"\r\n\r\n").map(|i| i + 4) else {
        anyhow::ensure!(
            buf.len() <= MAX_HEAD,
            "a response head over {MAX_HEAD} bytes"
        );
        return Ok(None);
    };
    let head = std::str::from_utf8(&buf[..head_len]).context("a response head not in UTF-8")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .strip_prefix("HTTP/1.")
        .and_then(|rest| rest.get(2..5))
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("not an HTTP/1 status line: {status_line:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let value = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v);
    let rest = &buf[head_len..];
    let (body, body_len) = if status == 204 || status == 304 {
        (Vec::new(), 0)
    } else if value("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        match decode_chunked(rest)? {
            Some(decoded) => decoded,
            None => return Ok(None),
        }
    } else if let Some(length) = value("content-length") {
        let length: usize = length
            .parse()
            .with_context(|| format!("Content-Length {length:?}"))?;
        if rest.len() < length {
            return Ok(None);
        }
        (rest[..length].to_vec(), length)
    } else if eof {
        (rest.to_vec(), rest.len())
    } else {
        return Ok(None);
    };
    let response = Response {
        status,
        headers,
        body,
    };
    Ok(Some((response, head_len + body_len)))
}

/// A chunked body at the start of `buf`: the decoded bytes and the encoded length, or `None`
/// if it is not complete yet. Trailers are skipped.
fn decode_chunked(buf: &[u8]) -> anyhow::Result<Option<(Vec<u8>, usize)>> {
    let mut body = Vec::new();
    let mut at = 0;
    loop {
        let Some(line_end) = find(&buf[at..], b"\r\n").map(|i| at + i) else {
            return Ok(None);
        };
        let line = std::str::from_utf8(&buf[at..line_end]).context("a chunk size not in UTF-8")?;
        let size_text = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .with_context(|| format!("chunk size {size_text:?}"))?;
        at = line_end + 2;
        if size == 0 {
            // Trailers, if any, end with an empty line; without any, that empty line follows.
            return Ok(find(&buf[at - 2..], b"\r\n\r\n").map(|i| (body, at - 2 + i + 4)));
        }
        if buf.len() < at + size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(&buf[at..at + size]);
        at += size + 2;
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_response_with_a_length_and_leaves_the_next_one() {
        let wire = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhelloHTTP/1.1";
        let (r, used) = parse_response(wire, false).unwrap().unwrap();
        assert_eq!(
            (r.status, r.text().as_str(), used),
            (200, "hello", wire.len() - 8)
        );
        assert_eq!(r.header("x-a"), Some("b"));
        assert!(parse_response(&wire[..wire.len() - 10], false)
            .unwrap()
            .is_none());
    }

    #[test]
    fn reads_chunked_bodies_whole_or_asks_for_more() {
        let wire = b"HTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\n\r\n4\r\nwiki\r\n5;x=y\r\npedia\r\n0\r\n\r\n";
        let (r, used) = parse_response(wire, false).unwrap().unwrap();
        assert_eq!(
            (r.status, r.text().as_str(), used),
            (201, "wikipedia", wire.len())
        );
        for cut in [50, wire.len() - 1, wire.len() - 3] {
            assert!(
                parse_response(&wire[..cut], false).unwrap().is_none(),
                "{cut}"
            );
        }
        let trailers = b"3\r\nabc\r\n0\r\nx-t: 1\r\n\r\n";
        assert_eq!(
            decode_chunked(trailers).unwrap(),
            Some((b"abc".to_vec(), trailers.len()))
        );
    }

    #[test]
    fn a_body_without_framing_ends_with_the_connection() {
        let wire = b"HTTP/1.0 200 OK\r\n\r\nall of it";
        assert!(parse_response(wire, false).unwrap().is_none());
        let (r, _) = parse_response(wire, true).unwrap().unwrap();
        assert_eq!(r.text(), "all of it");
    }

    #[test]
    fn refuses_what_is_not_http() {
        assert!(parse_response(b"SSH-2.0-OpenSSH\r\n\r\n", false).is_err());
        let wire = b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n";
        assert!(parse_response(wire, false).is_err());
    }

    #[test]
    fn talks_over_a_stream() {
        let wire = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n";
        let mut conn = Conn::new(Duplex {
            input: std::io::Cursor::new(wire.to_vec()),
            output: Vec::new(),
        });
        let first = conn.request("PUT", "/x", &[("A", "b")], b"{}").unwrap();
        assert_eq!((first.status, first.text().as_str()), (200, "ok"));
        assert_eq!(conn.request("GET", "/y", &[], b"").unwrap().status, 404);
        let sent = String::from_utf8(conn.stream().output.clone()).unwrap();
        assert!(sent.starts_with(
            "PUT /x HTTP/1.1\r\nHost: localhost\r\nA: b\r\nContent-Length: 2\r\n\r\n{}GET /y"
        ));
        assert!(conn.request("GET", "/z", &[], b"").is_err(), "nothing left");
    }

    /// Reads from a script, records what is written.
    #[derive(Debug)]
    struct Duplex {
        input: std::io::Cursor<Vec<u8>>,
        output: Vec<u8>,
    }

    impl Read for Duplex {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.input.read(buf)
        }
    }

    impl Write for Duplex {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.output.write(buf)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
}
