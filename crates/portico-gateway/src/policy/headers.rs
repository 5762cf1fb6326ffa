//! `exists-action` for `set-header` and `set-query-parameter`: override, skip, append or
//! delete. Several values of one header travel as one comma-separated value, as APIM sends
//! them; several values of a query parameter become repeated parameters.

use super::query;
use http::{HeaderMap, HeaderName, HeaderValue};
use portico_policy::policies::ExistsAction;

/// Applies one `set-header` to `headers`. Empty values are left out (APIM does not send an
/// empty header a policy computed).
pub fn set_header(
    headers: &mut HeaderMap,
    name: HeaderName,
    action: ExistsAction,
    values: &[String],
) -> Result<(), String> {
    let exists = headers.contains_key(&name);
    let mut joined: Vec<&str> = Vec::new();
    let previous: Vec<String>;
    match action {
        ExistsAction::Delete => {
            headers.remove(&name);
            return Ok(());
        }
        ExistsAction::Skip if exists => return Ok(()),
        ExistsAction::Append if exists => {
            previous = headers
                .get_all(&name)
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect();
            joined.extend(previous.iter().map(String::as_str));
        }
        _ => {}
    }
    joined.extend(values.iter().map(String::as_str).filter(|v| !v.is_empty()));
    if joined.is_empty() {
        headers.remove(&name);
        return Ok(());
    }
    let value = match joined.as_slice() {
        [one] => HeaderValue::from_str(one),
        many => HeaderValue::from_str(&many.join(", ")),
    }
    .map_err(|_| format!("the value of header {name} is not valid header text"))?;
    headers.insert(name, value);
    Ok(())
}

/// Applies one `set-query-parameter` to a query string.
pub fn set_query(query: &mut Option<String>, name: &str, action: ExistsAction, values: &[String]) {
    let mut pairs = query::pairs(query.as_deref());
    let encoded = query::encode(name);
    let is_named = |n: &str| crate::query::percent_decode(n).eq_ignore_ascii_case(name);
    let exists = pairs.iter().any(|(n, _)| is_named(n));
    match action {
        ExistsAction::Skip if exists => return,
        ExistsAction::Override | ExistsAction::Delete => pairs.retain(|(n, _)| !is_named(n)),
        _ => {}
    }
    if action != ExistsAction::Delete {
        pairs.extend(values.iter().map(|v| (encoded.clone(), query::encode(v))));
    }
    *query = query::join(&pairs);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(h: &HeaderMap) -> &str {
        h.get("x-a")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("<none>")
    }

    #[test]
    fn header_actions() {
        let name = HeaderName::from_static("x-a");
        let mut h = HeaderMap::new();
        let v = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        set_header(&mut h, name.clone(), ExistsAction::Skip, &v(&["1"])).unwrap();
        assert_eq!(header(&h), "1");
        set_header(&mut h, name.clone(), ExistsAction::Skip, &v(&["2"])).unwrap();
        assert_eq!(header(&h), "1");
        set_header(&mut h, name.clone(), ExistsAction::Append, &v(&["2", "3"])).unwrap();
        assert_eq!(header(&h), "1, 2, 3");
        set_header(&mut h, name.clone(), ExistsAction::Override, &v(&["4"])).unwrap();
        assert_eq!(header(&h), "4");
        set_header(&mut h, name.clone(), ExistsAction::Delete, &[]).unwrap();
        assert_eq!(header(&h), "<none>");
    }

    #[test]
    fn query_actions() {
        let mut q = Some("a=1&b=2".to_owned());
        set_query(&mut q, "a", ExistsAction::Override, &["x y".into()]);
        assert_eq!(q.as_deref(), Some("b=2&a=x%20y"));
        set_query(&mut q, "b", ExistsAction::Append, &["3".into()]);
        assert_eq!(q.as_deref(), Some("b=2&a=x%20y&b=3"));
        set_query(&mut q, "b", ExistsAction::Skip, &["4".into()]);
        set_query(&mut q, "a", ExistsAction::Delete, &[]);
        assert_eq!(q.as_deref(), Some("b=2&b=3"));
    }
}
