//! LINQ to XML in expressions, read-only: the corpus snippet that extracts several values from
//! an XML response into a JObject, navigation and names, casts, and the refusals.

use portico_policy::expr::{Expression, MemoryContext, StoredMessage, Value};

fn eval(src: &str, ctx: &mut MemoryContext) -> Result<Value, String> {
    let e = Expression::compile(src).map_err(|e| format!("compile: {}", e.message))?;
    e.evaluate(ctx).map_err(|e| e.message)
}

fn text(src: &str, ctx: &mut MemoryContext) -> String {
    match eval(src, ctx) {
        Ok(Value::Str(s)) => s.to_string(),
        other => panic!("{src}: {other:?}"),
    }
}

const MESSAGE: &str = "<message1><conditionValue>true</conditionValue><value1>MESSAGE1_TEST1</value1><value2>MESSAGE1_TEST2</value2><value3>MESSAGE1_TEST3</value3></message1>";

#[test]
fn the_corpus_snippet_extracts_values_into_a_jobject() {
    let response = StoredMessage {
        status_code: 200,
        body: MESSAGE.as_bytes().to_vec().into(),
        ..Default::default()
    };
    let mut ctx =
        MemoryContext::new().variable("sendRequestResponse", Value::Message(response.into()));
    let src = r#"@{
        var doc = XDocument.Parse(((IResponse)context.Variables["sendRequestResponse"]).Body.As<string>());
        var obj = new JObject();
        obj["conditionValue"] = doc.Descendants().Where(r=>r.Name.LocalName == "conditionValue").First().Value;
        obj["value1"] = doc.Descendants().Where(r=>r.Name.LocalName == "value1").First().Value;
        obj["value3"] = doc.Descendants().Where(r=>r.Name.LocalName == "value3").First().Value;
        return obj;
    }"#;
    let obj = eval(src, &mut ctx).unwrap();
    let mut ctx = MemoryContext::new().variable("jsonResponse", obj);
    assert_eq!(
        text(
            r#"@(((JObject)context.Variables["jsonResponse"]).ToString(Newtonsoft.Json.Formatting.None))"#,
            &mut ctx
        ),
        r#"{"conditionValue":"true","value1":"MESSAGE1_TEST1","value3":"MESSAGE1_TEST3"}"#
    );
    let cond = eval(
        r#"@((bool)((JObject)context.Variables["jsonResponse"])["conditionValue"])"#,
        &mut ctx,
    );
    assert!(matches!(cond, Ok(Value::Bool(true))), "{cond:?}");
}

#[test]
fn navigation_names_and_casts() {
    let mut ctx = MemoryContext::new();
    let xml = r#"<s:Envelope xmlns:s="urn:soap"><s:Body><Order id="7" xmlns="urn:o"><Line sku="a">1</Line><Line sku="b">2</Line><Note>hi <b>there</b></Note></Order></s:Body></s:Envelope>"#;
    let with = |body: &str| {
        format!(
            "@{{ var doc = XDocument.Parse(\"{}\"); {body} }}",
            xml.replace('"', "\\\"")
        )
    };
    let cases = [
        ("return doc.Root.Name.LocalName + \"|\" + doc.Root.Name.NamespaceName;", "Envelope|urn:soap"),
        ("return doc.Root.Name.ToString();", "{urn:soap}Envelope"),
        ("return doc.Descendants(\"{urn:o}Line\").Count() + \",\" + doc.Descendants(\"Line\").Count();", "2,0"),
        ("var o = doc.Descendants().First(e => e.Name.LocalName == \"Order\"); return o.Attribute(\"id\").Value + (string)o.Element(\"{urn:o}Note\");", "7hi there"),
        ("return string.Join(\",\", doc.Descendants().Where(e => e.Name.LocalName == \"Line\").Select(e => (string)e.Attribute(\"sku\") + \"=\" + e.Value));", "a=1,b=2"),
        ("var o = doc.Root.Elements().First().Elements().First(); return o.HasElements + \" \" + o.HasAttributes + \" \" + o.Parent.Name.LocalName;", "True True Body"),
        ("return doc.Root.Element(\"Missing\") == null ? \"none\" : \"some\";", "none"),
        ("return doc.Descendants().First(e => e.Name.LocalName == \"Line\").ToString();", "<Line sku=\"a\">1</Line>"),
        ("var e = XElement.Parse(\"<a><b>x</b></a>\"); return e.Element(\"b\").Value + e.Name;", "xa"),
        ("return doc.Root is XElement && !(doc is XElement) ? \"typed\" : \"untyped\";", "typed"),
    ];
    for (body, want) in cases {
        assert_eq!(text(&with(body), &mut ctx), want, "{body}");
    }
}

#[test]
fn refusals_and_failures_are_clear() {
    let mut ctx = MemoryContext::new();
    let e = eval("@(XDocument.Parse(\"<a>\"))", &mut ctx).unwrap_err();
    assert!(e.contains("not XML"), "{e}");
    let e = eval(
        "@{ var d = XDocument.Parse(\"<a/>\"); d.Root.Add(\"x\"); return 1; }",
        &mut ctx,
    )
    .unwrap_err();
    assert!(e.contains("read-only"), "{e}");
    let e = eval("@(new XDocument())", &mut ctx).unwrap_err();
    assert!(
        e.starts_with("compile:") && e.contains("new XDocument"),
        "{e}"
    );
    let e = eval("@{ XmlReader r = null; return 1; }", &mut ctx).unwrap_err();
    assert!(e.contains("XmlReader"), "{e}");
}
