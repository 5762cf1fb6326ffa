//! Where the request goes: `rewrite-uri`, `set-backend-service` and `forward-request`
//! (including the default forwarding of an empty backend section, and following
//! redirects when asked).

use super::eval::{param, text};
use super::execute::{set_length, Run};
use super::failure::Failure;
use super::plan::BackendChoice;
use super::query;
use super::state::{RequestPayload, ResponsePayload, ResponseState};
use crate::proxy::body::RequestBody;
use crate::proxy::forward::{backend_path, finish_response, prepare_request, send};
use crate::runtime::{BackendTarget, TlsVerification};
use bytes::Bytes;
use http::uri::PathAndQuery;
use http::{header, Method, Request, StatusCode, Uri};
use portico_policy::policies::{ForwardRequest, RewriteUri};
use std::sync::Arc;
use std::time::Duration;

/// Redirects `follow-redirects` follows before answering with the last one.
const MAX_REDIRECTS: usize = 5;

impl Run<'_, '_> {
    pub(super) fn rewrite_uri(&mut self, r: &RewriteUri) -> Result<(), Failure> {
        let template = text(&r.template, &mut self.cx())?.into_owned();
        let copy = param(&r.copy_unmatched_params, &mut self.cx())?;
        let url = self.fill(&template)?;
        let (path, new_query) = url.split_once('?').unwrap_or((&url, ""));
        let mut pairs = query::pairs(Some(new_query));
        if copy {
            let matched = &self.env.operation.query_names;
            for (n, v) in query::pairs(self.st.query.as_deref()) {
                let name = crate::query::percent_decode(&n);
                let taken = matched.iter().any(|m| m.eq_ignore_ascii_case(&name))
                    || pairs.iter().any(|(p, _)| p.eq_ignore_ascii_case(&n));
                if !taken {
                    pairs.push((n, v));
                }
            }
        }
        self.st.path = if path.starts_with('/') || path.is_empty() {
            path.to_owned()
        } else {
            format!("/{path}")
        };
        self.st.query = query::join(&pairs);
        Ok(())
    }

