//! `trace` (to the gateway's log, at the policy's severity) and `emit-metric` (a Prometheus
//! counter, see [`crate::metrics::Metrics::record_policy_metric`]). A trace whose policy
//! holds a secret named value logs its source but withholds the values.

use super::eval::{param, text};
use super::execute::Run;
use super::failure::Failure;
use super::plan::Site;
use portico_policy::policies::{EmitMetric, Severity, Trace};

/// Shown instead of values derived from a secret.
const WITHHELD: &str = "***";

impl Run<'_, '_> {
    pub(super) fn trace(&mut self, t: &Trace, site: &Site) -> Result<(), Failure> {
        let source = text(&t.source, &mut self.cx())?.into_owned();
        let mut message = text(&t.message, &mut self.cx())?.into_owned();
        let mut metadata = Vec::with_capacity(t.metadata.len());
        for m in &t.metadata {
            let value = text(&m.value, &mut self.cx())?.into_owned();
            metadata.push(format!("{}={value}", m.name));
        }
        let mut metadata = metadata.join(", ");
        if site.secret {
            message = WITHHELD.into();
            metadata = WITHHELD.into();
        }
        let request_id = &self.exchange.request_id;
        match t.severity {
            Severity::Verbose => {
                tracing::debug!(target: "portico::policy::trace", request_id = ?request_id, source, metadata, "{message}")
            }
            Severity::Information => {
                tracing::info!(target: "portico::policy::trace", request_id = ?request_id, source, metadata, "{message}")
            }
            Severity::Error => {
                tracing::error!(target: "portico::policy::trace", request_id = ?request_id, source, metadata, "{message}")
            }
        }
        Ok(())
    }

    pub(super) fn emit_metric(&mut self, m: &EmitMetric) -> Result<(), Failure> {
        let name = text(&m.name, &mut self.cx())?.into_owned();
        let namespace = match &m.namespace {
            Some(ns) => text(ns, &mut self.cx())?.into_owned(),
            None => String::new(),
        };
        let value = param(&m.value, &mut self.cx())?;
        let mut dimensions = Vec::with_capacity(m.dimensions.len());
        for d in &m.dimensions {
            let value = match &d.value {
                Some(v) => text(v, &mut self.cx())?.into_owned(),
                None => self.default_dimension(&d.name),
            };
            dimensions.push((d.name.clone(), value));
        }
        self.shared
            .telemetry
            .metrics
            .record_policy_metric(&name, &namespace, &dimensions, value);
        Ok(())
    }

    /// APIM's default dimensions, filled in when a `<dimension>` has no value.
    fn default_dimension(&self, name: &str) -> String {
        let env = self.env;
        let v: &str = match name.to_ascii_lowercase().as_str() {
            "api id" => &env.api.id,
            "operation id" => &env.operation.id,
            "product id" => env.product.map_or("", |p| &env.snapshot.products[p].0),
            "subscription id" => env.subscription.as_ref().map_or("", |s| &s.1),
            "client ip" => env.client_ip.to_str().unwrap_or(""),
            "location" | "gateway id" => "portico",
            _ => "",
        };
        v.to_owned()
    }
}
