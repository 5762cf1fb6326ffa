//! Fuzzes the Liquid compiler (lexer, markup, tags) and, when a template compiles, one
//! rendering against a context with a JSON body, headers, a matched parameter and variables.
//! Neither may panic, whatever the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portico_policy::expr::{MemoryContext, Msg, Value};
use portico_policy::liquid::{BodyBinding, LiquidTemplate};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(template) = LiquidTemplate::compile(text) else {
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
    let _ = template.render(&mut ctx, binding);
});
