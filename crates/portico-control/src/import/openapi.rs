//! The walk over an OpenAPI document: which version it is, its `info`, its backend URL and one
//! operation per path and method, each with its URL template and a unique id. The three
//! versions share this walk; they differ only in where the backend URL lives (`servers` in
//! 3.x, `host`/`basePath`/`schemes` in 2.0) and in whether `paths` is required (3.1 allows a
//! document of webhooks only).
//!
//! Problems in one path or operation do not stop the walk, so every one is reported; only a
//! document without a usable version stops it at once.

use super::error::{child, ImportError, Problems};
use super::ids::Ids;
use super::params::{merge, parse_list, required_query, Parameter};
use super::parse::key_text;
use super::refs::resolve;
use super::servers;
use portico_model::template::UrlTemplate;
use std::collections::HashMap;
use yaml_serde::{Mapping, Value};

/// The operation keys of a path item, in the order the OpenAPI specification lists them.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The OpenAPI versions Portico imports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Version {
    Swagger2,
    OpenApi30,
    OpenApi31,
}

/// What a document declares, before it becomes a Portico API.
#[derive(Debug, Default)]
pub(crate) struct Imported {
    pub(crate) title: Option<String>,
    pub(crate) description: Option<String>,
    /// The document's own backend URL; `None` when it declares none or none was asked for.
    pub(crate) service_url: Option<String>,
    pub(crate) operations: Vec<ImportedOperation>,
}

/// One operation, with Portico's names for its properties.
#[derive(Debug)]
pub(crate) struct ImportedOperation {
    pub(crate) id: String,
    pub(crate) display_name: String,
    pub(crate) description: Option<String>,
    pub(crate) method: String,
    pub(crate) url_template: String,
}

/// Reads a parsed document. `want_service_url` is false when the caller overrides the
/// backend URL, so that a document's unusable server does not block the import.
pub(crate) fn read(doc: &Value, want_service_url: bool) -> Result<Imported, ImportError> {
    if !doc.is_mapping() {
        return Err(ImportError::at(
            "",
            "an OpenAPI document must be an object (a mapping) at the top level",
        ));
    }
    let version = version(doc)?;
    let mut problems = Problems::default();
    let mut imported = Imported::default();
    match doc.get("info") {
        None | Some(Value::Null) => {}
        Some(info @ Value::Mapping(_)) => {
            imported.title = problems.keep(text(info, "info", "title"));
            imported.description = problems.keep(text(info, "info", "description"));
        }
        Some(_) => problems.push(ImportError::at("info", "must be an object")),
    }
    if want_service_url {
        let url = match version {
            Version::Swagger2 => servers::from_swagger_host(doc),
            Version::OpenApi30 | Version::OpenApi31 => servers::from_servers(doc),
        };
        imported.service_url = problems.keep(url);
    }
    match doc.get("paths") {
        Some(Value::Mapping(paths)) => {
            imported.operations = Walk::new(doc, &mut problems).paths(paths);
        }
        None | Some(Value::Null) if version == Version::OpenApi31 => {}
        None | Some(Value::Null) => problems.push(ImportError::at(
            "paths",
            "is required (an object of paths such as /pets)",
        )),
        Some(_) => problems.push(ImportError::at("paths", "must be an object")),
    }
    problems.finish(imported)
}

/// Which version the document declares in `openapi` (3.x) or `swagger` (2.0).
fn version(doc: &Value) -> Result<Version, ImportError> {
    let (field, declared) = match (doc.get("openapi"), doc.get("swagger")) {
        (Some(v), _) => ("openapi", v),
        (None, Some(v)) => ("swagger", v),
        (None, None) => {
            return Err(ImportError::at(
                "openapi",
                "is missing: the document must say its version (openapi: 3.0.x or 3.1.x, or swagger: \"2.0\")",
            ))
        }
    };
    // An unquoted `swagger: 2.0` is a YAML number; its text is still the version.
    let Some(v) = key_text(declared) else {
        return Err(ImportError::at(field, "must be a version string"));
    };
    let minor = |prefix: &str| v == prefix || v.starts_with(&format!("{prefix}."));
    match field {
        "openapi" if minor("3.0") => Ok(Version::OpenApi30),
        "openapi" if minor("3.1") => Ok(Version::OpenApi31),
        "swagger" if v == "2.0" => Ok(Version::Swagger2),
        _ => Err(ImportError::at(
            field,
            format!("version {v:?} is not supported; Portico imports OpenAPI 2.0 (swagger), 3.0 and 3.1"),
        )),
    }
}

/// An optional string property of the object at `at`; empty counts as absent, as in APIM.
fn text(object: &Value, at: &str, key: &str) -> Result<Option<String>, ImportError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ImportError::at(child(at, key), "must be a string")),
    }
}

/// The state of the walk over `paths`: ids handed out and routes seen so far.
struct Walk<'a> {
    doc: &'a Value,
    problems: &'a mut Problems,
    ids: Ids,
    /// (method, canonical template) → where the operation holding it was declared.
    routes: HashMap<(String, String), String>,
    operations: Vec<ImportedOperation>,
}

impl<'a> Walk<'a> {
    fn new(doc: &'a Value, problems: &'a mut Problems) -> Self {
        Self {
            doc,
            problems,
            ids: Ids::default(),
            routes: HashMap::new(),
            operations: Vec::new(),
        }
    }

