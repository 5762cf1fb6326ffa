//! `send-request` and `send-one-way-request` in a running pipeline: the call is built from
//! the policy (or, with `mode="copy"`, from the current request), sent over the gateway's
//! pools, and the answer kept in a variable as the expression language's stored message, so
//! `((IResponse)context.Variables["x"]).Body.As<JObject>()` works.

use super::eval::{param, text, FromValue};
use super::execute::Run;
use super::failure::Failure;
use super::headers;
use super::outcall::{self, Answer, Call, CallError};
use super::plan::CallCertificate;
use crate::errors::GatewayError;
use crate::proxy::forward::backend_path;
use bytes::Bytes;
use http::{HeaderMap, Method};
use portico_policy::expr::{StoredMessage, Value};
use portico_policy::policies::{CallRequest, SendMode, SendRequest};
use portico_policy::Section;
use std::sync::Arc;
use std::time::Duration;

impl FromValue for SendMode {
    const WHAT: &'static str = "new or copy";
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Str(s) => s.parse().ok(),
            _ => None,
        }
    }
}

/// Where a `send-request`'s answer goes once its call is built.
#[derive(Debug)]
pub(super) struct Reply {
    variable: String,
    ignore_error: bool,
    timeout: Duration,
}

/// A built call: ready to send, or already known not to be sendable (a bad URL), which
/// `ignore-error` may still excuse.
pub(super) type Outgoing = Result<outcall::Prepared, CallError>;

impl Run<'_, '_> {
    pub(super) async fn send_request(
        &mut self,
        s: &SendRequest,
        certificate: &CallCertificate,
        section: Section,
    ) -> Result<(), Failure> {
        let (reply, call) = self.start_send(s, certificate, section).await?;
        let answer = async { call?.send().await }.await;
        self.finish_send(reply, answer)
    }

    /// Evaluates everything the call needs from the request, so it can be sent while the
    /// pipeline does something else (`wait` sends several at once).
    pub(super) async fn start_send(
        &mut self,
        s: &SendRequest,
        certificate: &CallCertificate,
        section: Section,
    ) -> Result<(Reply, Outgoing), Failure> {
        let variable = text(&s.response_variable_name, &mut self.cx())?.into_owned();
        let call = self.build_call(&s.request, certificate, section).await?;
        let reply = Reply {
            variable,
            ignore_error: s.ignore_error,
            timeout: call.timeout,
        };
        Ok((reply, outcall::prepare(call, &self.shared.upstreams)))
    }

    /// Keeps the answer in its variable, or fails as the policy says.
    pub(super) fn finish_send(
        &mut self,
        reply: Reply,
        answer: Result<Answer, CallError>,
    ) -> Result<(), Failure> {
        let value = match answer {
            Ok(answer) => Value::Message(Arc::new(stored(answer))),
            // APIM: the error is ignored and the variable holds null.
            Err(_) if reply.ignore_error => Value::Null,
            Err(e) => return Err(failure(e, reply.timeout)),
        };
        self.st.set_variable(&reply.variable, value);
        Ok(())
    }

    /// Sends the call in the background; the pipeline goes on at once and never sees the
    /// answer or a failure (which is only logged).
    pub(super) async fn send_one_way(
        &mut self,
        r: &CallRequest,
        certificate: &CallCertificate,
        section: Section,
    ) -> Result<(), Failure> {
        let call = self.build_call(r, certificate, section).await?;
        let prepared = outcall::prepare(call, &self.shared.upstreams)
            .map_err(|e| failure(e, Duration::ZERO))?;
        let request_id = self.exchange.request_id.clone();
        tokio::spawn(async move {
            if let Err(e) = prepared.send().await {
                tracing::warn!(request_id = ?request_id, error = %e, "send-one-way-request failed");
            }
        });
        Ok(())
    }

    async fn build_call(
        &mut self,
        r: &CallRequest,
        certificate: &CallCertificate,
        section: Section,
    ) -> Result<Call, Failure> {
        let mode = param(&r.mode, &mut self.cx())?;
        let timeout = Duration::from_secs(param(&r.timeout_seconds, &mut self.cx())?.into());
        let (mut method, mut url, mut hdrs, mut body) = match mode {
            SendMode::New => (Method::GET, String::new(), HeaderMap::new(), Bytes::new()),
            SendMode::Copy => self.copy_request(section).await?,
        };
        if let Some(u) = &r.url {
            url = text(u, &mut self.cx())?.into_owned();
        }
        if let Some(m) = &r.method {
            let m = text(m, &mut self.cx())?.to_ascii_uppercase();
            method = Method::from_bytes(m.as_bytes())
                .map_err(|_| Failure::policy("InvalidValue", format!("`{m}` is not a method")))?;
        }
        for h in &r.headers {
            let (name, values) = self.header_args(h)?;
            headers::set_header(&mut hdrs, name, h.exists_action, &values)
                .map_err(|m| Failure::policy("InvalidValue", m))?;
        }
        if let Some(b) = &r.body {
            let msg = super::message::section_message(section);
            body = self.body_text(b, Some(msg))?;
        }
        if let Some(m) = &r.managed_identity {
            self.authenticate(m, &mut hdrs).await?;
        }
        Ok(Call {
            method,
            url,
            headers: hdrs,
            body,
            timeout,
            certificate: certificate.clone(),
        })
    }

    /// The current request as `mode="copy"` starts from: method, backend URL, headers and
    /// (except in outbound and on-error, as in APIM) the body.
    async fn copy_request(
        &mut self,
        section: Section,
    ) -> Result<(Method, String, HeaderMap, Bytes), Failure> {
        let body = if matches!(section, Section::Outbound | Section::OnError) {
            Bytes::new()
        } else {
            self.st
                .body
                .buffer()
                .await
                .map_err(|e| Failure::body(e, true))?
                .clone()
        };
        let target = &self.st.backend;
        let path = backend_path(target, &self.st.path, self.st.query.as_deref())
            .map_err(Failure::backend)?;
        let url = format!(
            "{}://{}{path}",
            target.endpoint.scheme(),
            target.endpoint.authority()
        );
        let mut hdrs = self.st.headers.clone();
        crate::proxy::headers::strip_hop_by_hop(&mut hdrs, false);
        hdrs.remove(self.key_header);
        Ok((self.st.method.clone(), url, hdrs, body))
    }
}

/// The answer as the expression language keeps it.
fn stored(a: Answer) -> StoredMessage {
    StoredMessage {
        status_code: i32::from(a.status.as_u16()),
        status_reason: a.status.canonical_reason().unwrap_or("").to_owned(),
        headers: a
            .headers
            .iter()
            .map(|(n, v)| {
                let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
                (n.as_str().to_owned(), v)
            })
            .collect(),
        body: Arc::from(&a.body[..]),
    }
}

/// A failed call as a pipeline failure (what on-error sees, what the client gets).
fn failure(e: CallError, timeout: Duration) -> Failure {
    let answer = match e {
        CallError::Timeout(_) => GatewayError::BackendTimeout(timeout),
        _ => GatewayError::BackendUnavailable { reason: "connect" },
    };
    Failure {
        reason: match e {
            CallError::Timeout(_) => "Timeout",
            CallError::Url(_) => "InvalidValue",
            _ => "BackendConnectionFailure",
        },
        message: format!("send-request: {e}"),
        answer,
    }
}
