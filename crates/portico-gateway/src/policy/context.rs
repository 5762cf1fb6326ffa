//! The expression language's [`Context`] over one request: everything is read when an
//! expression asks for it (headers from the request as it stands, query strings parsed on
//! demand), never copied up front. [`Env`] holds what does not change while the pipeline
//! runs: the route, the configuration facts, the client, the clock.

use super::info::{ApiInfo, OperationInfo, SnapshotInfo};
use super::query;
use super::state::{RequestState, ResponsePayload};
use crate::tls::ClientCertificate;
use http::{HeaderMap, HeaderValue, Uri};
use portico_model::Secret;
use portico_policy::expr::{
    CertificateInfo, Context, CtxObj, DateTime, DtKind, Msg, Prop, TimeSpan, UrlKind, UrlPart,
    Value,
};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// .NET ticks (100 ns) at the Unix epoch, and per second.
const UNIX_EPOCH_TICKS: i64 = 621_355_968_000_000_000;
const TICKS_PER_SECOND: i64 = 10_000_000;

/// The fixed facts of one request's pipeline run.
#[derive(Debug)]
pub struct Env<'a> {
    pub api: &'a ApiInfo,
    pub operation: &'a OperationInfo,
    pub snapshot: &'a SnapshotInfo,
    pub product: Option<usize>,
    pub subscription: Option<(usize, Arc<str>)>,
    /// The subscription key as the client sent it (header or query), if any; a [`Secret`] so
    /// that `Debug` output never shows it.
    pub subscription_key: Option<Secret>,
    pub original_uri: Uri,
    pub original_host: Option<HeaderValue>,
    pub tls: bool,
    /// The certificate the client presented in the TLS handshake.
    pub client_certificate: Option<Arc<ClientCertificate>>,
    pub client_ip: &'a HeaderValue,
    pub request_id: HeaderValue,
    pub received: SystemTime,
    pub started: Instant,
    /// Where `DateTime.UtcNow` comes from (a parameter so tests can fix it).
    pub clock: fn() -> SystemTime,
}

/// An expression's view of the request.
#[derive(Debug)]
pub struct Ctx<'s, 'e> {
    pub st: &'s mut RequestState,
    pub env: &'s Env<'e>,
    pub rng: &'s mut u64,
}

fn to_datetime(t: SystemTime) -> DateTime {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let ticks = i64::try_from(d.as_secs()).unwrap_or(0) * TICKS_PER_SECOND
        + i64::from(d.subsec_nanos() / 100);
    DateTime {
        ticks: UNIX_EPOCH_TICKS + ticks,
        kind: DtKind::Utc,
    }
}

/// A certificate date (Unix seconds) as a UTC `DateTime`.
fn unix_datetime(seconds: i64) -> DateTime {
    DateTime {
        ticks: UNIX_EPOCH_TICKS + seconds.saturating_mul(TICKS_PER_SECOND),
        kind: DtKind::Utc,
    }
}

fn opt(s: Option<&Arc<str>>) -> Value {
    s.map_or(Value::Null, |s| Value::Str(s.clone()))
}

fn header_values(h: &HeaderMap, name: &str) -> Option<Vec<String>> {
    let v: Vec<String> = h
        .get_all(name)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    (!v.is_empty()).then_some(v)
}

impl Ctx<'_, '_> {
    fn headers(&self, msg: Msg) -> Option<&HeaderMap> {
        match msg {
            Msg::Request => Some(&self.st.headers),
            Msg::Response => self.st.response.as_ref().map(|r| &r.headers),
        }
    }

    fn query_of(&self, url: UrlKind) -> Option<String> {
        match url {
            UrlKind::Request => self.st.query.clone(),
            UrlKind::Original => self.env.original_uri.query().map(str::to_owned),
            UrlKind::Service => None,
        }
    }

