//! The expression language against APIM's own documentation: one test per expression of the
//! cheat-sheet in `shared/corpus/apim-policy-snippets/policy-expressions/README.md`, a census of
//! the expressions inside the corpus example policies, semantics tests, and a property test
//! that `compile` never panics.

use std::sync::Arc;

use portico_policy::expr::{
    CertificateInfo, CtxObj, DateTime, Expression, MemoryContext, Prop, StoredMessage, Value,
};

fn run(src: &str, ctx: &mut MemoryContext) -> Value {
    let e =
        Expression::compile(src).unwrap_or_else(|e| panic!("{src}: {} at {}", e.message, e.offset));
    e.evaluate(ctx)
        .unwrap_or_else(|e| panic!("{src}: {} at {}", e.message, e.offset))
}

/// Evaluates a cheat-sheet expression (written without its `@( … )` wrapper).
fn x(src: &str, ctx: &mut MemoryContext) -> Value {
    run(&format!("@({src})"), ctx)
}

fn text(v: Value) -> String {
    match v {
        Value::Str(s) => s.to_string(),
        other => panic!("expected a string, got {other:?}"),
    }
}

fn boolean(v: Value) -> bool {
    match v {
        Value::Bool(b) => b,
        other => panic!("expected a bool, got {other:?}"),
    }
}

// --- Interact with HTTP headers -------------------------------------------------------------

#[test]
fn get_http_header() {
    let src =
        r#"context.Request.Headers.GetValueOrDefault("header-name","optional-default-value")"#;
    let mut ctx = MemoryContext::new().header("Header-Name", "v1");
    assert_eq!(text(x(src, &mut ctx)), "v1");
    assert_eq!(
        text(x(src, &mut MemoryContext::new())),
        "optional-default-value"
    );
}

#[test]
fn check_http_header_existence() {
    let src = r#"context.Request.Headers.ContainsKey("header-name") == true"#;
    assert!(boolean(x(
        src,
        &mut MemoryContext::new().header("header-name", "x")
    )));
    assert!(!boolean(x(src, &mut MemoryContext::new())));
}

#[test]
fn check_http_header_value() {
    let src = r#"context.Request.Headers.GetValueOrDefault("header-name", "").Equals("expected-header-value", StringComparison.OrdinalIgnoreCase)"#;
    assert!(boolean(x(
        src,
        &mut MemoryContext::new().header("header-name", "EXPECTED-Header-Value")
    )));
    assert!(!boolean(x(
        src,
        &mut MemoryContext::new().header("header-name", "other")
    )));
    assert!(!boolean(x(src, &mut MemoryContext::new())));
}

// --- Interact with URI parameters -----------------------------------------------------------

#[test]
fn get_uri_parameter() {
    let src = r#"context.Request.MatchedParameters.GetValueOrDefault("parameter-name","optional-default-value")"#;
    assert_eq!(
        text(x(
            src,
            &mut MemoryContext::new().matched("parameter-name", "42")
        )),
        "42"
    );
    assert_eq!(
        text(x(src, &mut MemoryContext::new())),
        "optional-default-value"
    );
}

#[test]
fn check_uri_parameter_existence() {
    let src = r#"context.Request.MatchedParameters.ContainsKey("parameter-name") == true"#;
    assert!(boolean(x(
        src,
        &mut MemoryContext::new().matched("parameter-name", "1")
    )));
    assert!(!boolean(x(src, &mut MemoryContext::new())));
}

#[test]
fn check_uri_parameter_value() {
    let src = r#"context.Request.MatchedParameters.GetValueOrDefault("parameter-name", "").Equals("expected-value", StringComparison.OrdinalIgnoreCase) == true"#;
    assert!(boolean(x(
        src,
        &mut MemoryContext::new().matched("parameter-name", "Expected-Value")
    )));
    assert!(!boolean(x(src, &mut MemoryContext::new())));
}

