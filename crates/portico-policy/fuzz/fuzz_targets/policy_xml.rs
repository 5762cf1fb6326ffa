//! Fuzzes the XML policy parser: any input must give a document or errors, never a panic.
//! Run with `cargo +nightly fuzz run policy_xml` from `crates/portico-policy`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use portico_policy::{Fragment, NamedValue, NamedValues, PolicyDocument};

fuzz_target!(|data: &[u8]| {
    let Ok(xml) = std::str::from_utf8(data) else {
        return;
    };
    let mut values = NamedValues::new();
    values.insert("nv", NamedValue::new("@(1)", false));
    values.insert("secret", NamedValue::new("s", true));
    if let Err(errors) = PolicyDocument::parse_with(xml, &values) {
        // Rendering errors exercises the position arithmetic too.
        let _ = errors.to_string();
    }
    let _ = Fragment::parse_with(xml, &values);
});
