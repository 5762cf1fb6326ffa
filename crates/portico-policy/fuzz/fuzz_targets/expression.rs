//! Fuzzes the expression compiler (lexer, parser, checker) and, when an input compiles, one
//! evaluation against an empty in-memory context. Neither may panic, whatever the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portico_policy::expr::{Expression, MemoryContext};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for source in [text.to_string(), format!("@({text})"), format!("@{{{text}}}")] {
        if let Ok(expr) = Expression::compile(&source) {
            let mut ctx = MemoryContext::new();
            ctx.budget = Some(10_000);
            let _ = expr.evaluate(&mut ctx);
        }
    }
});
