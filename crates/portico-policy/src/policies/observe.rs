//! Observability: `trace` (to the log) and `emit-metric` (to Prometheus).

use super::Policy;
use crate::template::{Param, Template};
use crate::xml::reader::El;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Verbose,
    Information,
    Error,
}

#[derive(Debug, Clone)]
pub struct TraceMetadata {
    pub name: String,
    pub value: Template,
}

#[derive(Debug, Clone)]
pub struct Trace {
    pub source: Template,
    pub severity: Severity,
    pub message: Template,
    pub metadata: Vec<TraceMetadata>,
}

/// A metric dimension; without `value` APIM fills in the default dimension of that name
/// (API ID, Operation ID, …).
#[derive(Debug, Clone)]
pub struct Dimension {
    pub name: String,
    pub value: Option<Template>,
}

#[derive(Debug, Clone)]
pub struct EmitMetric {
    pub name: Template,
    pub namespace: Option<Template>,
    /// Default 1.
    pub value: Param<f64>,
    pub dimensions: Vec<Dimension>,
}

/// APIM allows at most this many dimensions on one metric.
const MAX_DIMENSIONS: usize = 5;

pub(super) fn trace(el: &El<'_, '_>) -> Option<Policy> {
    let mut a = el.attrs();
    let source = a.required("source");
    let severity = a.choice(
        "severity",
        &[
            ("verbose", Severity::Verbose),
            ("information", Severity::Information),
            ("error", Severity::Error),
        ],
    );
    a.finish();
    let mut message = None;
    let mut has_message = false;
    let mut metadata = Vec::new();
    // APIM's original form put the message directly in <trace>; it still accepts it.
    let legacy = !el.node.children().any(|c| c.is_element()) && el.has_text();
    if legacy {
        has_message = true;
        message = el.text(true);
    }
    let children: Vec<_> = if legacy {
        Vec::new()
    } else {
        el.children().collect()
    };
    for child in children {
        match child.name() {
            "message" if !has_message => {
                has_message = true;
                child.attrs().finish();
                message = child.text(true);
            }
            "metadata" => {
                let mut a = child.attrs();
                let name = a.literal("name", true);
                let value = a.required("value");
                a.finish();
                if let (Some(name), Some(value)) = (name, value) {
                    metadata.push(TraceMetadata { name, value });
                }
            }
            other => child.error(format!(
                "<trace> holds one <message> and <metadata> elements, not another <{other}>"
            )),
        }
    }
    if !has_message {
        el.error("needs a <message>");
    }
    Some(Policy::Trace(Trace {
        source: source?,
        severity: severity.unwrap_or(Severity::Verbose),
        message: message?,
        metadata,
    }))
}

pub(super) fn emit_metric(el: &El<'_, '_>) -> Option<Policy> {
    let mut a = el.attrs();
    let name = a.required("name");
    let namespace = a.template("namespace");
    let value = a.param("value", "a number", |v: &f64| v.is_finite());
    a.finish();
    let mut dimensions = Vec::new();
    for child in el.children() {
        if child.name() != "dimension" {
            child.error("<emit-metric> holds <dimension> elements only");
            continue;
        }
        let mut a = child.attrs();
        let name = a.literal("name", true);
        let value = a.template("value");
        a.finish();
        child.expect_empty();
        dimensions.extend(name.map(|name| Dimension { name, value }));
    }
    if dimensions.is_empty() {
        el.error("needs at least one <dimension name=\"…\"/>");
    }
    if dimensions.len() > MAX_DIMENSIONS {
        el.error(format!(
            "has more than {MAX_DIMENSIONS} dimensions, APIM's limit"
        ));
    }
    Some(Policy::EmitMetric(EmitMetric {
        name: name?,
        namespace,
        value: value.unwrap_or(Param::Value(1.0)),
        dimensions,
    }))
}
