//! `<set-body template="liquid">` run by the gateway over real sockets: a JSON request
//! reshaped into SOAP for the backend and the backend's XML reshaped back into JSON, headers
//! listed by a template inside `return-response`, named values inside a template, and a body
//! that does not parse failing the policy. The echo backend returns the body it received.

mod common;

use common::*;
use http::Request;
use std::net::SocketAddr;

fn block(xml: &str, depth: usize) -> String {
    let pad = " ".repeat(depth);
    xml.trim().lines().map(|l| format!("{pad}{l}\n")).collect()
}

fn api_doc(backend: SocketAddr, api_policy: &str) -> String {
    format!(
        "namedValues:\n  - {{ id: service, displayName: service, value: Orders }}\napis:\n  - id: api\n    path: api\n    serviceUrl: 'http://{backend}'\n    subscriptionRequired: false\n    operations:\n      - {{ id: order, method: '*', urlTemplate: '/orders/{{id}}' }}\n      - {{ id: all, method: '*', urlTemplate: '/*' }}\n    policy: |\n{}",
        block(api_policy, 6)
    )
}

async fn gateway_with(api_policy: &str) -> TestGateway {
    let backend = start_backend().await;
    TestGateway::start(&api_doc(backend, api_policy)).await
}

async fn post_json(url: &str, body: &str) -> Answer {
    send(
        Request::post(url)
            .header("content-type", "application/json")
            .header("x-client", "test")
            .body(full(body.to_owned()))
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn json_to_soap_and_back_through_the_backend() {
    let gw = gateway_with(
        r#"<policies>
  <inbound>
    <set-body template="liquid">
      <soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><GetOrder><Id>{{context.Request.MatchedParameters["id"]}}</Id>{% for l in body.lines %}<Line sku="{{ l.sku }}">{{ l.qty | Times: 2 }}</Line>{% endfor %}<By>{{ context.Request.Headers["x-client"] | Upcase }}</By></GetOrder></soap:Body></soap:Envelope>
    </set-body>
    <set-header name="Content-Type" exists-action="override"><value>text/xml</value></set-header>
  </inbound>
  <outbound>
    <set-body template="liquid">{"service": "{{service}}", "id": {{ body.envelope.body.getorder.id }}, "lines": [{% JSONArrayFor l in body.envelope.body.GetOrder.Line %}{"sku": "{{ l['@sku'] }}", "qty": {{ l['#text'] }}}{% endJSONArrayFor %}], "by": "{{ body.envelope.body.GetOrder.By }}", "status": {{ context.Response.StatusCode }}}</set-body>
    <set-header name="Content-Type" exists-action="override"><value>application/json</value></set-header>
  </outbound>
</policies>"#,
    )
    .await;
    let a = post_json(
        &gw.url("/api/orders/42"),
        r#"{"lines":[{"sku":"a","qty":1},{"sku":"b","qty":5}]}"#,
    )
    .await;
    assert_eq!(a.status, 200, "{:?}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.headers["content-type"], "application/json");
    assert_eq!(
        String::from_utf8_lossy(&a.body),
        r#"{"service": "Orders", "id": 42, "lines": [{"sku": "a", "qty": 2},{"sku": "b", "qty": 10}], "by": "TEST", "status": 200}"#
    );
}

#[tokio::test]
async fn a_template_inside_return_response_lists_the_request_headers() {
    let gw = gateway_with(
        r#"<policies><inbound>
  <return-response>
    <set-status code="200" reason="OK" />
    <set-body template="liquid">{% for header in context.Request.Headers %}{% if header.Key contains "x-" %}{{- header.Key }}: {{ header.Value }};{% endif %}{% endfor %}[{{ body }}]</set-body>
  </return-response>
</inbound></policies>"#,
    )
    .await;
    let a = post_json(&gw.url("/api/x"), r#"{"ignored":true}"#).await;
    assert_eq!(a.status, 200);
    // APIM gives a template inside return-response no body.
    assert_eq!(String::from_utf8_lossy(&a.body), "x-client: test;[]");
}

#[tokio::test]
async fn the_response_body_binds_in_outbound() {
    let gw = gateway_with(
        r#"<policies><outbound>
  <set-body template="liquid">{{ body.method }} {{ body.path | Split: "/" | Last }} {{ body.headers["x-client"] | Default: "none" }}</set-body>
</outbound></policies>"#,
    )
    .await;
    let a = get(&gw.url("/api/orders/7"), &[]).await;
    assert_eq!(a.status, 200);
    assert_eq!(String::from_utf8_lossy(&a.body), "GET 7 none");
    assert_eq!(a.headers["content-length"], "10");
}

#[tokio::test]
async fn a_body_that_does_not_parse_as_its_content_type_fails_the_policy() {
    let gw = gateway_with(
        r#"<policies><inbound>
  <set-body template="liquid">{{ body.a }}</set-body>
</inbound><on-error>
  <return-response>
    <set-status code="422" />
    <set-body>@(context.LastError.Source + " " + context.LastError.Reason + ": " + context.LastError.Message)</set-body>
  </return-response>
</on-error></policies>"#,
    )
    .await;
    let a = post_json(&gw.url("/api/x"), "{not json").await;
    assert_eq!(a.status, 422);
    let text = String::from_utf8_lossy(&a.body);
    assert!(
        text.starts_with(
            "set-body LiquidTemplateRenderFailure: Liquid template: the body is not JSON"
        ),
        "{text}"
    );
}
