//! The executable form of a composed [`Pipeline`]: each policy becomes a [`Step`] that knows
//! where it was written (for `context.LastError`), whether it reads a message body (so the
//! executor buffers it first, and only then), and with `set-backend-service` targets given
//! as literals already resolved to backends. Nothing here runs a request.

use super::backend_certificate::BackendCertificate;
use crate::proxy::tls::ClientIdentity;
use crate::runtime::BackendTarget;
use portico_policy::policies::{
    AuthenticationManagedIdentity, CacheLookup, CacheLookupValue, CacheRemoveValue, CacheStore,
    CacheStoreValue, CallRequest, CertificateRef, SendRequest,
}; // call, cache and JWT policies
use portico_policy::policies::{
    EmitMetric, FindAndReplace, ForwardRequest, MockResponse, ReturnResponse, RewriteUri, SetBody,
    SetHeader, SetStatus, SetVariable, Trace,
};
use portico_policy::{Expr, Param, Pipeline, Policy, PolicyNode, Section, Template};
use rustls::pki_types::CertificateDer;
use std::sync::Arc;

/// A route's compiled pipeline.
#[derive(Debug, Default)]
pub struct Plan {
    pub inbound: Vec<Step>,
    pub backend: Vec<Step>,
    pub outbound: Vec<Step>,
    pub on_error: Vec<Step>,
    /// Whether anything reads the operation's matched parameters (`rewrite-uri` templates,
    /// `MatchedParameters` in an expression): only then does the matcher capture them.
    pub needs_params: bool,
}

impl Plan {
    pub fn section(&self, section: Section) -> &[Step] {
        match section {
            Section::Inbound => &self.inbound,
            Section::Backend => &self.backend,
            Section::Outbound => &self.outbound,
            Section::OnError => &self.on_error,
        }
    }

    fn is_empty(&self) -> bool {
        Section::ALL.iter().all(|s| self.section(*s).is_empty())
    }
}

/// One policy, ready to run.
#[derive(Debug)]
pub struct Step {
    pub action: Action,
    pub site: Arc<Site>,
    /// An expression of this policy mentions `Body`: buffer the section's body first.
    pub reads_body: bool,
}

/// Where a policy was written: what `context.LastError` reports when it fails.
#[derive(Debug)]
pub struct Site {
    /// The element name (`set-header`): LastError.Source.
    pub policy: &'static str,
    pub section: Section,
    /// The document it came from ("API scope", "fragment `auth`").
    pub scope: Arc<str>,
    /// `inbound/choose[1]/when[2]/set-header[1]`.
    pub path: Box<str>,
    /// The scope and the position of the element.
    pub policy_id: Box<str>,
    /// A secret named value went into this policy: never log its values or errors.
    pub secret: bool,
}

#[derive(Debug)]
pub enum Action {
    Choose {
        whens: Vec<(Param<bool>, Vec<Step>)>,
        otherwise: Vec<Step>,
    },
    SetVariable(SetVariable),
    /// With the name parsed once when it is a literal header name.
    SetHeader(SetHeader, Option<http::HeaderName>),
    SetQuery(SetHeader),
    SetMethod(Template),
    SetStatus(SetStatus),
    SetBody(SetBody),
    RewriteUri(RewriteUri),
    SetBackend(BackendChoice),
    Forward(ForwardRequest),
    Return(ReturnResponse),
    Mock(MockResponse),
    FindAndReplace(FindAndReplace),
    Trace(Trace),
    EmitMetric(EmitMetric),
    /// Throttling and access policies (`traffic`).
    Traffic(Box<super::traffic::Traffic>),
    /// `limit-concurrency`, `retry` and `wait`, with the steps inside them.
    Block(Box<super::traffic::Block>),
    SendRequest(SendRequest, CallCertificate),
    SendOneWay(CallRequest, CallCertificate),
    CacheLookupValue(CacheLookupValue),
    CacheStoreValue(CacheStoreValue),
    CacheRemoveValue(CacheRemoveValue),
    ValidateJwt(Arc<super::jwt::JwtCheck>),
    CacheLookup(CacheLookup),
    CacheStore(CacheStore),
    ManagedIdentity(AuthenticationManagedIdentity),
    ValidateClientCertificate(Arc<super::client_cert::ClientCertificateCheck>),
    AuthenticationCertificate(Arc<super::backend_certificate::BackendCertificate>),
}

