//! API selection: the API whose `path` is the longest prefix of the request path, on a segment
//! boundary and ignoring ASCII case, as APIM does. An API with an empty path catches whatever
//! no other API claims.
//!
//! Lookups hash the candidate prefix in place (no lower-cased copy is allocated) and only try
//! prefix lengths that some API actually has.

use hashbrown::{Equivalent, HashMap};
use std::hash::{Hash, Hasher};

/// Maps API paths to API indices.
#[derive(Debug, Default)]
pub struct ApiRouter {
    by_path: HashMap<CaseInsensitive, usize>,
    /// Most segments any API path has; longer prefixes cannot match.
    max_segments: usize,
    /// The API with the empty path, if any.
    root: Option<usize>,
}

/// A found API and where the rest of the request path starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiMatch {
    pub api: usize,
    /// Byte offset in the request path where the API-relative part (the "suffix") begins.
    pub suffix_start: usize,
}

impl ApiRouter {
    /// Builds the router from `(api path, index)` pairs; paths are already validated unique.
    pub fn new<'a>(paths: impl IntoIterator<Item = (&'a str, usize)>) -> Self {
        let mut router = Self::default();
        for (path, index) in paths {
            if path.is_empty() {
                router.root = Some(index);
            } else {
                router.max_segments = router.max_segments.max(path.split('/').count());
                router
                    .by_path
                    .insert(CaseInsensitive(path.to_ascii_lowercase()), index);
            }
        }
        router
    }

    /// Finds the API for a request path (which starts with `/`).
    pub fn find(&self, request_path: &str) -> Option<ApiMatch> {
        let rest = request_path.strip_prefix('/').unwrap_or(request_path);
        if !self.by_path.is_empty() {
            // Ends of the first `max_segments` segments, longest first.
            let mut ends = [0usize; 32];
            let mut count = 0;
            for (i, b) in rest.bytes().enumerate() {
                if b == b'/' && i > 0 {
                    ends[count] = i;
                    count += 1;
                    if count == self.max_segments.min(ends.len()) {
                        break;
                    }
                }
            }
            if count < self.max_segments.min(ends.len()) && !rest.is_empty() {
                ends[count] = rest.len();
                count += 1;
            }
            for &end in ends[..count].iter().rev() {
                if let Some(&api) = self.by_path.get(&Probe(&rest[..end])) {
                    let offset = request_path.len() - rest.len();
                    return Some(ApiMatch {
                        api,
                        suffix_start: offset + end,
                    });
                }
            }
        }
        self.root.map(|api| ApiMatch {
            api,
            suffix_start: 0,
        })
    }
}

/// A stored, lower-cased API path.
#[derive(Debug, PartialEq, Eq)]
struct CaseInsensitive(String);

/// A borrowed request prefix compared and hashed without regard to ASCII case.
struct Probe<'a>(&'a str);

fn hash_folded<H: Hasher>(s: &str, state: &mut H) {
    let mut buf = [0u8; 64];
    for chunk in s.as_bytes().chunks(buf.len()) {
        let folded = &mut buf[..chunk.len()];
        folded.copy_from_slice(chunk);
        folded.make_ascii_lowercase();
        state.write(folded);
    }
    state.write_u8(0xff);
}

impl Hash for CaseInsensitive {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_folded(&self.0, state);
    }
}

impl Hash for Probe<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_folded(self.0, state);
    }
}

impl Equivalent<CaseInsensitive> for Probe<'_> {
    fn equivalent(&self, key: &CaseInsensitive) -> bool {
        self.0.eq_ignore_ascii_case(&key.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router() -> ApiRouter {
        ApiRouter::new([("echo", 0), ("echo/v2", 1), ("", 2), ("a/b/c", 3)])
    }

    fn find(path: &str) -> Option<(usize, &str)> {
        router()
            .find(path)
            .map(|m| (m.api, &path[m.suffix_start..]))
    }

    #[test]
    fn longest_prefix_on_segment_boundaries_wins() {
        assert_eq!(find("/echo/v2/users"), Some((1, "/users")));
        assert_eq!(find("/echo/v3"), Some((0, "/v3")));
        assert_eq!(find("/echo"), Some((0, "")));
        assert_eq!(find("/ECHO/V2"), Some((1, "")));
        assert_eq!(find("/echoes"), Some((2, "/echoes")));
        assert_eq!(find("/a/b/c/d/e/f"), Some((3, "/d/e/f")));
        assert_eq!(find("/"), Some((2, "/")));
    }

    #[test]
    fn without_a_root_api_unclaimed_paths_match_nothing() {
        let r = ApiRouter::new([("echo", 0)]);
        assert_eq!(r.find("/other"), None);
        assert_eq!(r.find("/"), None);
        assert_eq!(r.find("/echo/").map(|m| m.suffix_start), Some(5));
    }
}
