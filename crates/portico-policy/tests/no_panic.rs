//! `PolicyDocument::parse` never panics: on arbitrary strings, on XML-ish strings, and on
//! corpus documents with bytes cut, duplicated or replaced.

use std::path::PathBuf;
use std::sync::OnceLock;

use portico_policy::{Fragment, NamedValue, NamedValues, PolicyDocument};
use proptest::prelude::*;

fn named_values() -> NamedValues {
    let mut v = NamedValues::new();
    v.insert("nv", NamedValue::new("@(1)", false));
    v.insert("secret", NamedValue::new("hidden", true));
    v
}

fn parse_all(xml: &str) {
    if let Err(e) = PolicyDocument::parse_with(xml, &named_values()) {
        let rendered = e.to_string();
        assert!(!rendered.is_empty());
        assert!(!rendered.contains("hidden"), "a secret leaked: {rendered}");
    }
    let _ = Fragment::parse_with(xml, &named_values());
}

fn corpus() -> &'static [String] {
    static CORPUS: OnceLock<Vec<String>> = OnceLock::new();
    CORPUS.get_or_init(load_corpus)
}

fn load_corpus() -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/corpus/apim-policy-snippets/examples");
    let mut docs: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
                .collect()
        })
        .unwrap_or_default();
    // Without the corpus, a small document of our own still gives mutations something to cut.
    docs.push(
        r#"<policies><inbound><base/><choose><when condition="@(a < "b")"><set-header name="x"><value>{{nv}}</value></set-header></when></choose></inbound><backend><forward-request timeout="{{secret}}"/></backend></policies>"#
            .to_owned(),
    );
    docs
}

/// A mutation: at a relative position, delete a span, duplicate it, or overwrite it.
#[derive(Debug, Clone)]
enum Edit {
    Cut(f64, usize),
    Dup(f64, usize),
    Put(f64, String),
}

fn apply(doc: &str, edits: &[Edit]) -> String {
    let mut s = doc.to_owned();
    for edit in edits {
        let at = |f: f64, s: &str| {
            let mut i = ((s.len() as f64) * f) as usize;
            while !s.is_char_boundary(i) {
                i -= 1;
            }
            i
        };
        let end = |i: usize, n: usize, s: &str| {
            let mut e = (i + n).min(s.len());
            while !s.is_char_boundary(e) {
                e -= 1;
            }
            e
        };
        match edit {
            Edit::Cut(f, n) => {
                let i = at(*f, &s);
                let e = end(i, *n, &s);
                s.replace_range(i..e, "");
            }
            Edit::Dup(f, n) => {
                let i = at(*f, &s);
                let e = end(i, *n, &s);
                let span = s[i..e].to_owned();
                s.insert_str(e, &span);
            }
            Edit::Put(f, text) => {
                let i = at(*f, &s);
                s.insert_str(i, text);
            }
        }
    }
    s
}

fn edit() -> impl Strategy<Value = Edit> {
    let piece = prop::sample::select(vec![
        "<",
        ">",
        "\"",
        "'",
        "&",
        "&amp;",
        "@(",
        "@{",
        ")",
        "}",
        "{{",
        "}}",
        "{{nv}}",
        "{{secret}}",
        "<base/>",
        "</when>",
        "<!--",
        "-->",
        "<![CDATA[",
        "$\"",
        "@\"",
        "\\",
        "é",
        "\n",
    ]);
    prop_oneof![
        (0.0..1.0f64, 0..40usize).prop_map(|(f, n)| Edit::Cut(f, n)),
        (0.0..1.0f64, 0..40usize).prop_map(|(f, n)| Edit::Dup(f, n)),
        (0.0..1.0f64, piece).prop_map(|(f, p)| Edit::Put(f, p.to_owned())),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_strings(s in ".*") {
        parse_all(&s);
    }

    #[test]
    fn xml_ish_strings(s in "(<[a-z-]{0,12}( [a-z-]{1,8}=\"[^\"]{0,12}\")*/?>|</[a-z-]{0,12}>|@\\(|@\\{|[^<]{0,8}){0,24}") {
        parse_all(&s);
        parse_all(&format!("<policies><inbound>{s}</inbound></policies>"));
    }

    #[test]
    fn mutated_corpus_documents(pick in any::<prop::sample::Index>(), edits in prop::collection::vec(edit(), 1..6)) {
        let docs = corpus();
        let doc = &docs[pick.index(docs.len())];
        parse_all(&apply(doc, &edits));
    }
}