    /// Replaces `{name}` with the matched parameter of that name (as the client sent it).
    fn fill(&self, template: &str) -> Result<String, Failure> {
        let mut out = String::with_capacity(template.len() + 16);
        let mut rest = template;
        while let Some(start) = rest.find('{') {
            let Some(len) = rest[start..].find('}') else {
                break;
            };
            let name = rest[start + 1..start + len].trim_start_matches('*');
            let value = self
                .st
                .params
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .ok_or_else(|| {
                    Failure::policy(
                        "InvalidValue",
                        format!("rewrite-uri uses {{{name}}}, which the operation's template does not match"),
                    )
                })?;
            out.push_str(&rest[..start]);
            out.push_str(&value.1);
            rest = &rest[start + len + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    pub(super) fn set_backend(&mut self, b: &BackendChoice) -> Result<(), Failure> {
        self.st.backend = match b {
            BackendChoice::Fixed(t) => t.clone(),
            BackendChoice::Url(t) => {
                let url = text(t, &mut self.cx())?.into_owned();
                let target =
                    BackendTarget::parse(&url, TlsVerification::FULL, &self.shared.upstreams)
                        .map_err(|e| Failure::policy("InvalidValue", format!("base-url: {e}")))?;
                Arc::new(target)
            }
            BackendChoice::Id(t) => {
                let id = text(t, &mut self.cx())?.to_ascii_lowercase();
                self.env
                    .snapshot
                    .backends
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| {
                        Failure::policy("InvalidValue", format!("no backend with id `{id}`"))
                    })?
            }
        };
        Ok(())
    }

    /// Sends the request to its backend; `opts` is `None` for the default forwarding.
    pub(super) async fn forward(&mut self, opts: Option<&ForwardRequest>) -> Result<(), Failure> {
        let (timeout, follow, buffer) = match opts {
            Some(f) => (
                Duration::from_secs(param(&f.timeout_seconds, &mut self.cx())?.into()),
                param(&f.follow_redirects, &mut self.cx())?,
                param(&f.buffer_request_body, &mut self.cx())?,
            ),
            None => (self.shared.backend_timeout, false, false),
        };
        if buffer || follow {
            self.st
                .body
                .buffer()
                .await
                .map_err(|e| Failure::body(e, true))?;
        }
        let mut method = self.st.method.clone();
        let mut target = self
            .st
            .backend
            .pick(std::time::Instant::now())
            .map_err(Failure::backend)?
            .clone();
        if let Some(certificate) = &self.st.backend_certificate {
            target = certificate
                .apply(&target, &self.shared.upstreams)
                .map(Arc::new)
                .map_err(|e| {
                    Failure::policy("InvalidValue", format!("authentication-certificate: {e}"))
                })?;
        }
        let mut path = backend_path(&target, &self.st.path, self.st.query.as_deref())
            .map_err(Failure::backend)?;
        // A buffered body stays for redirects and for policies that read it afterwards.
        let mut payload = self.st.body.take();
        if let RequestPayload::Buffered(b) = &payload {
            self.st.body = RequestPayload::Buffered(b.clone());
        }
        for hop in 0..=MAX_REDIRECTS {
            let req = self.upstream_request(&method, &target, payload);
            let (resp, lease) = send(&target, req, path, self.upgrade, timeout, self.exchange)
                .await
                .map_err(Failure::backend)?;
            let next = (follow && hop < MAX_REDIRECTS)
                .then(|| redirect(&resp, &method))
                .flatten();
            let Some((location, new_method)) = next else {
                let client_upgrade = self.st.upgrade.take();
                let (parts, body) =
                    finish_response(resp, lease, self.upgrade, client_upgrade).into_parts();
                self.st.response = Some(ResponseState {
                    status: parts.status,
                    reason: None,
                    headers: parts.headers,
                    body: ResponsePayload::Stream(body),
                });
                return Ok(());
            };
            let (next_target, next_path) = self.locate(&target, &location)?;
            if next_target.endpoint.authority() != target.endpoint.authority() {
                // Credentials meant for one backend never follow a redirect to another host.
                for h in [
                    header::AUTHORIZATION,
                    header::COOKIE,
                    header::PROXY_AUTHORIZATION,
                ] {
                    self.st.headers.remove(h);
                }
            }
            (target, path) = (next_target, next_path);
            if new_method != method {
                method = new_method;
                self.st.body = RequestPayload::Buffered(Bytes::new());
                self.st.headers.remove(header::CONTENT_TYPE);
            }
            payload =
                RequestPayload::Buffered(self.st.body.buffered().cloned().unwrap_or_default());
        }
        unreachable!("the last hop always answers")
    }

    /// The request to send: the headers as policies left them, readied for the backend.
    fn upstream_request(
        &self,
        method: &Method,
        target: &BackendTarget,
        payload: RequestPayload,
    ) -> Request<RequestBody> {
        let (mut parts, ()) = Request::new(()).into_parts();
        parts.method = method.clone();
        parts.headers = self.st.headers.clone();
        prepare_request(
            &mut parts,
            target,
            self.key_header,
            self.client,
            self.upgrade,
            self.exchange,
        );
        let counter = self.exchange.bytes_in.clone();
        let body = match payload {
            RequestPayload::Stream(s) => RequestBody::new(s, counter),
            RequestPayload::Buffered(b) => {
                if b.is_empty() && !parts.headers.contains_key(header::CONTENT_LENGTH) {
                    parts.headers.remove(header::TRANSFER_ENCODING);
                } else {
                    set_length(&mut parts.headers, b.len());
                }
                RequestBody::full(b, counter)
            }
        };
        Request::from_parts(parts, body)
    }

    /// Where a `Location` points: the same backend for a path, another for a URL.
    fn locate(
        &self,
        current: &Arc<BackendTarget>,
        location: &Uri,
    ) -> Result<(Arc<BackendTarget>, PathAndQuery), Failure> {
        let pq = location
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        let Some(authority) = location.authority() else {
            return Ok((current.clone(), pq));
        };
        let current_scheme = current.endpoint.scheme().to_string();
        let scheme = location.scheme_str().unwrap_or(&current_scheme);
        let target = BackendTarget::parse(
            &format!("{scheme}://{authority}"),
            TlsVerification::FULL,
            &self.shared.upstreams,
        )
        .map_err(|e| Failure::policy("InvalidRedirect", format!("redirect to {e}")))?;
        Ok((Arc::new(target), pq))
    }
}

/// For a redirect to follow: where, and with which method (303, and 301/302 after a POST,
/// continue as GET, as browsers do).
fn redirect<B>(resp: &http::Response<B>, method: &Method) -> Option<(Uri, Method)> {
    let status = resp.status();
    let keeps_method = match status {
        StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT => true,
        StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND => *method != Method::POST,
        StatusCode::SEE_OTHER => *method == Method::HEAD,
        _ => return None,
    };
    let text = resp.headers().get(header::LOCATION)?.to_str().ok()?;
    // Absolute URLs and absolute paths are followed; a relative reference ("next", "../x")
    // would parse as a host name, so the redirect goes back to the client instead.
    if !(text.starts_with('/') && !text.starts_with("//") || text.contains("://")) {
        return None;
    }
    let location: Uri = text.parse().ok()?;
    let next = if keeps_method {
        method.clone()
    } else {
        Method::GET
    };
    Some((location, next))
}
