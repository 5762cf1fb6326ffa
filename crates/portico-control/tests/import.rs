//! OpenAPI import: every corpus document and the hand-written fixtures import into an API that
//! the model validates, and invalid documents are refused with where they are wrong.

use portico_control::import::{api_from_openapi, ImportError, ImportOptions, InputFormat};
use portico_model::{Api, Document};
use std::path::{Path, PathBuf};

const CORPUS: &str = "../../testdata/corpus/openapi";

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(CORPUS)
}

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/openapi")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn options(service_url: Option<&str>) -> ImportOptions {
    ImportOptions {
        api_id: "imported".into(),
        path: "imported".into(),
        service_url: service_url.map(str::to_owned),
        format: InputFormat::Detect,
    }
}

/// Imports, checks that the model accepts the API, and that a second import is identical.
fn import(text: &str, service_url: Option<&str>) -> Api {
    let opts = options(service_url);
    let api = api_from_openapi(text, &opts).unwrap_or_else(|e| panic!("{e}"));
    let mut complete = api.clone();
    if complete.service_url.is_none() {
        complete.service_url = Some("https://backend.example.com".into());
    }
    Document {
        apis: vec![complete],
        ..Default::default()
    }
    .validate()
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        api_from_openapi(text, &opts).unwrap(),
        api,
        "import is deterministic"
    );
    api
}

/// (id, method, urlTemplate) of every operation, in order.
fn routes(api: &Api) -> Vec<(&str, &str, &str)> {
    api.operations
        .iter()
        .map(|o| (o.id.as_str(), o.method.as_str(), o.url_template.as_str()))
        .collect()
}

fn refused(text: &str) -> ImportError {
    match api_from_openapi(text, &options(None)) {
        Ok(api) => panic!("imported {api:?}"),
        Err(e) => e,
    }
}

/// The single problem's document path, checking that Display shows it.
fn refused_at(text: &str) -> String {
    let e = refused(text);
    assert_eq!(e.problems().len(), 1, "{e}");
    let path = e.problems()[0].path.clone();
    assert!(e.to_string().contains(&format!("{path}: ")), "{e}");
    path
}

#[test]
fn every_corpus_document_imports() {
    let mut files: Vec<_> = std::fs::read_dir(corpus_dir())
        .expect("corpus directory")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 6, "{files:?}");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let api = import(&text, None);
        assert!(!api.operations.is_empty(), "{}", file.display());
    }
}

fn corpus(name: &str) -> Api {
    import(
        &std::fs::read_to_string(corpus_dir().join(name)).unwrap(),
        None,
    )
}

#[test]
fn corpus_petstore() {
    let api = corpus("petstore.yaml");
    assert_eq!(api.display_name.as_deref(), Some("Swagger Petstore"));
    assert_eq!(
        api.service_url.as_deref(),
        Some("http://petstore.swagger.io/v1")
    );
    assert_eq!(
        routes(&api),
        [
            ("listPets", "GET", "/pets"),
            ("createPets", "POST", "/pets"),
            ("showPetById", "GET", "/pets/{petId}"),
        ]
    );
    assert_eq!(
        api.operations[0].display_name.as_deref(),
        Some("List all pets")
    );
}

#[test]
fn corpus_petstore_expanded() {
    let api = corpus("petstore-expanded.yaml");
    assert_eq!(
        api.service_url.as_deref(),
        Some("https://petstore.swagger.io/v2")
    );
    assert!(api
        .description
        .as_deref()
        .unwrap()
        .starts_with("A sample API"));
    assert_eq!(
        routes(&api),
        [
            ("findPets", "GET", "/pets"),
            ("addPet", "POST", "/pets"),
            // `operationId: find pet by id` has spaces, which ids may not.
            ("find-pet-by-id", "GET", "/pets/{id}"),
            ("deletePet", "DELETE", "/pets/{id}"),
        ]
    );
    // Without a summary the display name is the operationId as written.
    assert_eq!(
        api.operations[2].display_name.as_deref(),
        Some("find pet by id")
    );
}

#[test]
fn corpus_api_with_examples() {
    let api = corpus("api-with-examples.yaml");
    assert_eq!(api.service_url, None, "no servers");
    assert_eq!(
        routes(&api),
        [
            ("listVersionsv2", "GET", "/"),
            ("getVersionDetailsv2", "GET", "/v2"),
        ]
    );
    assert_eq!(
        api.operations[1].display_name.as_deref(),
        Some("Show API version details")
    );
}

#[test]
fn corpus_callback_example() {
    let api = corpus("callback-example.yaml");
    // The required query parameter becomes a template parameter, as APIM does; without an
    // operationId or summary, id and display name come from method and path.
    assert_eq!(
        routes(&api),
        [(
            "post-streams-callbackurl-callbackurl",
            "POST",
            "/streams?callbackUrl={callbackUrl}"
        )]
    );
    let op = &api.operations[0];
    assert_eq!(op.display_name.as_deref(), Some("POST /streams"));
    assert_eq!(
        op.description.as_deref(),
        Some("subscribes a client to receive out-of-band data")
    );
}

