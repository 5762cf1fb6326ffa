//! The backend base URL a document declares: `servers[0]` in OpenAPI 3.x (server variables
//! replaced by their defaults) or `schemes[0]://host` + `basePath` in Swagger 2.0. A server
//! without a host (a relative URL, or Swagger without `host`) declares none: the importer's
//! caller must then supply one.

use super::error::{child, ImportError};
use yaml_serde::Value;

/// Schemes a Portico API's `serviceUrl` may use.
const SCHEMES: [&str; 4] = ["http", "https", "ws", "wss"];

/// `servers[0]` of an OpenAPI 3.x document, resolved.
pub(crate) fn from_servers(doc: &Value) -> Result<Option<String>, ImportError> {
    let first = match doc.get("servers") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Sequence(servers)) => match servers.first() {
            None => return Ok(None),
            Some(first) => first,
        },
        Some(_) => return Err(ImportError::at("servers", "must be an array")),
    };
    let at = "servers[0]";
    let Some(template) = first.get("url").and_then(Value::as_str) else {
        return Err(ImportError::at(
            child(at, "url"),
            "is required and must be a string",
        ));
    };
    let url = substitute_variables(template, first.get("variables"), at)?;
    absolute(&url, &child(at, "url"))
}

/// `schemes[0]://host` + `basePath` of a Swagger 2.0 document. Without `schemes` the spec
/// says "the scheme the document was fetched with", which an import from text does not know;
/// HTTPS is the safer guess.
pub(crate) fn from_swagger_host(doc: &Value) -> Result<Option<String>, ImportError> {
    let Some(host) = optional_str(doc, "host")? else {
        return Ok(None);
    };
    let base_path = optional_str(doc, "basePath")?.unwrap_or("");
    let scheme = match doc.get("schemes") {
        None | Some(Value::Null) => "https",
        Some(Value::Sequence(schemes)) => match schemes.first() {
            None => "https",
            Some(Value::String(s)) => s.as_str(),
            Some(_) => return Err(ImportError::at("schemes[0]", "must be a string")),
        },
        Some(_) => return Err(ImportError::at("schemes", "must be an array")),
    };
    absolute(&format!("{scheme}://{host}{base_path}"), "host")
}

fn optional_str<'a>(doc: &'a Value, key: &str) -> Result<Option<&'a str>, ImportError> {
    match doc.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ImportError::at(key, "must be a string")),
    }
}

/// Replaces each `{name}` with `variables.name.default`.
fn substitute_variables(
    template: &str,
    variables: Option<&Value>,
    at: &str,
) -> Result<String, ImportError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            return Err(ImportError::at(
                child(at, "url"),
                format!("unclosed '{{' in {template:?}"),
            ));
        };
        let name = &rest[open + 1..open + close];
        let default = variables
            .and_then(|v| v.get(name))
            .and_then(|v| v.get("default"));
        match default {
            Some(Value::String(value)) => out.push_str(value),
            Some(_) => {
                return Err(ImportError::at(
                    format!("{at}.variables.{name}.default"),
                    "must be a string",
                ))
            }
            None => {
                return Err(ImportError::at(
                    child(at, "url"),
                    format!("uses variable {{{name}}}, which has no default in {at}.variables"),
                ))
            }
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `None` for a relative URL (no `scheme://`); the URL without trailing slashes when it is a
/// usable absolute one; an error located at `at` otherwise.
fn absolute(url: &str, at: &str) -> Result<Option<String>, ImportError> {
    if !url.contains("://") {
        return Ok(None);
    }
    let trimmed = url.trim_end_matches('/');
    let usable = trimmed.parse::<http::Uri>().ok().is_some_and(|u| {
        u.authority().is_some()
            && u.query().is_none()
            && u.scheme_str()
                .is_some_and(|s| SCHEMES.contains(&s.to_ascii_lowercase().as_str()))
    });
    if usable && !trimmed.contains('#') {
        Ok(Some(trimmed.to_owned()))
    } else {
        Err(ImportError::at(
            at,
            format!(
                "{url:?} is not a usable backend URL (scheme {}, a host, no query)",
                SCHEMES.join(", ")
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_variables_take_their_defaults() {
        let doc = tree!({"servers": [{"url": "{scheme}://api.example.com:{port}/v1/",
            "variables": {"scheme": {"default": "https"}, "port": {"default": "8443"}}}]});
        assert_eq!(
            from_servers(&doc).unwrap().as_deref(),
            Some("https://api.example.com:8443/v1")
        );
    }

    #[test]
    fn relative_and_missing_servers_declare_no_url() {
        assert_eq!(
            from_servers(&tree!({"servers": [{"url": "/v1"}]})).unwrap(),
            None
        );
        assert_eq!(from_servers(&tree!({})).unwrap(), None);
        assert_eq!(from_servers(&tree!({"servers": []})).unwrap(), None);
    }

    #[test]
    fn bad_servers_are_located() {
        let e = from_servers(&tree!({"servers": [{"url": "{x}://h"}]})).unwrap_err();
        assert_eq!(e.problems()[0].path, "servers[0].url");
        let e = from_servers(&tree!({"servers": [{"url": "ftp://h"}]})).unwrap_err();
        assert_eq!(e.problems()[0].path, "servers[0].url");
        let e = from_servers(&tree!({"servers": {}})).unwrap_err();
        assert_eq!(e.problems()[0].path, "servers");
    }

    #[test]
    fn swagger_host_base_path_and_scheme() {
        let doc = tree!({"host": "h.example", "basePath": "/v2", "schemes": ["http", "https"]});
        assert_eq!(
            from_swagger_host(&doc).unwrap().as_deref(),
            Some("http://h.example/v2")
        );
        assert_eq!(
            from_swagger_host(&tree!({"host": "h"})).unwrap().as_deref(),
            Some("https://h")
        );
        assert_eq!(
            from_swagger_host(&tree!({"basePath": "/v2"})).unwrap(),
            None
        );
    }
}