// --- Interact with query string parameters --------------------------------------------------

#[test]
fn get_query_parameter() {
    let src = r#"context.Request.Url.Query.GetValueOrDefault("parameter-name", "optional-default-value")"#;
    assert_eq!(
        text(x(
            src,
            &mut MemoryContext::new().query_param("parameter-name", "q")
        )),
        "q"
    );
    assert_eq!(
        text(x(src, &mut MemoryContext::new())),
        "optional-default-value"
    );
}

#[test]
fn check_query_parameter_existence() {
    let src = r#"context.Request.Url.Query.ContainsKey("parameter-name") == true"#;
    assert!(boolean(x(
        src,
        &mut MemoryContext::new().query_param("parameter-name", "q")
    )));
    assert!(!boolean(x(src, &mut MemoryContext::new())));
}

#[test]
fn check_query_parameter_value() {
    let src = r#"context.Request.Url.Query.GetValueOrDefault("parameter-name", "").Equals("expected-value", StringComparison.OrdinalIgnoreCase) == true"#;
    assert!(boolean(x(
        src,
        &mut MemoryContext::new().query_param("parameter-name", "EXPECTED-value")
    )));
    assert!(!boolean(x(
        src,
        &mut MemoryContext::new().query_param("parameter-name", "no")
    )));
}

// --- Interact with policy variables ---------------------------------------------------------

#[test]
fn get_policy_variable() {
    let src =
        r#"context.Variables.GetValueOrDefault<string>("variable-name","optional-default-value")"#;
    assert_eq!(
        text(x(
            src,
            &mut MemoryContext::new().variable("variable-name", "set")
        )),
        "set"
    );
    assert_eq!(
        text(x(src, &mut MemoryContext::new())),
        "optional-default-value"
    );
}

#[test]
fn check_policy_variable_existence() {
    let src = r#"context.Variables.ContainsKey("variable-name") == true"#;
    assert!(boolean(x(
        src,
        &mut MemoryContext::new().variable("variable-name", 1)
    )));
    assert!(!boolean(x(src, &mut MemoryContext::new())));
}

#[test]
fn check_policy_variable_value() {
    let src = r#"context.Variables.GetValueOrDefault<string>("variable-name","").Equals("expected-value", StringComparison.OrdinalIgnoreCase)"#;
    assert!(boolean(x(
        src,
        &mut MemoryContext::new().variable("variable-name", "Expected-Value")
    )));
    assert!(!boolean(x(src, &mut MemoryContext::new())));
}

// --- Interact with JSON bodies --------------------------------------------------------------

const BODY: &str = r#"{"root": {"child jsonpath": "found", "n": 1}}"#;

#[test]
fn get_value_from_json_body() {
    let src = r#"(string)context.Request.Body.As<JObject>(preserveContent: true).SelectToken("root.child jsonpath")"#;
    let mut ctx = MemoryContext::new().body(BODY);
    assert_eq!(text(x(src, &mut ctx)), "found");
    // preserveContent: true leaves the body for the next reader.
    assert_eq!(text(x(src, &mut ctx)), "found");
}

#[test]
fn get_value_from_json_response_variable() {
    let src = r#"(string)((IResponse)context.Variables["response-variable-name"]).Body.As<JObject>().SelectToken("root.child jsonpath")"#;
    let response = StoredMessage {
        status_code: 200,
        status_reason: "OK".into(),
        headers: vec![],
        body: Arc::from(BODY.as_bytes()),
    };
    let mut ctx =
        MemoryContext::new().variable("response-variable-name", Value::Message(Arc::new(response)));
    assert_eq!(text(x(src, &mut ctx)), "found");
}

