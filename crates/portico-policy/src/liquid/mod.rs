//! Liquid templates for `<set-body template="liquid">`: APIM's DotLiquid flavour, parsed once
//! when the policy loads ([`LiquidTemplate::compile`]) and rendered per request against the
//! expression [`Context`] ([`LiquidTemplate::render`]).
//!
//! **Why hand-written.** The `liquid` crate implements Shopify's Ruby semantics: snake_case
//! filters, a missing key is an error rather than nil, `replace` is literal, and it has no
//! `JSONArrayFor`. Bending it to APIM would mean replacing its filters, its lookup rules and
//! adding a block, and binding `context` lazily through its object traits, while its errors
//! carry no offset we could turn into a line and column of the policy. The subset APIM
//! documents is small, so a renderer of a few hundred lines that does exactly that is
//! simpler to trust, and it shares `Regex`, `WebUtility` and date formatting with expressions.
//!
//! # Reference: what Portico runs
//!
//! **Writing the template.** The text of `<set-body template="liquid">` (entities decoded);
//! when it holds XML elements (a SOAP envelope written inline) the markup as written, entities
//! kept, without the policy document's comments. Named values are substituted first; a
//! `{{name}}` that is no named value is Liquid's. Errors name the line and column.
//!
//! **Markup.** `{{ value | Filter: arg, … }}` outputs; `{% tag %}` tags; `{{-`, `-}}`, `{%-`,
//! `-%}` strip the whitespace on their side. Values: `'…'` and `"…"` strings, integers,
//! decimals, `true`, `false`, `nil`/`null`, ranges `(1..n)`, and variable paths `a.b`,
//! `a["b"]`, `a[0]` (negative indexes count from the end), `a.size`, `a.first`, `a.last`.
//!
//! **Tags.** `if`/`elsif`/`else`/`endif`, `unless`, `case`/`when a, b or c`/`else`, `for x in
//! coll [limit: n] [offset: n] [reversed]` with `else`, `break`, `continue` and `forloop`
//! (`index`, `index0`, `rindex`, `rindex0`, `first`, `last`, `length`); APIM's
//! `JSONArrayFor x in coll … endJSONArrayFor`, which puts a comma between items (an item that
//! renders only whitespace gets none); `assign x = value | filters`, `capture x … endcapture`,
//! `comment … endcomment`, `raw … endraw`. Conditions: `== != <> < > <= >= contains`, `and`,
//! `or` (right to left, as Liquid), `empty` and `blank`; only `nil` and `false` are false.
//! Any other tag is refused when the policy loads.
//!
//! **Variables.** `context` (members checked when the policy loads): `Request` (`Url`,
//! `OriginalUrl`, `Method`, `IpAddress`, `Headers`, `MatchedParameters`), `Response`
//! (`StatusCode`, `StatusReason`, `Headers`), URLs (`Scheme`, `Host`, `Port`, `Path`, `Query`,
//! `QueryString`, `ToUri`, `ToString`; a URL prints whole), `Variables`, `Api`, `Operation`,
//! `Product`, `Subscription`, `User`, `Deployment` (the properties expressions have),
//! `RequestId`, `Timestamp`. Headers and query parameters are `string[]` (an array prints as its
//! items run together); iterating a dictionary gives `Key`/`Value` pairs. A variable holding
//! JSON (`context.Variables["x"]`) is an object. `body` is the message body of the section
//! (the request in inbound and backend, the response in outbound and on-error; inside
//! `return-response` there is none, as in APIM): JSON for `application/json`, `text/json`,
//! `…+json`; XML for `application/xml`, `text/xml`, `…+xml`, where the root element is the one
//! key, an element with only text is that text, repeated children make an array, attributes
//! are `@name`, mixed text is `#text`, names are local and matched ignoring case (APIM's own
//! SOAP templates read `body.envelope.body`); any other body is its text. `parse-date` (default
//! true) turns JSON strings holding a date and time into dates; `xsi-nil="null"` makes
//! `xsi:nil` elements nil rather than "". A missing member is nil and prints nothing.
//!
//! **Filters** (PascalCase, as APIM requires; others are refused naming the right spelling):
//! `Abs Append AtLeast AtMost Capitalize Compact Currency Date Default DividedBy Downcase
//! Escape First H Join Last Lstrip Map Minus Modulo NewlineToBr Plus Prepend Remove
//! RemoveFirst Replace ReplaceFirst Round Rstrip Size Slice Sort Split Strip StripHtml
//! StripNewlines Times Truncate TruncateWords Uniq Upcase UrlDecode UrlEncode`, with
//! DotLiquid 2.0's behaviour: `Replace`, `ReplaceFirst` and `RemoveFirst` take a regular
//! expression (`$1` in the replacement), `Plus` on a string appends, `Times` on a string
//! repeats, `Capitalize` capitalizes each word, `Date` takes .NET format strings, `Currency`
//! prints en-US. Integer arithmetic stays integral; dividing by zero is an error.
//!
//! **Printing.** nil prints nothing, booleans `true`/`false`, numbers and dates as .NET
//! (`MM/dd/yyyy HH:mm:ss`), objects as `[key, value]` pairs.
//!
//! **Limits.** Blocks nest at most 64 deep; a rendering takes at most
//! [`render::STEP_BUDGET`] steps and produces at most 16 MiB; errors when rendering (a body that
//! does not parse as its Content-Type says, arithmetic on text, the budget) fail the policy.

