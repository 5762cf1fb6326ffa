//! Where the request goes: `rewrite-uri`, `set-backend-service` and `forward-request`.

use super::Policy;
use crate::template::{Param, Template};
use crate::xml::reader::El;

#[derive(Debug, Clone)]
pub struct RewriteUri {
    /// The new path and query; `{name}` segments take the operation's matched parameters.
    pub template: Template,
    /// Whether query parameters not in the template are kept (APIM default: true).
    pub copy_unmatched_params: Param<bool>,
}

#[derive(Debug, Clone)]
pub enum BackendTarget {
    BaseUrl(Template),
    BackendId(Template),
}

#[derive(Debug, Clone)]
pub struct SetBackendService {
    pub target: BackendTarget,
}

/// `<forward-request>`: APIM defaults are a 300 s timeout, no redirects followed, and the
/// request body streamed rather than buffered.
#[derive(Debug, Clone)]
pub struct ForwardRequest {
    pub timeout_seconds: Param<u32>,
    pub follow_redirects: Param<bool>,
    pub buffer_request_body: Param<bool>,
}

pub(super) fn rewrite_uri(el: &El<'_, '_>) -> Option<Policy> {
    let mut a = el.attrs();
    let template = a.required("template");
    let copy = a.flag("copy-unmatched-params");
    a.finish();
    el.expect_empty();
    Some(Policy::RewriteUri(RewriteUri {
        template: template?,
        copy_unmatched_params: copy.unwrap_or(Param::Value(true)),
    }))
}

pub(super) fn set_backend_service(el: &El<'_, '_>) -> Option<Policy> {
    let mut a = el.attrs();
    let base_url = a.template("base-url");
    let backend_id = a.template("backend-id");
    a.refuse(
        &[
            "sf-resolve-condition",
            "sf-service-instance-name",
            "sf-partition-key",
            "sf-listener-name",
            "dapr-app-id",
            "dapr-method",
            "dapr-namespace",
        ],
        " (Service Fabric and Dapr backends)",
    );
    a.finish();
    el.expect_empty();
    let target = match (base_url, backend_id) {
        (Some(url), None) => BackendTarget::BaseUrl(url),
        (None, Some(id)) => BackendTarget::BackendId(id),
        (Some(_), Some(_)) => {
            el.error("give either base-url or backend-id, not both");
            return None;
        }
        (None, None) => {
            el.error("needs base-url or backend-id");
            return None;
        }
    };
    Some(Policy::SetBackendService(SetBackendService { target }))
}

pub(super) fn forward_request(el: &El<'_, '_>) -> Option<Policy> {
    let mut a = el.attrs();
    let timeout = a.param("timeout", "a number of seconds", |_: &u32| true);
    let follow_redirects = a.flag("follow-redirects");
    let buffer_request_body = a.flag("buffer-request-body");
    a.refuse(
        &[
            "timeout-ms",
            "buffer-response",
            "fail-on-error-status-code",
            "http-version",
            "continue-timeout",
        ],
        "",
    );
    a.finish();
    el.expect_empty();
    Some(Policy::ForwardRequest(ForwardRequest {
        timeout_seconds: timeout.unwrap_or(Param::Value(300)),
        follow_redirects: follow_redirects.unwrap_or(Param::Value(false)),
        buffer_request_body: buffer_request_body.unwrap_or(Param::Value(false)),
    }))
}
