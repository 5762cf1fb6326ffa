//! Calls to other services from a pipeline: `send-request` (waits for the answer and keeps
//! it in a variable) and `send-one-way-request` (fire and forget). Both build their request
//! from `<set-url>`, `<set-method>`, `<set-header>` and `<set-body>` children, in that order,
//! and may authenticate with `<authentication-managed-identity>` or present a client
//! certificate with `<authentication-certificate>`.

use super::identity::{self, AuthenticationCertificate, AuthenticationManagedIdentity};
use super::message::{self, SetBody, SetHeader};
use super::Policy;
use crate::template::{Param, Template};
use crate::xml::reader::El;

/// Whether the call starts empty or from a copy of the current request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendMode {
    New,
    Copy,
}

impl std::str::FromStr for SendMode {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s.trim().to_ascii_lowercase().as_str() {
            "new" => Ok(SendMode::New),
            "copy" => Ok(SendMode::Copy),
            _ => Err(()),
        }
    }
}

/// The request a call sends.
#[derive(Debug, Clone)]
pub struct CallRequest {
    /// `new` or `copy` (an expression is allowed, as in APIM).
    pub mode: Param<SendMode>,
    /// Seconds to wait for the answer (APIM default: 60).
    pub timeout_seconds: Param<u32>,
    /// Required unless the mode is `copy`.
    pub url: Option<Template>,
    /// `GET` when absent.
    pub method: Option<Template>,
    pub headers: Vec<SetHeader>,
    pub body: Option<SetBody>,
    /// A managed-identity token for the call's `Authorization` header (or a variable).
    pub managed_identity: Option<AuthenticationManagedIdentity>,
    /// A client certificate for the call's TLS handshake.
    pub certificate: Option<AuthenticationCertificate>,
}

/// `<send-request>`.
#[derive(Debug, Clone)]
pub struct SendRequest {
    pub request: CallRequest,
    /// The variable that receives the response (an expression is allowed).
    pub response_variable_name: Template,
    /// On a failed call, set the variable to null and go on instead of failing.
    pub ignore_error: bool,
}

pub(super) fn send_request(el: &El<'_, '_>) -> Option<Policy> {
    let mut a = el.attrs();
    let variable = a.required("response-variable-name");
    let ignore_error = a.flag("ignore-error");
    let request = call_request(el, a)?;
    let ignore_error = match ignore_error {
        Some(Param::Value(v)) => v,
        Some(Param::Expr(_)) => {
            el.error("ignore-error must be true or false, not an expression (as in APIM)");
            return None;
        }
        None => false,
    };
    Some(Policy::SendRequest(SendRequest {
        request,
        response_variable_name: variable?,
        ignore_error,
    }))
}

pub(super) fn send_one_way_request(el: &El<'_, '_>) -> Option<Policy> {
    let a = el.attrs();
    call_request(el, a).map(Policy::SendOneWayRequest)
}

/// The attributes and children both policies share; finishes the attribute reader.
fn call_request(el: &El<'_, '_>, mut a: crate::xml::attrs::Attrs<'_, '_>) -> Option<CallRequest> {
    let mode = a.param("mode", "new or copy", |_: &SendMode| true);
    let timeout = a.param("timeout", "a number of seconds", |_: &u32| true);
    a.finish();
    let mut request = CallRequest {
        mode: mode.unwrap_or(Param::Value(SendMode::New)),
        timeout_seconds: timeout.unwrap_or(Param::Value(60)),
        url: None,
        method: None,
        headers: Vec::new(),
        body: None,
        managed_identity: None,
        certificate: None,
    };
    // A <set-url> whose value failed to compile has already been reported; saying it is
    // missing as well would send the author looking for the wrong mistake.
    let mut wrote_url = false;
    for child in el.children() {
        match child.name() {
            "set-url" => {
                wrote_url = true;
                child.attrs().finish();
                request.url = child.text(true);
            }
            "set-method" => {
                if let Some(Policy::SetMethod(m)) = message::set_method(&child) {
                    request.method = Some(m);
                }
            }
            "set-header" => request.headers.extend(message::set_header(&child)),
            "set-body" => request.body = message::set_body(&child),
            "authentication-managed-identity" => {
                if let Some(Policy::AuthenticationManagedIdentity(m)) =
                    identity::authentication_managed_identity(&child)
                {
                    request.managed_identity = Some(m);
                }
            }
            "authentication-certificate" => {
                if let Some(Policy::AuthenticationCertificate(c)) =
                    identity::authentication_certificate(&child)
                {
                    request.certificate = Some(c);
                }
            }
            name @ "proxy" => {
                child.error(format!(
                    "<{name}> inside <{}> is not supported by Portico yet: remove it",
                    el.name()
                ));
            }
            other => child.error(format!(
                "unexpected element <{other}>: expected set-url, set-method, set-header, set-body, authentication-managed-identity or authentication-certificate"
            )),
        }
    }
    let copy = matches!(request.mode, Param::Value(SendMode::Copy));
    if request.url.is_none() && !copy {
        if wrote_url {
            return None;
        }
        el.error("needs a <set-url> (only mode=\"copy\" may leave it out)");
        return None;
    }
    Some(request)
}
