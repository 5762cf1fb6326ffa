//! The proxy scenarios: what each one sends and through which Portico document. The hybrid
//! scenarios (propagation, certificate rotation) drive a control plane and live in their own
//! modules.

use std::fmt::Write;

/// The subscription key used by keyed scenarios.
pub const KEY: &str = "bench-key-0";

/// One proxy scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: &'static str,
    pub description: &'static str,
    /// Path requested from every target (the backend serves it directly).
    pub path: &'static str,
    pub headers: Vec<(String, String)>,
    /// The Portico document serving it.
    pub document: String,
    /// Both proxies write an access log.
    pub access_log: bool,
    /// Clients speak HTTP/2 with prior knowledge (h2load) instead of HTTP/1.1 (wrk).
    pub http2: bool,
    /// Clients speak HTTPS to every target (the backend too); the proxies reach the backend
    /// over plain HTTP.
    pub tls: bool,
    /// A response header and value Portico must send before the scenario is measured: proof
    /// that its policy did the work the scenario claims.
    pub check: Option<(&'static str, &'static str)>,
}

/// A document with one open catch-all API in front of `backend`.
pub fn open_document(backend: &str) -> String {
    format!(
        "apis:\n  - id: bench\n    path: \"\"\n    serviceUrl: http://{backend}\n    subscriptionRequired: false\n    operations:\n      - {{ id: all, method: \"*\", urlTemplate: \"/*\" }}\n"
    )
}

/// The issue-4 policy target: set-header + rewrite-uri + a choose on a header, at API scope
/// of the open document (the scenario sends the header, so the `when` branch runs).
pub const POLICY: &str = r#"<policies><inbound>
  <set-header name="x-gateway" exists-action="override"><value>portico</value></set-header>
  <choose>
    <when condition="@(context.Request.Headers.GetValueOrDefault(&quot;x-tier&quot;, &quot;&quot;) == &quot;gold&quot;)">
      <set-header name="x-tier-seen"><value>gold</value></set-header>
    </when>
  </choose>
  <rewrite-uri template="/1k.bin"/>
</inbound></policies>"#;

/// [`open_document`] with `policy` on its API.
pub fn policy_document(backend: &str, policy: &str) -> String {
    let mut doc = open_document(backend);
    doc.push_str("    policy: |\n");
    for line in policy.lines() {
        let _ = writeln!(doc, "      {line}");
    }
    doc
}

/// Twelve expressions per request, written as APIM users write them (unescaped inside the
/// XML): headers read, trimmed, lower- and upper-cased, split and measured; the URL path
/// tested; variables set and read back with `GetValueOrDefault<string>`; a `choose` whose
/// third `when` matches (so three conditions run); a ternary and string concatenation.
pub const EXPRESSION_POLICY: &str = r#"<policies><inbound>
  <set-variable name="tier" value="@(context.Request.Headers.GetValueOrDefault("x-tier", "bronze").Trim().ToLowerInvariant())"/>
  <set-variable name="client" value="@(context.Request.Headers.GetValueOrDefault("x-client-id", "anonymous"))"/>
  <set-header name="x-client" exists-action="override"><value>@(context.Variables.GetValueOrDefault<string>("client").ToUpper())</value></set-header>
  <set-header name="x-request-path" exists-action="override"><value>@(context.Request.Url.Path.ToLowerInvariant())</value></set-header>
  <set-header name="x-static" exists-action="override"><value>@(context.Request.Url.Path.EndsWith(".bin") ? "yes" : "no")</value></set-header>
  <set-header name="x-called-as" exists-action="override"><value>@(context.Request.Method + " " + context.Variables.GetValueOrDefault<string>("tier") + " " + context.Request.Headers.GetValueOrDefault("User-Agent", "unknown/0").Split('/')[0])</value></set-header>
  <choose>
    <when condition="@(context.Variables.GetValueOrDefault<string>("tier") == "platinum")">
      <set-variable name="route" value="platinum"/>
    </when>
    <when condition="@(context.Variables.GetValueOrDefault<string>("tier") == "silver" && context.Request.Headers.ContainsKey("x-beta"))">
      <set-variable name="route" value="silver-beta"/>
    </when>
    <when condition="@(context.Variables.GetValueOrDefault<string>("tier").StartsWith("go") && context.Request.Url.Path.Contains("1k"))">
      <set-variable name="route" value="@("gold-" + context.Variables.GetValueOrDefault<string>("client").Substring(0, 5))"/>
    </when>
    <otherwise>
      <set-variable name="route" value="default"/>
    </otherwise>
  </choose>
  <set-header name="x-route" exists-action="override"><value>@(context.Variables.GetValueOrDefault<string>("route", "none"))</value></set-header>
  <rewrite-uri template="/1k.bin"/>
