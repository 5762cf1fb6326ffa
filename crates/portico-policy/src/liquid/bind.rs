//! What a template can read: `context` (the request, the response, URLs, headers, matched
//! parameters, variables and the API, operation, product, subscription, user and deployment
//! properties), read lazily through the expression [`Context`], and `body`, the message body
//! bound by its content type (JSON and XML become objects, anything else stays text).
//! Members of `context` are checked when the policy loads, so a misspelt one is an error
//! rather than an empty string.

use super::value::{self, LValue};
use crate::expr::dotnet;
use crate::expr::{Context, CtxObj, Msg, Prop, UrlKind, UrlPart, Value};

/// An object reached from `context`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CtxNode {
    Context,
    Request,
    Response,
    Url(UrlKind),
    Headers(Msg),
    Query(UrlKind),
    MatchedParameters,
    Variables,
    Api,
    Operation,
    Product,
    Subscription,
    User,
    Deployment,
}

/// What a member of a [`CtxNode`] is.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Member {
    Node(CtxNode),
    Prop(Prop),
}

impl CtxNode {
    pub(crate) fn type_name(self) -> &'static str {
        match self {
            CtxNode::Context => "IProxyRequestContext",
            CtxNode::Request => "IRequest",
            CtxNode::Response => "IResponse",
            CtxNode::Url(_) => "IUrl",
            CtxNode::Headers(_) | CtxNode::Query(_) => "IReadOnlyDictionary<string, string[]>",
            CtxNode::MatchedParameters => "IReadOnlyDictionary<string, string>",
            CtxNode::Variables => "IReadOnlyDictionary<string, object>",
            CtxNode::Api => "IApi",
            CtxNode::Operation => "IOperation",
            CtxNode::Product => "IProduct",
            CtxNode::Subscription => "ISubscription",
            CtxNode::User => "IUser",
            CtxNode::Deployment => "IDeployment",
        }
    }

    /// Dictionaries take any key; objects only their members.
    pub(crate) fn is_dictionary(self) -> bool {
        matches!(
            self,
            CtxNode::Headers(_)
                | CtxNode::Query(_)
                | CtxNode::MatchedParameters
                | CtxNode::Variables
        )
    }

    /// The member `name` of an object (not a dictionary), or the list of members it has.
    pub(crate) fn member(self, name: &str) -> Result<Member, &'static str> {
        use CtxNode as N;
        use Member::{Node, Prop as P};
        let m = match (self, name) {
            (N::Context, "Request") => Node(N::Request),
            (N::Context, "Response") => Node(N::Response),
            (N::Context, "Variables") => Node(N::Variables),
            (N::Context, "Api") => Node(N::Api),
            (N::Context, "Operation") => Node(N::Operation),
            (N::Context, "Product") => Node(N::Product),
            (N::Context, "Subscription") => Node(N::Subscription),
            (N::Context, "User") => Node(N::User),
            (N::Context, "Deployment") => Node(N::Deployment),
            (N::Context, "RequestId") => P(Prop::RequestId),
            (N::Context, "Timestamp") => P(Prop::Timestamp),
            (N::Request, "Url") => Node(N::Url(UrlKind::Request)),
            (N::Request, "OriginalUrl") => Node(N::Url(UrlKind::Original)),
            (N::Request, "Method") => P(Prop::RequestMethod),
            (N::Request, "IpAddress") => P(Prop::RequestIpAddress),
            (N::Request, "Headers") => Node(N::Headers(Msg::Request)),
            (N::Request, "MatchedParameters") => Node(N::MatchedParameters),
            (N::Response, "StatusCode") => P(Prop::ResponseStatusCode),
            (N::Response, "StatusReason") => P(Prop::ResponseStatusReason),
            (N::Response, "Headers") => Node(N::Headers(Msg::Response)),
            (N::Url(k), "Scheme") => P(Prop::Url(k, UrlPart::Scheme)),
            (N::Url(k), "Host") => P(Prop::Url(k, UrlPart::Host)),
            (N::Url(k), "Port") => P(Prop::Url(k, UrlPart::Port)),
            (N::Url(k), "Path") => P(Prop::Url(k, UrlPart::Path)),
            (N::Url(k), "QueryString") => P(Prop::Url(k, UrlPart::QueryString)),
            (N::Url(k), "Query") => Node(N::Query(k)),
            (N::Url(k), "ToUri" | "ToString") => P(Prop::Url(k, UrlPart::Full)),
            (N::Api, "Id") => P(Prop::ApiId),
            (N::Api, "Name") => P(Prop::ApiName),
            (N::Api, "Path") => P(Prop::ApiPath),
            (N::Api, "Version") => P(Prop::ApiVersion),
            (N::Api, "Revision") => P(Prop::ApiRevision),
            (N::Api, "IsCurrentRevision") => P(Prop::ApiIsCurrentRevision),
            (N::Api, "ServiceUrl") => Node(N::Url(UrlKind::Service)),
            (N::Operation, "Id") => P(Prop::OperationId),
            (N::Operation, "Name") => P(Prop::OperationName),
            (N::Operation, "Method") => P(Prop::OperationMethod),
            (N::Operation, "UrlTemplate") => P(Prop::OperationUrlTemplate),
            (N::Product, "Id") => P(Prop::ProductId),
            (N::Product, "Name") => P(Prop::ProductName),
            (N::Product, "SubscriptionRequired") => P(Prop::ProductSubscriptionRequired),
            (N::Subscription, "Id") => P(Prop::SubscriptionId),
            (N::Subscription, "Name") => P(Prop::SubscriptionName),
            (N::Subscription, "Key") => P(Prop::SubscriptionKey),
            (N::Subscription, "PrimaryKey") => P(Prop::SubscriptionPrimaryKey),
            (N::Subscription, "SecondaryKey") => P(Prop::SubscriptionSecondaryKey),
            (N::Subscription, "CreatedDate") => P(Prop::SubscriptionCreatedDate),
            (N::Subscription, "EndDate") => P(Prop::SubscriptionEndDate),
            (N::User, "Id") => P(Prop::UserId),
            (N::User, "Email") => P(Prop::UserEmail),
            (N::User, "FirstName") => P(Prop::UserFirstName),
            (N::User, "LastName") => P(Prop::UserLastName),
            (N::User, "Note") => P(Prop::UserNote),
            (N::Deployment, "GatewayId") => P(Prop::DeploymentGatewayId),
            (N::Deployment, "Region") => P(Prop::DeploymentRegion),
            (N::Deployment, "ServiceName") => P(Prop::DeploymentServiceName),
            (N::Deployment, "ServiceId") => P(Prop::DeploymentServiceId),
            _ => return Err(self.members()),
        };
        Ok(m)
    }

    /// The members, for the error naming an unknown one.
    fn members(self) -> &'static str {
        match self {
            CtxNode::Context => "Request, Response, Variables, Api, Operation, Product, Subscription, User, Deployment, RequestId, Timestamp",
            CtxNode::Request => "Url, OriginalUrl, Method, IpAddress, Headers, MatchedParameters",
            CtxNode::Response => "StatusCode, StatusReason, Headers",
            CtxNode::Url(_) => "Scheme, Host, Port, Path, Query, QueryString, ToUri, ToString",
            CtxNode::Api => "Id, Name, Path, Version, Revision, IsCurrentRevision, ServiceUrl",
            CtxNode::Operation => "Id, Name, Method, UrlTemplate",
            CtxNode::Product => "Id, Name, SubscriptionRequired",
            CtxNode::Subscription => "Id, Name, Key, PrimaryKey, SecondaryKey, CreatedDate, EndDate",
            CtxNode::User => "Id, Email, FirstName, LastName, Note",
            CtxNode::Deployment => "GatewayId, Region, ServiceName, ServiceId",
            _ => "any key",
        }
    }

    /// Whether the object exists for this request (a response only after the backend
    /// answered, a user or subscription only when the request has one).
    fn present(self, ctx: &mut dyn Context) -> bool {
        let obj = match self {
            CtxNode::Response | CtxNode::Headers(Msg::Response) => CtxObj::Response,
            CtxNode::Product => CtxObj::Product,
            CtxNode::Subscription => CtxObj::Subscription,
            CtxNode::User => CtxObj::User,
            _ => return true,
        };
        ctx.present(obj)
    }
}

