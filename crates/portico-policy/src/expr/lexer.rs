//! The lexer: turns expression source into tokens that carry byte offsets, so every later
//! error can point at the text that caused it. Interpolated strings (`$"…{x}…"`) are lexed here
//! into literal parts and nested token lists, which the parser then treats as expressions.

use super::ExprError;

/// One token and where it sits in the source (byte offsets, end exclusive).
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Ident(String),
    Int(i64, NumSuffix),
    Double(f64),
    Str(String),
    Char(char),
    Interp(Vec<InterpPiece>),
    Punct(&'static str),
    Eof,
}

/// The integer suffix written after a literal (`L`, `U`, …), which decides its C# type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumSuffix {
    None,
    Long,
    Unsigned,
}

/// A piece of an interpolated string: text, or a hole holding tokens and an optional format.
#[derive(Debug, Clone, PartialEq)]
pub enum InterpPiece {
    Text(String),
    Hole {
        tokens: Vec<Token>,
        format: Option<String>,
        start: usize,
    },
}

// Longest first, so that `??=` wins over `??` and `?`. `>>` is deliberately absent: the parser
// joins two adjacent `>` so that `List<List<int>>` closes both generic lists.
const PUNCTS: &[&str] = &[
    "??=", "<<=", "=>", "==", "!=", "<=", ">=", "&&", "||", "??", "?.", "++", "--", "+=", "-=",
    "*=", "/=", "%=", "&=", "|=", "^=", "<<", "+", "-", "*", "/", "%", "<", ">", "=", "!", "&",
    "|", "^", "~", "?", ":", ";", ",", ".", "(", ")", "[", "]", "{", "}",
];

fn err(offset: usize, message: impl Into<String>) -> ExprError {
    ExprError {
        offset,
        message: message.into(),
    }
}

/// Deepest nesting of interpolated strings inside interpolation holes (`$"{$"{…}"}"`);
/// bounded so hostile input cannot overflow the stack.
const MAX_INTERPOLATION_DEPTH: usize = 16;

/// Lexes `src[start..end]`; offsets in the tokens are offsets into `src`.
pub fn lex(src: &str, start: usize, end: usize) -> Result<Vec<Token>, ExprError> {
    lex_at_depth(src, start, end, 0)
}

fn lex_at_depth(
    src: &str,
    start: usize,
    end: usize,
    depth: usize,
) -> Result<Vec<Token>, ExprError> {
    if depth > MAX_INTERPOLATION_DEPTH {
        return Err(err(
            start,
            format!("interpolated strings nest more than {MAX_INTERPOLATION_DEPTH} deep"),
        ));
    }
    let mut lx = Lexer {
        src,
        pos: start,
        end,
        depth,
    };
    let mut out = Vec::new();
    loop {
        lx.skip_trivia()?;
        if lx.pos >= lx.end {
            out.push(Token {
                tok: Tok::Eof,
                start: lx.end,
                end: lx.end,
            });
            return Ok(out);
        }
        let begin = lx.pos;
        let tok = lx.token()?;
        out.push(Token {
            tok,
            start: begin,
            end: lx.pos,
        });
    }
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    end: usize,
    /// How many interpolation holes enclose this text.
    depth: usize,
}

