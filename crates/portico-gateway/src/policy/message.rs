//! The policies that change the message or the context, applied to a running pipeline:
//! `set-variable`, `set-header`, `set-query-parameter`, `set-method`, `set-status`,
//! `set-body`, `find-and-replace`, `return-response` and `mock-response`. In inbound and
//! backend they change the request; in outbound and on-error, the response.

use super::body;
use super::eval::{self, param, text};
use super::execute::{set_length, Flow, Run};
use super::failure::Failure;
use super::headers;
use super::plan::{Action, Site};
use super::state::{RequestPayload, ResponsePayload, ResponseState};
use bytes::Bytes;
use http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use portico_policy::expr::{Msg, Value};
use portico_policy::policies::{BodyContent, ReturnResponse, SetBody, SetHeader, SetStatus};
use portico_policy::Section;

fn to_response(section: Section) -> bool {
    matches!(section, Section::Outbound | Section::OnError)
}

/// The message a section works on: what a Liquid template's `body` reads.
pub(super) fn section_message(section: Section) -> Msg {
    if to_response(section) {
        Msg::Response
    } else {
        Msg::Request
    }
}

impl Run<'_, '_> {
    /// Applies a step that is neither a `<choose>` nor a `<forward-request>`.
    pub(super) fn apply(
        &mut self,
        action: &Action,
        section: Section,
        site: &Site,
    ) -> Result<Flow, Failure> {
        match action {
            Action::SetVariable(v) => {
                let value = eval::value(&v.value, &mut self.cx())?;
                self.st.set_variable(&v.name, value);
            }
            Action::AuthenticationCertificate(c) => self.st.backend_certificate = Some(c.clone()),
            Action::SetHeader(h, parsed) => {
                let (name, values) = match parsed {
                    Some(name) => (name.clone(), self.texts(&h.values)?),
                    None => self.header_args(h)?,
                };
                let target = if to_response(section) {
                    &mut self.response().headers
                } else {
                    &mut self.st.headers
                };
                headers::set_header(target, name, h.exists_action, &values)
                    .map_err(|m| Failure::policy("InvalidValue", m))?;
            }
            Action::SetQuery(q) => {
                let name = text(&q.name, &mut self.cx())?.into_owned();
                let values = self.texts(&q.values)?;
                headers::set_query(&mut self.st.query, &name, q.exists_action, &values);
            }
            Action::SetMethod(m) => {
                let m = text(m, &mut self.cx())?.to_ascii_uppercase();
                self.st.method = Method::from_bytes(m.as_bytes()).map_err(|_| {
                    Failure::policy("InvalidValue", format!("`{m}` is not a method"))
                })?;
            }
            Action::SetStatus(s) => {
                let (status, reason) = self.status(s)?;
                let r = self.response();
                r.status = status;
                r.reason = reason;
            }
            Action::SetBody(b) => {
                let bytes = self.body_text(b, Some(section_message(section)))?;
                self.replace_body(section, bytes);
            }
            Action::FindAndReplace(f) => {
                let from = text(&f.from, &mut self.cx())?.into_owned();
                let to = text(&f.to, &mut self.cx())?.into_owned();
                let current = self.current_body(section);
                let replaced = body::replace_all(&current, from.as_bytes(), to.as_bytes());
                self.replace_body(section, replaced);
            }
            Action::Return(r) => {
                let response = self.return_response(r)?;
                self.st.response = Some(response);
                return Ok(Flow::Stop);
            }
            Action::Mock(m) => {
                let status = StatusCode::from_u16(m.status_code).unwrap_or(StatusCode::OK);
                let mut r = ResponseState::new(status);
                // Operations carry no examples in Portico's model: JSON mocks answer `{}`.
                let body = if m.content_type.contains("json") {
                    "{}"
                } else {
                    ""
                };
                if let Ok(ct) = HeaderValue::from_str(&m.content_type) {
                    r.headers.insert(header::CONTENT_TYPE, ct);
                }
                set_length(&mut r.headers, body.len());
                r.body = ResponsePayload::Buffered(Bytes::from_static(body.as_bytes()));
                self.st.response = Some(r);
                return Ok(Flow::Stop);
            }
            Action::Trace(t) => self.trace(t, site)?,
            Action::EmitMetric(m) => self.emit_metric(m)?,
            Action::RewriteUri(r) => self.rewrite_uri(r)?,
            Action::SetBackend(b) => self.set_backend(b)?,
            // Flow, forwarding, traffic, call, cache and JWT actions: `execute::section`
            // runs or dispatches them and never hands them here.
            other => unreachable!("the section walker runs {other:?}"),
        }
        Ok(Flow::Next)
    }