/// The client certificate a `send-request`'s `<authentication-certificate>` names, read when
/// the snapshot was compiled.
pub type CallCertificate = Option<Arc<super::backend_certificate::BackendCertificate>>;

/// A `set-backend-service` target.
#[derive(Debug)]
pub enum BackendChoice {
    /// A literal `base-url` or `backend-id`, resolved when the snapshot was compiled.
    Fixed(Arc<BackendTarget>),
    /// An expression giving a URL.
    Url(Template),
    /// An expression giving a backend id.
    Id(Template),
}

/// Resolves literal `set-backend-service` targets (and the certificates
/// `validate-client-certificate` and `authentication-certificate` name) while lowering.
pub trait Backends {
    fn by_url(&self, url: &str) -> Result<Arc<BackendTarget>, String>;
    fn by_id(&self, id: &str) -> Result<Arc<BackendTarget>, String>;
    /// The leaf of the snapshot's certificate `id`.
    fn certificate(&self, id: &str) -> Result<CertificateDer<'static>, String>;
    /// The snapshot's certificate `r` names, with its private key, ready to present.
    fn client_identity(&self, r: &CertificateRef) -> Result<ClientIdentity, String>;
}

/// Lowers a composed pipeline; `None` when every section is empty (the route then takes the
/// plain proxy path).
pub fn lower(pipeline: &Pipeline, backends: &dyn Backends) -> Result<Option<Plan>, String> {
    let mut plan = Plan::default();
    for section in Section::ALL {
        let steps = lower_list(pipeline.section(section), section, section.name(), backends)?;
        match section {
            Section::Inbound => plan.inbound = steps,
            Section::Backend => plan.backend = steps,
            Section::Outbound => plan.outbound = steps,
            Section::OnError => plan.on_error = steps,
        }
    }
    if plan.is_empty() {
        return Ok(None);
    }
    plan.needs_params = Section::ALL.iter().any(|s| {
        let mut exprs = Vec::new();
        for node in pipeline.section(*s) {
            all_exprs(&node.policy, &mut exprs);
        }
        exprs
            .iter()
            .any(|e| e.expression().source().contains("MatchedParameters"))
            || pipeline.section(*s).iter().any(|n| has_rewrite(&n.policy))
            || pipeline
                .section(*s)
                .iter()
                .any(|n| liquid_mentions(&n.policy, "MatchedParameters"))
    });
    Ok(Some(plan))
}

fn has_rewrite(p: &Policy) -> bool {
    matches!(p, Policy::RewriteUri(_))
        || p.children()
            .iter()
            .flat_map(|c| c.iter())
            .any(|n| has_rewrite(&n.policy))
}

fn lower_list(
    nodes: &[PolicyNode],
    section: Section,
    prefix: &str,
    backends: &dyn Backends,
) -> Result<Vec<Step>, String> {
    let mut steps = Vec::with_capacity(nodes.len());
    for (i, node) in nodes.iter().enumerate() {
        let name = node.policy.name();
        // APIM numbers each element among its same-named siblings, from 1.
        let nth = nodes[..i]
            .iter()
            .filter(|n| n.policy.name() == name)
            .count()
            + 1;
        let path = format!("{prefix}/{name}[{nth}]");
        steps.push(lower_node(node, section, path, backends)?);
    }
    Ok(steps)
}