/// Checks a path from `context` written with literal names, when the policy loads.
pub(crate) fn check_static(names: &[&str]) -> Result<(), (usize, String)> {
    let mut node = CtxNode::Context;
    for (i, name) in names.iter().enumerate() {
        if node.is_dictionary() {
            return Ok(());
        }
        match node.member(name) {
            Ok(Member::Node(n)) => node = n,
            Ok(Member::Prop(_)) => return Ok(()),
            Err(members) => {
                return Err((
                    i,
                    format!(
                        "`{name}` is not a member of {} in Liquid templates; it has: {members}",
                        path_name(&names[..i])
                    ),
                ))
            }
        }
    }
    Ok(())
}

fn path_name(names: &[&str]) -> String {
    std::iter::once("context")
        .chain(names.iter().copied())
        .collect::<Vec<_>>()
        .join(".")
}

/// `node.name` (or `node["name"]`) for this request.
pub(crate) fn get(ctx: &mut dyn Context, node: CtxNode, name: &str) -> LValue {
    if !node.present(ctx) {
        return LValue::Nil;
    }
    match node {
        CtxNode::Headers(msg) => ctx.header(msg, name).map_or(LValue::Nil, strings),
        CtxNode::Query(kind) => ctx.query(kind, name).map_or(LValue::Nil, strings),
        CtxNode::MatchedParameters => ctx.matched_parameter(name).map_or(LValue::Nil, LValue::str),
        CtxNode::Variables => ctx.variable(name).map_or(LValue::Nil, |v| from_value(&v)),
        _ => match node.member(name) {
            Ok(Member::Node(n)) if n.present(ctx) => LValue::Ctx(n),
            Ok(Member::Prop(p)) => from_value(&ctx.property(p)),
            _ => LValue::Nil,
        },
    }
}

