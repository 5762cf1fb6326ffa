//! Buffering a body for a policy that needs it whole (`Body.As<…>()`, `find-and-replace`,
//! `forward-request buffer-request-body`), never more than [`BODY_CAP`]: a larger body is an
//! error rather than unbounded memory.

use bytes::{Bytes, BytesMut};
use http_body::Body;
use http_body_util::BodyExt;

/// The most a policy may buffer of one body.
pub const BODY_CAP: usize = 4 * 1024 * 1024;

/// Why a body could not be buffered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TooLarge {
    /// Larger than [`BODY_CAP`].
    Cap,
    /// The peer broke off while sending it.
    Broken,
}

/// Reads `body` to its end, up to [`BODY_CAP`] bytes.
pub async fn collect<B>(body: &mut B) -> Result<Bytes, TooLarge>
where
    B: Body<Data = Bytes> + Unpin,
{
    if body.size_hint().lower() > BODY_CAP as u64 {
        return Err(TooLarge::Cap);
    }
    let mut first: Option<Bytes> = None;
    let mut rest = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| TooLarge::Broken)?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers are dropped with a buffered body
        };
        let len = first.as_ref().map_or(0, Bytes::len) + rest.len() + data.len();
        if len > BODY_CAP {
            return Err(TooLarge::Cap);
        }
        // A body in one frame (the common case) is kept without copying.
        match &first {
            None if rest.is_empty() => first = Some(data),
            _ => {
                if let Some(f) = first.take() {
                    rest.extend_from_slice(&f);
                }
                rest.extend_from_slice(&data);
            }
        }
    }
    Ok(first.unwrap_or_else(|| rest.freeze()))
}

/// Every occurrence of `from` in `body` replaced by `to` (`find-and-replace`).
pub fn replace_all(body: &[u8], from: &[u8], to: &[u8]) -> Bytes {
    if from.is_empty() {
        return Bytes::copy_from_slice(body);
    }
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        if body[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(body[i]);
            i += 1;
        }
    }
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::Full;

    #[test]
    fn replaces_every_occurrence() {
        assert_eq!(&replace_all(b"a-b-c", b"-", b"+-+")[..], b"a+-+b+-+c");
        assert_eq!(&replace_all(b"aaa", b"aa", b"b")[..], b"ba");
        assert_eq!(&replace_all(b"abc", b"", b"x")[..], b"abc");
    }

    #[tokio::test]
    async fn refuses_bodies_over_the_cap() {
        let mut small = Full::new(Bytes::from_static(b"hello"));
        assert_eq!(collect(&mut small).await.unwrap(), "hello");
        let mut big = Full::new(Bytes::from(vec![0u8; BODY_CAP + 1]));
        assert_eq!(collect(&mut big).await, Err(TooLarge::Cap));
    }
}
