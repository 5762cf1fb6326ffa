//! The `context` object as the gateway provides it: the [`Context`] trait, which the evaluator
//! calls lazily (a header is read only when an expression asks for it, a body only when
//! `Body.As<…>()` runs), and the names of what it can be asked for ([`Prop`], [`CtxObj`]).
//! Time and randomness come through the trait too, so evaluation is deterministic under test.

use std::sync::Arc;

use super::time::DateTime;
use super::value::{CertificateInfo, Value};

/// Which message: the request, or the backend's response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Msg {
    Request,
    Response,
}

/// Which URL: `context.Request.Url` (as the policies have rewritten it so far),
/// `context.Request.OriginalUrl` (as the client sent it), or `context.Api.ServiceUrl`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UrlKind {
    Request,
    Original,
    Service,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UrlPart {
    Scheme,
    Host,
    /// An `int`.
    Port,
    Path,
    /// `?a=1&b=2`, or "" when there is no query.
    QueryString,
    /// The whole URL, as `Url.ToString()` prints it.
    Full,
}

/// An object reachable from `context` whose members the evaluator resolves through the trait.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CtxObj {
    Context,
    Request,
    Response,
    Url(UrlKind),
    Query(UrlKind),
    MatchedParameters,
    Api,
    Operation,
    Product,
    Subscription,
    User,
    Deployment,
    /// `context.Deployment.Certificates`: thumbprint → certificate.
    Certificates,
    Variables,
    LastError,
}

/// A scalar property of the context. The gateway answers each with a [`Value`]
/// (`Value::Null` when it has none). Types: strings unless noted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Prop {
    RequestMethod,
    RequestIpAddress,
    Url(UrlKind, UrlPart),
    /// `int`.
    ResponseStatusCode,
    ResponseStatusReason,
    ApiId,
    ApiName,
    ApiPath,
    ApiVersion,
    ApiRevision,
    /// `bool`.
    ApiIsCurrentRevision,
    OperationId,
    OperationName,
    OperationMethod,
    OperationUrlTemplate,
    ProductId,
    ProductName,
    /// `bool`.
    ProductSubscriptionRequired,
    SubscriptionId,
    SubscriptionName,
    SubscriptionKey,
    SubscriptionPrimaryKey,
    SubscriptionSecondaryKey,
    /// `DateTime`.
    SubscriptionCreatedDate,
    /// `DateTime` or null.
    SubscriptionEndDate,
    UserId,
    UserEmail,
    UserFirstName,
    UserLastName,
    UserNote,
    DeploymentGatewayId,
    DeploymentRegion,
    DeploymentServiceName,
    DeploymentServiceId,
    /// A `Guid`.
    RequestId,
    /// `DateTime` (UTC) at which the gateway received the request.
    Timestamp,
    /// `TimeSpan` since `Timestamp`.
    Elapsed,
    /// `bool`: whether tracing is on for this request.
    Tracing,
    LastErrorSource,
    LastErrorReason,
    LastErrorMessage,
    LastErrorScope,
    LastErrorSection,
    LastErrorPath,
    LastErrorPolicyId,
}

