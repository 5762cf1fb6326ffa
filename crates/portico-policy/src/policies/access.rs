//! Access policies: `check-header`, `ip-filter`, `cors` and `authentication-basic`, with the
//! attributes and defaults of Microsoft's policy reference. Addresses are parsed here, once;
//! the gateway only compares.

use super::Policy;
use crate::template::{Param, Template};
use crate::xml::reader::El;
use std::net::IpAddr;

/// `<check-header>`: refuse the request unless the header is present (and, when values are
/// listed, has one of them).
#[derive(Debug, Clone)]
pub struct CheckHeader {
    pub name: Template,
    pub failed_check_httpcode: Param<u16>,
    pub failed_check_error_message: Template,
    pub ignore_case: Param<bool>,
    pub values: Vec<Template>,
}

/// One `<address>` or `<address-range from to>` of `ip-filter` (inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpSpan {
    pub from: IpAddr,
    pub to: IpAddr,
}

/// `<ip-filter action="allow|forbid">`.
#[derive(Debug, Clone)]
pub struct IpFilter {
    pub allow: bool,
    pub spans: Vec<IpSpan>,
}

/// A CORS list: `*` or the values written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnyOr {
    Any,
    List(Vec<String>),
}

/// `<cors>`.
#[derive(Debug, Clone)]
pub struct Cors {
    pub allow_credentials: bool,
    pub terminate_unmatched_request: bool,
    pub allowed_origins: AnyOr,
    /// APIM's default when `<allowed-methods>` is absent: GET and POST.
    pub allowed_methods: AnyOr,
    pub preflight_result_max_age: Option<u32>,
    pub allowed_headers: AnyOr,
    pub expose_headers: Vec<String>,
}

/// `<authentication-basic>`: the backend gets `Authorization: Basic base64(user:password)`.
#[derive(Debug, Clone)]
pub struct AuthenticationBasic {
    pub username: Template,
    pub password: Template,
}

pub(super) fn check_header(el: &El<'_, '_>) -> Option<Policy> {
    let mut a = el.attrs();
    let name = a.required("name");
    let code = a.required_param(
        "failed-check-httpcode",
        "a status code from 100 to 599",
        |c| (100..=599).contains(c),
    );
    let message = a.required("failed-check-error-message");
    let ignore_case = a.required_flag("ignore-case");
    a.finish();
    let mut values = Vec::new();
    for child in el.children() {
        if child.name() == "value" {
            child.attrs().finish();
            values.extend(child.text(true));
        } else {
            child.error("<check-header> holds <value> elements only");
        }
    }
    Some(Policy::CheckHeader(CheckHeader {
        name: name?,
        failed_check_httpcode: code?,
        failed_check_error_message: message?,
        ignore_case: ignore_case?,
        values,
    }))
}

/// A fixed address written in `ip-filter`.
fn address(el: &El<'_, '_>, text: Option<String>) -> Option<IpAddr> {
    let text = text?;
    match text.trim().parse::<IpAddr>() {
        Ok(ip) => Some(ip.to_canonical()),
        Err(_) => {
            el.error(format!("`{text}` is not an IPv4 or IPv6 address"));
            None
        }
    }
}

pub(super) fn ip_filter(el: &El<'_, '_>) -> Option<Policy> {
    let mut a = el.attrs();
    let allow = a.choice("action", &[("allow", true), ("forbid", false)]);
    if el.node.attribute("action").is_none() {
        el.error("the action attribute is required (allow or forbid)");
    }
    a.finish();
    let mut spans = Vec::new();
    for child in el.children() {
        match child.name() {
            "address" => {
                child.attrs().finish();
                let text = child.text(true).and_then(|t| fixed(&child, t));
                if let Some(ip) = address(&child, text) {
                    spans.push(IpSpan { from: ip, to: ip });
                }
            }
            "address-range" => {
                let mut a = child.attrs();
                let from = a.literal("from", true);
                let to = a.literal("to", true);
                a.finish();
                child.expect_empty();
                let (Some(from), Some(to)) = (address(&child, from), address(&child, to)) else {
                    continue;
                };
                if from.is_ipv4() != to.is_ipv4() || from > to {
                    child.error("from and to must be the same IP version, from not above to");
                } else {
                    spans.push(IpSpan { from, to });
                }
            }
            other => child.error(format!(
                "<ip-filter> holds <address> and <address-range> elements, not <{other}>"
            )),
        }
    }
    if spans.is_empty() {
        el.error("needs at least one <address> or <address-range>");
    }
    Some(Policy::IpFilter(IpFilter {
        allow: allow?,
        spans,
    }))
}

