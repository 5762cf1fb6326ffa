//! Parsing single documents: the typed tree, and errors with line, column and policy.

use portico_policy::policies::{BackendTarget, ExistsAction, Policy};
use portico_policy::{
    Fragment, NamedValue, NamedValues, Param, PolicyDocument, PolicyErrors, Position, Section,
};

fn errors(xml: &str) -> PolicyErrors {
    PolicyDocument::parse(xml).expect_err("the document should be refused")
}

fn messages(xml: &str) -> Vec<String> {
    errors(xml).iter().map(ToString::to_string).collect()
}

#[test]
fn parses_flow_and_transformation_policies() {
    let xml = r#"<policies>
    <inbound>
        <base />
        <set-header name="X-A" exists-action="append"><value>1</value><value>2</value></set-header>
        <set-query-parameter name="q" exists-action="delete" />
        <set-variable name="v" value="literal" />
        <rewrite-uri template="/users/{id}" copy-unmatched-params="false" />
        <set-backend-service backend-id="pool" />
        <choose>
            <when condition="true"><set-method>POST</set-method></when>
            <otherwise><return-response><set-status code="404" reason="Nope" /><set-body>gone</set-body></return-response></otherwise>
        </choose>
        <trace source="api" severity="error"><message>hi</message><metadata name="k" value="v"/></trace>
        <emit-metric name="calls" namespace="ns"><dimension name="API ID" /></emit-metric>
        <include-fragment fragment-id="common" />
    </inbound>
    <backend><forward-request timeout="20" follow-redirects="true" /></backend>
    <outbound><find-and-replace from="a" to="b" /><set-body /></outbound>
    <on-error><mock-response status-code="503" /></on-error>
</policies>"#;
    let doc = PolicyDocument::parse(xml).unwrap_or_else(|e| panic!("{e}"));
    let inbound = doc.section(Section::Inbound).unwrap();
    let names: Vec<_> = inbound.iter().map(|n| n.policy.name()).collect();
    assert_eq!(
        names,
        [
            "base",
            "set-header",
            "set-query-parameter",
            "set-variable",
            "rewrite-uri",
            "set-backend-service",
            "choose",
            "trace",
            "emit-metric",
            "include-fragment"
        ]
    );
    assert_eq!(inbound[1].position, Position::new(4, 9));
    let Policy::SetHeader(h) = &inbound[1].policy else {
        panic!()
    };
    assert_eq!(h.exists_action, ExistsAction::Append);
    let values: Vec<_> = h.values.iter().map(|v| v.as_literal().unwrap()).collect();
    assert_eq!(values, ["1", "2"]);
    let Policy::SetBackendService(b) = &inbound[5].policy else {
        panic!()
    };
    assert!(matches!(&b.target, BackendTarget::BackendId(id) if id.as_literal() == Some("pool")));
    let Policy::Choose(c) = &inbound[6].policy else {
        panic!()
    };
    assert!(matches!(c.whens[0].condition, Param::Value(true)));
    let Policy::ForwardRequest(f) = &doc.backend.as_ref().unwrap()[0].policy else {
        panic!()
    };
    assert_eq!(f.timeout_seconds.as_value(), Some(20));
    assert_eq!(f.buffer_request_body.as_value(), Some(false));
}

#[test]
fn invalid_attribute_names_line_column_and_policy() {
    let xml = "<policies>\n  <inbound>\n    <base />\n        <set-header name=\"a\" exists-action=\"replace\"><value>x</value></set-header>\n  </inbound>\n</policies>";
    assert_eq!(
        messages(xml),
        ["line 4, column 30: <set-header>: exists-action must be override, skip, append or delete"]
    );
}

#[test]
fn collects_every_error() {
    let xml = r#"<policies>
  <inbound>
    <set-status />
    <xml-to-json kind="direct" apply="always" />
    <frobnicate />
    <forward-request />
    <set-variable name="x" value="1" colour="red" />
  </inbound>
  <outbound><rewrite-uri template="/" /></outbound>
</policies>"#;
    let got = messages(xml);
    let expected = [
        "line 3, column 5: <set-status>: the code attribute is required",
        "line 4, column 5: <xml-to-json>: not supported by Portico yet",
        "line 5, column 5: <frobnicate>: unknown policy",
        "line 6, column 5: <forward-request>: not allowed in <inbound>: APIM allows it in <backend>",
        "line 7, column 38: <set-variable>: unknown attribute colour: expected name, value",
        "line 9, column 13: <rewrite-uri>: not allowed in <outbound>",
    ];
    assert_eq!(got.len(), expected.len(), "{got:#?}");
    for (g, e) in got.iter().zip(expected) {
        assert!(g.starts_with(e), "{g} should start with {e}");
    }
}