fn lower_node(
    node: &PolicyNode,
    section: Section,
    path: String,
    backends: &dyn Backends,
) -> Result<Step, String> {
    let scope: Arc<str> = node.origin.clone().unwrap_or_else(|| Arc::from("policy"));
    let mut exprs = Vec::new();
    own_exprs(&node.policy, &mut exprs);
    let site = Arc::new(Site {
        policy: node.policy.name(),
        section,
        policy_id: format!("{scope}, {}", node.position).into(),
        scope,
        secret: own_secret(&node.policy) || exprs.iter().any(|e| e.is_secret()),
        path: path.clone().into(),
    });
    let at = |e: String| format!("{}: <{}>: {e}", site.policy_id, site.policy);
    let action = match &node.policy {
        Policy::Choose(c) => {
            let mut whens = Vec::with_capacity(c.whens.len());
            for (i, w) in c.whens.iter().enumerate() {
                let prefix = format!("{path}/when[{}]", i + 1);
                whens.push((
                    w.condition.clone(),
                    lower_list(&w.policies, section, &prefix, backends)?,
                ));
            }
            let otherwise = match &c.otherwise {
                Some(o) => lower_list(o, section, &format!("{path}/otherwise[1]"), backends)?,
                None => Vec::new(),
            };
            Action::Choose { whens, otherwise }
        }
        Policy::SetVariable(v) => Action::SetVariable(v.clone()),
        Policy::SetHeader(h) => Action::SetHeader(
            h.clone(),
            // An invalid literal is left for run time, which reports it as APIM would.
            h.name
                .as_literal()
                .and_then(|n| http::HeaderName::from_bytes(n.as_bytes()).ok()),
        ),
        Policy::SetQueryParameter(q) => Action::SetQuery(q.clone()),
        Policy::SetMethod(m) => Action::SetMethod(m.clone()),
        Policy::SetStatus(s) => Action::SetStatus(s.clone()),
        Policy::SetBody(b) => Action::SetBody(b.clone()),
        Policy::RewriteUri(r) => Action::RewriteUri(r.clone()),
        Policy::SetBackendService(s) => Action::SetBackend(match &s.target {
            portico_policy::policies::BackendTarget::BaseUrl(Template::Literal(url)) => {
                BackendChoice::Fixed(backends.by_url(url.as_str()).map_err(at)?)
            }
            portico_policy::policies::BackendTarget::BackendId(Template::Literal(id)) => {
                BackendChoice::Fixed(backends.by_id(id.as_str()).map_err(at)?)
            }
            portico_policy::policies::BackendTarget::BaseUrl(t) => BackendChoice::Url(t.clone()),
            portico_policy::policies::BackendTarget::BackendId(t) => BackendChoice::Id(t.clone()),
        }),
        Policy::ForwardRequest(f) => Action::Forward(f.clone()),
        Policy::ReturnResponse(r) => Action::Return(r.clone()),
        Policy::MockResponse(m) => Action::Mock(m.clone()),
        Policy::FindAndReplace(f) => Action::FindAndReplace(f.clone()),
        Policy::Trace(t) => Action::Trace(t.clone()),
        Policy::EmitMetric(m) => Action::EmitMetric(m.clone()),
        Policy::SendRequest(s) => Action::SendRequest(
            s.clone(),
            call_certificate(&s.request, backends).map_err(at)?,
        ),
        Policy::SendOneWayRequest(r) => {
            Action::SendOneWay(r.clone(), call_certificate(r, backends).map_err(at)?)
        }
        Policy::CacheLookupValue(v) => Action::CacheLookupValue(v.clone()),
        Policy::CacheStoreValue(v) => Action::CacheStoreValue(v.clone()),
        Policy::CacheRemoveValue(k) => Action::CacheRemoveValue(k.clone()),
        Policy::ValidateJwt(j) => {
            Action::ValidateJwt(Arc::new(super::jwt::JwtCheck::new(j).map_err(at)?))
        }
        Policy::CacheLookup(c) => Action::CacheLookup(c.clone()),
        Policy::CacheStore(c) => Action::CacheStore(c.clone()),
        Policy::AuthenticationManagedIdentity(m) => Action::ManagedIdentity(m.clone()),
        Policy::ValidateClientCertificate(v) => Action::ValidateClientCertificate(Arc::new(
            super::client_cert::ClientCertificateCheck::new(v, |id| backends.certificate(id))
                .map_err(at)?,
        )),
        Policy::AuthenticationCertificate(a) => Action::AuthenticationCertificate(Arc::new(
            BackendCertificate::new(backends.client_identity(&a.certificate).map_err(at)?),
        )),
        p @ (Policy::RateLimit(_)
        | Policy::RateLimitByKey(_)
        | Policy::Quota(_)
        | Policy::QuotaByKey(_)
        | Policy::LimitConcurrency(_)
        | Policy::CheckHeader(_)
        | Policy::IpFilter(_)
        | Policy::Cors(_)
        | Policy::AuthenticationBasic(_)
        | Policy::Retry(_)
        | Policy::Wait(_)) => super::traffic::lower(p, &path, |nodes, prefix| {
            lower_list(nodes, section, prefix, backends)
        })?,
        Policy::Base | Policy::IncludeFragment(_) => {
            return Err(at("left in a composed pipeline (a composition bug)".into()))
        }
    };
    // Finding the body needs the body buffered too, and so does a Liquid template that
    // reads `body`.
    let reads_body = matches!(action, Action::FindAndReplace(_))
        || liquid_reads_body(&node.policy)
        || exprs
            .iter()
            .any(|e| e.expression().source().contains("Body"));
    Ok(Step {
        action,
        site,
        reads_body,
    })
}