#[test]
fn add_property_to_json_body() {
    let src = "@{JObject body = context.Request.Body.As<JObject>(); \nbody.Add(new JProperty(\"property-name\", \"property-value\"));\nreturn body.ToString(); }";
    let mut ctx = MemoryContext::new().body(r#"{"a": 1}"#);
    let out = text(run(src, &mut ctx));
    assert_eq!(
        out,
        "{\n  \"a\": 1,\n  \"property-name\": \"property-value\"\n}"
    );
    // Without preserveContent the body is consumed, as in APIM.
    assert_eq!(ctx.request_body, None);
}

// --- Interact with JSON Web Tokens ----------------------------------------------------------

fn jwt(claims: &str) -> String {
    use base64::Engine;
    let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.sig",
        e.encode(r#"{"alg":"HS256","typ":"JWT"}"#),
        e.encode(claims)
    )
}

#[test]
fn read_claim_from_bearer_token() {
    let src = r#"context.Request.Headers.GetValueOrDefault("Authorization")?.Split(' ')?[1].AsJwt()?.Claims["claim-name"].FirstOrDefault()"#;
    let token = jwt(r#"{"claim-name": ["first", "second"], "sub": "me"}"#);
    let mut ctx = MemoryContext::new().header("Authorization", &format!("Bearer {token}"));
    assert_eq!(text(x(src, &mut ctx)), "first");
    // No header: `?.` makes the whole chain null instead of failing.
    assert!(x(src, &mut MemoryContext::new()).is_null());
}

// --- Interact with client certificates ------------------------------------------------------

fn cert() -> Arc<CertificateInfo> {
    Arc::new(CertificateInfo {
        subject: "expected-subject-name".into(),
        issuer: "trusted-issuer".into(),
        thumbprint: "EXPECTED-THUMBPRINT-IN-UPPER-CASE".into(),
        serial_number: "01".into(),
        not_before: DateTime::default(),
        not_after: DateTime::default(),
    })
}

fn with_cert() -> MemoryContext {
    let mut ctx = MemoryContext::new();
    ctx.client_certificate = Some(cert());
    ctx.certificate_valid = true;
    ctx
}

#[test]
fn check_client_certificate_existence() {
    assert!(boolean(x(
        "context.Request.Certificate != null",
        &mut with_cert()
    )));
    assert!(!boolean(x(
        "context.Request.Certificate != null",
        &mut MemoryContext::new()
    )));
}

#[test]
fn check_client_certificate_valid_with_revocation() {
    assert!(boolean(x(
        "context.Request.Certificate.Verify() == true",
        &mut with_cert()
    )));
    let mut invalid = with_cert();
    invalid.certificate_valid = false;
    assert!(!boolean(x(
        "context.Request.Certificate.Verify() == true",
        &mut invalid
    )));
}

#[test]
fn check_client_certificate_valid_without_revocation() {
    assert!(boolean(x(
        "context.Request.Certificate.VerifyNoRevocation() == true",
        &mut with_cert()
    )));
}

#[test]
fn check_client_certificate_issuer() {
    assert!(boolean(x(
        r#"context.Request.Certificate.Issuer == "trusted-issuer""#,
        &mut with_cert()
    )));
}

#[test]
fn check_client_certificate_subject() {
    let src = r#"context.Request.Certificate.SubjectName.Name == "expected-subject-name""#;
    assert!(boolean(x(src, &mut with_cert())));
}

#[test]
fn check_client_certificate_thumbprint() {
    let src = r#"context.Request.Certificate.Thumbprint == "EXPECTED-THUMBPRINT-IN-UPPER-CASE""#;
    assert!(boolean(x(src, &mut with_cert())));
}

#[test]
fn check_client_certificate_uploaded() {
    let src = "context.Deployment.Certificates.Any(c => c.Value.Thumbprint == context.Request.Certificate.Thumbprint) == true";
    let mut ctx = with_cert();
    assert!(!boolean(x(src, &mut ctx)));
    ctx.deployment_certificates = vec![("EXPECTED-THUMBPRINT-IN-UPPER-CASE".into(), cert())];
    assert!(boolean(x(src, &mut ctx)));
}

// --- The corpus of example policies ---------------------------------------------------------

/// Extracts `@( … )` / `@{ … }` from XML text by balancing brackets outside string literals,
/// then decodes the XML entities the policy parser would have decoded.
fn extract(xml: &str) -> Vec<String> {
    let b = xml.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 1 < b.len() {
        if b[i] != b'@' || !matches!(b[i + 1], b'(' | b'{') {
            i += 1;
            continue;
        }
        let (open, close) = if b[i + 1] == b'(' {
            (b'(', b')')
        } else {
            (b'{', b'}')
        };
        let (mut depth, mut j, mut quote) = (0, i + 1, None::<u8>);
        while j < b.len() {
            let c = b[j];
            match quote {
                Some(_) if c == b'\\' => j += 1,
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None if c == b'"' || c == b'\'' => quote = Some(c),
                None if c == open => depth += 1,
                None if c == close => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                None => {}
            }
            j += 1;
        }
        let end = (j + 1).min(b.len());
        let raw = String::from_utf8_lossy(&b[i..end]);
        out.push(
            raw.replace("&quot;", "\"")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&apos;", "'")
                .replace("&amp;", "&"),
        );
        i = end;
    }
    out
}

#[test]
fn corpus_examples_compile() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/corpus/apim-policy-snippets/examples");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("corpus not found at {}; skipping", dir.display());
        return;
    };
    let mut files: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    files.sort();
    let (mut total, mut ok) = (0, 0);
    let mut refused: Vec<(String, String)> = Vec::new();
    for f in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "xml"))
    {
        let xml = std::fs::read_to_string(f).unwrap_or_default();
        for src in extract(&xml) {
            total += 1;
            match Expression::compile(&src) {
                Ok(_) => ok += 1,
                Err(e) => refused.push((
                    src.lines().next().unwrap_or("").chars().take(70).collect(),
                    e.message,
                )),
            }
        }
    }
    println!("corpus expressions: {ok} of {total} compile");
    for (src, why) in &refused {
        println!(
            "  refused: {src}\n      -> {}",
            why.chars().take(160).collect::<String>()
        );
    }
    assert!(total > 250, "extraction found only {total} expressions");
    assert!(ok >= 277, "only {ok} of {total} corpus expressions compile");
}

