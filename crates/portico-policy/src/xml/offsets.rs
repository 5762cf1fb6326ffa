//! Byte offsets back to document positions: the line index of a document, and the map from
//! a rewritten value (entities decoded, named values substituted) back to the text it came
//! from, so an expression error lands on the character the author wrote.

use crate::error::Position;

/// Line starts of a document, to turn byte offsets into 1-based line and column.
#[derive(Debug, Clone)]
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub(crate) fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self { starts }
    }

    /// Columns count characters, so a multi-byte character is one column.
    pub(crate) fn position(&self, text: &str, offset: usize) -> Position {
        let offset = floor_char_boundary(text, offset.min(text.len()));
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        let column = text[self.starts[line]..offset].chars().count() + 1;
        Position::new(to_u32(line + 1), to_u32(column))
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// One stretch of rewritten text: copied unchanged, or standing for `in_len` input bytes
/// that were replaced (an entity, a `{{name}}` reference).
#[derive(Debug, Clone, Copy)]
struct Segment {
    out_start: usize,
    in_start: usize,
    copied: bool,
}

/// Maps offsets in a rewritten string back to offsets in its input.
#[derive(Debug, Clone, Default)]
pub(crate) struct OffsetMap {
    segments: Vec<Segment>,
}

impl OffsetMap {
    pub(crate) fn copied(&mut self, out_start: usize, in_start: usize) {
        self.push(out_start, in_start, true);
    }

    pub(crate) fn replaced(&mut self, out_start: usize, in_start: usize) {
        self.push(out_start, in_start, false);
    }

    fn push(&mut self, out_start: usize, in_start: usize, copied: bool) {
        self.segments.push(Segment {
            out_start,
            in_start,
            copied,
        });
    }

    /// Inside a replacement, points at the start of what was replaced.
    pub(crate) fn to_input(&self, out: usize) -> usize {
        let i = self.segments.partition_point(|s| s.out_start <= out);
        match i.checked_sub(1).map(|i| self.segments[i]) {
            Some(s) if s.copied => s.in_start + (out - s.out_start),
            Some(s) => s.in_start,
            None => out,
        }
    }
}

/// Decodes XML's five predefined entities and character references, keeping the offset map.
/// Anything else starting with `&` stays as written: inside expressions APIM accepts a bare
/// `&&`, and XML has already rejected bad references everywhere else.
pub(crate) fn decode_entities(raw: &str) -> (String, OffsetMap) {
    let mut out = String::with_capacity(raw.len());
    let mut map = OffsetMap::default();
    let mut copied_from = 0;
    map.copied(0, 0);
    let mut i = 0;
    while let Some(rel) = raw[i..].find('&') {
        let at = i + rel;
        match entity_at(&raw[at..]) {
            Some((ch, len)) => {
                out.push_str(&raw[copied_from..at]);
                map.replaced(out.len(), at);
                out.push(ch);
                map.copied(out.len(), at + len);
                copied_from = at + len;
                i = at + len;
            }
            None => i = at + 1,
        }
    }
    out.push_str(&raw[copied_from..]);
    (out, map)
}

/// The character an entity at the start of `s` stands for, and the entity's length.
pub(crate) fn entity_at(s: &str) -> Option<(char, usize)> {
    let end = s.get(..12.min(s.len())).unwrap_or(s).find(';')?;
    let name = &s[1..end];
    let ch = match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "quot" => '"',
        "apos" => '\'',
        _ => {
            let code = if let Some(hex) = name.strip_prefix("#x") {
                u32::from_str_radix(hex, 16).ok()?
            } else {
                name.strip_prefix('#')?.parse().ok()?
            };
            char::from_u32(code)?
        }
    };
    Some((ch, end + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_maps_back() {
        let raw = "a &amp;&amp; b &quot;x&quot; && c";
        let (out, map) = decode_entities(raw);
        assert_eq!(out, "a && b \"x\" && c");
        let c = out.find('c').unwrap();
        assert_eq!(&raw[map.to_input(c)..], "c");
        assert_eq!(map.to_input(3), 7); // second `&` stands for the second `&amp;`
    }

    #[test]
    fn positions_count_characters() {
        let text = "ab\nçd\ne";
        let idx = LineIndex::new(text);
        assert_eq!(idx.position(text, 0), Position::new(1, 1));
        assert_eq!(
            idx.position(text, text.find('d').unwrap()),
            Position::new(2, 2)
        );
        assert_eq!(idx.position(text, text.len()), Position::new(3, 2));
    }
}