impl Lexer<'_> {
    fn rest(&self) -> &str {
        &self.src[self.pos..self.end]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn peek2(&self) -> Option<char> {
        self.rest().chars().nth(1)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn skip_trivia(&mut self) -> Result<(), ExprError> {
        loop {
            let rest = self.rest();
            if rest.starts_with("//") {
                let n = rest.find('\n').unwrap_or(rest.len());
                self.pos += n;
            } else if let Some(body) = rest.strip_prefix("/*") {
                match body.find("*/") {
                    Some(n) => self.pos += n + 4,
                    None => return Err(err(self.pos, "comment `/*` is never closed with `*/`")),
                }
            } else if let Some(c) = self.peek().filter(|c| c.is_whitespace()) {
                self.pos += c.len_utf8();
            } else {
                return Ok(());
            }
        }
    }

    fn token(&mut self) -> Result<Tok, ExprError> {
        let rest = self.rest();
        let c = self.peek().unwrap_or('\0');
        if rest.starts_with("$@\"") || rest.starts_with("@$\"") {
            self.pos += 3;
            return self.interpolated(true);
        }
        if rest.starts_with("$\"") {
            self.pos += 2;
            return self.interpolated(false);
        }
        if rest.starts_with("@\"") {
            self.pos += 2;
            return self.verbatim().map(Tok::Str);
        }
        if c == '@' && self.peek2().is_some_and(is_ident_start) {
            // `@class` is C#'s way to use a keyword as a name.
            self.pos += 1;
            return Ok(Tok::Ident(self.ident()));
        }
        if is_ident_start(c) {
            return Ok(Tok::Ident(self.ident()));
        }
        if c.is_ascii_digit() || (c == '.' && self.peek2().is_some_and(|d| d.is_ascii_digit())) {
            return self.number();
        }
        if c == '"' {
            self.bump();
            return self.string().map(Tok::Str);
        }
        if c == '\'' {
            return self.char_lit();
        }
        for p in PUNCTS {
            if rest.starts_with(p) {
                self.pos += p.len();
                return Ok(Tok::Punct(p));
            }
        }
        Err(err(self.pos, format!("unexpected character `{c}`")))
    }

    fn ident(&mut self) -> String {
        let begin = self.pos;
        while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
            self.bump();
        }
        self.src[begin..self.pos].to_string()
    }

    fn number(&mut self) -> Result<Tok, ExprError> {
        let begin = self.pos;
        let rest = self.rest();
        if rest.starts_with("0x") || rest.starts_with("0X") {
            self.pos += 2;
            let digits_at = self.pos;
            while self
                .peek()
                .is_some_and(|c| c.is_ascii_hexdigit() || c == '_')
            {
                self.bump();
            }
            let text = self.src[digits_at..self.pos].replace('_', "");
            let value = u64::from_str_radix(&text, 16)
                .map_err(|_| err(begin, "hexadecimal literal is malformed or too large"))?;
            let suffix = self.int_suffix();
            return Ok(Tok::Int(value as i64, suffix));
        }
        let mut is_float = false;
        while self.peek().is_some_and(|c| c.is_ascii_digit() || c == '_') {
            self.bump();
        }
        if self.peek() == Some('.') && self.peek2().is_some_and(|c| c.is_ascii_digit()) {
            is_float = true;
            self.bump();
            while self.peek().is_some_and(|c| c.is_ascii_digit() || c == '_') {
                self.bump();
            }
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            is_float = true;
            self.bump();
            if matches!(self.peek(), Some('+' | '-')) {
                self.bump();
            }
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.bump();
            }
        }
        let text = self.src[begin..self.pos].replace('_', "");
        if matches!(self.peek(), Some('d' | 'D' | 'f' | 'F' | 'm' | 'M')) {
            self.bump();
            is_float = true;
        }
        if is_float {
            return text
                .parse::<f64>()
                .map(Tok::Double)
                .map_err(|_| err(begin, "number literal is malformed"));
        }
        let value: u64 = text
            .parse()
            .map_err(|_| err(begin, "integer literal is too large"))?;
        let suffix = self.int_suffix();
        Ok(Tok::Int(value as i64, suffix))
    }

    fn int_suffix(&mut self) -> NumSuffix {
        let mut suffix = NumSuffix::None;
        while let Some(c) = self.peek() {
            match c {
                'l' | 'L' => suffix = NumSuffix::Long,
                'u' | 'U' if suffix == NumSuffix::None => suffix = NumSuffix::Unsigned,
                'u' | 'U' => {}
                _ => break,
            }
            self.bump();
        }
        suffix
    }

    fn escape(&mut self) -> Result<char, ExprError> {
        let at = self.pos;
        let c = self
            .bump()
            .ok_or_else(|| err(at, "string ends inside an escape"))?;
        Ok(match c {
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            '0' => '\0',
            'a' => '\u{7}',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'v' => '\u{b}',
            '\\' | '"' | '\'' => c,
            'u' | 'x' => {
                let begin = self.pos;
                while self.pos - begin < 4 && self.peek().is_some_and(|h| h.is_ascii_hexdigit()) {
                    self.bump();
                }
                u32::from_str_radix(&self.src[begin..self.pos], 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| err(at - 1, "invalid `\\u`/`\\x` escape"))?
            }
            other => return Err(err(at - 1, format!("unknown escape `\\{other}`"))),
        })
    }

    /// A regular string; the opening quote is already consumed.
    fn string(&mut self) -> Result<String, ExprError> {
        let open = self.pos - 1;
        let mut out = String::new();
        loop {
            match self.bump() {
                None | Some('\n') => return Err(err(open, "string literal is never closed")),
                Some('"') => return Ok(out),
                Some('\\') => out.push(self.escape()?),
                Some(c) => out.push(c),
            }
        }
    }

    /// A verbatim `@"…"` string, where `""` is a quote and backslashes are literal.
    fn verbatim(&mut self) -> Result<String, ExprError> {
        let open = self.pos - 2;
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return Err(err(open, "verbatim string literal is never closed")),
                Some('"') if self.peek() == Some('"') => {
                    self.bump();
                    out.push('"');
                }
                Some('"') => return Ok(out),
                Some(c) => out.push(c),
            }
        }
    }

    fn char_lit(&mut self) -> Result<Tok, ExprError> {
        let open = self.pos;
        self.bump();
        let c = match self.bump() {
            Some('\\') => self.escape()?,
            Some(c) if c != '\'' => c,
            _ => return Err(err(open, "character literal is empty or malformed")),
        };
        if self.bump() != Some('\'') {
            return Err(err(
                open,
                "character literal must hold exactly one character; use \"…\" for strings",
            ));
        }
        Ok(Tok::Char(c))
    }

    /// `$"…"` or `$@"…"`; the prefix is already consumed.
    fn interpolated(&mut self, verbatim: bool) -> Result<Tok, ExprError> {
        let open = self.pos - if verbatim { 3 } else { 2 };
        let mut pieces = Vec::new();
        let mut text = String::new();
        loop {
            let Some(c) = self.bump() else {
                return Err(err(open, "interpolated string is never closed"));
            };
            match c {
                '"' if verbatim && self.peek() == Some('"') => {
                    self.bump();
                    text.push('"');
                }
                '"' => break,
                '\\' if !verbatim => text.push(self.escape()?),
                '{' if self.peek() == Some('{') => {
                    self.bump();
                    text.push('{');
                }
                '}' if self.peek() == Some('}') => {
                    self.bump();
                    text.push('}');
                }
                '{' => {
                    if !text.is_empty() {
                        pieces.push(InterpPiece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(self.hole()?);
                }
                '}' => {
                    return Err(err(
                        self.pos - 1,
                        "lone `}` in interpolated string; write `}}`",
                    ))
                }
                '\n' if !verbatim => return Err(err(open, "interpolated string is never closed")),
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            pieces.push(InterpPiece::Text(text));
        }
        Ok(Tok::Interp(pieces))
    }

    /// The expression inside `{ … }` of an interpolated string, up to the matching `}`; a `:`
    /// at nesting depth zero starts a format string (`{date:yyyy-MM-dd}`).
    fn hole(&mut self) -> Result<InterpPiece, ExprError> {
        let begin = self.pos;
        let mut depth = 0usize;
        let mut colon = None;
        loop {
            let at = self.pos;
            match self.peek() {
                None => return Err(err(begin - 1, "`{` in interpolated string is never closed")),
                Some('"') => {
                    self.bump();
                    self.string()?;
                    continue;
                }
                Some('\'') => {
                    self.char_lit()?;
                    continue;
                }
                Some('(' | '[' | '{') => depth += 1,
                Some(')' | ']') => depth = depth.saturating_sub(1),
                Some('}') if depth == 0 => break,
                Some('}') => depth -= 1,
                Some(':') if depth == 0 && colon.is_none() && !self.rest().starts_with("::") => {
                    colon = Some(at)
                }
                _ => {}
            }
            self.bump();
        }
        let close = self.pos;
        self.bump();
        let expr_end = colon.unwrap_or(close);
        let tokens = lex_at_depth(self.src, begin, expr_end, self.depth + 1)?;
        if tokens.len() == 1 {
            return Err(err(begin, "empty `{}` in interpolated string"));
        }
        let format = colon.map(|c| self.src[c + 1..close].to_string());
        Ok(InterpPiece::Hole {
            tokens,
            format,
            start: begin,
        })
    }
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        lex(s, 0, s.len())
            .unwrap()
            .into_iter()
            .map(|t| t.tok)
            .collect()
    }

    #[test]
    fn literals_and_offsets() {
        assert_eq!(
            toks(r#"@"a""b" 'c' 0x1F 5L 1.5"#),
            vec![
                Tok::Str("a\"b".into()),
                Tok::Char('c'),
                Tok::Int(31, NumSuffix::None),
                Tok::Int(5, NumSuffix::Long),
                Tok::Double(1.5),
                Tok::Eof
            ]
        );
        let t = lex("  x", 0, 3).unwrap();
        assert_eq!((t[0].start, t[0].end), (2, 3));
    }

    #[test]
    fn interpolation_holes_and_formats() {
        let Tok::Interp(parts) = &toks(r#"$"a{x:yyyy}{{b}}""#)[0] else {
            panic!("not interpolated")
        };
        assert_eq!(parts.len(), 3);
        assert!(matches!(&parts[1], InterpPiece::Hole { format: Some(f), .. } if f == "yyyy"));
        assert_eq!(parts[2], InterpPiece::Text("{b}".into()));
    }

    #[test]
    fn errors_carry_offsets() {
        assert_eq!(lex("ab \"x", 0, 5).unwrap_err().offset, 3);
        assert_eq!(lex("a # b", 0, 5).unwrap_err().offset, 2);
    }
}