#[test]
fn malformed_xml_has_a_position() {
    let e = errors("<policies>\n  <inbound>\n</policies>");
    let first = e.first().unwrap();
    assert_eq!(first.position.line, 3);
    assert!(first.message.starts_with("malformed XML"), "{first}");
}

#[test]
fn refusals_name_what_to_do() {
    let m = messages(
        r#"<policies><inbound><forward-request timeout-ms="5"/><set-backend-service sf-partition-key="1" base-url="http://x"/></inbound></policies>"#,
    );
    assert!(
        m.iter()
            .any(|m| m.contains("timeout-ms attribute is not supported")),
        "{m:#?}"
    );
    assert!(
        m.iter()
            .any(|m| m.contains("sf-partition-key attribute is not supported")),
        "{m:#?}"
    );
}

#[test]
fn base_belongs_directly_in_a_section_and_not_in_fragments() {
    let m = messages("<policies><inbound><choose><when condition=\"true\"><base/></when></choose></inbound></policies>");
    assert!(
        m[0].contains("<base/> belongs directly in a section"),
        "{m:?}"
    );
    let e = Fragment::parse("<fragment><base/></fragment>").unwrap_err();
    assert!(e.to_string().contains("belongs directly in a section"));
}

#[test]
fn expression_errors_point_into_the_document() {
    // Unescaped quotes and `<` inside an expression are accepted, as APIM does.
    let xml = "<policies>\n<inbound>\n  <set-variable name=\"v\" value=\"@(a < \"b\" +)\" />\n</inbound>\n</policies>";
    let e = errors(xml);
    let first = e.first().unwrap();
    assert_eq!(first.policy.as_deref(), Some("set-variable"));
    assert_eq!(first.position.line, 3);
    assert!((32..=44).contains(&first.position.column), "{first}");
    assert!(
        first.message.starts_with("expression does not compile"),
        "{first}"
    );
}

#[test]
fn named_values_are_substituted_and_secrets_never_shown() {
    let mut nv = NamedValues::new();
    nv.insert("backend", NamedValue::new("https://example.com", false));
    nv.insert("key", NamedValue::new("hunter2", true));
    nv.insert("bad-timeout", NamedValue::new("hunter3", true));
    let xml = r#"<policies><inbound><set-backend-service base-url="{{backend}}/v1" /><set-header name="k"><value>{{key}}</value></set-header></inbound></policies>"#;
    let doc = PolicyDocument::parse_with(xml, &nv).unwrap();
    let Policy::SetBackendService(b) = &doc.inbound.as_ref().unwrap()[0].policy else {
        panic!()
    };
    assert!(
        matches!(&b.target, BackendTarget::BaseUrl(u) if u.as_literal() == Some("https://example.com/v1"))
    );
    assert!(!format!("{doc:?}").contains("hunter2"));

    let bad = r#"<policies><backend><forward-request timeout="{{bad-timeout}}" /></backend><inbound><set-variable name="a" value="{{missing}}" /></inbound></policies>"#;
    let e = PolicyDocument::parse_with(bad, &nv)
        .unwrap_err()
        .to_string();
    assert!(!e.contains("hunter3"), "{e}");
    assert!(
        e.contains("timeout must be a number of seconds, not `a secret named value`"),
        "{e}"
    );
    assert!(e.contains("unknown named value `{{missing}}`"), "{e}");
}

#[test]
fn sections_may_be_missing_or_in_any_order() {
    let doc = PolicyDocument::parse("<policies><outbound/><inbound><base/></inbound></policies>")
        .unwrap();
    assert!(doc.backend.is_none());
    assert_eq!(doc.outbound.as_deref().map(<[_]>::len), Some(0));
    let m = messages("<policies><inbound/><inbound/><middle/></policies>");
    assert!(m[0].contains("appears twice"), "{m:?}");
    assert!(m[1].contains("unknown section"), "{m:?}");
}