fn call_certificate(r: &CallRequest, backends: &dyn Backends) -> Result<CallCertificate, String> {
    let Some(a) = &r.certificate else {
        return Ok(None);
    };
    let identity = backends.client_identity(&a.certificate)?;
    Ok(Some(Arc::new(BackendCertificate::new(identity))))
}

/// Whether a Liquid template of the policy or of a policy nested in it mentions `what`.
fn liquid_mentions(p: &Policy, what: &str) -> bool {
    let body = match p {
        Policy::SetBody(b) => Some(b),
        Policy::ReturnResponse(r) => r.body.as_ref(),
        Policy::SendRequest(s) => s.request.body.as_ref(),
        Policy::SendOneWayRequest(r) => r.body.as_ref(),
        _ => None,
    };
    body.and_then(|b| b.liquid())
        .is_some_and(|l| l.source().contains(what))
        || p.children()
            .iter()
            .flat_map(|c| c.iter())
            .any(|n| liquid_mentions(&n.policy, what))
}

/// Whether a Liquid `set-body` of the policy itself (not of nested policies, which are
/// steps of their own) reads the message body.
fn liquid_reads_body(p: &Policy) -> bool {
    match p {
        Policy::SetBody(b) => b.reads_body(),
        Policy::SendRequest(s) => s.request.body.as_ref().is_some_and(|b| b.reads_body()),
        Policy::SendOneWayRequest(r) => r.body.as_ref().is_some_and(|b| b.reads_body()),
        _ => false,
    }
}

/// Every expression of a policy and of the policies nested in it.
fn all_exprs<'p>(p: &'p Policy, out: &mut Vec<&'p Expr>) {
    own_exprs(p, out);
    for branch in p.children() {
        for node in branch {
            all_exprs(&node.policy, out);
        }
    }
}

