//! [`MemoryContext`]: an in-memory [`Context`] for tests (this crate's and the policy
//! engine's). Everything is a public field or a builder method; time and randomness are fixed
//! values, so evaluations are reproducible.

use std::collections::HashMap;
use std::sync::Arc;

use super::context::{Context, CtxObj, Msg, Prop, UrlKind};
use super::time::DateTime;
use super::value::{CertificateInfo, Value};

/// A request as plain data. Headers, query parameters and variables keep insertion order.
#[derive(Debug, Clone, Default)]
pub struct MemoryContext {
    pub props: HashMap<Prop, Value>,
    /// Nullable objects that are absent (`CtxObj::User` for an anonymous call, …).
    pub absent: Vec<CtxObj>,
    pub request_headers: Vec<(String, String)>,
    pub response_headers: Vec<(String, String)>,
    /// Query parameters of `context.Request.Url` (also used for the original URL).
    pub query: Vec<(String, String)>,
    pub matched_parameters: Vec<(String, String)>,
    pub variables: Vec<(String, Value)>,
    pub request_body: Option<Vec<u8>>,
    pub response_body: Option<Vec<u8>>,
    pub client_certificate: Option<Arc<CertificateInfo>>,
    pub certificate_valid: bool,
    pub deployment_certificates: Vec<(String, Arc<CertificateInfo>)>,
    pub now: DateTime,
    pub random_state: u64,
    pub budget: Option<u64>,
    /// How many times a body was read (to test that bodies are read only on demand).
    pub body_reads: usize,
    /// How many times any header was looked up.
    pub header_reads: usize,
}

impl MemoryContext {
    pub fn new() -> Self {
        MemoryContext {
            random_state: 0x5EED,
            ..Default::default()
        }
    }

    pub fn prop(mut self, p: Prop, v: impl Into<Value>) -> Self {
        self.props.insert(p, v.into());
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.request_headers.push((name.into(), value.into()));
        self
    }

    pub fn response_header(mut self, name: &str, value: &str) -> Self {
        self.response_headers.push((name.into(), value.into()));
        self
    }

    pub fn query_param(mut self, name: &str, value: &str) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    pub fn matched(mut self, name: &str, value: &str) -> Self {
        self.matched_parameters.push((name.into(), value.into()));
        self
    }

    pub fn variable(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.variables.push((name.into(), value.into()));
        self
    }

    pub fn body(mut self, body: &str) -> Self {
        self.request_body = Some(body.as_bytes().to_vec());
        self
    }

    pub fn absent(mut self, obj: CtxObj) -> Self {
        self.absent.push(obj);
        self
    }
}

fn values(list: &[(String, String)], name: &str) -> Option<Vec<String>> {
    let found: Vec<String> = list
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
        .collect();
    (!found.is_empty()).then_some(found)
}

fn names(list: &[(String, String)]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (n, _) in list {
        if !out.iter().any(|o| o.eq_ignore_ascii_case(n)) {
            out.push(n.clone());
        }
    }
    out
}

impl Context for MemoryContext {
    fn property(&mut self, prop: Prop) -> Value {
        self.props.get(&prop).cloned().unwrap_or_default()
    }

    fn present(&mut self, obj: CtxObj) -> bool {
        !self.absent.contains(&obj)
    }

    fn header(&mut self, msg: Msg, name: &str) -> Option<Vec<String>> {
        self.header_reads += 1;
        match msg {
            Msg::Request => values(&self.request_headers, name),
            Msg::Response => values(&self.response_headers, name),
        }
    }

    fn header_names(&mut self, msg: Msg) -> Vec<String> {
        match msg {
            Msg::Request => names(&self.request_headers),
            Msg::Response => names(&self.response_headers),
        }
    }

    fn query(&mut self, _url: UrlKind, name: &str) -> Option<Vec<String>> {
        values(&self.query, name)
    }

    fn query_names(&mut self, _url: UrlKind) -> Vec<String> {
        names(&self.query)
    }

    fn matched_parameter(&mut self, name: &str) -> Option<String> {
        values(&self.matched_parameters, name).and_then(|v| v.into_iter().next())
    }

    fn matched_parameter_names(&mut self) -> Vec<String> {
        names(&self.matched_parameters)
    }

    fn variable(&mut self, name: &str) -> Option<Value> {
        self.variables
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }

    fn variable_names(&mut self) -> Vec<String> {
        self.variables.iter().map(|(n, _)| n.clone()).collect()
    }

    fn body(&mut self, msg: Msg, preserve_content: bool) -> Result<Arc<[u8]>, String> {
        self.body_reads += 1;
        let slot = match msg {
            Msg::Request => &mut self.request_body,
            Msg::Response => &mut self.response_body,
        };
        let body = if preserve_content {
            slot.clone()
        } else {
            slot.take()
        };
        Ok(Arc::from(body.unwrap_or_default()))
    }

    fn client_certificate(&mut self) -> Option<Arc<CertificateInfo>> {
        self.client_certificate.clone()
    }

    fn verify_certificate(&mut self, _cert: &CertificateInfo, _check_revocation: bool) -> bool {
        self.certificate_valid
    }

    fn deployment_certificates(&mut self) -> Vec<(String, Arc<CertificateInfo>)> {
        self.deployment_certificates.clone()
    }

    fn now(&mut self) -> DateTime {
        self.now
    }

    fn random(&mut self) -> u64 {
        // splitmix64: deterministic for a given starting state.
        self.random_state = self.random_state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.random_state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn step_budget(&self) -> u64 {
        self.budget.unwrap_or(super::context::DEFAULT_STEP_BUDGET)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::str(s)
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::str(s)
    }
}

impl From<i32> for Value {
    fn from(i: i32) -> Self {
        Value::Int(i)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
