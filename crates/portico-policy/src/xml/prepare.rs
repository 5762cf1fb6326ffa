//! Makes APIM-style policy text acceptable to a strict XML parser without moving anything.
//!
//! APIM lets authors write expressions unescaped: `condition="@(h.Equals("x") && a < b)"` is
//! accepted by APIM although it is not XML. We find each expression that forms a whole
//! attribute value or a whole element text, and in a *copy* of the document blank the
//! characters that would break XML (`<`, `&` not starting an entity, the attribute's quote)
//! with spaces. Lengths never change, so every offset the XML parser reports is an offset in
//! the author's text, and the expression itself is later read from the original.
//!
//! Comments get the same treatment for `--`, which XML forbids inside them.

use super::offsets::entity_at;

/// The document with expression characters that XML would reject blanked out.
pub(crate) fn blank_expressions(xml: &str) -> String {
    let b = xml.as_bytes();
    let mut out = b.to_vec();
    let mut i = 0;
    // Whether the text since the last tag is only whitespace (an expression must be the
    // whole text to count).
    let mut text_blank = true;
    while i < b.len() {
        if b[i] == b'<' {
            i = skip_markup(b, i, &mut out);
            text_blank = true;
        } else if text_blank && b[i] == b'@' && matches!(b.get(i + 1), Some(b'(' | b'{')) {
            match expression_end(b, i) {
                Some(end) => {
                    blank(b, &mut out, i, end, None);
                    i = end;
                }
                None => i += 1,
            }
            text_blank = false;
        } else {
            text_blank &= b[i].is_ascii_whitespace();
            i += 1;
        }
    }
    // Only ASCII bytes were replaced by ASCII spaces, so this cannot fail; fall back to the
    // original text rather than panic if it ever did.
    String::from_utf8(out).unwrap_or_else(|_| xml.to_owned())
}

fn blank(b: &[u8], out: &mut [u8], start: usize, end: usize, quote: Option<u8>) {
    for j in start..end {
        let c = b[j];
        let breaks_xml = c == b'<'
            || (c == b'&'
                && std::str::from_utf8(&b[j..end.min(j + 12)])
                    .map_or(true, |s| entity_at(s).is_none()))
            || Some(c) == quote;
        if breaks_xml {
            out[j] = b' ';
        }
    }
}

/// Skips a comment, CDATA section, processing instruction, declaration or tag starting at
/// `i`, blanking expressions in the tag's attribute values. Returns the offset after it.
fn skip_markup(b: &[u8], i: usize, out: &mut [u8]) -> usize {
    let rest = &b[i..];
    if rest.starts_with(b"<!--") {
        // XML forbids `--` inside a comment; Microsoft's own snippets nest comments, and a
        // comment never matters to a policy, so blank the dashes rather than refuse.
        let end = find(b, i + 4, b"-->").unwrap_or(b.len());
        for j in i + 4..end.saturating_sub(1) {
            if b[j] == b'-' && b[j + 1] == b'-' {
                out[j] = b' ';
            }
        }
        return (end + 3).min(b.len());
    }
    for (open, close) in [("<![CDATA[", "]]>"), ("<?", "?>"), ("<!", ">")] {
        if rest.starts_with(open.as_bytes()) {
            return find(b, i + open.len(), close.as_bytes()).map_or(b.len(), |e| e + close.len());
        }
    }
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'>' => return j + 1,
            b'<' => return j,
            q @ (b'"' | b'\'') => {
                let start = j + 1;
                let expr_end = match (b.get(start), b.get(start + 1)) {
                    (Some(b'@'), Some(b'(' | b'{')) => expression_end(b, start),
                    _ => None,
                };
                if let Some(end) = expr_end {
                    let close = end
                        + b[end..]
                            .iter()
                            .take_while(|c| c.is_ascii_whitespace())
                            .count();
                    if b.get(close) == Some(&q) {
                        blank(b, out, start, end, Some(q));
                        j = close + 1;
                        continue;
                    }
                }
                j = b[start..]
                    .iter()
                    .position(|&c| c == q)
                    .map_or(b.len(), |p| start + p + 1);
            }
            _ => j += 1,
        }
    }
    j
}

fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    b.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
}

