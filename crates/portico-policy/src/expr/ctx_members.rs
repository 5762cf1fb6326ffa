//! The members of each `context` object (`context.Request.Method`, `context.Api.Name`, …):
//! one table used both by the checker, which rejects an unknown member at compile time and
//! lists the valid ones, and by the evaluator, which turns a member into a call on the
//! [`Context`] trait.

use super::context::{Context, CtxObj, Msg, Prop, UrlKind, UrlPart};
use super::value::{Owner, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CtxMember {
    Obj(CtxObj),
    Prop(Prop),
    Headers(Msg),
    Body(Msg),
    ClientCertificate,
}

/// The member `name` of `obj`, if it has one.
pub fn member(obj: CtxObj, name: &str) -> Option<CtxMember> {
    use CtxMember::{Body, ClientCertificate, Headers, Obj, Prop as P};
    Some(match (obj, name) {
        (CtxObj::Context, "Request") => Obj(CtxObj::Request),
        (CtxObj::Context, "Response") => Obj(CtxObj::Response),
        (CtxObj::Context, "Api") => Obj(CtxObj::Api),
        (CtxObj::Context, "Operation") => Obj(CtxObj::Operation),
        (CtxObj::Context, "Product") => Obj(CtxObj::Product),
        (CtxObj::Context, "Subscription") => Obj(CtxObj::Subscription),
        (CtxObj::Context, "User") => Obj(CtxObj::User),
        (CtxObj::Context, "Deployment") => Obj(CtxObj::Deployment),
        (CtxObj::Context, "Variables") => Obj(CtxObj::Variables),
        (CtxObj::Context, "LastError") => Obj(CtxObj::LastError),
        (CtxObj::Context, "RequestId") => P(Prop::RequestId),
        (CtxObj::Context, "Timestamp") => P(Prop::Timestamp),
        (CtxObj::Context, "Elapsed") => P(Prop::Elapsed),
        (CtxObj::Context, "Tracing") => P(Prop::Tracing),
        (CtxObj::Request, "Method") => P(Prop::RequestMethod),
        (CtxObj::Request, "IpAddress") => P(Prop::RequestIpAddress),
        (CtxObj::Request, "Url") => Obj(CtxObj::Url(UrlKind::Request)),
        (CtxObj::Request, "OriginalUrl") => Obj(CtxObj::Url(UrlKind::Original)),
        (CtxObj::Request, "Headers") => Headers(Msg::Request),
        (CtxObj::Request, "Body") => Body(Msg::Request),
        (CtxObj::Request, "MatchedParameters") => Obj(CtxObj::MatchedParameters),
        (CtxObj::Request, "Certificate") => ClientCertificate,
        (CtxObj::Response, "StatusCode") => P(Prop::ResponseStatusCode),
        (CtxObj::Response, "StatusReason") => P(Prop::ResponseStatusReason),
        (CtxObj::Response, "Headers") => Headers(Msg::Response),
        (CtxObj::Response, "Body") => Body(Msg::Response),
        (CtxObj::Url(k), "Query") => Obj(CtxObj::Query(k)),
        (CtxObj::Url(k), part) => P(Prop::Url(k, url_part(part)?)),
        (CtxObj::Api, "Id") => P(Prop::ApiId),
        (CtxObj::Api, "Name") => P(Prop::ApiName),
        (CtxObj::Api, "Path") => P(Prop::ApiPath),
        (CtxObj::Api, "Version") => P(Prop::ApiVersion),
        (CtxObj::Api, "Revision") => P(Prop::ApiRevision),
        (CtxObj::Api, "IsCurrentRevision") => P(Prop::ApiIsCurrentRevision),
        (CtxObj::Api, "ServiceUrl") => Obj(CtxObj::Url(UrlKind::Service)),
        (CtxObj::Operation, "Id") => P(Prop::OperationId),
        (CtxObj::Operation, "Name") => P(Prop::OperationName),
        (CtxObj::Operation, "Method") => P(Prop::OperationMethod),
        (CtxObj::Operation, "UrlTemplate") => P(Prop::OperationUrlTemplate),
        (CtxObj::Product, "Id") => P(Prop::ProductId),
        (CtxObj::Product, "Name") => P(Prop::ProductName),
        (CtxObj::Product, "SubscriptionRequired") => P(Prop::ProductSubscriptionRequired),
        (CtxObj::Subscription, "Id") => P(Prop::SubscriptionId),
        (CtxObj::Subscription, "Name") => P(Prop::SubscriptionName),
        (CtxObj::Subscription, "Key") => P(Prop::SubscriptionKey),
        (CtxObj::Subscription, "PrimaryKey") => P(Prop::SubscriptionPrimaryKey),
        (CtxObj::Subscription, "SecondaryKey") => P(Prop::SubscriptionSecondaryKey),
        (CtxObj::Subscription, "CreatedDate") => P(Prop::SubscriptionCreatedDate),
        (CtxObj::Subscription, "EndDate") => P(Prop::SubscriptionEndDate),
        (CtxObj::User, "Id") => P(Prop::UserId),
        (CtxObj::User, "Email") => P(Prop::UserEmail),
        (CtxObj::User, "FirstName") => P(Prop::UserFirstName),
        (CtxObj::User, "LastName") => P(Prop::UserLastName),
        (CtxObj::User, "Note") => P(Prop::UserNote),
        (CtxObj::Deployment, "GatewayId") => P(Prop::DeploymentGatewayId),
        (CtxObj::Deployment, "Region") => P(Prop::DeploymentRegion),
        (CtxObj::Deployment, "ServiceName") => P(Prop::DeploymentServiceName),
        (CtxObj::Deployment, "ServiceId") => P(Prop::DeploymentServiceId),
        (CtxObj::Deployment, "Certificates") => Obj(CtxObj::Certificates),
        (CtxObj::LastError, "Source") => P(Prop::LastErrorSource),
        (CtxObj::LastError, "Reason") => P(Prop::LastErrorReason),
        (CtxObj::LastError, "Message") => P(Prop::LastErrorMessage),
        (CtxObj::LastError, "Scope") => P(Prop::LastErrorScope),
        (CtxObj::LastError, "Section") => P(Prop::LastErrorSection),
        (CtxObj::LastError, "Path") => P(Prop::LastErrorPath),
        (CtxObj::LastError, "PolicyId") => P(Prop::LastErrorPolicyId),
        _ => return None,
    })
}

fn url_part(name: &str) -> Option<UrlPart> {
    Some(match name {
        "Scheme" => UrlPart::Scheme,
        "Host" => UrlPart::Host,
        "Port" => UrlPart::Port,
        "Path" => UrlPart::Path,
        "QueryString" => UrlPart::QueryString,
        _ => return None,
    })
}

/// Member names of `obj`, for "members are …" in errors.
pub fn member_names(obj: CtxObj) -> &'static str {
    match obj {
        CtxObj::Context => "Request, Response, Api, Operation, Product, Subscription, User, Deployment, Variables, LastError, RequestId, Timestamp, Elapsed, Tracing",
        CtxObj::Request => "Method, Url, OriginalUrl, Headers, Body, IpAddress, MatchedParameters, Certificate",
        CtxObj::Response => "StatusCode, StatusReason, Headers, Body",
        CtxObj::Url(_) => "Scheme, Host, Port, Path, Query, QueryString, ToString()",
        CtxObj::Api => "Id, Name, Path, Version, Revision, IsCurrentRevision, ServiceUrl",
        CtxObj::Operation => "Id, Name, Method, UrlTemplate",
        CtxObj::Product => "Id, Name, SubscriptionRequired",
        CtxObj::Subscription => "Id, Name, Key, PrimaryKey, SecondaryKey, CreatedDate, EndDate",
        CtxObj::User => "Id, Email, FirstName, LastName, Note",
        CtxObj::Deployment => "GatewayId, Region, ServiceName, ServiceId, Certificates",
        CtxObj::LastError => "Source, Reason, Message, Scope, Section, Path, PolicyId",
        CtxObj::Query(_)
        | CtxObj::MatchedParameters
        | CtxObj::Certificates
        | CtxObj::Variables => "Count, Keys, GetValueOrDefault(…), ContainsKey(…), TryGetValue(…), [name]",
    }
}

/// Objects that may be null (`context.User` for an anonymous call, …).
pub fn nullable(obj: CtxObj) -> bool {
    matches!(
        obj,
        CtxObj::Response
            | CtxObj::Product
            | CtxObj::Subscription
            | CtxObj::User
            | CtxObj::LastError
    )
}

/// Reads a member through the context.
pub fn read(ctx: &mut dyn Context, m: CtxMember) -> Value {
    match m {
        CtxMember::Obj(o) if nullable(o) && !ctx.present(o) => Value::Null,
        CtxMember::Obj(o) => Value::Ctx(o),
        CtxMember::Prop(p) => ctx.property(p),
        CtxMember::Headers(msg) => Value::Headers(Owner::Ctx(msg)),
        CtxMember::Body(msg) => Value::Body(Owner::Ctx(msg)),
        CtxMember::ClientCertificate => ctx
            .client_certificate()
            .map_or(Value::Null, Value::Certificate),
    }
}