/// What `{% for x in node %}` walks: a dictionary's `{Key, Value}` pairs.
pub(crate) fn entries(ctx: &mut dyn Context, node: CtxNode) -> Vec<LValue> {
    if !node.present(ctx) {
        return Vec::new();
    }
    let names = match node {
        CtxNode::Headers(msg) => ctx.header_names(msg),
        CtxNode::Query(kind) => ctx.query_names(kind),
        CtxNode::MatchedParameters => ctx.matched_parameter_names(),
        CtxNode::Variables => ctx.variable_names(),
        _ => return Vec::new(),
    };
    names
        .iter()
        .map(|n| LValue::pair(n, get(ctx, node, n)))
        .collect()
}

/// A URL object prints as the whole URL, as `Url.ToString()` does.
pub(crate) fn render(ctx: &mut dyn Context, node: CtxNode) -> LValue {
    match node {
        CtxNode::Url(k) => from_value(&ctx.property(Prop::Url(k, UrlPart::Full))),
        _ => LValue::str(node.type_name()),
    }
}

fn strings(values: Vec<String>) -> LValue {
    LValue::array(values.into_iter().map(LValue::str).collect())
}

/// An expression value (a variable) as Liquid sees it: JSON tokens become objects and
/// arrays, collections their items, anything else what its `ToString()` prints.
pub(crate) fn from_value(v: &Value) -> LValue {
    match v {
        Value::Null => LValue::Nil,
        Value::Bool(b) => LValue::Bool(*b),
        Value::Int(i) => LValue::Int(i64::from(*i)),
        Value::Long(i) => LValue::Int(*i),
        Value::Double(d) => LValue::Float(*d),
        Value::Str(s) => LValue::Str(s.clone()),
        Value::DateTime(d) => LValue::Date(*d),
        Value::Json(r) => r
            .with(|j| value::from_json(j, false))
            .unwrap_or(LValue::Nil),
        Value::Array(a) => {
            let items = dotnet::lock(a).items.clone();
            LValue::array(items.iter().map(from_value).collect())
        }
        Value::Dict(d) => {
            let entries = dotnet::lock(d).clone();
            LValue::object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), from_value(v)))
                    .collect(),
                false,
            )
        }
        other => LValue::str(dotnet::to_string(other)),
    }
}

/// How a body binds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyOptions {
    /// `parse-date`: JSON strings holding dates become dates.
    pub parse_dates: bool,
    /// `xsi-nil="null"`: an element marked `xsi:nil="true"` is nil rather than "".
    pub nil_is_null: bool,
}

/// Binds a body by its content type: JSON (`application/json`, `text/json`, `…+json`) and
/// XML (`application/xml`, `text/xml`, `…+xml`) become objects, an empty body nil, anything
/// else its text. A JSON or XML body that does not parse is an error.
pub(crate) fn bind_body(
    bytes: &[u8],
    content_type: Option<&str>,
    opts: BodyOptions,
) -> Result<LValue, String> {
    if bytes.is_empty() {
        return Ok(LValue::Nil);
    }
    let text = String::from_utf8_lossy(bytes);
    let media = content_type
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if matches!(media.as_str(), "application/json" | "text/json") || media.ends_with("+json") {
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| format!("the body is not JSON ({e}), but its Content-Type says it is"))?;
        return Ok(value::from_json(&v, opts.parse_dates));
    }
    if matches!(media.as_str(), "application/xml" | "text/xml") || media.ends_with("+xml") {
        let doc = roxmltree::Document::parse(&text)
            .map_err(|e| format!("the body is not XML ({e}), but its Content-Type says it is"))?;
        let root = doc.root_element();
        return Ok(LValue::object(
            vec![(root.tag_name().name().to_owned(), element(root, opts))],
            true,
        ));
    }
    Ok(LValue::str(text.into_owned()))
}