#[test]
fn corpus_link_example() {
    let api = corpus("link-example.yaml");
    assert_eq!(
        routes(&api),
        [
            ("getUserByName", "GET", "/2.0/users/{username}"),
            (
                "getRepositoriesByOwner",
                "GET",
                "/2.0/repositories/{username}"
            ),
            (
                "getRepository",
                "GET",
                "/2.0/repositories/{username}/{slug}"
            ),
            // `state` is an optional query parameter: not part of the template.
            (
                "getPullRequestsByRepository",
                "GET",
                "/2.0/repositories/{username}/{slug}/pullrequests"
            ),
            (
                "getPullRequestsById",
                "GET",
                "/2.0/repositories/{username}/{slug}/pullrequests/{pid}"
            ),
            (
                "mergePullRequest",
                "POST",
                "/2.0/repositories/{username}/{slug}/pullrequests/{pid}/merge"
            ),
        ]
    );
}

#[test]
fn corpus_uspto() {
    let api = corpus("uspto.yaml");
    // `{scheme}` takes its default.
    assert_eq!(
        api.service_url.as_deref(),
        Some("https://developer.uspto.gov/ds-api")
    );
    assert_eq!(api.display_name.as_deref(), Some("USPTO Data Set API"));
    assert_eq!(
        routes(&api),
        [
            ("list-data-sets", "GET", "/"),
            (
                "list-searchable-fields",
                "GET",
                "/{dataset}/{version}/fields"
            ),
            ("perform-search", "POST", "/{dataset}/{version}/records"),
        ]
    );
}

#[test]
fn swagger_2_json() {
    let api = import(&fixture("swagger2.json"), None);
    assert_eq!(api.id, "imported");
    assert_eq!(api.path, "imported");
    assert_eq!(api.display_name.as_deref(), Some("Inventory"));
    assert_eq!(
        api.description.as_deref(),
        Some("Items in stock (Swagger 2.0).")
    );
    // schemes[0]://host + basePath, without the trailing slash.
    assert_eq!(
        api.service_url.as_deref(),
        Some("https://inventory.example.com:8443/api/v1")
    );
    assert_eq!(
        routes(&api),
        [
            ("listItems", "GET", "/items?warehouse={warehouse}"),
            ("createItem", "POST", "/items"),
            ("getItem", "GET", "/items/{itemId}"),
            ("replaceItem", "PUT", "/items/{itemId}"),
            ("delete-items-itemid", "DELETE", "/items/{itemId}"),
        ]
    );
    let names: Vec<_> = api
        .operations
        .iter()
        .map(|o| o.display_name.as_deref().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "List items",
            "createItem",
            "getItem",
            "replaceItem",
            "DELETE /items/{itemId}"
        ]
    );
    assert_eq!(api.operations[2].description.as_deref(), Some("One item."));
    // Subscription settings and protocols stay Portico's defaults.
    let defaults: Api = serde_json::from_value(serde_json::json!({"id": "x"})).unwrap();
    assert_eq!(api.subscription_required, defaults.subscription_required);
    assert_eq!(
        api.subscription_key_parameter_names,
        defaults.subscription_key_parameter_names
    );
    assert_eq!(api.protocols, defaults.protocols);
}

#[test]
fn openapi_3_1_json_with_path_item_refs() {
    let api = import(&fixture("openapi31.json"), None);
    assert_eq!(
        api.service_url.as_deref(),
        Some("https://hooks.example.com")
    );
    // Webhooks and `x-` keys under paths are not operations; a `$ref` path item is followed.
    assert_eq!(
        routes(&api),
        [
            ("getOrder", "GET", "/orders/{orderId}"),
            ("updateOrder", "PATCH", "/orders/{orderId}"),
            ("listOrders", "GET", "/orders?status={status}"),
        ]
    );
}

#[test]
fn openapi_3_1_without_paths_imports_no_operations() {
    let api = import(
        r#"{"openapi": "3.1.0", "info": {"title": "Hooks only", "version": "1"}, "webhooks": {}}"#,
        Some("https://h.example.com"),
    );
    assert!(api.operations.is_empty());
}

#[test]
fn server_variables_take_their_defaults() {
    let api = import(&fixture("server-variables.yaml"), None);
    assert_eq!(
        api.service_url.as_deref(),
        Some("https://contoso.api.example.com:8443/v2")
    );
    assert_eq!(routes(&api), [("health", "GET", "/health")]);
}