// --- Semantics ------------------------------------------------------------------------------

#[test]
fn statement_blocks_loops_and_budget() {
    let mut ctx = MemoryContext::new();
    let src = "@{ var total = 0; for (var i = 0; i < 10; i++) { if (i % 2 == 0) { continue; } total += i; } return total; }";
    assert!(matches!(run(src, &mut ctx), Value::Int(25)));
    let forever = Expression::compile("@{ while (true) { } return 1; }").unwrap();
    let err = forever.evaluate(&mut ctx).unwrap_err();
    assert!(err.message.contains("budget"), "{}", err.message);
    let caught = Expression::compile(
        "@{ try { while (true) { } } catch (Exception e) { return 0; } return 1; }",
    )
    .unwrap();
    assert!(
        caught.evaluate(&mut ctx).is_err(),
        "a budget overrun must not be catchable"
    );
}

#[test]
fn compile_errors_point_at_the_construct() {
    let e = Expression::compile("@(context.Request.Foo)").unwrap_err();
    assert_eq!(e.offset, 17);
    assert!(e.message.contains("members are"), "{}", e.message);
    let e = Expression::compile("@(Math.Max(1))").unwrap_err();
    assert!(e.message.contains("takes 2"), "{}", e.message);
    let e = Expression::compile("@{ lock (x) { } return 1; }").unwrap_err();
    assert!(e.message.contains("`lock`"), "{}", e.message);
    let e = Expression::compile("@(new XDocument())").unwrap_err();
    assert!(e.message.contains("XDocument"), "{}", e.message);
    let e = Expression::compile("@(unknown + 1)").unwrap_err();
    assert_eq!(e.offset, 2);
}