/// The expressions a policy evaluates itself (a `<choose>`: its conditions only).
fn own_exprs<'p>(p: &'p Policy, out: &mut Vec<&'p Expr>) {
    let mut t = |t: &'p Template| {
        if let Template::Expr(e) = t {
            out.push(e);
        }
    };
    match p {
        Policy::Choose(c) => {
            for w in &c.whens {
                if let Param::Expr(e) = &w.condition {
                    out.push(e);
                }
            }
        }
        Policy::SetVariable(v) => t(&v.value),
        Policy::SetHeader(h) | Policy::SetQueryParameter(h) => {
            t(&h.name);
            h.values.iter().for_each(t);
        }
        Policy::SetMethod(m) => t(m),
        Policy::SetStatus(s) => status_exprs(s, out),
        Policy::SetBody(b) => b.template().into_iter().for_each(t),
        Policy::RewriteUri(r) => {
            t(&r.template);
            param_expr(&r.copy_unmatched_params, out);
        }
        Policy::SetBackendService(s) => match &s.target {
            portico_policy::policies::BackendTarget::BaseUrl(u) => t(u),
            portico_policy::policies::BackendTarget::BackendId(i) => t(i),
        },
        Policy::ForwardRequest(f) => {
            param_expr(&f.timeout_seconds, out);
            param_expr(&f.follow_redirects, out);
            param_expr(&f.buffer_request_body, out);
        }
        Policy::ReturnResponse(r) => {
            for h in &r.headers {
                t(&h.name);
                h.values.iter().for_each(&mut t);
            }
            if let Some(b) = r.body.as_ref().and_then(|b| b.template()) {
                t(b);
            }
            if let Some(s) = &r.status {
                status_exprs(s, out);
            }
        }
        Policy::FindAndReplace(f) => {
            t(&f.from);
            t(&f.to);
        }
        Policy::Trace(tr) => {
            t(&tr.source);
            t(&tr.message);
            tr.metadata.iter().for_each(|m| t(&m.value));
        }
        Policy::EmitMetric(m) => {
            t(&m.name);
            m.namespace.iter().for_each(&mut t);
            m.dimensions
                .iter()
                .filter_map(|d| d.value.as_ref())
                .for_each(&mut t);
            param_expr(&m.value, out);
        }
        Policy::Base
        | Policy::IncludeFragment(_)
        | Policy::MockResponse(_)
        | Policy::ValidateClientCertificate(_)
        | Policy::AuthenticationCertificate(_) => {}
        Policy::RateLimit(_)
        | Policy::RateLimitByKey(_)
        | Policy::Quota(_)
        | Policy::QuotaByKey(_)
        | Policy::LimitConcurrency(_)
        | Policy::CheckHeader(_)
        | Policy::IpFilter(_)
        | Policy::Cors(_)
        | Policy::AuthenticationBasic(_)
        | Policy::Retry(_)
        | Policy::Wait(_) => super::traffic::exprs(p, out),
        Policy::SendRequest(_)
        | Policy::SendOneWayRequest(_)
        | Policy::CacheLookupValue(_)
        | Policy::CacheStoreValue(_)
        | Policy::CacheRemoveValue(_)
        | Policy::ValidateJwt(_)
        | Policy::CacheLookup(_)
        | Policy::CacheStore(_)
        | Policy::AuthenticationManagedIdentity(_) => super::walk::exprs(p, out),
    }
}

fn status_exprs<'p>(s: &'p SetStatus, out: &mut Vec<&'p Expr>) {
    param_expr(&s.code, out);
    if let Some(Template::Expr(e)) = &s.reason {
        out.push(e);
    }
}

fn param_expr<'p, T>(p: &'p Param<T>, out: &mut Vec<&'p Expr>) {
    if let Param::Expr(e) = p {
        out.push(e);
    }
}

/// Whether a literal of the policy holds a secret named value (expressions are checked by
/// the caller).
fn own_secret(p: &Policy) -> bool {
    let lit = |t: &Template| matches!(t, Template::Literal(l) if l.is_secret());
    match p {
        Policy::SetVariable(v) => lit(&v.value),
        Policy::SetHeader(h) | Policy::SetQueryParameter(h) => {
            lit(&h.name) || h.values.iter().any(lit)
        }
        Policy::SetBody(b) => b.is_secret(),
        Policy::RewriteUri(r) => lit(&r.template),
        Policy::FindAndReplace(f) => lit(&f.from) || lit(&f.to),
        Policy::Trace(t) => lit(&t.message) || t.metadata.iter().any(|m| lit(&m.value)),
        Policy::ReturnResponse(r) => {
            r.headers.iter().any(|h| h.values.iter().any(lit))
                || r.body.as_ref().is_some_and(|b| b.is_secret())
        }
        p if super::traffic::is_traffic(p) => super::traffic::secret(p),
        _ => super::walk::secret(p),
    }
}