    /// The response to change, created (empty, 200) when there is none yet.
    fn response(&mut self) -> &mut ResponseState {
        self.st
            .response
            .get_or_insert_with(|| ResponseState::new(StatusCode::OK))
    }

    fn texts(&mut self, templates: &[portico_policy::Template]) -> Result<Vec<String>, Failure> {
        templates
            .iter()
            .map(|t| text(t, &mut self.cx()).map(|c| c.into_owned()))
            .collect()
    }

    pub(super) fn header_args(
        &mut self,
        h: &SetHeader,
    ) -> Result<(HeaderName, Vec<String>), Failure> {
        let name = text(&h.name, &mut self.cx())?;
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            Failure::policy("InvalidValue", format!("`{name}` is not a header name"))
        })?;
        Ok((name, self.texts(&h.values)?))
    }

    fn status(&mut self, s: &SetStatus) -> Result<(StatusCode, Option<String>), Failure> {
        let code = param(&s.code, &mut self.cx())?;
        let status = StatusCode::from_u16(code)
            .map_err(|_| Failure::policy("InvalidValue", format!("{code} is not a status")))?;
        let reason = match &s.reason {
            Some(t) => Some(text(t, &mut self.cx())?.into_owned()),
            None => None,
        };
        Ok((status, reason))
    }

    /// The body a `set-body` writes. A Liquid template reads `body` from `msg` (`None`
    /// inside `return-response`, where APIM gives it none).
    pub(super) fn body_text(&mut self, b: &SetBody, msg: Option<Msg>) -> Result<Bytes, Failure> {
        match &b.body {
            BodyContent::Template(t) => Ok(Bytes::from(text(t, &mut self.cx())?.into_owned())),
            BodyContent::Liquid(l) => l
                .template
                .render(&mut self.cx(), b.liquid_binding(msg))
                .map(Bytes::from)
                .map_err(|e| Failure::policy("LiquidTemplateRenderFailure", e.to_string())),
        }
    }

    /// The section's body as it stands (buffered beforehand: the step reads it).
    fn current_body(&self, section: Section) -> Bytes {
        let buffered = if to_response(section) {
            match self.st.response.as_ref().map(|r| &r.body) {
                Some(ResponsePayload::Buffered(b)) => Some(b),
                _ => None,
            }
        } else {
            self.st.body.buffered()
        };
        buffered.cloned().unwrap_or_default()
    }

    fn replace_body(&mut self, section: Section, bytes: Bytes) {
        if to_response(section) {
            let r = self.response();
            set_length(&mut r.headers, bytes.len());
            r.body = ResponsePayload::Buffered(bytes);
        } else {
            // Content-Length is set when the request is sent.
            self.st.body = RequestPayload::Buffered(bytes);
        }
    }

    fn return_response(&mut self, r: &ReturnResponse) -> Result<ResponseState, Failure> {
        let mut resp = match &r.response_variable_name {
            Some(name) => stored_response(self.st.variables.iter().find(|(n, _)| n == name), name)?,
            None => ResponseState::new(StatusCode::OK),
        };
        if let Some(s) = &r.status {
            (resp.status, resp.reason) = self.status(s)?;
        }
        for h in &r.headers {
            let (name, values) = self.header_args(h)?;
            headers::set_header(&mut resp.headers, name, h.exists_action, &values)
                .map_err(|m| Failure::policy("InvalidValue", m))?;
        }
        if let Some(b) = &r.body {
            let bytes = self.body_text(b, None)?;
            set_length(&mut resp.headers, bytes.len());
            resp.body = ResponsePayload::Buffered(bytes);
        }
        Ok(resp)
    }
}

/// A response kept in a variable (by `send-request`), as the start of `return-response`.
fn stored_response(var: Option<&(String, Value)>, name: &str) -> Result<ResponseState, Failure> {
    let Some((_, Value::Message(m))) = var else {
        return Err(Failure::policy(
            "InvalidValue",
            format!("variable `{name}` holds no response"),
        ));
    };
    let status = u16::try_from(m.status_code)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let mut r = ResponseState::new(status);
    r.reason = (!m.status_reason.is_empty()).then(|| m.status_reason.clone());
    let mut headers = HeaderMap::new();
    for (n, v) in &m.headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(n.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            headers.append(n, v);
        }
    }
    set_length(&mut headers, m.body.len());
    r.headers = headers;
    r.body = ResponsePayload::Buffered(Bytes::copy_from_slice(&m.body));
    Ok(r)
}