#[test]
fn a_set_url_that_does_not_compile_is_reported_once_as_itself() {
    let m = messages(
        r#"<policies><inbound><send-request mode="new" response-variable-name="r"><set-url>@(context.Request.MatchedParameters("x"))</set-url></send-request></inbound></policies>"#,
    );
    assert_eq!(m.len(), 1, "{m:#?}");
    assert!(m[0].contains("expression does not compile"), "{m:#?}");
    let m = messages(
        r#"<policies><inbound><send-request mode="new" response-variable-name="r"><set-method>GET</set-method></send-request></inbound></policies>"#,
    );
    assert!(m[0].contains("needs a <set-url>"), "{m:#?}");
}

#[test]
fn liquid_bodies_compile_and_their_errors_point_into_the_document() {
    let mut values = NamedValues::new();
    values.insert("greeting", NamedValue::new("Hello", false));
    let xml = "<policies><inbound><set-body template=\"liquid\">{{greeting}} {{body.name}} &amp; {{ context.Request.Url.Host }}</set-body></inbound></policies>";
    let doc = PolicyDocument::parse_with(xml, &values).expect("compiles");
    let Policy::SetBody(b) = &doc.section(Section::Inbound).unwrap()[0].policy else {
        panic!("a set-body")
    };
    assert!(b.reads_body());
    assert!(b.template().is_none());

    // Inline markup (a SOAP envelope) is the template as written, without comments.
    let xml = r#"<policies><inbound><set-body template="liquid"><!-- note --><soap:Envelope xmlns:soap="urn:s"><soap:Body>{{body.x}}</soap:Body></soap:Envelope></set-body></inbound></policies>"#;
    assert!(PolicyDocument::parse(xml).is_ok());

    let xml = "<policies>\n<inbound>\n<set-body template=\"liquid\">\n  ok &amp; {{ body | upcase }}</set-body>\n</inbound>\n</policies>";
    let e = errors(xml);
    let first = e.first().unwrap();
    assert_eq!(first.policy.as_deref(), Some("set-body"));
    assert_eq!(
        (first.position.line, first.position.column),
        (4, 22),
        "{first}"
    );
    assert!(first.message.contains("`Upcase`"), "{first}");
}

#[test]
fn authentication_certificate_names_one_uploaded_certificate() {
    use portico_policy::policies::CertificateRef;
    let doc = PolicyDocument::parse(
        r#"<policies><inbound>
             <authentication-certificate certificate-id="client" />
             <authentication-certificate thumbprint="ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12" />
           </inbound></policies>"#,
    )
    .unwrap();
    let refs: Vec<_> = doc
        .section(Section::Inbound)
        .unwrap()
        .iter()
        .map(|n| match &n.policy {
            Policy::AuthenticationCertificate(a) => a.certificate.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        refs,
        [
            CertificateRef::Id("client".into()),
            CertificateRef::Thumbprint("AB12CD34EF56AB12CD34EF56AB12CD34EF56AB12".into())
        ]
    );

    let refused = |policy: &str| {
        messages(&format!("<policies><inbound>{policy}</inbound></policies>")).join("\n")
    };
    let e = refused(r#"<authentication-certificate body="@(new byte[0])" password="x" />"#);
    assert!(
        e.contains("the body attribute is not supported") && e.contains("certificate-id"),
        "{e}"
    );
    assert!(
        !e.contains("needs certificate-id"),
        "one complaint is enough: {e}"
    );
    let e = refused(
        r#"<authentication-certificate certificate-id="a" thumbprint="ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12" />"#,
    );
    assert!(e.contains("not both"), "{e}");
    let e = refused(r#"<authentication-certificate thumbprint="not-hex" />"#);
    assert!(e.contains("40 hex digits"), "{e}");
    let e = refused(r#"<authentication-certificate certificate-id="@(&quot;a&quot;)" />"#);
    assert!(e.contains("fixed value, not an expression"), "{e}");
    let e = refused("<authentication-certificate />");
    assert!(e.contains("needs certificate-id or thumbprint"), "{e}");
    let e = messages(r#"<policies><outbound><authentication-certificate certificate-id="a" /></outbound></policies>"#).join("\n");
    assert!(e.contains("<inbound>"), "{e}");
}
