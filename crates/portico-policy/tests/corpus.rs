//! Compiles every policy in Microsoft's snippet corpus and reports how many compile, the
//! first construct each failing one refuses, and the most refused constructs. The floor
//! catches parser regressions; raise it as policies and expressions land.

use std::collections::BTreeMap;
use std::path::PathBuf;

use portico_policy::{NamedValue, NamedValues, PolicyDocument, PolicyError};

/// Policies that compile today. Raise it as policies and expression features land.
const FLOOR: usize = 41;
/// Policies that compile or whose only errors are expressions: what the XML layer accepts.
const STRUCTURAL_FLOOR: usize = 47;

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/corpus/apim-policy-snippets/examples")
}

/// Snippets reference named values their readers are told to create; give each one a
/// placeholder so the test measures policies and expressions, not missing configuration.
/// A number, because snippets use named values inside expressions as numbers and strings.
fn placeholder_named_values(xml: &str) -> NamedValues {
    let mut values = NamedValues::new();
    for part in xml.split("{{").skip(1) {
        if let Some((name, _)) = part.split_once("}}") {
            values.insert(name, NamedValue::new("42", false));
        }
    }
    values
}

/// What a report groups failures by: the refused policy, or the kind of error.
fn construct(e: &PolicyError) -> String {
    let policy = e
        .policy
        .as_deref()
        .map(|p| format!("<{p}>"))
        .unwrap_or_default();
    if e.message.starts_with("expression does not compile") {
        "expression".to_owned()
    } else if e.message.starts_with("malformed XML") {
        "malformed XML".to_owned()
    } else if e
        .message
        .starts_with(portico_policy::policies::NOT_SUPPORTED)
    {
        policy
    } else {
        format!("{policy} {}", e.message)
    }
}

#[test]
fn snippet_corpus_compiles() {
    let dir = corpus_dir();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("corpus not found at {}: skipped", dir.display());
        return;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    files.sort();
    let mut ok = 0;
    let mut structural_ok = 0;
    let mut first_refused: BTreeMap<String, usize> = BTreeMap::new();
    let mut first_non_expr: BTreeMap<String, usize> = BTreeMap::new();
    for path in &files {
        let xml = std::fs::read_to_string(path).expect("readable corpus file");
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        match PolicyDocument::parse_with(&xml, &placeholder_named_values(&xml)) {
            Ok(_) => ok += 1,
            Err(errors) => {
                let first = errors.first().expect("errors are never empty");
                println!("REFUSED {name}: {}", short(first));
                *first_refused.entry(construct(first)).or_default() += 1;
                match errors.iter().find(|e| construct(e) != "expression") {
                    Some(e) => {
                        *first_non_expr.entry(construct(e)).or_default() += 1;
                        if e != first {
                            println!("    first refusal besides expressions: {}", short(e));
                        }
                    }
                    None => structural_ok += 1,
                }
            }
        }
    }
    let total = files.len();
    println!("\ncompiled {ok} of {total} ({}%)", ok * 100 / total.max(1));
    let structural = ok + structural_ok;
    println!("accepted apart from expressions: {structural} of {total}");
    print_top(
        "top refused constructs (first refusal per policy):",
        first_refused,
    );
    print_top(
        "top refused constructs besides expressions:",
        first_non_expr,
    );
    assert!(
        ok >= FLOOR,
        "only {ok} of {total} compile, floor is {FLOOR}"
    );
    assert!(
        structural >= STRUCTURAL_FLOOR,
        "only {structural} of {total} pass the XML layer, floor is {STRUCTURAL_FLOOR}"
    );
}

fn print_top(title: &str, counts: BTreeMap<String, usize>) {
    let mut top: Vec<_> = counts.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    println!("{title}");
    for (construct, n) in top {
        println!("  {n:3}  {construct}");
    }
}

/// One line of an error, so a long expression quoted in a message does not flood the report.
fn short(e: &PolicyError) -> String {
    let text = e.to_string();
    let line = text.lines().next().unwrap_or_default();
    match line.char_indices().nth(160) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_owned(),
    }
}