    fn url(&self, kind: UrlKind, part: UrlPart) -> Value {
        let (scheme, authority, path, query) = match kind {
            UrlKind::Request => {
                let b = &self.st.backend;
                let path = format!("{}{}", b.base_path, self.st.path);
                let scheme = b.endpoint.scheme().as_str().to_owned();
                (
                    scheme,
                    b.endpoint.authority().to_string(),
                    path,
                    self.st.query.clone(),
                )
            }
            UrlKind::Original => {
                let host = self
                    .env
                    .original_host
                    .as_ref()
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                let scheme = if self.env.tls { "https" } else { "http" };
                let u = &self.env.original_uri;
                (
                    scheme.to_owned(),
                    host,
                    u.path().to_owned(),
                    u.query().map(str::to_owned),
                )
            }
            UrlKind::Service => {
                let Ok(u) = self.env.api.service_url.parse::<Uri>() else {
                    return Value::Null;
                };
                let scheme = u.scheme_str().unwrap_or("http").to_owned();
                let authority = u.authority().map(|a| a.to_string()).unwrap_or_default();
                (
                    scheme,
                    authority,
                    u.path().to_owned(),
                    u.query().map(str::to_owned),
                )
            }
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => {
                (h.to_owned(), p.parse().ok())
            }
            _ => (authority.clone(), None),
        };
        let port = port.unwrap_or(if scheme == "https" { 443 } else { 80 });
        let qs = query.as_deref().map_or(String::new(), |q| format!("?{q}"));
        match part {
            UrlPart::Scheme => Value::str(scheme),
            UrlPart::Host => Value::str(host),
            UrlPart::Port => Value::Int(port),
            UrlPart::Path => Value::str(path),
            UrlPart::QueryString => Value::str(qs),
            UrlPart::Full => Value::str(format!("{scheme}://{authority}{path}{qs}")),
        }
    }

    fn last_error(&self, f: impl Fn(&super::state::LastError) -> &Arc<str>) -> Value {
        opt(self.st.last_error.as_ref().map(f))
    }
}

impl Context for Ctx<'_, '_> {
    fn property(&mut self, prop: Prop) -> Value {
        let env = self.env;
        let product = env.product.map(|p| &env.snapshot.products[p]);
        match prop {
            Prop::RequestMethod => Value::str(self.st.method.as_str()),
            Prop::RequestIpAddress => Value::str(env.client_ip.to_str().unwrap_or("")),
            Prop::Url(kind, part) => self.url(kind, part),
            Prop::ResponseStatusCode => self
                .st
                .response
                .as_ref()
                .map_or(Value::Null, |r| Value::Int(i32::from(r.status.as_u16()))),
            Prop::ResponseStatusReason => self.st.response.as_ref().map_or(Value::Null, |r| {
                Value::str(
                    r.reason
                        .clone()
                        .unwrap_or_else(|| r.status.canonical_reason().unwrap_or("").to_owned()),
                )
            }),
            Prop::ApiId => Value::Str(env.api.id.clone()),
            Prop::ApiName => Value::Str(env.api.name.clone()),
            Prop::ApiPath => Value::Str(env.api.path.clone()),
            Prop::ApiVersion | Prop::ApiRevision => Value::str(""),
            Prop::ApiIsCurrentRevision => Value::Bool(true),
            Prop::OperationId => Value::Str(env.operation.id.clone()),
            Prop::OperationName => Value::Str(env.operation.name.clone()),
            Prop::OperationMethod => Value::Str(env.operation.method.clone()),
            Prop::OperationUrlTemplate => Value::Str(env.operation.url_template.clone()),
            Prop::ProductId => opt(product.map(|p| &p.0)),
            Prop::ProductName => opt(product.map(|p| &p.1)),
            Prop::ProductSubscriptionRequired => Value::Bool(product.is_some()),
            Prop::SubscriptionId => opt(env.subscription.as_ref().map(|s| &s.1)),
            Prop::SubscriptionName => opt(env
                .subscription
                .as_ref()
                .and_then(|s| env.snapshot.subscription_names.get(s.0))),
            Prop::SubscriptionKey => env
                .subscription_key
                .as_ref()
                .map_or(Value::Null, |k| Value::str(k.expose())),
            Prop::DeploymentServiceName => Value::str("portico"),
            Prop::RequestId => Value::Guid(request_guid(&env.request_id)),
            Prop::Timestamp => Value::DateTime(to_datetime(env.received)),
            Prop::Elapsed => {
                let e = env.started.elapsed();
                Value::TimeSpan(TimeSpan(
                    i64::try_from(e.as_nanos() / 100).unwrap_or(i64::MAX),
                ))
            }
            Prop::Tracing => Value::Bool(false),
            Prop::LastErrorSource => self.last_error(|e| &e.source),
            Prop::LastErrorReason => self.last_error(|e| &e.reason),
            Prop::LastErrorMessage => self.last_error(|e| &e.message),
            Prop::LastErrorScope => self.last_error(|e| &e.scope),
            Prop::LastErrorSection => self.last_error(|e| &e.section),
            Prop::LastErrorPath => self.last_error(|e| &e.path),
            Prop::LastErrorPolicyId => self.last_error(|e| &e.policy_id),
            // Keys, dates of subscriptions, users and deployment facts Portico does not keep.
            _ => Value::Null,
        }
    }