    fn paths(mut self, paths: &'a Mapping) -> Vec<ImportedOperation> {
        for (key, item) in paths {
            let Some(path) = key_text(key) else {
                self.problems
                    .push(ImportError::at("paths", "path keys must be strings"));
                continue;
            };
            if path.starts_with("x-") {
                continue; // a specification extension, not a path
            }
            if let Err(e) = self.path_item(&path, item) {
                self.problems.push(e);
            }
        }
        self.operations
    }

    /// One path and its operations. Returns the problem that makes the whole item unusable;
    /// problems of single operations are recorded and the others still imported.
    fn path_item(&mut self, path: &str, item: &'a Value) -> Result<(), ImportError> {
        let at = child("paths", path);
        if !path.starts_with('/') {
            return Err(ImportError::at(at, "a path must start with '/'"));
        }
        UrlTemplate::parse(path).map_err(|e| {
            ImportError::at(&at, format!("is not a URL template Portico accepts: {e}"))
        })?;
        let item = resolve(self.doc, item, &at)?;
        let Some(map) = item.as_mapping() else {
            return Err(ImportError::at(at, "a path item must be an object"));
        };
        let shared = parse_list(self.doc, item.get("parameters"), &child(&at, "parameters"))?;
        for (key, operation) in map {
            let Some(method) =
                key_text(key).filter(|k| METHODS.contains(&k.to_ascii_lowercase().as_str()))
            else {
                continue; // parameters, summary, servers, extensions…
            };
            if let Err(e) = self.operation(path, &at, &method, operation, &shared) {
                self.problems.push(e);
            }
        }
        Ok(())
    }

    fn operation(
        &mut self,
        path: &str,
        path_at: &str,
        key: &str,
        operation: &Value,
        shared: &[Parameter],
    ) -> Result<(), ImportError> {
        let at = child(path_at, key);
        if !operation.is_mapping() {
            return Err(ImportError::at(at, "an operation must be an object"));
        }
        let params_at = child(&at, "parameters");
        let own = parse_list(self.doc, operation.get("parameters"), &params_at)?;
        let url_template = format!("{path}{}", required_query(&merge(shared, &own)));
        // The path alone was checked; only the required query parameters can fail here.
        let template = UrlTemplate::parse(&url_template).map_err(|e| {
            ImportError::at(
                &params_at,
                format!(
                    "the required query parameters make template {url_template:?} invalid: {e}"
                ),
            )
        })?;
        let method = key.to_ascii_uppercase();
        if let Some(other) = self
            .routes
            .insert((method.clone(), template.canonical()), at.clone())
        {
            return Err(ImportError::at(
                at,
                format!("{other} already has method {method} and an equivalent URL template"),
            ));
        }
        let operation_id = text(operation, &at, "operationId")?;
        let summary = text(operation, &at, "summary")?;
        let description = text(operation, &at, "description")?;
        let id = self
            .ids
            .assign(operation_id.as_deref(), &method, &url_template);
        let display_name = summary
            .or(operation_id)
            .unwrap_or_else(|| format!("{method} {path}"));
        self.operations.push(ImportedOperation {
            id,
            display_name,
            description,
            method,
            url_template,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_yaml(text: &str) -> Result<Imported, ImportError> {
        read(&yaml_serde::from_str(text).unwrap(), true)
    }

    fn problem_paths(text: &str) -> Vec<String> {
        let e = read_yaml(text).expect_err("refused");
        e.problems().iter().map(|p| p.path.clone()).collect()
    }

    #[test]
    fn versions() {
        for (v, want) in [
            ("openapi: 3.0.0", Version::OpenApi30),
            ("openapi: '3.0'", Version::OpenApi30),
            ("openapi: 3.1.1", Version::OpenApi31),
            ("swagger: '2.0'", Version::Swagger2),
            ("swagger: 2.0", Version::Swagger2),
        ] {
            assert_eq!(
                version(&yaml_serde::from_str(v).unwrap()).unwrap(),
                want,
                "{v}"
            );
        }
        for bad in [
            "openapi: 3.2.0",
            "openapi: 3.10.0",
            "swagger: '1.2'",
            "openapi: [3]",
        ] {
            assert!(
                version(&yaml_serde::from_str(bad).unwrap()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn paths_are_required_before_3_1() {
        assert_eq!(problem_paths("openapi: 3.0.0\n"), ["paths"]);
        assert_eq!(problem_paths("swagger: '2.0'\n"), ["paths"]);
        assert!(read_yaml("openapi: 3.1.0\n").unwrap().operations.is_empty());
    }

    #[test]
    fn problems_before_paths_are_kept() {
        assert_eq!(
            problem_paths(
                "openapi: 3.0.0\ninfo: {title: [1]}\nservers: [{url: 'ftp://x'}]\npaths: 7\n"
            ),
            ["info.title", "servers[0].url", "paths"]
        );
    }

    #[test]
    fn a_top_level_that_is_not_an_object_is_refused() {
        assert_eq!(problem_paths("- openapi\n"), [""]);
    }

    #[test]
    fn method_keys_are_case_insensitive_and_others_ignored() {
        let imported = read_yaml(
            "openapi: 3.0.0\npaths:\n  /a:\n    GET: {}\n    summary: s\n    x-thing: {}\n    trace: {}\n",
        )
        .unwrap();
        let methods: Vec<_> = imported
            .operations
            .iter()
            .map(|o| o.method.as_str())
            .collect();
        assert_eq!(methods, ["GET", "TRACE"]);
    }
}