</inbound><outbound>
  <set-header name="x-route" exists-action="override"><value>@(context.Variables.GetValueOrDefault<string>("route", "none") + ";" + context.Variables.GetValueOrDefault<string>("client", "").Length.ToString())</value></set-header>
</outbound></policies>"#;

/// The headers the expression scenario sends, and the `x-route` answer they lead to.
const EXPRESSION_HEADERS: [(&str, &str); 2] =
    [("x-tier", "Gold"), ("x-client-id", "bench-client-42")];
const EXPRESSION_ROUTE: &str = "gold-bench;15";

/// The issue-5 target: a subscription key, a rate limit high enough never to trigger,
/// set-header and rewrite-uri.
pub const TRAFFIC_POLICY: &str = r#"<policies><inbound>
  <rate-limit calls="1000000000" renewal-period="60"/>
  <set-header name="x-gateway" exists-action="override"><value>portico</value></set-header>
  <rewrite-uri template="/1k.bin"/>
</inbound></policies>"#;

/// [`keyed_document`] (one API, 1 000 subscriptions) with [`TRAFFIC_POLICY`] on its API.
pub fn traffic_document(backend: &str) -> String {
    let keyed = keyed_document(backend, 1, 1_000);
    let rest = keyed.split_once("products:").map_or("", |(_, r)| r);
    let mut doc = format!(
        "apis:\n  - id: bench\n    path: \"\"\n    serviceUrl: \"http://{backend}\"\n    operations:\n      - {{ id: all, method: \"*\", urlTemplate: \"/*\" }}\n    policy: |\n"
    );
    for line in TRAFFIC_POLICY.lines() {
        let _ = writeln!(doc, "      {line}");
    }
    doc.push_str("products:");
    doc.push_str(rest);
    doc
}

/// A document with `apis` keyed APIs (paths `api-N`, the catch-all API at path "") and
/// `subscriptions` product-scoped subscriptions; `KEY` belongs to the first.
pub fn keyed_document(backend: &str, apis: usize, subscriptions: usize) -> String {
    let mut doc = String::from("apis:\n");
    let _ = writeln!(
        doc,
        "  - {{ id: bench, path: \"\", serviceUrl: \"http://{backend}\", operations: [{{ id: all, method: \"*\", urlTemplate: \"/*\" }}] }}"
    );
    for i in 1..apis {
        let _ = writeln!(
            doc,
            "  - {{ id: api-{i}, path: api-{i}, serviceUrl: \"http://{backend}/v{i}\", operations: [{{ id: get, method: GET, urlTemplate: \"/items/{{id}}\" }}, {{ id: rest, method: \"*\", urlTemplate: \"/*\" }}] }}"
        );
    }
    doc.push_str("products:\n  - id: all\n    apis: [bench");
    for i in 1..apis {
        let _ = write!(doc, ", api-{i}");
    }
    doc.push_str("]\nsubscriptions:\n");
    for i in 0..subscriptions {
        let _ = writeln!(
            doc,
            "  - {{ id: sub-{i}, scope: /products/all, primaryKey: bench-key-{i} }}"
        );
    }
    doc
}