#[test]
fn the_service_url_option_wins() {
    let text = fixture("server-variables.yaml");
    let api = import(&text, Some("http://override.example.com"));
    assert_eq!(
        api.service_url.as_deref(),
        Some("http://override.example.com")
    );
    // An unusable server does not block an import that overrides it.
    let bad =
        "openapi: 3.0.0\ninfo: {title: t, version: '1'}\nservers: [{url: 'ftp://x'}]\npaths: {}\n";
    assert_eq!(
        import(bad, Some("https://b.example.com")).operations.len(),
        0
    );
    assert_eq!(refused_at(bad), "servers[0].url");
}

#[test]
fn missing_operation_ids_are_derived_from_method_and_template() {
    let api = import(&fixture("missing-operation-id.yaml"), None);
    assert_eq!(api.service_url, None, "a relative server URL has no host");
    assert_eq!(
        routes(&api),
        [
            ("get-pets", "GET", "/pets"),
            ("post-pets", "POST", "/pets"),
            ("get-pets-petid", "GET", "/pets/{petId}"),
            (
                "head-pets-petid-photos-photo-jpg",
                "HEAD",
                "/pets/{petId}/photos/{photo}.jpg"
            ),
            // `page[size]` cannot be a template parameter and is left out.
            ("get-search-q-q", "GET", "/search?q={q}"),
        ]
    );
    let names: Vec<_> = api
        .operations
        .iter()
        .map(|o| o.display_name.as_deref().unwrap())
        .collect();
    assert_eq!(names[..3], ["List pets", "POST /pets", "GET /pets/{petId}"]);
}

#[test]
fn duplicate_operation_ids_get_suffixes() {
    let api = import(&fixture("duplicate-operation-ids.yaml"), None);
    let ids: Vec<_> = routes(&api).into_iter().map(|r| r.0).collect();
    assert_eq!(
        ids,
        ["fetch", "Fetch-1", "fetch-2", "fetch-item-1", "fetch-1-1"]
    );
}

#[test]
fn syntax_errors_carry_line_and_column() {
    for (name, line) in [
        ("invalid/yaml-syntax.yaml", 4),
        ("invalid/json-syntax.json", 4),
    ] {
        let e = refused(&fixture(name));
        let p = &e.problems()[0];
        assert_eq!(p.line, Some(line), "{name}: {e}");
        assert!(p.column.is_some(), "{name}: {e}");
        assert!(
            e.to_string().contains(&format!("line {line}, column ")),
            "{e}"
        );
    }
    // A YAML document announced as JSON is a JSON syntax error.
    let opts = ImportOptions {
        format: InputFormat::Json,
        ..options(None)
    };
    let e = api_from_openapi("openapi: 3.0.0\n", &opts).unwrap_err();
    assert_eq!(e.problems()[0].line, Some(1));
}

#[test]
fn structural_errors_name_their_place() {
    for (name, at) in [
        ("invalid/no-version.yaml", "openapi"),
        ("invalid/unsupported-version.yaml", "openapi"),
        ("invalid/paths-not-object.yaml", "paths"),
        ("invalid/path-without-slash.yaml", "paths.pets"),
        ("invalid/bad-template.yaml", "paths./pets/{pet id}"),
        ("invalid/duplicate-route.yaml", "paths./Pets/{petId}/.get"),
    ] {
        assert_eq!(refused_at(&fixture(name)), at, "{name}");
    }
    let e = refused(&fixture("invalid/duplicate-route.yaml"));
    assert!(
        e.to_string()
            .contains("paths./pets/{id}.get already has method GET"),
        "{e}"
    );
    let e = refused(&fixture("invalid/unsupported-version.yaml"));
    assert!(e.to_string().contains("\"4.0.0\" is not supported"), "{e}");
}

#[test]
fn every_problem_is_reported_in_document_order() {
    let e = refused(&fixture("invalid/several-problems.yaml"));
    let paths: Vec<_> = e.problems().iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "paths./a.get.operationId",
            "paths./a.post",
            "paths./b.get.parameters[0].$ref",
        ],
        "{e}"
    );
    assert!(
        e.to_string()
            .starts_with("OpenAPI document refused (3 problems):"),
        "{e}"
    );
}

#[test]
fn a_query_parameter_named_like_a_path_parameter_is_refused() {
    let text = r#"
openapi: 3.0.0
info: {title: t, version: "1"}
paths:
  /items/{id}:
    get:
      parameters:
        - {name: id, in: path, required: true}
        - {name: id, in: query, required: true}
"#;
    assert_eq!(refused_at(text), "paths./items/{id}.get.parameters");
}

#[test]
fn unquoted_numeric_versions_are_read_as_text() {
    let text = "swagger: 2.0\ninfo: {title: t, version: '1'}\npaths:\n  /a: {get: {}}\n";
    assert_eq!(
        routes(&import(text, Some("https://a.example.com"))),
        [("get-a", "GET", "/a")]
    );
    let text = "openapi: 3.0\ninfo: {title: t, version: '1'}\npaths: {}\n";
    assert!(import(text, Some("https://a.example.com"))
        .operations
        .is_empty());
}
