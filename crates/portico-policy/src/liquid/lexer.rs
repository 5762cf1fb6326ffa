//! Splits a template into text, `{{ output }}` and `{% tag %}` pieces, applying whitespace
//! control (`{{-`, `-}}`, `{%-`, `-%}` strip the whitespace on that side) and keeping the
//! bodies of `{% raw %}` and `{% comment %}` as written. Like Liquid's own tokenizer, a `}}`
//! or `%}` ends the piece even inside quotes.

use super::LiquidError;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Piece<'a> {
    Text(String),
    /// The markup between `{{` and `}}`, and its offset in the template.
    Output(&'a str, usize),
    /// A tag's name, the rest of its markup, and the offsets of each.
    Tag {
        name: &'a str,
        markup: &'a str,
        at: usize,
        markup_at: usize,
    },
}

pub(super) fn lex(src: &str) -> Result<Vec<Piece<'_>>, LiquidError> {
    let mut pieces = Vec::new();
    let mut i = 0;
    // The previous piece ended with `-}}`/`-%}`: strip the whitespace that follows it.
    let mut trim_next = false;
    while i < src.len() {
        let Some(rel) = find_open(&src[i..]) else {
            push_text(&mut pieces, &src[i..], trim_next, false);
            break;
        };
        let start = i + rel;
        let output = src[start..].starts_with("{{");
        let close = if output { "}}" } else { "%}" };
        let mut inner_start = start + 2;
        let trim_before = src[inner_start..].starts_with('-');
        if trim_before {
            inner_start += 1;
        }
        push_text(&mut pieces, &src[i..start], trim_next, trim_before);
        let Some(rel_end) = src[inner_start..].find(close) else {
            let what = if output {
                "`{{` has no `}}`"
            } else {
                "`{%` has no `%}`"
            };
            return Err(LiquidError::new(start, what));
        };
        let mut inner_end = inner_start + rel_end;
        i = inner_end + 2;
        trim_next = inner_end > inner_start && src[..inner_end].ends_with('-');
        if trim_next {
            inner_end -= 1;
        }
        let inner = &src[inner_start..inner_end];
        if output {
            pieces.push(Piece::Output(inner, inner_start));
            continue;
        }
        let lead = inner.len() - inner.trim_start().len();
        let body = inner.trim_start();
        let name_len = body
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(body.len());
        let name = &body[..name_len];
        let markup_at = inner_start + lead + name_len;
        if name.is_empty() {
            return Err(LiquidError::new(start, "a tag needs a name after `{%`"));
        }
        pieces.push(Piece::Tag {
            name,
            markup: &body[name_len..],
            at: start,
            markup_at,
        });
        if name == "raw" || name == "comment" {
            let end_name = if name == "raw" {
                "endraw"
            } else {
                "endcomment"
            };
            let Some((text_end, after, trims)) = find_end(src, i, end_name) else {
                return Err(LiquidError::new(
                    start,
                    format!("`{{% {name} %}}` has no `{{% {end_name} %}}`"),
                ));
            };
            if name == "raw" {
                // Raw text is kept whole, apart from the stripping its own tags ask for.
                let mut text = &src[i..text_end];
                if trim_next {
                    text = text.trim_start();
                }
                if trims.0 {
                    text = text.trim_end();
                }
                pieces.push(Piece::Text(text.to_owned()));
            }
            pieces.push(Piece::Tag {
                name: end_name,
                markup: "",
                at: text_end,
                markup_at: after,
            });
            trim_next = trims.1;
            i = after;
        }
    }
    Ok(pieces)
}

fn find_open(s: &str) -> Option<usize> {
    let a = s.find("{{");
    let b = s.find("{%");
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn push_text(pieces: &mut Vec<Piece<'_>>, text: &str, trim_start: bool, trim_end: bool) {
    let mut t = text;
    if trim_start {
        t = t.trim_start();
    }
    if trim_end {
        t = t.trim_end();
    }
    if !t.is_empty() {
        pieces.push(Piece::Text(t.to_owned()));
    }
}

/// Finds `{% end_name %}` (with optional `-` on either side) from `from`: where the text
/// before it ends, where the tag ends, and whether it strips before and after.
fn find_end(src: &str, from: usize, end_name: &str) -> Option<(usize, usize, (bool, bool))> {
    let mut i = from;
    while let Some(rel) = src[i..].find("{%") {
        let start = i + rel;
        let mut j = start + 2;
        let trim_before = src[j..].starts_with('-');
        if trim_before {
            j += 1;
        }
        let rest = src[j..].trim_start();
        j = src.len() - rest.len();
        if let Some(after_name) = rest.strip_prefix(end_name) {
            let after_ws = after_name.trim_start();
            let trim_after = after_ws.starts_with("-%}");
            if trim_after || after_ws.starts_with("%}") {
                let tag_end = src.len() - after_ws.len() + if trim_after { 3 } else { 2 };
                return Some((start, tag_end, (trim_before, trim_after)));
            }
        }
        i = j.max(start + 2);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(src: &str) -> Vec<String> {
        lex(src)
            .unwrap()
            .into_iter()
            .map(|p| match p {
                Piece::Text(t) => format!("T:{t}"),
                Piece::Output(m, _) => format!("O:{m}"),
                Piece::Tag { name, markup, .. } => format!("G:{name}|{markup}"),
            })
            .collect()
    }

    #[test]
    fn pieces_and_whitespace_control() {
        assert_eq!(
            texts("a {{ x }} b\n  {%- if y -%}  \n c{% endif %}"),
            ["T:a ", "O: x ", "T: b", "G:if| y ", "T:c", "G:endif| "]
        );
    }

    #[test]
    fn raw_and_comment_bodies_are_not_parsed() {
        assert_eq!(
            texts("{% raw %}{{ x }}{% endraw %}{% comment %}{% if %}{%- endcomment -%} z"),
            [
                "G:raw| ",
                "T:{{ x }}",
                "G:endraw|",
                "G:comment| ",
                "G:endcomment|",
                "T:z"
            ]
        );
    }

    #[test]
    fn unclosed_pieces_are_errors_with_offsets() {
        let e = lex("ab {{ x").unwrap_err();
        assert_eq!(e.offset, 3);
        assert!(lex("{% raw %} x").unwrap_err().message.contains("endraw"));
    }
}