/// The scenarios that run today.
pub fn all(backend: &str) -> Vec<Scenario> {
    let key = vec![("Ocp-Apim-Subscription-Key".to_owned(), KEY.to_owned())];
    vec![
        Scenario {
            name: "passthrough",
            description: "GET 1 KiB, no API management work",
            path: "/1k.bin",
            headers: vec![],
            document: open_document(backend),
            access_log: false,
            http2: false,
            tls: false,
            check: None,
        },
        Scenario {
            name: "passthrough-logged",
            description: "as passthrough, both proxies writing an access log to a file",
            path: "/1k.bin",
            headers: vec![],
            document: open_document(backend),
            access_log: true,
            http2: false,
            tls: false,
            check: None,
        },
        Scenario {
            name: "key-auth",
            description: "GET 1 KiB with a subscription key checked (1 000 subscriptions)",
            path: "/1k.bin",
            headers: key,
            document: keyed_document(backend, 1, 1_000),
            access_log: false,
            http2: false,
            tls: false,
            check: None,
        },
        Scenario {
            name: "http2",
            description: "GET 1 KiB over HTTP/2 with prior knowledge (4 connections x 8 streams)",
            path: "/1k.bin",
            headers: vec![],
            document: open_document(backend),
            access_log: false,
            http2: true,
            tls: false,
            check: None,
        },
        Scenario {
            name: "policies",
            description: "as passthrough, through set-header + choose on a header + rewrite-uri",
            path: "/1k.bin",
            headers: vec![("x-tier".to_owned(), "gold".to_owned())],
            document: policy_document(backend, POLICY),
            access_log: false,
            http2: false,
            tls: false,
            check: None,
        },
        Scenario {
            name: "expression-policies",
            description: "as passthrough, through 12 policy expressions (headers, URL, variables, a choose of 3 whens) + rewrite-uri",
            path: "/1k.bin",
            headers: EXPRESSION_HEADERS
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            document: policy_document(backend, EXPRESSION_POLICY),
            access_log: false,
            http2: false,
            tls: false,
            check: Some(("x-route", EXPRESSION_ROUTE)),
        },
        Scenario {
            name: "traffic-policies",
            description: "GET 1 KiB with a key, through rate-limit (never reached) + set-header + rewrite-uri",
            path: "/1k.bin",
            headers: vec![("Ocp-Apim-Subscription-Key".to_owned(), KEY.to_owned())],
            document: traffic_document(backend),
            access_log: false,
            http2: false,
            tls: false,
            check: None,
        },
        Scenario {
            name: "https",
            description: "GET 1 KiB over HTTPS, kept-alive connections (TLS 1.3)",
            path: "/1k.bin",
            headers: vec![],
            document: open_document(backend),
            access_log: false,
            http2: false,
            tls: true,
            check: None,
        },
        Scenario {
            name: "https-handshakes",
            description: "GET 1 KiB over HTTPS, a new connection (full handshake) per request",
            path: "/1k.bin",
            headers: vec![("Connection".to_owned(), "close".to_owned())],
            document: open_document(backend),
            access_log: false,
            http2: false,
            tls: true,
            check: None,
        },
        Scenario {
            name: "body-1mib",
            description: "GET 1 MiB, streamed through",
            path: "/1m.bin",
            headers: vec![],
            document: open_document(backend),
            access_log: false,
            http2: false,
            tls: false,
            check: None,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use portico_model::{Document, DocumentFormat};

    #[test]
    fn generated_documents_are_valid() {
        for doc in [
            open_document("127.0.0.1:1"),
            keyed_document("127.0.0.1:1", 20, 50),
            policy_document("127.0.0.1:1", POLICY),
            policy_document("127.0.0.1:1", EXPRESSION_POLICY),
            traffic_document("127.0.0.1:1"),
        ] {
            Document::parse_valid(&doc, DocumentFormat::Yaml).unwrap();
        }
    }
}
