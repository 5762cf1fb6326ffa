//! `check-header`, `ip-filter`, `cors` and `authentication-basic` applied to a request. The
//! client address `ip-filter` judges is the connection's peer, or, when the peer is a
//! trusted proxy, the nearest address in `X-Forwarded-For` that is not one.

use super::eval::{param, text};
use super::execute::{Flow, Run};
use super::failure::Failure;
use super::state::ResponseState;
use super::traffic::AuthBasic;
use http::{header, HeaderValue, Method, StatusCode};
use portico_policy::policies::{AnyOr, CheckHeader, Cors, IpFilter};
use std::net::IpAddr;

/// `Basic base64(user:password)`, marked sensitive so it never reaches a log.
pub fn basic_header(user: &str, password: &str) -> HeaderValue {
    use base64::Engine;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let mut v = HeaderValue::from_str(&format!("Basic {token}"))
        .unwrap_or_else(|_| HeaderValue::from_static("Basic"));
    v.set_sensitive(true);
    v
}

impl Run<'_, '_> {
    pub(super) fn check_header(&mut self, c: &CheckHeader) -> Result<Flow, Failure> {
        let name = text(&c.name, &mut self.cx())?.into_owned();
        let ignore_case = param(&c.ignore_case, &mut self.cx())?;
        let mut allowed = Vec::with_capacity(c.values.len());
        for v in &c.values {
            allowed.push(text(v, &mut self.cx())?.into_owned());
        }
        let present: Vec<&str> = self
            .st
            .headers
            .get_all(name.as_str())
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let matches = |v: &str| {
            allowed.iter().any(|a| {
                if ignore_case {
                    a.eq_ignore_ascii_case(v)
                } else {
                    a == v
                }
            })
        };
        let ok = !present.is_empty() && (allowed.is_empty() || present.iter().any(|v| matches(v)));
        if ok {
            return Ok(Flow::Next);
        }
        let code = param(&c.failed_check_httpcode, &mut self.cx())?;
        let status = StatusCode::from_u16(code)
            .map_err(|_| Failure::policy("InvalidValue", format!("{code} is not a status")))?;
        let message = text(&c.failed_check_error_message, &mut self.cx())?.into_owned();
        Ok(self.refuse(status, &message))
    }

    /// The client's address, believing `X-Forwarded-For` only from trusted proxies.
    fn client_addr(&self) -> Option<IpAddr> {
        let peer: IpAddr = self.env.client_ip.to_str().ok()?.parse().ok()?;
        if !self.client.trusted {
            return Some(peer);
        }
        let trusted = &self.shared.trusted_proxies;
        let hops: Vec<IpAddr> = self
            .st
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|a| parse_hop(a.trim()))
            .collect();
        // Walk back from the nearest hop: the first one not ours is the client.
        let client = hops.iter().rev().find(|ip| !trusted.contains(**ip));
        Some(client.or(hops.first()).copied().unwrap_or(peer))
    }

    pub(super) fn ip_filter(&mut self, f: &IpFilter) -> Flow {
        let listed = self.client_addr().is_some_and(|ip| {
            let ip = ip.to_canonical();
            f.spans
                .iter()
                .any(|s| s.from.is_ipv4() == ip.is_ipv4() && s.from <= ip && ip <= s.to)
        });
        if listed == f.allow {
            return Flow::Next;
        }
        self.refuse(StatusCode::FORBIDDEN, "Forbidden")
    }

    pub(super) fn cors(&mut self, c: &Cors) -> Flow {
        let Some(origin) = self.st.headers.get(header::ORIGIN).cloned() else {
            return Flow::Next;
        };
        let origin_ok = match &c.allowed_origins {
            AnyOr::Any => true,
            AnyOr::List(l) => l
                .iter()
                .any(|o| o.as_bytes().eq_ignore_ascii_case(origin.as_bytes())),
        };
        let requested = self
            .st
            .headers
            .get(header::ACCESS_CONTROL_REQUEST_METHOD)
            .cloned();
        let allow_origin = if c.allowed_origins == AnyOr::Any && !c.allow_credentials {
            HeaderValue::from_static("*")
        } else {
            origin
        };
        if let (true, Some(method)) = (self.st.method == Method::OPTIONS, requested) {
            return match preflight(c, origin_ok, &method, &self.st.headers) {
                Some(mut r) => {
                    r.headers
                        .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin);
                    self.st.response = Some(r);
                    Flow::Stop
                }
                None if c.terminate_unmatched_request => self.empty_ok(),
                None => Flow::Next,
            };
        }
        if !origin_ok {
            let simple = matches!(self.st.method, Method::GET | Method::HEAD);
            return if simple && c.terminate_unmatched_request {
                self.empty_ok()
            } else {
                Flow::Next
            };
        }
        self.after_header(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin);
        if c.allow_credentials {
            self.after_header(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        if let Ok(v) = HeaderValue::from_str(&c.expose_headers.join(", ")) {
            if !v.is_empty() {
                self.after_header(header::ACCESS_CONTROL_EXPOSE_HEADERS, v);
            }
        }
        self.after_header(header::VARY, HeaderValue::from_static("Origin"));
        Flow::Next
    }

    fn empty_ok(&mut self) -> Flow {
        let mut r = ResponseState::new(StatusCode::OK);
        super::execute::set_length(&mut r.headers, 0);
        self.st.response = Some(r);
        Flow::Stop
    }

    pub(super) fn authentication_basic(&mut self, a: &AuthBasic) -> Result<(), Failure> {
        let value = match a {
            AuthBasic::Fixed(v) => v.clone(),
            AuthBasic::Computed(user, password) => {
                let user = text(user, &mut self.cx())?.into_owned();
                let password = text(password, &mut self.cx())?;
                basic_header(&user, &password)
            }
        };
        self.st.headers.insert(header::AUTHORIZATION, value);
        Ok(())
    }
}

/// An `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5`, `[::1]:5`).
fn parse_hop(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse() {
        return Some(ip);
    }
    if let Some(rest) = s.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    s.rsplit_once(':')?.0.parse().ok()
}

/// The answer to a preflight that matches the policy (without the allowed origin), or
/// `None` when the origin, method or a requested header is not allowed.
fn preflight(
    c: &Cors,
    origin_ok: bool,
    method: &HeaderValue,
    headers: &http::HeaderMap,
) -> Option<ResponseState> {
    let method = method.to_str().ok()?.trim().to_ascii_uppercase();
    let method_ok = match &c.allowed_methods {
        AnyOr::Any => true,
        AnyOr::List(l) => l.contains(&method),
    };
    let asked: Vec<String> = headers
        .get_all(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    let headers_ok = match &c.allowed_headers {
        AnyOr::Any => true,
        AnyOr::List(l) => asked
            .iter()
            .all(|h| l.iter().any(|a| a.eq_ignore_ascii_case(h))),
    };
    if !(origin_ok && method_ok && headers_ok) {
        return None;
    }
    let mut r = ResponseState::new(StatusCode::OK);
    let h = &mut r.headers;
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_str(&method).ok()?,
    );
    if !asked.is_empty() {
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_str(&asked.join(", ")).ok()?,
        );
    }
    if c.allow_credentials {
        h.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    if let Some(age) = c.preflight_result_max_age {
        h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from(age));
    }
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    super::execute::set_length(h, 0);
    Some(r)
}
