//! Control flow: `<base/>`, `<choose>`, `<return-response>` and `<include-fragment>`.

use super::message::{self, SetBody, SetHeader, SetStatus};
use super::{parse_list, Policy, PolicyNode};
use crate::error::Position;
use crate::template::Param;
use crate::xml::reader::El;

/// `<choose>`: the first `<when>` whose condition holds runs, else `<otherwise>`.
#[derive(Debug, Clone)]
pub struct Choose {
    pub whens: Vec<When>,
    pub otherwise: Option<Vec<PolicyNode>>,
}

#[derive(Debug, Clone)]
pub struct When {
    pub position: Position,
    pub condition: Param<bool>,
    pub policies: Vec<PolicyNode>,
}

/// `<return-response>`: stop the pipeline and answer with this response (or the one in
/// `response-variable-name`, modified by the children).
#[derive(Debug, Clone)]
pub struct ReturnResponse {
    pub response_variable_name: Option<String>,
    pub status: Option<SetStatus>,
    pub headers: Vec<SetHeader>,
    pub body: Option<SetBody>,
}

/// `<include-fragment fragment-id="…"/>`, expanded by composition.
#[derive(Debug, Clone)]
pub struct IncludeFragment {
    pub fragment_id: String,
}

pub(super) fn base(el: &El<'_, '_>, base_ok: bool) -> Option<Policy> {
    el.attrs().finish();
    el.expect_empty();
    if !base_ok {
        el.error("<base/> belongs directly in a section (inbound, backend, outbound, on-error)");
    }
    Some(Policy::Base)
}

pub(super) fn choose(el: &El<'_, '_>) -> Option<Policy> {
    el.attrs().finish();
    let mut whens = Vec::new();
    let mut otherwise = None;
    let mut branches = 0;
    for child in el.children() {
        branches += 1;
        match child.name() {
            "when" if otherwise.is_none() => {
                let mut a = child.attrs();
                let condition = a.required_flag("condition");
                a.finish();
                let policies = parse_list(&child, false);
                if let Some(condition) = condition {
                    whens.push(When {
                        position: child.position(),
                        condition,
                        policies,
                    });
                }
            }
            "otherwise" if otherwise.is_none() => {
                child.attrs().finish();
                otherwise = Some(parse_list(&child, false));
            }
            "when" => child.error("<when> must come before <otherwise>"),
            "otherwise" => child.error("only one <otherwise> is allowed"),
            other => child.error(format!(
                "<choose> holds <when> and <otherwise> elements, not <{other}>"
            )),
        }
    }
    if branches == 0 {
        el.error("needs at least one <when condition=\"…\">");
    }
    Some(Policy::Choose(Choose { whens, otherwise }))
}

pub(super) fn return_response(el: &El<'_, '_>) -> Option<Policy> {
    let mut a = el.attrs();
    let response_variable_name = a.literal("response-variable-name", false);
    a.finish();
    let mut r = ReturnResponse {
        response_variable_name,
        status: None,
        headers: Vec::new(),
        body: None,
    };
    for child in el.children() {
        match child.name() {
            "set-status" if r.status.is_none() => r.status = message::set_status(&child),
            "set-header" => r.headers.extend(message::set_header(&child)),
            "set-body" if r.body.is_none() => r.body = message::set_body(&child),
            "set-status" | "set-body" => child.error("may appear only once in <return-response>"),
            other => child.error(format!(
                "<return-response> holds <set-status>, <set-header> and <set-body>, not <{other}>"
            )),
        }
    }
    Some(Policy::ReturnResponse(r))
}

pub(super) fn include_fragment(el: &El<'_, '_>) -> Option<Policy> {
    let mut a = el.attrs();
    let fragment_id = a.literal("fragment-id", true);
    a.finish();
    el.expect_empty();
    Some(Policy::IncludeFragment(IncludeFragment {
        fragment_id: fragment_id?,
    }))
}
