//! Composition: `<base/>` across scopes, missing scopes, fragments (nested, unknown, cyclic,
//! misplaced).

use std::collections::HashMap;

use portico_policy::compose::{ResolvedDocument, Scope};
use portico_policy::policies::Policy;
use portico_policy::{compose, Fragment, Fragments, PolicyDocument, PolicyNode, Scopes, Section};

fn fragments(list: &[(&str, &str)]) -> Result<Fragments, portico_policy::PolicyErrors> {
    let map: HashMap<String, Fragment> = list
        .iter()
        .map(|(id, xml)| ((*id).to_owned(), Fragment::parse(xml).unwrap()))
        .collect();
    Fragments::new(map)
}

fn resolve(xml: &str, scope: Scope, f: &Fragments) -> ResolvedDocument {
    f.resolve(&PolicyDocument::parse(xml).unwrap(), scope)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The variable names set in a section, to read composition results at a glance.
fn vars(nodes: &[PolicyNode]) -> Vec<String> {
    nodes
        .iter()
        .map(|n| match &n.policy {
            Policy::SetVariable(v) => v.name.clone(),
            other => other.name().to_owned(),
        })
        .collect()
}

fn doc(inbound: &str) -> String {
    format!("<policies><inbound>{inbound}</inbound></policies>")
}

fn set(name: &str) -> String {
    format!(r#"<set-variable name="{name}" value="1" />"#)
}

#[test]
fn base_inserts_the_parent_where_it_stands() {
    let f = Fragments::default();
    let global = resolve(&doc(&format!("<base/>{}", set("g"))), Scope::Global, &f);
    let product = resolve(&doc(&format!("{}<base/>", set("p"))), Scope::Product, &f);
    let api = resolve(
        &doc(&format!("{}<base/>{}", set("a1"), set("a2"))),
        Scope::Api,
        &f,
    );
    let op = resolve(&doc(&format!("<base/>{}", set("o"))), Scope::Operation, &f);
    let all = Scopes {
        global: Some(&global),
        product: Some(&product),
        api: Some(&api),
        operation: Some(&op),
    };
    let p = compose(&all);
    assert_eq!(vars(&p.inbound), ["a1", "p", "g", "a2", "o"]);
    assert_eq!(p.inbound[0].origin.as_deref(), Some("API scope"));

    // No product (no subscription): the API's <base/> reaches the global scope.
    let p = compose(&Scopes {
        product: None,
        ..all
    });
    assert_eq!(vars(&p.inbound), ["a1", "g", "a2", "o"]);

    // A section without <base/> drops everything above it.
    let alone = resolve(&doc(&set("only")), Scope::Operation, &f);
    let p = compose(&Scopes {
        operation: Some(&alone),
        ..all
    });
    assert_eq!(vars(&p.inbound), ["only"]);
}

#[test]
fn absent_sections_inherit_and_empty_backend_is_left_to_the_executor() {
    let f = Fragments::default();
    let global = resolve(
        "<policies><backend><forward-request/></backend><outbound><set-variable name=\"g\" value=\"1\"/></outbound></policies>",
        Scope::Global,
        &f,
    );
    let api = resolve("<policies><inbound/><outbound/></policies>", Scope::Api, &f);
    let p = compose(&Scopes {
        global: Some(&global),
        api: Some(&api),
        ..Scopes::default()
    });
    assert_eq!(vars(p.section(Section::Backend)), ["forward-request"]);
    assert!(
        p.outbound.is_empty(),
        "an empty <outbound/> without <base/> inherits nothing"
    );
    assert!(compose(&Scopes::default()).backend.is_empty());
}

#[test]
fn fragments_expand_everywhere_including_nested() {
    let f = fragments(&[
        (
            "outer",
            &format!(
                r#"<fragment>{}<include-fragment fragment-id="inner"/></fragment>"#,
                set("o")
            ),
        ),
        ("inner", &format!("<fragment>{}</fragment>", set("i"))),
    ])
    .unwrap();
    let api = resolve(
        &doc(
            r#"<choose><when condition="true"><include-fragment fragment-id="outer"/></when></choose>"#,
        ),
        Scope::Api,
        &f,
    );
    let p = compose(&Scopes {
        api: Some(&api),
        ..Scopes::default()
    });
    let Policy::Choose(c) = &p.inbound[0].policy else {
        panic!()
    };
    assert_eq!(vars(&c.whens[0].policies), ["o", "i"]);
    assert_eq!(
        c.whens[0].policies[1].origin.as_deref(),
        Some("fragment `inner`")
    );
}

#[test]
fn unknown_and_cyclic_fragments_are_errors_naming_them() {
    let cyc = fragments(&[
        (
            "a",
            r#"<fragment><include-fragment fragment-id="b"/></fragment>"#,
        ),
        (
            "b",
            r#"<fragment><include-fragment fragment-id="a"/></fragment>"#,
        ),
    ])
    .unwrap_err()
    .to_string();
    assert!(cyc.contains("cycle: a → b → a"), "{cyc}");

    let f = Fragments::default();
    let e = f
        .resolve(
            &PolicyDocument::parse(&doc(r#"<include-fragment fragment-id="nope"/>"#)).unwrap(),
            Scope::Api,
        )
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "API scope: line 1, column 20: <include-fragment>: unknown fragment `nope`: create it under policyFragments or correct fragment-id"
    );
}

#[test]
fn fragment_policies_are_checked_against_the_section_they_land_in() {
    let f = fragments(&[("fwd", "<fragment>\n  <forward-request/>\n</fragment>")]).unwrap();
    let e = f
        .resolve(
            &PolicyDocument::parse(&doc(r#"<include-fragment fragment-id="fwd"/>"#)).unwrap(),
            Scope::Api,
        )
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(
            "fragment `fwd`: line 2, column 3: <forward-request>: not allowed in <inbound>"
        ),
        "{e}"
    );
}