/// Text that must not be an expression.
fn fixed(el: &El<'_, '_>, t: Template) -> Option<String> {
    match t {
        Template::Literal(l) => Some(l.as_str().to_owned()),
        Template::Expr(_) => {
            el.error("must be a fixed value, not an expression");
            None
        }
    }
}

/// The `<{item}>` texts of a CORS list element; `*` among them means any.
fn cors_list(el: &El<'_, '_>, item: &str) -> AnyOr {
    let mut list = Vec::new();
    for child in el.children() {
        if child.name() != item {
            child.error(format!("<{}> holds <{item}> elements only", el.name()));
            continue;
        }
        child.attrs().finish();
        if let Some(v) = child.text(true).and_then(|t| fixed(&child, t)) {
            list.push(v);
        }
    }
    if list.iter().any(|v| v == "*") {
        AnyOr::Any
    } else {
        AnyOr::List(list)
    }
}

/// A `true`/`false` attribute without expressions.
fn fixed_flag(el: &El<'_, '_>, p: Option<Param<bool>>, default: bool) -> bool {
    match p {
        Some(Param::Value(v)) => v,
        Some(Param::Expr(_)) => {
            el.error("allow-credentials and terminate-unmatched-request are fixed values");
            default
        }
        None => default,
    }
}

pub(super) fn cors(el: &El<'_, '_>) -> Option<Policy> {
    let mut a = el.attrs();
    let credentials = a.flag("allow-credentials");
    let terminate = a.flag("terminate-unmatched-request");
    a.finish();
    let mut cors = Cors {
        allow_credentials: fixed_flag(el, credentials, false),
        terminate_unmatched_request: fixed_flag(el, terminate, true),
        allowed_origins: AnyOr::List(Vec::new()),
        allowed_methods: AnyOr::List(vec!["GET".into(), "POST".into()]),
        preflight_result_max_age: None,
        allowed_headers: AnyOr::List(Vec::new()),
        expose_headers: Vec::new(),
    };
    let mut origins = false;
    for child in el.children() {
        match child.name() {
            "allowed-origins" => {
                child.attrs().finish();
                origins = true;
                cors.allowed_origins = cors_list(&child, "origin");
            }
            "allowed-methods" => {
                let mut a = child.attrs();
                cors.preflight_result_max_age =
                    a.constant("preflight-result-max-age", "a number of seconds", |_| true);
                a.finish();
                cors.allowed_methods = match cors_list(&child, "method") {
                    AnyOr::List(l) => AnyOr::List(l.iter().map(|m| m.to_uppercase()).collect()),
                    any => any,
                };
            }
            "allowed-headers" => {
                child.attrs().finish();
                cors.allowed_headers = cors_list(&child, "header");
            }
            "expose-headers" => {
                child.attrs().finish();
                cors.expose_headers = match cors_list(&child, "header") {
                    AnyOr::List(l) => l,
                    AnyOr::Any => vec!["*".into()],
                };
            }
            other => child.error(format!(
                "<cors> holds allowed-origins, allowed-methods, allowed-headers and expose-headers, not <{other}>"
            )),
        }
    }
    if !origins {
        el.error("needs <allowed-origins> with at least one <origin>");
    }
    if cors.allow_credentials && cors.allowed_origins == AnyOr::Any {
        el.error("allow-credentials=\"true\" cannot be used with the origin `*`: list the origins");
    }
    Some(Policy::Cors(cors))
}

pub(super) fn authentication_basic(el: &El<'_, '_>) -> Option<Policy> {
    let mut a = el.attrs();
    let username = a.required("username");
    let password = a.required("password");
    a.finish();
    el.expect_empty();
    Some(Policy::AuthenticationBasic(AuthenticationBasic {
        username: username?,
        password: password?,
    }))
}