/// What an expression can ask of the request being served. The gateway implements this over
/// its per-request state; [`MemoryContext`](super::MemoryContext) is an in-memory version for
/// tests. Every method is called only when an expression needs the answer.
pub trait Context {
    /// A scalar property; `Value::Null` when it does not apply.
    fn property(&mut self, prop: Prop) -> Value;
    /// Whether a nullable object exists: `Response` (only after the backend answered),
    /// `User`, `Subscription`, `Product`, `LastError` (only in on-error). Others are always there.
    fn present(&mut self, obj: CtxObj) -> bool;
    /// All values of a header (case-insensitive name), `None` when absent.
    fn header(&mut self, msg: Msg, name: &str) -> Option<Vec<String>>;
    fn header_names(&mut self, msg: Msg) -> Vec<String>;
    /// All values of a query parameter of that URL, `None` when absent.
    fn query(&mut self, url: UrlKind, name: &str) -> Option<Vec<String>>;
    fn query_names(&mut self, url: UrlKind) -> Vec<String>;
    /// A parameter matched by the operation's URL template.
    fn matched_parameter(&mut self, name: &str) -> Option<String>;
    fn matched_parameter_names(&mut self) -> Vec<String>;
    /// A variable set by `set-variable` (or `send-request`, …).
    fn variable(&mut self, name: &str) -> Option<Value>;
    fn variable_names(&mut self) -> Vec<String>;
    /// The message body. When `preserve_content` is false the body is consumed as in APIM
    /// (a later read sees it empty). `Err` explains why it cannot be read (too large, …).
    fn body(&mut self, msg: Msg, preserve_content: bool) -> Result<Arc<[u8]>, String>;
    /// `context.Request.Certificate`, `None` when the client sent none.
    fn client_certificate(&mut self) -> Option<Arc<CertificateInfo>>;
    /// `Certificate.Verify()` / `VerifyNoRevocation()`: chain validation by the gateway.
    fn verify_certificate(&mut self, cert: &CertificateInfo, check_revocation: bool) -> bool;
    /// `context.Deployment.Certificates`: certificates uploaded to the service, by thumbprint.
    fn deployment_certificates(&mut self) -> Vec<(String, Arc<CertificateInfo>)>;
    /// Current UTC time, for `DateTime.UtcNow`, `DateTime.Now` and friends.
    fn now(&mut self) -> DateTime;
    /// 64 random bits, for `Guid.NewGuid()` and `new Random()`.
    fn random(&mut self) -> u64;
    /// How many evaluation steps one evaluation may take before it fails.
    fn step_budget(&self) -> u64 {
        DEFAULT_STEP_BUDGET
    }
}

/// Enough for any realistic policy expression; a loop that runs away stops here.
pub const DEFAULT_STEP_BUDGET: u64 = 100_000;

impl CtxObj {
    pub fn type_name(self) -> &'static str {
        match self {
            CtxObj::Context => "IProxyRequestContext",
            CtxObj::Request => "IRequest",
            CtxObj::Response => "IResponse",
            CtxObj::Url(_) => "IUrl",
            CtxObj::Query(_) => "IReadOnlyDictionary<string, string[]>",
            CtxObj::MatchedParameters => "IReadOnlyDictionary<string, string>",
            CtxObj::Api => "IApi",
            CtxObj::Operation => "IOperation",
            CtxObj::Product => "IProduct",
            CtxObj::Subscription => "ISubscription",
            CtxObj::User => "IUser",
            CtxObj::Deployment => "IDeployment",
            CtxObj::Certificates => "IReadOnlyDictionary<string, X509Certificate2>",
            CtxObj::Variables => "IReadOnlyDictionary<string, object>",
            CtxObj::LastError => "ILastError",
        }
    }

    /// Where the object is reached from, for error messages.
    pub fn path(self) -> &'static str {
        match self {
            CtxObj::Context => "context",
            CtxObj::Request => "context.Request",
            CtxObj::Response => "context.Response",
            CtxObj::Url(UrlKind::Request) => "context.Request.Url",
            CtxObj::Url(UrlKind::Original) => "context.Request.OriginalUrl",
            CtxObj::Url(UrlKind::Service) => "context.Api.ServiceUrl",
            CtxObj::Query(_) => "Url.Query",
            CtxObj::MatchedParameters => "context.Request.MatchedParameters",
            CtxObj::Api => "context.Api",
            CtxObj::Operation => "context.Operation",
            CtxObj::Product => "context.Product",
            CtxObj::Subscription => "context.Subscription",
            CtxObj::User => "context.User",
            CtxObj::Deployment => "context.Deployment",
            CtxObj::Certificates => "context.Deployment.Certificates",
            CtxObj::Variables => "context.Variables",
            CtxObj::LastError => "context.LastError",
        }
    }
}
