//! Corpus snippets that needed local functions, LINQ to XML and Liquid, run by the gateway over
//! real sockets much as Microsoft published them: the IP filter behind an Application Gateway
//! (local functions) and "extracting multiple values from xml documents" (`send-request`,
//! `XDocument`, a JObject variable and a Liquid body in `return-response`).

mod common;

use common::*;
use std::net::SocketAddr;

fn block(xml: &str, depth: usize) -> String {
    let pad = " ".repeat(depth);
    xml.trim().lines().map(|l| format!("{pad}{l}\n")).collect()
}

fn api_doc(backend: SocketAddr, policy: &str) -> String {
    format!(
        "namedValues:\n  - {{ id: ipValidated, displayName: ipValidated, value: validated-ip }}\n  - {{ id: my-send-request, displayName: my-send-request, value: 'http://{backend}/side' }}\napis:\n  - id: api\n    path: api\n    serviceUrl: 'http://{backend}'\n    subscriptionRequired: false\n    operations:\n      - {{ id: all, method: '*', urlTemplate: '/*' }}\n    policy: |\n{}",
        block(policy, 6)
    )
}

/// The IP-filter snippet's policy, exactly as published (vendored in `testdata/`).
const IP_FILTER: &str = include_str!(
    "../../../testdata/corpus/apim-policy-snippets/examples/Filter on IP Address when using Application Gateway.policy.xml"
);

#[tokio::test]
async fn the_ip_filter_snippet_admits_private_ranges_only() {
    let backend = start_backend().await;
    let gw = TestGateway::start(&api_doc(backend, IP_FILTER)).await;
    for ip in ["10.1.2.3", "192.168.0.9:4431", "172.31.255.1"] {
        let a = get(&gw.url("/api/x"), &[("x-forwarded-for", ip)]).await;
        assert_eq!(
            a.status,
            200,
            "{ip}: {:?}",
            String::from_utf8_lossy(&a.body)
        );
        // The header is put back as the client sent it before the request is forwarded.
        let seen = a.backend_header("x-forwarded-for").unwrap_or_default();
        assert!(seen.starts_with(ip), "{ip}: backend saw {seen}");
    }
    for ip in ["8.8.8.8", "172.32.0.1"] {
        let a = get(&gw.url("/api/x"), &[("x-forwarded-for", ip)]).await;
        assert_apim_error(&a, 403, "Unauthorized");
    }
}

/// The "extracting multiple values from xml documents" snippet; the echo backend plays the
/// service that returns XML (it answers a POST with the body it was sent).
const EXTRACT: &str = r#"<policies>
  <inbound>
    <send-request mode="new" response-variable-name="sendRequestResponse">
      <set-url>{{my-send-request}}</set-url>
      <set-method>POST</set-method>
      <set-header name="Content-Type" exists-action="override">
        <value>text/xml</value>
      </set-header>
      <set-body>@(context.Request.Body.As<string>())</set-body>
    </send-request>
    <set-variable name="jsonResponse" value="@{
      var doc = XDocument.Parse(((IResponse)context.Variables["sendRequestResponse"]).Body.As<string>());
      var obj = new JObject();
      obj["conditionValue"] = doc.Descendants().Where(r=>r.Name.LocalName == "conditionValue").First().Value;
      obj["value1"] = doc.Descendants().Where(r=>r.Name.LocalName == "value1").First().Value;
      obj["value3"] = doc.Descendants().Where(r=>r.Name.LocalName == "value3").First().Value;
      return obj;
    }" />
    <choose>
      <when condition="@((bool)((JObject)context.Variables["jsonResponse"])["conditionValue"])">
        <set-variable name="met" value="yes" />
      </when>
    </choose>
    <return-response>
      <set-status code="200" reason="" />
      <set-header name="Content-Type" exists-action="override">
        <value>text/xml</value>
      </set-header>
      <set-body template="liquid">
        {%- assign vars = context.Variables["jsonResponse"] -%}
        <message3 met="{{ context.Variables['met'] | Default: 'no' }}">
          <data val1="{{ vars['value1'] }}" val3="{{ vars['value3'] }}" />
        </message3>
      </set-body>
    </return-response>
  </inbound>
</policies>"#;

#[tokio::test]
async fn the_xml_extraction_snippet_runs_end_to_end() {
    let backend = start_backend().await;
    let gw = TestGateway::start(&api_doc(backend, EXTRACT)).await;
    let post = |cond: &'static str| {
        let body = format!("<message1><conditionValue>{cond}</conditionValue><value1>MESSAGE1_TEST1</value1><value2>MESSAGE1_TEST2</value2><value3>MESSAGE1_TEST3</value3></message1>");
        let url = gw.url("/api/x");
        async move {
            send(
                http::Request::post(url)
                    .header("content-type", "text/xml")
                    .body(full(body))
                    .unwrap(),
            )
            .await
        }
    };
    let a = post("true").await;
    assert_eq!(a.status, 200, "{:?}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.headers["content-type"], "text/xml");
    assert_eq!(
        String::from_utf8_lossy(&a.body),
        "<message3 met=\"yes\">\n          <data val1=\"MESSAGE1_TEST1\" val3=\"MESSAGE1_TEST3\" />\n        </message3>\n      "
    );
    let a = post("false").await;
    assert!(String::from_utf8_lossy(&a.body).starts_with("<message3 met=\"no\">"));
}