mod bind;
mod filters;
mod lexer;
mod markup;
mod parser;
mod render;
mod value;

use std::fmt;

use crate::expr::{Context, Msg};

/// A template that does not compile: what and where (a byte offset into the template).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiquidError {
    pub offset: usize,
    pub message: String,
}

impl LiquidError {
    fn new(offset: usize, message: impl Into<String>) -> Self {
        Self {
            offset,
            message: message.into(),
        }
    }
}

/// A rendering that failed for this request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderError {
    pub message: String,
}

impl RenderError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Liquid template: {}", self.message)
    }
}

/// How the body binds, from `set-body`'s attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyBinding {
    /// Whose body `body` is; `None` inside `return-response`.
    pub msg: Option<Msg>,
    /// `parse-date`.
    pub parse_dates: bool,
    /// `xsi-nil="null"`.
    pub nil_is_null: bool,
}

/// A compiled template.
#[derive(Clone)]
pub struct LiquidTemplate {
    source: String,
    nodes: Vec<parser::Node>,
    reads_body: bool,
}

impl fmt::Debug for LiquidTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LiquidTemplate")
            .field("nodes", &self.nodes.len())
            .field("reads_body", &self.reads_body)
            .finish()
    }
}

impl LiquidTemplate {
    pub fn compile(source: &str) -> Result<Self, LiquidError> {
        let pieces = lexer::lex(source)?;
        let mut parser = parser::Parser::new(pieces);
        let nodes = parser.document().map_err(|mut e| {
            e.offset = e.offset.min(source.len());
            e
        })?;
        Ok(Self {
            source: source.to_owned(),
            nodes,
            reads_body: parser.reads_body,
        })
    }

    /// The template as compiled (named values substituted).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the template reads `body` (the gateway buffers the body first, and only then).
    pub fn reads_body(&self) -> bool {
        self.reads_body
    }

    pub fn render(
        &self,
        ctx: &mut dyn Context,
        binding: BodyBinding,
    ) -> Result<String, RenderError> {
        let source = render::BodySource {
            msg: binding.msg,
            opts: bind::BodyOptions {
                parse_dates: binding.parse_dates,
                nil_is_null: binding.nil_is_null,
            },
        };
        render::Renderer::new(ctx, source).run(&self.nodes)
    }
}

#[cfg(test)]
mod tests;
