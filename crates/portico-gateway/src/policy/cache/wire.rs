//! A cached response as bytes, for the external cache: a version tag, status, `max-age`,
//! the headers (each length-prefixed), then the body. Anything that does not decode (an
//! older or foreign entry) is a miss, never an error.

use super::store::CachedResponse;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

/// Bumped whenever the layout changes, so replicas of different versions miss rather
/// than misread each other's entries.
const TAG: &[u8; 4] = b"PRC1";

pub(super) fn encode(r: &CachedResponse) -> Vec<u8> {
    let headers: usize = r
        .headers
        .iter()
        .map(|(n, v)| 8 + n.as_str().len() + v.len())
        .sum();
    let mut out = Vec::with_capacity(TAG.len() + 10 + headers + r.body.len());
    out.extend_from_slice(TAG);
    out.extend_from_slice(&r.status.as_u16().to_be_bytes());
    out.extend_from_slice(&r.max_age.to_be_bytes());
    out.extend_from_slice(&len(r.headers.len()));
    for (name, value) in &r.headers {
        out.extend_from_slice(&len(name.as_str().len()));
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(&len(value.len()));
        out.extend_from_slice(value.as_bytes());
    }
    out.extend_from_slice(&r.body);
    out
}

pub(super) fn decode(bytes: Vec<u8>) -> Option<CachedResponse> {
    let mut r = Reader {
        bytes: &bytes,
        at: 0,
    };
    if r.take(TAG.len())? != TAG {
        return None;
    }
    let status = StatusCode::from_u16(u16::from_be_bytes(r.take(2)?.try_into().ok()?)).ok()?;
    let max_age = u32::from_be_bytes(r.take(4)?.try_into().ok()?);
    let count = r.len()?;
    let mut headers = HeaderMap::with_capacity(count.min(256));
    for _ in 0..count {
        let n = r.len()?;
        let name = HeaderName::from_bytes(r.take(n)?).ok()?;
        let n = r.len()?;
        let value = HeaderValue::from_bytes(r.take(n)?).ok()?;
        headers.append(name, value);
    }
    let body_at = r.at;
    Some(CachedResponse {
        status,
        headers,
        body: Bytes::from(bytes).slice(body_at..),
        max_age,
    })
}

fn len(n: usize) -> [u8; 4] {
    u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes()
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let s = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(s)
    }

    fn len(&mut self) -> Option<usize> {
        let n = u32::from_be_bytes(self.take(4)?.try_into().ok()?);
        usize::try_from(n).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_round_trips_and_damage_is_a_miss() {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("text/plain"));
        headers.append("x-many", HeaderValue::from_static("1"));
        headers.append("x-many", HeaderValue::from_static("2"));
        let r = CachedResponse {
            status: StatusCode::NOT_FOUND,
            headers,
            body: Bytes::from_static(b"hello"),
            max_age: 30,
        };
        let bytes = encode(&r);
        let back = decode(bytes.clone()).unwrap();
        assert_eq!(back.status, StatusCode::NOT_FOUND);
        assert_eq!(back.max_age, 30);
        assert_eq!(back.body, Bytes::from_static(b"hello"));
        assert_eq!(back.headers, r.headers);
        for cut in [0, 3, 9, 14, 20] {
            assert!(decode(bytes[..cut].to_vec()).is_none(), "cut at {cut}");
        }
        let mut foreign = bytes;
        foreign[0] = b'X';
        assert!(decode(foreign).is_none());
    }
}