    fn present(&mut self, obj: CtxObj) -> bool {
        match obj {
            CtxObj::Response => self.st.response.is_some(),
            CtxObj::Subscription => self.env.subscription.is_some(),
            CtxObj::Product => self.env.product.is_some(),
            CtxObj::User => false,
            CtxObj::LastError => self.st.last_error.is_some(),
            _ => true,
        }
    }

    fn header(&mut self, msg: Msg, name: &str) -> Option<Vec<String>> {
        header_values(self.headers(msg)?, name)
    }

    fn header_names(&mut self, msg: Msg) -> Vec<String> {
        self.headers(msg)
            .map(|h| h.keys().map(|k| k.as_str().to_owned()).collect())
            .unwrap_or_default()
    }

    fn query(&mut self, url: UrlKind, name: &str) -> Option<Vec<String>> {
        query::values(self.query_of(url).as_deref(), name)
    }

    fn query_names(&mut self, url: UrlKind) -> Vec<String> {
        query::names(self.query_of(url).as_deref())
    }

    fn matched_parameter(&mut self, name: &str) -> Option<String> {
        self.st
            .params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| crate::query::percent_decode(v).into_owned())
    }

    fn matched_parameter_names(&mut self) -> Vec<String> {
        self.st.params.iter().map(|(n, _)| n.to_string()).collect()
    }

    fn variable(&mut self, name: &str) -> Option<Value> {
        self.st
            .variables
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }

    fn variable_names(&mut self) -> Vec<String> {
        self.st.variables.iter().map(|(n, _)| n.clone()).collect()
    }

    fn body(&mut self, msg: Msg, preserve_content: bool) -> Result<Arc<[u8]>, String> {
        // The executor buffered the body before running a policy that mentions it.
        let slot = match msg {
            Msg::Request => match &mut self.st.body {
                super::state::RequestPayload::Buffered(b) => b,
                super::state::RequestPayload::Stream(_) => {
                    return Err("the request body was not buffered".into())
                }
            },
            Msg::Response => match self.st.response.as_mut().map(|r| &mut r.body) {
                Some(ResponsePayload::Buffered(b)) => b,
                Some(ResponsePayload::Stream(_)) => {
                    return Err("the response body was not buffered".into())
                }
                None => return Err("there is no response yet".into()),
            },
        };
        let out = Arc::from(&slot[..]);
        if !preserve_content {
            // As in APIM: a body read without preserveContent is gone for what follows.
            *slot = bytes::Bytes::new();
        }
        Ok(out)
    }

    fn client_certificate(&mut self) -> Option<Arc<CertificateInfo>> {
        let cert = self.env.client_certificate.as_ref()?;
        Some(Arc::new(CertificateInfo {
            subject: cert.subject_text.clone(),
            issuer: cert.issuer_text.clone(),
            thumbprint: cert.info.thumbprint.clone(),
            serial_number: cert.info.serial_number.clone(),
            not_before: unix_datetime(cert.info.not_before_unix()),
            not_after: unix_datetime(cert.info.not_after_unix()),
        }))
    }

    /// .NET's `Verify()` builds the chain at the current time, so dates count as well as
    /// trust. Revocation is never checked (Portico has no CRL or OCSP), so `Verify()` and
    /// `VerifyNoRevocation()` agree. Only the client's own certificate is ever verified.
    fn verify_certificate(&mut self, cert: &CertificateInfo, _check_revocation: bool) -> bool {
        let Some(client) = self.env.client_certificate.as_ref() else {
            return false;
        };
        let now = to_datetime((self.env.clock)()).ticks;
        client.info.thumbprint == cert.thumbprint
            && client.is_trusted()
            && cert.not_before.ticks <= now
            && now <= cert.not_after.ticks
    }

    fn deployment_certificates(&mut self) -> Vec<(String, Arc<CertificateInfo>)> {
        Vec::new()
    }

    fn now(&mut self) -> DateTime {
        to_datetime((self.env.clock)())
    }

    fn random(&mut self) -> u64 {
        // splitmix64 over a per-request seed.
        *self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// The request id as a GUID: itself when it is one, else a stable hash of it.
fn request_guid(id: &HeaderValue) -> u128 {
    let text = id.to_str().unwrap_or("");
    if let Ok(u) = uuid::Uuid::parse_str(text) {
        return u.as_u128();
    }
    let mut h: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for b in text.bytes() {
        h = (h ^ u128::from(b)).wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013B);
    }
    h
}
