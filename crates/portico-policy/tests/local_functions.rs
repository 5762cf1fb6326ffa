//! Local functions in `@{ … }` blocks, as the corpus's IP-filter and backend-for-frontend
//! snippets write them: declared anywhere in a block, calling each other, capturing the
//! block's locals by reference, recursing, and refused or failing clearly when misused.

use portico_policy::expr::{Expression, MemoryContext, StoredMessage, Value};

fn run(src: &str, ctx: &mut MemoryContext) -> Value {
    let e =
        Expression::compile(src).unwrap_or_else(|e| panic!("{src}: {} at {}", e.message, e.offset));
    e.evaluate(ctx)
        .unwrap_or_else(|e| panic!("{src}: {} at {}", e.message, e.offset))
}

fn text(v: Value) -> String {
    match v {
        Value::Str(s) => s.to_string(),
        other => panic!("expected a string, got {other:?}"),
    }
}

/// The IP-filter snippet as published (vendored in `testdata/`).
const IP_FILTER_POLICY: &str = include_str!(
    "../../../testdata/corpus/apim-policy-snippets/examples/Filter on IP Address when using Application Gateway.policy.xml"
);

/// The snippet's first expression (the local functions), its named value replaced by `VALID`.
fn ip_filter_expression() -> String {
    let start = IP_FILTER_POLICY
        .find("<value>@{")
        .expect("the snippet's expression")
        + "<value>".len();
    let end = start + IP_FILTER_POLICY[start..].find("</value>").expect("its end");
    IP_FILTER_POLICY[start..end].replace("{{ipValidated}}", "VALID")
}

#[test]
fn the_ip_filter_snippet_matches_private_ranges() {
    let e =
        Expression::compile(&ip_filter_expression()).unwrap_or_else(|e| panic!("{}", e.message));
    for (ip, want) in [
        ("10.1.2.3", "VALID"),
        ("192.168.7.9:5123", "VALID"),
        ("172.20.0.1", "VALID"),
        ("172.32.0.1", "172.32.0.1"),
        ("8.8.8.8", "8.8.8.8"),
    ] {
        let mut ctx = MemoryContext::new().header("X-Forwarded-For", ip);
        assert_eq!(text(e.evaluate(&mut ctx).unwrap()), want, "{ip}");
    }
}

#[test]
fn functions_call_each_other_and_share_the_blocks_locals() {
    let ok = StoredMessage {
        status_code: 200,
        body: br#"{"a":1}"#.to_vec().into(),
        ..Default::default()
    };
    let bad = StoredMessage {
        status_code: 500,
        body: b"oops".to_vec().into(),
        ..Default::default()
    };
    let mut ctx = MemoryContext::new()
        .variable("op1", Value::Message(ok.into()))
        .variable("op2", Value::Message(bad.into()));
    let src = r#"@{
        int finalStatus = 200;
        void ParseBody(JObject element, string name, IResponse response) {
            string body = response.Body.As<string>();
            try { element.Add(name, JToken.Parse(body)); }
            catch (Exception ex) { element.Add(name, body); }
        }
        JObject Prepare(string variable) {
            var r = context.Variables.GetValueOrDefault<IResponse>(variable);
            var e = new JObject();
            e.Add("status", r.StatusCode);
            if (r.StatusCode != 200) { finalStatus = 207; }
            ParseBody(e, r.StatusCode == 200 ? "body" : "error", r);
            return e;
        }
        var all = new JArray();
        all.Add(Prepare("op1"));
        all.Add(Prepare("op2"));
        return finalStatus + " " + all.ToString(Newtonsoft.Json.Formatting.None);
    }"#;
    assert_eq!(
        text(run(src, &mut ctx)),
        r#"207 [{"body":{"a":1},"status":200},{"error":"oops","status":500}]"#
    );
}

#[test]
fn recursion_keeps_each_calls_locals() {
    let mut ctx = MemoryContext::new();
    let v = run(
        "@{ return Fib(15) + \",\" + Fact(10); int Fib(int n) { if (n < 2) { return n; } var a = Fib(n - 1); var b = Fib(n - 2); return a + b; } long Fact(long n) => n <= 1 ? 1 : n * Fact(n - 1); }",
        &mut ctx,
    );
    assert_eq!(text(v), "610,3628800");
}

#[test]
fn misuse_is_refused_or_fails_clearly() {
    let compile_err = |src: &str| Expression::compile(src).unwrap_err().message;
    assert!(compile_err("@{ int F(int a) => a; return F(1, 2); }").contains("takes 1 argument"));
    assert!(compile_err("@{ return G(1); }").contains("not a function Portico knows"));
    assert!(compile_err("@{ void F() { } void F() { } return 1; }").contains("already declared"));
    assert!(compile_err("@{ var F() => 1; return F(); }").contains("return type"));
    assert!(compile_err("@{ int F(ref int a) => a; return 1; }").contains("`ref`"));
    assert!(compile_err("@{ { int F() => 1; } return F(); }").contains("not a function"));
    let mut ctx = MemoryContext::new();
    let deep = Expression::compile("@{ int F(int n) => F(n + 1); return F(0); }").unwrap();
    let e = deep.evaluate(&mut ctx).unwrap_err();
    assert!(e.message.contains("nests deeper"), "{}", e.message);
    let open =
        Expression::compile("@{ int F(int n) { if (n > 0) { return 1; } } return F(0); }").unwrap();
    let e = open.evaluate(&mut ctx).unwrap_err();
    assert!(
        e.message.contains("ended without `return`"),
        "{}",
        e.message
    );
}