const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// An element: its text when it has no child elements or attributes; otherwise an object of
/// its attributes (`@name`), its children by local name (repeated names make an array) and
/// its text (`#text`), looked up ignoring case.
fn element(el: roxmltree::Node<'_, '_>, opts: BodyOptions) -> LValue {
    if el.attribute((XSI, "nil")) == Some("true") {
        return if opts.nil_is_null {
            LValue::Nil
        } else {
            LValue::str("")
        };
    }
    let attrs: Vec<_> = el
        .attributes()
        .filter(|a| a.namespace() != Some(XSI))
        .collect();
    let children: Vec<_> = el.children().filter(|c| c.is_element()).collect();
    let text: String = el
        .children()
        .filter(|c| c.is_text())
        .filter_map(|c| c.text())
        .collect();
    if children.is_empty() && attrs.is_empty() {
        return LValue::str(text);
    }
    let mut entries: Vec<(String, LValue)> = attrs
        .iter()
        .map(|a| (format!("@{}", a.name()), LValue::str(a.value())))
        .collect();
    let mut groups: Vec<(String, Vec<LValue>)> = Vec::new();
    for child in children {
        let name = child.tag_name().name();
        let v = element(child, opts);
        match groups.iter_mut().find(|(n, _)| n == name) {
            Some((_, items)) => items.push(v),
            None => groups.push((name.to_owned(), vec![v])),
        }
    }
    for (name, mut items) in groups {
        let v = if items.len() == 1 {
            items.pop().unwrap_or_default()
        } else {
            LValue::array(items)
        };
        entries.push((name, v));
    }
    if !text.trim().is_empty() {
        entries.push(("#text".to_owned(), LValue::str(text.trim())));
    }
    LValue::object(entries, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTS: BodyOptions = BodyOptions {
        parse_dates: true,
        nil_is_null: false,
    };

    #[test]
    fn static_paths_are_checked() {
        assert!(check_static(&["Request", "Headers", "anything"]).is_ok());
        assert!(check_static(&["Request", "Url", "Host"]).is_ok());
        let (i, m) = check_static(&["Request", "Hedaers"]).unwrap_err();
        assert_eq!(i, 1);
        assert!(
            m.contains("context.Request") && m.contains("Headers"),
            "{m}"
        );
    }

    #[test]
    fn xml_bodies_bind_by_local_name_ignoring_case() {
        let xml = r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"
            xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soap:Body>
            <R id="7"><V>1</V><V>2</V><N xsi:nil="true"/></R></soap:Body></soap:Envelope>"#;
        let v = bind_body(xml.as_bytes(), Some("text/xml; charset=utf-8"), OPTS).unwrap();
        let LValue::Object(o) = v else {
            panic!("object")
        };
        let LValue::Object(env) = o.get("envelope").unwrap() else {
            panic!("object")
        };
        let LValue::Object(body) = env.get("body").unwrap() else {
            panic!("object")
        };
        let LValue::Object(r) = body.get("r").unwrap() else {
            panic!("object")
        };
        assert_eq!(r.get("@id").unwrap().render(), "7");
        assert_eq!(r.get("V").unwrap().render(), "12");
        assert_eq!(r.get("N").unwrap().render(), "");
    }

    #[test]
    fn bodies_by_content_type() {
        let v = bind_body(br#"{"a":[1,2]}"#, Some("application/vnd.x+json"), OPTS).unwrap();
        assert!(matches!(v, LValue::Object(_)));
        assert_eq!(
            bind_body(b"plain", Some("text/plain"), OPTS)
                .unwrap()
                .render(),
            "plain"
        );
        assert!(bind_body(b"{", Some("application/json"), OPTS)
            .unwrap_err()
            .contains("not JSON"));
        assert!(bind_body(b"", Some("application/json"), OPTS)
            .unwrap()
            .is_nil());
    }
}