#[test]
fn runtime_errors_are_errors_not_panics() {
    let mut ctx = MemoryContext::new();
    for src in [
        r#"@(context.Variables["missing"])"#,
        r#"@(int.Parse("abc"))"#,
        r#"@("abc".Substring(5))"#,
        "@(1 / 0)",
        r#"@((int)context.Variables.GetValueOrDefault("x"))"#,
        r#"@(context.User.Email)"#,
        r#"@(JObject.Parse("[1]"))"#,
    ] {
        let mut c = ctx.clone().absent(CtxObj::User);
        let e = Expression::compile(src).unwrap_or_else(|e| panic!("{src}: {}", e.message));
        assert!(e.evaluate(&mut c).is_err(), "{src} should fail");
    }
    ctx = ctx.prop(Prop::RequestMethod, "GET");
    assert_eq!(text(run("@(context.Request.Method)", &mut ctx)), "GET");
}

#[test]
fn dotnet_surface() {
    let mut ctx = MemoryContext::new();
    ctx.now = DateTime {
        ticks: 638_400_000_000_000_000,
        kind: Default::default(),
    };
    let cases: &[(&str, &str)] = &[
        (r#"@(string.Format("{0}-{1:D3}", "a", 7))"#, "a-007"),
        (r#"@(string.Join(",", new[] { "a", "b" }))"#, "a,b"),
        (r#"@($"x={1 + 2}")"#, "x=3"),
        (
            r#"@(Convert.ToBase64String(Encoding.UTF8.GetBytes("hi")))"#,
            "aGk=",
        ),
        (
            r#"@(Encoding.UTF8.GetString(Convert.FromBase64String("aGk=")))"#,
            "hi",
        ),
        (r#"@(Uri.EscapeDataString("a b/c"))"#, "a%20b%2Fc"),
        (
            r#"@(DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ"))"#,
            "2024-01-04T21:20:00Z",
        ),
        (
            r#"@(DateTime.UtcNow.AddDays(1).ToString("o"))"#,
            "2024-01-05T21:20:00.0000000Z",
        ),
        (
            r#"@(new DateTime(1970, 1, 2).ToString("s"))"#,
            "1970-01-02T00:00:00",
        ),
        (
            r#"@(((JObject)JObject.Parse("{\"a\":{\"b\":[1,2]}}"))["a"]["b"][1].ToString())"#,
            "2",
        ),
        (
            r#"@(JObject.Parse("{\"a\":5}").Value<int>("a").ToString())"#,
            "5",
        ),
        (
            r#"@{ int n; return int.TryParse("12", out n) ? (n * 2).ToString() : "no"; }"#,
            "24",
        ),
        (r#"@("Basic dXNlcjpwYXNz".AsBasic().Password)"#, "pass"),
        (r#"@(Math.Max(3, 9).ToString())"#, "9"),
        (r#"@("a,b,,c".Split(',').Length.ToString())"#, "4"),
        (
            r#"@(new List<string> { "x", "y" }.Where(s => s != "x").First())"#,
            "y",
        ),
        (r#"@(Guid.NewGuid().ToString().Length.ToString())"#, "36"),
    ];
    for (src, want) in cases {
        assert_eq!(text(run(src, &mut ctx)), *want, "{src}");
    }
}

#[test]
fn headers_and_bodies_are_read_lazily() {
    let e = Expression::compile(
        r#"@(context.Request.Method == "GET" || context.Request.Headers.ContainsKey("x"))"#,
    )
    .unwrap();
    let mut ctx = MemoryContext::new()
        .prop(Prop::RequestMethod, "GET")
        .body("{}");
    assert!(e.evaluate_bool(&mut ctx).unwrap());
    assert_eq!((ctx.header_reads, ctx.body_reads), (0, 0));
}

/// Found by the fuzzer: input that is only whitespace (a form feed) once crashed the parser.
#[test]
fn whitespace_only_sources_are_refused_not_fatal() {
    for src in ["\u{c}", " ", "\t\n", ""] {
        assert!(Expression::compile(src).is_err(), "{src:?}");
    }
}

/// Found by the fuzzer: `112.ToString("n99999")` panicked in the formatter. Precision is
/// bounded as in .NET Framework (99 digits) and the excess is an evaluation error.
#[test]
fn oversized_numeric_formats_are_errors_not_panics() {
    let e = Expression::compile("@(112.ToString(\"n99999\"))").unwrap();
    let err = e.evaluate(&mut MemoryContext::new()).unwrap_err();
    assert!(err.message.contains("more than 99 digits"), "{err:?}");
    let ok = Expression::compile("@(1.5.ToString(\"F3\"))").unwrap();
    assert_eq!(
        ok.evaluate_to_string(&mut MemoryContext::new()).unwrap(),
        "1.500"
    );
}

// --- Cryptography and regular expressions ---------------------------------------------------

/// Lower-case hex of a `byte[]` expression, as test vectors print it.
fn hex_of(bytes_expr: &str) -> String {
    text(x(
        &format!("BitConverter.ToString({bytes_expr}).Replace(\"-\", \"\").ToLowerInvariant()"),
        &mut MemoryContext::new(),
    ))
}

#[test]
fn hmac_matches_rfc_4231_and_2202() {
    let jefe = r#"(Encoding.UTF8.GetBytes("Jefe")).ComputeHash(Encoding.UTF8.GetBytes("what do ya want for nothing?"))"#;
    let cases = [
        ("HMACSHA256", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        ("HMACSHA1", "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"),
        ("HMACSHA384", "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649"),
        ("HMACSHA512", "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"),
    ];
    for (class, want) in cases {
        assert_eq!(hex_of(&format!("new {class}{jefe}")), want, "{class}");
    }
    // RFC 4231 test case 1: a 20-byte key of 0x0b, through every spelling of the object.
    let case1 = "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7";
    let key = r#"Convert.FromBase64String("CwsLCwsLCwsLCwsLCwsLCwsLCws=")"#;
    let data = r#"Encoding.UTF8.GetBytes("Hi There")"#;
    assert_eq!(
        hex_of(&format!(
            "new System.Security.Cryptography.HMACSHA256({key}).ComputeHash({data})"
        )),
        case1
    );
    assert_eq!(
        hex_of(&format!(
            "new HMACSHA256 {{ Key = {key} }}.ComputeHash({data})"
        )),
        case1
    );
    assert_eq!(
        hex_of(&format!("HMACSHA256.HashData({key}, {data})")),
        case1
    );
    let mut ctx = MemoryContext::new();
    let block = format!(
        "@{{ using (var h = new HMACSHA256()) {{ h.Key = {key}; return Convert.ToBase64String(h.ComputeHash({data})); }} }}"
    );
    let using_var = format!(
        "@{{ using var h = new HMACSHA256({key}); HMACSHA256 same = h; return Convert.ToBase64String(same.ComputeHash({data})); }}"
    );
    assert_eq!(text(run(&block, &mut ctx)), text(run(&using_var, &mut ctx)));
    assert!(boolean(x(
        &format!("new HMACSHA256({key}).Key.Length == 20 && new HMACSHA512().HashSize == 512"),
        &mut ctx
    )));
    let e = Expression::compile("@(new HMACSHA256 { Nope = 1 })").unwrap_err();
    assert!(e.message.contains("Nope"), "{}", e.message);
}

#[test]
fn hashes_of_abc() {
    let abc = r#"(Encoding.UTF8.GetBytes("abc"))"#;
    assert_eq!(
        hex_of(&format!("SHA256.Create().ComputeHash{abc}")),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        hex_of(&format!("SHA256.HashData{abc}")),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        hex_of(&format!("SHA1.Create().ComputeHash{abc}")),
        "a9993e364706816aba3e25717850c26c9cd0d89d"
    );
    assert_eq!(
        hex_of(&format!("MD5.Create().ComputeHash{abc}")),
        "900150983cd24fb0d6963f7d28e17f72"
    );
    assert_eq!(
        hex_of(&format!("System.Security.Cryptography.SHA512.Create().ComputeHash{abc}")),
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
    );
}

#[test]
fn aes_cbc_encrypt_and_decrypt() {
    // NIST SP 800-38A F.2.1, first block: CBC-AES128 (PKCS7 then adds a padding block).
    let (key, iv) = (
        r#"Convert.FromBase64String("K34VFiiu0qar9xWICc9PPA==")"#,
        r#"Convert.FromBase64String("AAECAwQFBgcICQoLDA0ODw==")"#,
    );
    let mut ctx = MemoryContext::new();
    let enc = format!(
        r#"Convert.FromBase64String("a8G+4i5An5bpPX4Rc5MXKg==").Encrypt("Aes", {key}, {iv})"#
    );
    assert_eq!(
        text(x(
            &format!("Convert.ToBase64String({enc}.Take(16).ToArray())"),
            &mut ctx
        )),
        "dkmrrIEZskbO6Y6bEukZfQ=="
    );
    assert!(boolean(x(&format!("{enc}.Length == 32"), &mut ctx)));
    let round = format!(
        r#"Encoding.UTF8.GetString(Encoding.UTF8.GetBytes("secret text").Encrypt("Rijndael", {key}, {iv}).Decrypt("System.Security.Cryptography.Aes", {key}, {iv}))"#
    );
    assert_eq!(text(x(&round, &mut ctx)), "secret text");
    // The SymmetricAlgorithm overloads, with a 256-bit key set through the object.
    let src = format!(
        r#"@{{ var aes = Aes.Create(); var k = new byte[32]; k[0] = 7; aes.Key = k; aes.IV = {iv};
            var c = Encoding.UTF8.GetBytes("hello").Encrypt(aes);
            return Encoding.UTF8.GetString(c.Decrypt(aes, k, {iv})) + Encoding.UTF8.GetString(aes.DecryptCbc(c, aes.IV)); }}"#
    );
    assert_eq!(text(run(&src, &mut ctx)), "hellohello");
    for (src, want) in [
        (
            format!(r#"new byte[3].Encrypt("DES", {key}, {iv})"#),
            "not supported",
        ),
        (
            format!(r#"new byte[3].Encrypt("Aes", new byte[5], {iv})"#),
            "16, 24 or 32 bytes",
        ),
        (
            format!(r#"new byte[16].Decrypt("Aes", {key}, {iv})"#),
            "padding is invalid",
        ),
    ] {
        let e = Expression::compile(&format!("@({src})")).unwrap();
        let err = e.evaluate(&mut ctx).unwrap_err();
        assert!(err.message.contains(want), "{src}: {}", err.message);
        assert!(!err.message.contains("K34V"), "no key material in errors");
    }
}

#[test]
fn regex_matches_replaces_and_refuses() {
    let mut ctx = MemoryContext::new().header("Cache-Control", "public, max-age=120");
    let src = r#"@{ var header = context.Request.Headers.GetValueOrDefault("Cache-Control","");
        var maxAge = Regex.Match(header, @"max-age=(?<maxAge>\d+)").Groups["maxAge"]?.Value;
        return (!string.IsNullOrEmpty(maxAge))?int.Parse(maxAge):300; }"#;
    assert!(matches!(run(src, &mut ctx), Value::Int(120)));
    assert!(matches!(
        run(src, &mut MemoryContext::new()),
        Value::Int(300)
    ));
    assert!(boolean(x(
        r#"Regex.IsMatch("ABC-12", @"^[a-z]+-\d+$", RegexOptions.IgnoreCase | RegexOptions.Compiled)"#,
        &mut ctx
    )));
    assert!(!boolean(x(
        r#"Regex.IsMatch("ABC-12", @"^[a-z]+-\d+$")"#,
        &mut ctx
    )));
    let m = r#"Regex.Match("id: 42, id: 7", @"id: (\d+)")"#;
    assert_eq!(
        text(x(
            &format!(r#"{m}.Value + "|" + {m}.Groups[1].Value + "|" + {m}.Index"#),
            &mut ctx
        )),
        "id: 42|42|0"
    );
    assert!(!boolean(x(
        r#"Regex.Match("x", @"\d").Success || Regex.Match("x", "(x)").Groups[5].Success"#,
        &mut ctx
    )));
    assert_eq!(
        text(x(
            r#"Regex.Replace("2024-05-01", @"(\d+)-(\d+)-(\d+)", "$3/$2/$1")"#,
            &mut ctx
        )),
        "01/05/2024"
    );
    assert_eq!(
        text(x(r#"new Regex(@"\s+").Replace("a  b   c", " ")"#, &mut ctx)),
        "a b c"
    );
    assert!(matches!(
        x(r#"Regex.Matches("a1b22c333", @"\d+").Count()"#, &mut ctx),
        Value::Int(3)
    ));
    // .NET look-behind cannot run in linear time: refused when the policy is loaded.
    let e = Expression::compile(r#"@(Regex.IsMatch("ab", "(?<=a)b"))"#).unwrap_err();
    assert!(e.message.contains("not supported"), "{}", e.message);
    assert_eq!(e.offset, 22);
    // A pattern computed at run time is checked when it runs.
    let dynamic = Expression::compile(r#"@(Regex.IsMatch("ab", "(?<=" + "a)b"))"#).unwrap();
    assert!(dynamic
        .evaluate(&mut ctx)
        .unwrap_err()
        .message
        .contains("not supported"));
    let huge = Expression::compile(r#"@(Regex.IsMatch("a", @"\w{1000}{1000}"))"#).unwrap_err();
    assert!(huge.message.contains("not supported"), "{}", huge.message);
}

/// Found by the fuzzer: 300 nested parentheses overflowed the stack. Nesting is bounded, and
/// reasonable nesting still compiles.
#[test]
fn deep_nesting_is_refused_not_fatal() {
    let deep = format!("@({}1{})", "(".repeat(300), ")".repeat(300));
    let e = Expression::compile(&deep).unwrap_err();
    assert!(e.message.contains("nests more than"), "{e}");
    let unary = format!("@({}true)", "!".repeat(300));
    assert!(Expression::compile(&unary).is_err());
    let interpolated = format!("@({}1{})", "$\"{".repeat(40), "}\"".repeat(40));
    assert!(Expression::compile(&interpolated).is_err());
    let fine = format!("@({}1{})", "(".repeat(20), ")".repeat(20));
    assert!(Expression::compile(&fine).is_ok());
}

proptest::proptest! {
    #[test]
    fn compile_never_panics(s in "\\PC*") {
        let _ = Expression::compile(&s);
        let _ = Expression::compile(&format!("@({s})"));
        let _ = Expression::compile(&format!("@{{{s}}}"));
    }

    #[test]
    fn compile_never_panics_on_expression_like_text(s in "[@(){}\\[\\]\"'$.a-z0-9 <>=!?:;,+*/%&|^~-]{0,40}") {
        if let Ok(e) = Expression::compile(&format!("@({s})")) {
            let _ = e.evaluate(&mut MemoryContext::new());
        }
    }
}

#[test]
fn absent_context_objects_are_null_however_they_are_reached() {
    // The checker resolves `context.X` chains ahead of time; an absent object must still
    // read as null, and `?.` must still stop at it.
    let mut ctx = MemoryContext::new().absent(CtxObj::User);
    for src in ["@(context.User == null)", "@(context.User?.Email == null)"] {
        assert!(matches!(run(src, &mut ctx), Value::Bool(true)), "{src}");
    }
}