/// A character of the expression as the author meant it: entities count as the character
/// they stand for (`&quot;` is a quote), so escaped and unescaped expressions scan alike.
fn char_at(b: &[u8], i: usize) -> (u8, usize) {
    if b[i] == b'&' {
        if let Ok(s) = std::str::from_utf8(&b[i..b.len().min(i + 12)]) {
            if let Some((ch, len)) = entity_at(s) {
                return (u8::try_from(u32::from(ch)).unwrap_or(b'x'), len);
            }
        }
    }
    (b[i], 1)
}

/// The end (exclusive) of the expression `@(…)`/`@{…}` at `at`, skipping C# strings,
/// character literals and comments; `None` when its brackets never close.
pub(crate) fn expression_end(b: &[u8], at: usize) -> Option<usize> {
    scan_code(b, at + 1, 0)
}

/// Scans code from an opening bracket at `i` to its matching close. `depth` guards against
/// pathological nesting of interpolated strings.
fn scan_code(b: &[u8], mut i: usize, depth: usize) -> Option<usize> {
    if depth > 64 {
        return None;
    }
    let mut level = 0usize;
    while i < b.len() {
        let (c, len) = char_at(b, i);
        match c {
            b'(' | b'{' | b'[' => {
                level += 1;
                i += len;
            }
            b')' | b'}' | b']' => {
                level = level.checked_sub(1)?;
                i += len;
                if level == 0 {
                    return Some(i);
                }
            }
            b'"' | b'\'' => i = scan_string(b, i, c, false, false, depth)?,
            b'@' | b'$' => {
                let (verbatim, interpolated, skip) = string_prefix(b, i);
                if skip > 0 {
                    let q = char_at(b, i + skip).0;
                    i = scan_string(b, i + skip, q, verbatim, interpolated, depth)?;
                } else {
                    i += len;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                i = b[i..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(b.len(), |p| i + p);
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = find(b, i + 2, b"*/").map_or(b.len(), |e| e + 2);
            }
            _ => i += len,
        }
    }
    None
}

/// Recognises `@"`, `$"`, `$@"` and `@$"` prefixes: (verbatim, interpolated, prefix length).
fn string_prefix(b: &[u8], i: usize) -> (bool, bool, usize) {
    let mut j = i;
    let (mut verbatim, mut interpolated) = (false, false);
    while j < b.len() && j < i + 2 {
        match b[j] {
            b'@' if !verbatim => verbatim = true,
            b'$' if !interpolated => interpolated = true,
            _ => break,
        }
        j += 1;
    }
    if j < b.len() && char_at(b, j).0 == b'"' {
        (verbatim, interpolated, j - i)
    } else {
        (false, false, 0)
    }
}

/// Scans a string or character literal whose opening quote (possibly an entity ending at
/// `i`) is at `i`; returns the offset after its closing quote.
fn scan_string(
    b: &[u8],
    i: usize,
    quote: u8,
    verbatim: bool,
    interpolated: bool,
    depth: usize,
) -> Option<usize> {
    let mut j = i + char_at(b, i).1;
    while j < b.len() {
        let (c, len) = char_at(b, j);
        if c == b'\\' && !verbatim {
            j += len;
            j += char_at(b, j.min(b.len() - 1)).1;
        } else if c == quote {
            j += len;
            if verbatim && j < b.len() && char_at(b, j).0 == quote {
                j += char_at(b, j).1;
            } else {
                return Some(j);
            }
        } else if interpolated && c == b'{' {
            if j + len < b.len() && char_at(b, j + len).0 == b'{' {
                j += len + char_at(b, j + len).1;
            } else {
                j = scan_code(b, j, depth + 1)?;
            }
        } else {
            j += len;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blanks_unescaped_attribute_expression() {
        let xml = r#"<when condition="@(a.Equals("x)") && b < 2)"><x/></when>"#;
        let out = blank_expressions(xml);
        assert_eq!(out.len(), xml.len());
        assert!(roxmltree::Document::parse(&out).is_ok(), "{out}");
    }

    #[test]
    fn blanks_text_block_and_leaves_entities() {
        let xml = "<v>@{ if (a < b &amp;&amp; c) { return \"}\"; } // don't\n return 1; }</v>";
        let out = blank_expressions(xml);
        assert!(out.contains("&amp;&amp;"));
        assert!(roxmltree::Document::parse(&out).is_ok(), "{out}");
    }

    #[test]
    fn finds_end_through_interpolation_and_escaped_quotes() {
        let s = br#"@($"a{f("}")}b" + &quot;)&quot;) tail"#;
        let end = expression_end(s, 0).unwrap();
        assert_eq!(&s[end..], b" tail");
    }
}
