//! Query-string helpers for the hot path: find one parameter and drop one parameter, without
//! allocating unless something must change.

use std::borrow::Cow;

/// The value of the first parameter called `name`, percent-decoded.
pub fn find<'q>(query: &'q str, name: &str) -> Option<Cow<'q, str>> {
    query.split('&').find_map(|pair| {
        let (n, v) = pair.split_once('=').unwrap_or((pair, ""));
        (n == name).then(|| percent_decode(v))
    })
}

/// The query without any parameter called `name`; `None` when nothing is left.
pub fn without<'q>(query: &'q str, name: &str) -> Option<Cow<'q, str>> {
    let is_named = |pair: &&str| pair.split_once('=').map_or(*pair, |(n, _)| n) == name;
    if !query.split('&').any(|p| is_named(&p)) {
        return (!query.is_empty()).then_some(Cow::Borrowed(query));
    }
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && !is_named(p))
        .collect();
    (!kept.is_empty()).then(|| Cow::Owned(kept.join("&")))
}

pub fn percent_decode(v: &str) -> Cow<'_, str> {
    if !v.contains(['%', '+']) {
        return Cow::Borrowed(v);
    }
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => match (
                bytes.get(i + 1).and_then(|b| hex(*b)),
                bytes.get(i + 2).and_then(|b| hex(*b)),
            ) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_and_decodes() {
        assert_eq!(
            find("a=1&subscription-key=k%2Bx", "subscription-key").as_deref(),
            Some("k+x")
        );
        assert_eq!(find("a=1", "b"), None);
        assert_eq!(find("flag&b=2", "flag").as_deref(), Some(""));
    }

    #[test]
    fn removes_only_the_named_parameter() {
        assert_eq!(without("a=1&key=x&b=2", "key").as_deref(), Some("a=1&b=2"));
        assert_eq!(without("key=x", "key"), None);
        assert_eq!(without("a=1", "key").as_deref(), Some("a=1"));
        assert!(matches!(without("a=1", "key"), Some(Cow::Borrowed(_))));
        assert_eq!(without("", "key"), None);
        assert_eq!(without("keyx=1", "key").as_deref(), Some("keyx=1"));
    }
}
