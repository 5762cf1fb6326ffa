//! Policies that change the message or the context: `set-variable`, `set-header`,
//! `set-query-parameter`, `set-method`, `set-status`, `set-body`, `find-and-replace` and
//! `mock-response`.

use std::sync::Arc;

use super::Policy;
use crate::expr::Msg;
use crate::liquid::{BodyBinding, LiquidTemplate};
use crate::template::{Literal, Param, Template};
use crate::xml::reader::El;

#[derive(Debug, Clone)]
pub struct SetVariable {
    pub name: String,
    pub value: Template,
}

/// What `set-header`/`set-query-parameter` do when the name is already present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExistsAction {
    Override,
    Skip,
    Append,
    Delete,
}

/// `<set-header>` (and, same shape, `<set-query-parameter>`): `<value>` children in order.
#[derive(Debug, Clone)]
pub struct SetHeader {
    pub name: Template,
    pub exists_action: ExistsAction,
    pub values: Vec<Template>,
}

pub type SetQueryParameter = SetHeader;

#[derive(Debug, Clone)]
pub struct SetStatus {
    pub code: Param<u16>,
    pub reason: Option<Template>,
}

/// How `set-body` writes a null when converting JSON to XML (`xsi-nil`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XsiNil {
    Blank,
    Null,
}

#[derive(Debug, Clone)]
pub struct SetBody {
    pub body: BodyContent,
    /// How a Liquid template binds `xsi:nil` elements of an XML body.
    pub xsi_nil: XsiNil,
    /// Whether a Liquid template reads JSON date strings as dates.
    pub parse_date: bool,
}

/// What `set-body` writes.
#[derive(Debug, Clone)]
pub enum BodyContent {
    /// Literal text is the body as written (whitespace kept); an expression computes it.
    Template(Template),
    /// `template="liquid"`: rendered per request from the message and the context.
    Liquid(LiquidBody),
}

#[derive(Debug, Clone)]
pub struct LiquidBody {
    pub template: Arc<LiquidTemplate>,
    /// A secret named value went into the template.
    pub secret: bool,
}

impl SetBody {
    /// The text or expression, when the body is not a Liquid template.
    pub fn template(&self) -> Option<&Template> {
        match &self.body {
            BodyContent::Template(t) => Some(t),
            BodyContent::Liquid(_) => None,
        }
    }

    /// How a Liquid template reads `body`: from `msg` (the section's message, or `None`
    /// inside `return-response`), with this policy's `parse-date` and `xsi-nil`.
    pub fn liquid_binding(&self, msg: Option<Msg>) -> BodyBinding {
        BodyBinding {
            msg,
            parse_dates: self.parse_date,
            nil_is_null: self.xsi_nil == XsiNil::Null,
        }
    }

    /// Whether rendering reads the message body (so it must be buffered first).
    pub fn reads_body(&self) -> bool {
        matches!(&self.body, BodyContent::Liquid(l) if l.template.reads_body())
    }

    /// The Liquid template, when the body is one.
    pub fn liquid(&self) -> Option<&LiquidTemplate> {
        match &self.body {
            BodyContent::Liquid(l) => Some(&l.template),
            BodyContent::Template(_) => None,
        }
    }

    /// Whether a secret named value went into a literal body or a template.
    pub fn is_secret(&self) -> bool {
        match &self.body {
            BodyContent::Template(t) => t.is_secret(),
            BodyContent::Liquid(l) => l.secret,
        }
    }
}

#[derive(Debug, Clone)]
pub struct FindAndReplace {
    pub from: Template,
    pub to: Template,
}

/// `<mock-response>`: answer without calling the backend (APIM defaults: 200,
/// `application/json`, the operation's example when it has one).
#[derive(Debug, Clone)]
pub struct MockResponse {
    pub status_code: u16,
    pub content_type: String,
}

pub(super) fn set_variable(el: &El<'_, '_>) -> Option<Policy> {
    let mut a = el.attrs();
    let name = a.literal("name", true);
    let value = a.required("value");
    a.finish();
    el.expect_empty();
    Some(Policy::SetVariable(SetVariable {
        name: name?,
        value: value?,
    }))
}

