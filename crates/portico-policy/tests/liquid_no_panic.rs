//! `LiquidTemplate::compile` and `render` never panic: on arbitrary strings and on strings
//! built from Liquid's own pieces (tags, outputs, filters, paths), rendered against a context
//! with a JSON body. The fuzz target `liquid` does the same at greater depth.

use portico_policy::expr::{MemoryContext, Msg, Value};
use portico_policy::liquid::{BodyBinding, LiquidTemplate};
use proptest::prelude::*;

fn compile_and_render(src: &str) {
    let Ok(t) = LiquidTemplate::compile(src) else {
        return;
    };
    let mut ctx = MemoryContext::new()
        .header("Content-Type", "application/json")
        .header("X-Id", "7")
        .matched("id", "42")
        .variable("v", Value::str("x"))
        .body(r#"{"a":[1,2.5,"s",null,{"b":true}],"d":"2024-01-02T03:04:05Z","n":-3}"#);
    let binding = BodyBinding {
        msg: Some(Msg::Request),
        parse_dates: true,
        nil_is_null: false,
    };
    let _ = t.render(&mut ctx, binding);
}

const PIECES: &[&str] = &[
    "{{",
    "}}",
    "{%",
    "%}",
    "-",
    " ",
    "x",
    "body",
    "body.a",
    "body.a[0]",
    "body.a[-1]",
    "context.Request.Headers",
    "context.Request.MatchedParameters[\"id\"]",
    "context.Variables.v",
    "| Upcase",
    "| Plus: 1",
    "| DividedBy: 0",
    "| Times: 3",
    "| Replace: '(', 'x'",
    "| Date: 'yyyy'",
    "| Slice: -9, 99",
    "| Split: ''",
    "| Join",
    "| Size",
    "'s'",
    "\"t\"",
    "1",
    "-2.5",
    "(1..3)",
    "if",
    "elsif",
    "else",
    "endif",
    "unless",
    "endunless",
    "for",
    "in",
    "endfor",
    "JSONArrayFor",
    "endJSONArrayFor",
    "case",
    "when",
    "endcase",
    "assign",
    "=",
    "capture",
    "endcapture",
    "raw",
    "endraw",
    "comment",
    "endcomment",
    "break",
    "continue",
    "limit:",
    "offset:",
    "reversed",
    "==",
    "<",
    "contains",
    "and",
    "or",
    "empty",
    "blank",
    "forloop.index",
    "[",
    "]",
    ".",
    ",",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_strings(s in "\\PC{0,200}") {
        compile_and_render(&s);
    }

    #[test]
    fn liquid_shaped_strings(parts in prop::collection::vec(prop::sample::select(PIECES), 0..60)) {
        compile_and_render(&parts.join(""));
        compile_and_render(&parts.join(" "));
    }
}
