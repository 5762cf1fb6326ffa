//! Operation parameters, as far as the URL template needs them: path-level and
//! operation-level lists merged (an operation's parameter overrides the path's one with the
//! same name and location), and the required query parameters APIM turns into template
//! parameters (`/streams?callbackUrl={callbackUrl}`).

use super::error::{child, ImportError};
use super::refs::resolve;
use yaml_serde::Value;

/// One parameter's name, location (`path`, `query`, `header`, …) and whether it is required.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parameter {
    pub(crate) name: String,
    pub(crate) location: String,
    pub(crate) required: bool,
}

/// Reads a `parameters` list (absent means empty); `at` locates the list.
pub(crate) fn parse_list(
    doc: &Value,
    list: Option<&Value>,
    at: &str,
) -> Result<Vec<Parameter>, ImportError> {
    let items = match list {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Sequence(items)) => items,
        Some(_) => return Err(ImportError::at(at, "must be an array")),
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = format!("{at}[{i}]");
        let param = resolve(doc, item, &at)?;
        let field = |key: &str| match param.get(key) {
            Some(Value::String(s)) => Ok(s.clone()),
            _ => Err(ImportError::at(
                child(&at, key),
                "is required and must be a string",
            )),
        };
        let required = match param.get("required") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(ImportError::at(
                    child(&at, "required"),
                    "must be true or false",
                ))
            }
        };
        out.push(Parameter {
            name: field("name")?,
            location: field("in")?,
            required,
        });
    }
    Ok(out)
}

/// The path item's parameters with the operation's own ones overriding or added after them.
pub(crate) fn merge(path_level: &[Parameter], operation: &[Parameter]) -> Vec<Parameter> {
    let mut out: Vec<Parameter> = path_level.to_vec();
    for p in operation {
        match out
            .iter_mut()
            .find(|q| q.name == p.name && q.location == p.location)
        {
            Some(existing) => *existing = p.clone(),
            None => out.push(p.clone()),
        }
    }
    out
}

/// The query part APIM appends to a template for required query parameters, `?a={a}&b={b}`,
/// or an empty string. A name that cannot be a Portico template parameter (`filter[id]`) is
/// left out rather than mangled: the request still matches, it just is not captured.
pub(crate) fn required_query(params: &[Parameter]) -> String {
    let names: Vec<&str> = params
        .iter()
        .filter(|p| p.location == "query" && p.required && template_name(&p.name))
        .map(|p| p.name.as_str())
        .collect();
    if names.is_empty() {
        return String::new();
    }
    let pairs: Vec<String> = names.iter().map(|n| format!("{n}={{{n}}}")).collect();
    format!("?{}", pairs.join("&"))
}

/// Whether the model's template syntax accepts `name` as a `{parameter}`.
fn template_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str, location: &str, required: bool) -> Parameter {
        Parameter {
            name: name.into(),
            location: location.into(),
            required,
        }
    }

    #[test]
    fn operation_parameters_override_path_ones() {
        let path = [p("a", "query", false), p("id", "path", true)];
        let op = [p("a", "query", true), p("b", "query", true)];
        let merged = merge(&path, &op);
        assert_eq!(
            merged,
            vec![
                p("a", "query", true),
                p("id", "path", true),
                p("b", "query", true)
            ]
        );
        assert_eq!(required_query(&merged), "?a={a}&b={b}");
    }

    #[test]
    fn unusable_names_and_optional_parameters_stay_out_of_the_template() {
        let params = [
            p("filter[id]", "query", true),
            p("x", "query", false),
            p("h", "header", true),
        ];
        assert_eq!(required_query(&params), "");
    }

    #[test]
    fn parses_refs_and_locates_problems() {
        let doc = tree!({"components": {"parameters": {"limit": {"name": "limit", "in": "query", "required": true}}}});
        let list = tree!([{"$ref": "#/components/parameters/limit"}, {"name": "q", "in": "query"}]);
        let params = parse_list(&doc, Some(&list), "paths./x.get.parameters").unwrap();
        assert_eq!(
            params,
            vec![p("limit", "query", true), p("q", "query", false)]
        );
        let bad = tree!([{"name": "q"}]);
        let e = parse_list(&doc, Some(&bad), "paths./x.parameters").unwrap_err();
        assert_eq!(e.problems()[0].path, "paths./x.parameters[0].in");
    }
}