pub(super) fn set_header(el: &El<'_, '_>) -> Option<SetHeader> {
    let mut a = el.attrs();
    let name = a.required("name");
    let exists_action = a
        .choice(
            "exists-action",
            &[
                ("override", ExistsAction::Override),
                ("skip", ExistsAction::Skip),
                ("append", ExistsAction::Append),
                ("delete", ExistsAction::Delete),
            ],
        )
        .unwrap_or(ExistsAction::Override);
    a.finish();
    let mut values = Vec::new();
    let mut value_elements = 0;
    for child in el.children() {
        if child.name() == "value" {
            value_elements += 1;
            child.attrs().finish();
            values.extend(child.text(true));
        } else {
            child.error(format!("<{}> holds <value> elements only", el.name()));
        }
    }
    if value_elements == 0 && exists_action != ExistsAction::Delete {
        el.error("needs at least one <value> (or exists-action=\"delete\")");
    }
    Some(SetHeader {
        name: name?,
        exists_action,
        values,
    })
}

pub(super) fn set_method(el: &El<'_, '_>) -> Option<Policy> {
    el.attrs().finish();
    let method = el.text(true)?;
    if let Some(m) = method.as_literal() {
        if m.is_empty() || !m.bytes().all(|c| c.is_ascii_alphabetic()) {
            el.error("the method must be a word such as GET or POST, or an expression");
        }
    }
    Some(Policy::SetMethod(method))
}

pub(super) fn set_status(el: &El<'_, '_>) -> Option<SetStatus> {
    let mut a = el.attrs();
    let code = a.required_param("code", "a status code from 100 to 599", valid_status);
    let reason = a.template("reason");
    a.finish();
    el.expect_empty();
    Some(SetStatus {
        code: code?,
        reason,
    })
}

fn valid_status(code: &u16) -> bool {
    (100..=599).contains(code)
}

pub(super) fn set_body(el: &El<'_, '_>) -> Option<SetBody> {
    let mut a = el.attrs();
    let liquid = a.choice("template", &[("liquid", true), ("none", false)]);
    let xsi_nil = a
        .choice(
            "xsi-nil",
            &[("blank", XsiNil::Blank), ("null", XsiNil::Null)],
        )
        .unwrap_or(XsiNil::Blank);
    let parse_date = a.flag("parse-date");
    a.finish();
    let parse_date = match parse_date {
        Some(Param::Value(v)) => v,
        Some(Param::Expr(_)) => {
            el.error("parse-date must be true or false, not an expression");
            true
        }
        None => true,
    };
    let body = if liquid == Some(true) {
        let (template, secret) = el.liquid()?;
        BodyContent::Liquid(LiquidBody {
            template: Arc::new(template),
            secret,
        })
    } else if el.has_text() {
        BodyContent::Template(el.text(false)?)
    } else {
        el.expect_empty();
        BodyContent::Template(Template::Literal(Literal::new(String::new(), false)))
    };
    Some(SetBody {
        body,
        xsi_nil,
        parse_date,
    })
}

pub(super) fn find_and_replace(el: &El<'_, '_>) -> Option<Policy> {
    let mut a = el.attrs();
    let from = a.required("from");
    let to = a.required("to");
    a.finish();
    el.expect_empty();
    Some(Policy::FindAndReplace(FindAndReplace {
        from: from?,
        to: to?,
    }))
}

pub(super) fn mock_response(el: &El<'_, '_>) -> Option<Policy> {
    let mut a = el.attrs();
    let status_code = a.constant("status-code", "a status code from 100 to 599", valid_status);
    let content_type = a.literal("content-type", false);
    a.finish();
    el.expect_empty();
    Some(Policy::MockResponse(MockResponse {
        status_code: status_code.unwrap_or(200),
        content_type: content_type.unwrap_or_else(|| "application/json".to_owned()),
    }))
}
