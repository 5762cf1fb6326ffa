//! Whole templates rendered against an in-memory context: the corpus snippets' shapes, APIM's
//! documented examples, and the errors authors see.

use super::*;
use crate::expr::{MemoryContext, Prop, UrlKind, UrlPart, Value};

fn request() -> BodyBinding {
    BodyBinding {
        msg: Some(Msg::Request),
        parse_dates: true,
        nil_is_null: false,
    }
}

fn render(src: &str, ctx: &mut MemoryContext) -> String {
    LiquidTemplate::compile(src)
        .unwrap_or_else(|e| panic!("{src}: {e:?}"))
        .render(ctx, request())
        .unwrap_or_else(|e| panic!("{src}: {e}"))
}

fn compile_error(src: &str) -> LiquidError {
    LiquidTemplate::compile(src).expect_err("should not compile")
}

#[test]
fn transforms_a_json_body_as_apim_documents() {
    let mut ctx = MemoryContext::new()
        .header("Content-Type", "application/json")
        .body(r#"{"customer":{"purchase":{"identifier":"A1","orderShortDesc":"two pizzas"}}}"#);
    let out = render(
        r#"{"order": {"id": "{{body.customer.purchase.identifier}}", "summary": "{{body.customer.purchase.orderShortDesc | Upcase}}"}}"#,
        &mut ctx,
    );
    assert_eq!(out, r#"{"order": {"id": "A1", "summary": "TWO PIZZAS"}}"#);
}

#[test]
fn lists_headers_like_the_corpus_snippet() {
    let mut ctx = MemoryContext::new()
        .header("Accept", "*/*")
        .header("X-Id", "7");
    let out = render(
        "{% for header in context.Request.Headers %}\n    {{- header.Key }}: {{ header.Value }}\n{% endfor %}",
        &mut ctx,
    );
    assert_eq!(out, "Accept: */*\nX-Id: 7\n");
}

#[test]
fn reads_variables_parameters_and_urls() {
    let json = Value::json(serde_json::json!({"value1": "V1", "value3": "V3"}));
    let mut ctx = MemoryContext::new()
        .variable("jsonResponse", json)
        .matched("emailAddress", "a@b.c")
        .prop(
            Prop::Url(UrlKind::Request, UrlPart::Full),
            "https://h/p?q=1",
        )
        .prop(Prop::Url(UrlKind::Request, UrlPart::Host), "h");
    let out = render(
        r#"{%- assign vars = context.Variables["jsonResponse"] -%}
<data val1="{{ vars['value1'] }}" val3="{{ vars.value3 }}" />{{context.Request.MatchedParameters["emailAddress"]}} {{ context.Request.Url }} {{ context.Request.Url.Host }}"#,
        &mut ctx,
    );
    assert_eq!(
        out,
        r#"<data val1="V1" val3="V3" />a@b.c https://h/p?q=1 h"#
    );
}

#[test]
fn json_array_for_separates_items_with_commas() {
    let mut ctx = MemoryContext::new()
        .header("Content-Type", "application/json")
        .body(r#"{"results":[{"joke":"a","ok":true},{"joke":"b","ok":false},{"joke":"c","ok":true}]}"#);
    let out = render(
        r#"[{% JSONArrayFor j in body.results %}{% if j.ok %}"{{ j.joke }}"{% endif %}{% endJSONArrayFor %}]"#,
        &mut ctx,
    );
    assert_eq!(out, r#"["a","c"]"#);
}

#[test]
fn control_flow() {
    let mut ctx = MemoryContext::new()
        .header("Content-Type", "application/json")
        .body(r#"{"n":3,"items":[1,2,3,4,5],"kind":"b","s":"","when":"2024-03-04T05:06:07Z"}"#);
    let cases = [
        ("{% if body.n > 2 and body.kind == 'b' %}yes{% else %}no{% endif %}", "yes"),
        ("{% unless body.n == 3 %}x{% else %}y{% endunless %}", "y"),
        ("{% if body.missing %}x{% elsif body.s == empty %}e{% endif %}", "e"),
        ("{% if body.s %}truthy{% endif %}", "truthy"),
        ("{% case body.kind %}{% when 'a' %}A{% when 'b', 'c' %}BC{% else %}?{% endcase %}", "BC"),
        ("{% for i in body.items limit: 3 offset: 1 %}{{ i }}{% unless forloop.last %},{% endunless %}{% endfor %}", "2,3,4"),
        ("{% for i in body.items reversed %}{% if i == 2 %}{% break %}{% endif %}{{ i }}{% endfor %}", "543"),
        ("{% for i in (1..4) %}{% if i == 2 %}{% continue %}{% endif %}{{ forloop.index }}{% endfor %}", "134"),
        ("{% for i in body.none %}x{% else %}none{% endfor %}", "none"),
        ("{% capture c %}{{ body.n | Times: 2 }}!{% endcapture %}{{ c }}{{ c.size }}", "6!2"),
        ("{{ body.items.size }} {{ body.items.first }} {{ body.items[-1] }} {{ body.items | Join: '-' }}", "5 1 5 1-2-3-4-5"),
        ("{{ body.when | Date: 'yyyyMMddTHH:mm:ssZ' }}", "20240304T05:06:07Z"),
        ("{% if body.items contains 4 %}y{% endif %}{% if body.kind contains 'b' %}!{% endif %}", "y!"),
        ("{% raw %}{{ not parsed }}{% endraw %}{% comment %} gone {% endcomment %}", "{{ not parsed }}"),
    ];
    for (src, want) in cases {
        assert_eq!(render(src, &mut ctx), want, "{src}");
    }
}

#[test]
fn xml_bodies_bind_like_apims_soap_templates() {
    let mut ctx = MemoryContext::new().header("Content-Type", "text/xml").body(
        r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault><faultcode>s:Client</faultcode><faultstring>bad</faultstring></soap:Fault></soap:Body></soap:Envelope>"#,
    );
    let out = render(
        r#"{"code": "{{body.envelope.body.fault.faultcode}}", "message": "{{body.envelope.body.fault.faultstring}}"}"#,
        &mut ctx,
    );
    assert_eq!(out, r#"{"code": "s:Client", "message": "bad"}"#);
}

#[test]
fn return_response_has_no_body_and_a_missing_response_is_nil() {
    let t = LiquidTemplate::compile("[{{ body.a }}][{{ context.Response.StatusCode }}]").unwrap();
    assert!(t.reads_body());
    let mut ctx = MemoryContext::new()
        .header("Content-Type", "application/json")
        .body(r#"{"a":1}"#)
        .absent(crate::expr::CtxObj::Response);
    let binding = BodyBinding {
        msg: None,
        ..request()
    };
    assert_eq!(t.render(&mut ctx, binding).unwrap(), "[][]");
    assert!(!LiquidTemplate::compile("{{ context.Request.Method }}")
        .unwrap()
        .reads_body());
}

#[test]
fn errors_when_loading_name_the_problem_and_its_place() {
    let e = compile_error("ab {{ context.Request.Hedaers.X }}");
    assert_eq!(e.offset, 6);
    assert!(
        e.message
            .contains("`Hedaers` is not a member of context.Request"),
        "{e:?}"
    );
    let e = compile_error("{{ x | upcase }}");
    assert!(e.message.contains("`Upcase`"), "{e:?}");
    let e = compile_error("x{% include 'a' %}");
    assert_eq!(e.offset, 1);
    assert!(e.message.contains("`include`"), "{e:?}");
    let e = compile_error("{% if a %}x");
    assert!(e.message.contains("endif"), "{e:?}");
    let e = compile_error("{% endfor %}");
    assert!(e.message.contains("without its opening tag"), "{e:?}");
    let e = compile_error(&"{% if a %}".repeat(100));
    assert!(e.message.contains("nest deeper"), "{e:?}");
}

#[test]
fn errors_when_rendering_fail_the_policy() {
    let t = LiquidTemplate::compile("{{ body.a }}").unwrap();
    let mut ctx = MemoryContext::new()
        .header("Content-Type", "application/json")
        .body("{not json");
    let e = t.render(&mut ctx, request()).unwrap_err();
    assert!(e.message.contains("not JSON"), "{e}");
    let t = LiquidTemplate::compile("{% for i in (1..1000) %}{% for j in (1..1000) %}{% for k in (1..1000) %}x{% endfor %}{% endfor %}{% endfor %}").unwrap();
    let e = t.render(&mut MemoryContext::new(), request()).unwrap_err();
    assert!(e.message.contains("steps"), "{e}");
    let t = LiquidTemplate::compile("{{ 'a' | Minus: 1 }}").unwrap();
    assert!(t.render(&mut MemoryContext::new(), request()).is_err());
}
