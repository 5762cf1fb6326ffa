//! The policy expression language: `@( … )` single expressions and `@{ … }` statement blocks,
//! a documented subset of C#, parsed and checked once by [`Expression::compile`] and evaluated
//! per request by [`Expression::evaluate`] against a [`Context`] the gateway implements.
//!
//! Interface used by the XML layer (keep it stable):
//! - [`Expression::compile`] takes the whole source including the `@(`/`@{` wrapper (XML
//!   entities already decoded, named values already substituted);
//! - [`ExprError::offset`] and [`EvalError::offset`] are byte offsets into that source, so the
//!   caller can turn them into a line and column inside the policy document;
//! - [`MemoryContext`] is an in-memory [`Context`] for tests.
//!
//! # Reference: what Portico runs
//!
//! **Syntax.** Literals: strings with escapes, verbatim `@"…"`, interpolated `$"…{x}…{d:yyyy}"`
//! (and `$@"…"`), chars, `int`/`long` (`L` suffix, hex `0x…`), `double` (`d`/`f`/`m` suffixes
//! are all read as double), `true`/`false`/`null`. Operators: `+ - * / %` (integers wrap, as
//! unchecked C#; integer division by zero is an error), `<< >> & | ^ ~`, comparisons, `== !=`,
//! `! && ||`, `?:`, `??`, `??=`, `?.`, `?[ ]`, assignment and compound assignment, `++`/`--`,
//! casts `(T)x`, `is T`, `is T name`, `is null`, `is not null`, `as T`, `typeof`, `default(T)`,
//! member access, method calls with generic arguments (`GetValueOrDefault<string>(…)`,
//! `As<JObject>(…)`, `Value<int>(…)`), named arguments (`preserveContent: true`), `out var x`,
//! indexers, `new T(…)` with collection initializers, object initializers for the settable
//! properties below (`new HMACSHA256 { Key = bytes }`), `new[] { … }`, `new T[n]`,
//! `new T[] { … }`, anonymous objects `new { a = 1 }` (they become JObjects), and lambdas
//! `x => …` / `(a, b) => { … }` as arguments of LINQ-style methods only.
//!
//! **Statements** (in `@{ … }`, which must `return` a value): `var` and typed declarations
//! (`string s = …;`, `const`), expression statements, `if`/`else`, `while`, `do`, `for`,
//! `foreach`, `break`, `continue`, `return`, `throw`, `try`/`catch (Exception e)`/`finally`,
//! `checked`/`unchecked` blocks, `using (var x = …) …` and `using var x = …;` (plain scopes:
//! Portico's objects hold nothing to dispose, and `Dispose()` does nothing). Local functions
//! `T Name(T1 a, T2 b) { … }` and `T Name(…) => …;` (`void` too): callable anywhere in their
//! block (also before they are written and from each other), capturing the block's locals
//! declared before them by reference as C# does, recursing up to 64 calls deep; parameters
//! are plain (no `ref`/`out`/`in`/`params`/defaults), and a non-`void` one that ends without
//! `return` is a run-time error.
//!
//! **Refused with a compile error naming the construct:** `lock`, `switch`,
//! `goto`, `yield`, `await`, `ref`/`in` arguments, exception filters, object initializers of
//! other properties, assigning properties other than `Key`/`IV`, types and methods not listed
//! below (e.g. `XmlReader`, `XmlDocument`, `RSA`, `X509Certificate2` construction), calling a
//! non-method (`MatchedParameters("x")`).
//!
//! **Types** (casts, declarations, generic arguments): `object string bool char byte short int
//! uint long ulong float double decimal` (and their .NET names), `DateTime DateTimeOffset
//! TimeSpan Guid JToken JObject JArray JProperty JValue Jwt BasicAuthCredentials IResponse
//! IRequest IMessage X509Certificate2 Random Exception Uri HMACSHA1 HMACSHA256 HMACSHA384
//! HMACSHA512 SHA1 SHA256 SHA384 SHA512 MD5 Aes SymmetricAlgorithm Regex Match Group
//! RegexOptions`, `T[]`, `T?`, `List<T>`, `Dictionary<K, V>`, `KeyValuePair<K, V>`,
//! `IEnumerable<T>`. Namespaces (`System.`, `System.Text.`, `System.Security.Cryptography.`,
//! `System.Text.RegularExpressions.`, `Newtonsoft.Json.Linq.`, …) may be written and are
//! ignored.
//!
//! **`context`** (read lazily through [`Context`]; members are checked at compile time):
//! `Request` (`Method`, `Url`, `OriginalUrl`, `Headers`, `Body`, `IpAddress`,
//! `MatchedParameters`, `Certificate`), `Response` (`StatusCode`, `StatusReason`, `Headers`,
//! `Body`), URLs (`Scheme`, `Host`, `Port`, `Path`, `Query`, `QueryString`, `ToString()`),
//! `Api` (`Id`, `Name`, `Path`, `Version`, `Revision`, `IsCurrentRevision`, `ServiceUrl`),
//! `Operation` (`Id`, `Name`, `Method`, `UrlTemplate`), `Product` (`Id`, `Name`,
//! `SubscriptionRequired`), `Subscription` (`Id`, `Name`, `Key`, `PrimaryKey`, `SecondaryKey`,
//! `CreatedDate`, `EndDate`), `User` (`Id`, `Email`, `FirstName`, `LastName`, `Note`),
//! `Deployment` (`GatewayId`, `Region`, `ServiceName`, `ServiceId`, `Certificates`),
//! `Variables`, `LastError` (`Source`, `Reason`, `Message`, `Scope`, `Section`, `Path`,
//! `PolicyId`), `RequestId`, `Timestamp`, `Elapsed`, `Tracing`. Dictionaries (headers, query,
//! matched parameters, variables, certificates) offer `GetValueOrDefault(name[, default])`
//! (and `<T>`), `ContainsKey`, `TryGetValue`, `[name]` (an error when missing), `Count`,
//! `Keys`, enumeration and LINQ. Header and query values are `string[]`; `GetValueOrDefault`
//! joins them with `,`. `Body.As<T>(preserveContent: bool)` for `string`, `byte[]`, `JObject`,
//! `JArray`, `JToken`; without `preserveContent: true` the body is consumed, as in APIM. A
//! message stored in a variable (`(IResponse)context.Variables["r"]`) has `StatusCode`,
//! `StatusReason`, `Headers`, `Body`. Certificates: `Subject`, `SubjectName.Name`, `Issuer`,
//! `IssuerName.Name`, `Thumbprint`, `SerialNumber`, `NotBefore`, `NotAfter` (UTC), `Verify()`,
//! `VerifyNoRevocation()`. `context.Request.Certificate` is the client's TLS certificate, null
//! when it sent none (a hostname without `negotiateClientCertificate` never asks); names print
//! as .NET prints them (`CN=…, O=…, C=…`); `Verify()` and `VerifyNoRevocation()` both mean
//! "chain trusted by the gateway's certificate authorities and valid now": revocation is never
//! checked. `Extensions`, `PublicKey` and `RawData` are not available.
//!
//! **.NET surface:** `string` methods `Equals` (with `StringComparison`), `StartsWith`,
//! `EndsWith`, `Contains`, `IndexOf`, `LastIndexOf`, `Substring`, `Split`, `Replace`, `Trim`,
//! `TrimStart`, `TrimEnd`, `ToLower`, `ToUpper`, `ToLowerInvariant`, `ToUpperInvariant`,
//! `PadLeft`, `PadRight`, `Insert`, `Remove`, `CompareTo`, `ToCharArray`, `Length`, `[i]`,
//! `AsJwt()`, `AsBasic()`; `string.IsNullOrEmpty`, `IsNullOrWhiteSpace`, `Format`, `Join`,
//! `Concat`, `Equals`, `Compare`, `string.Empty`. `int`/`long`/`double`/`bool`/`byte`
//! `.Parse`, `.TryParse(s, out var x)`, `MaxValue`/`MinValue`. `char.IsDigit` and friends.
//! `Convert.ToBase64String`, `FromBase64String`, `ToInt32` (and base 2/8/16), `ToInt64`,
//! `ToDouble`, `ToBoolean`, `ToByte`, `ToString`; `Encoding.UTF8.GetBytes`/`GetString`
//! (byte arrays are `byte[]` values); `BitConverter.ToInt32`/`ToString`. `Math.Min`, `Max`,
//! `Abs`, `Round`, `Floor`, `Ceiling`, `Pow`, `Sqrt`, `PI`, `E`. `Uri.EscapeDataString`,
//! `UnescapeDataString`; `WebUtility.UrlEncode`/`UrlDecode`/`HtmlEncode`/`HtmlDecode`.
//! `Guid.NewGuid()`, `Guid.Parse`, `ToString("N")`, `ToByteArray()`, `new Guid(…)`;
//! `new Random([seed]).Next(…)`/`NextDouble()` (seeded from the context). `DateTime.UtcNow`,
//! `Now` (UTC: gateways keep UTC), `Today`, `new DateTime(y, m, d[, h, mi, s])`,
//! `DateTimeOffset.UtcNow`, `FromUnixTimeSeconds`/`Milliseconds`, `ToUnixTimeSeconds()`,
//! `Add…(n)`, `Subtract`, date arithmetic, `Year`…`Ticks`, `ToString()` with standard formats
//! `o R s u d D t T g G` and custom patterns (`yyyy-MM-ddTHH:mm:ssZ`); `TimeSpan.From…`,
//! `Total…`, `Days`…. JWT (`AsJwt()`, decoded without validation; null when malformed):
//! `Header`, `Claims` (`string[]` per claim; `GetValueOrDefault` joins with `,`), `Subject`,
//! `Issuer`, `Id`, `Audiences`, `ExpirationTime`, `NotBefore`, `IssuedAt`, `Algorithm`.
//! `AsBasic()`: `UserId`, `Password`. Newtonsoft JSON: `JObject.Parse`/`JArray.Parse`/
//! `JToken.Parse`, `FromObject`, `JsonConvert.SerializeObject`/`DeserializeObject`, `new
//! JObject(props…)`, `new JArray(items…)`, `new JProperty(name, value)`, indexers read and
//! write, `Value<T>(key)`, `Property(name)` (`Name`, `Value`, `Remove()`), `Properties()`,
//! `Add(prop)`/`Add(name, value)`, `Remove(name)`, `Remove()`, `RemoveAt`, `ContainsKey`,
//! `SelectToken` with simple paths (`a.b[0]['c d']`), `ToObject<T>()`, `DeepClone()`,
//! `Count`, `HasValues`, `First`, `Last`, `Type`, `Path`, `ToString()` (indented) and
//! `ToString(Formatting.None)`; `(string)`, `(int)`, `(bool)`… casts of tokens. Object keys print
//! sorted, not in insertion order. Sequences (arrays, `List<T>`, dictionaries, JArrays,
//! context dictionaries): `Length`/`Count`, `Add`, `Remove`, `RemoveAt`, `Clear`, `Contains`,
//! `IndexOf`, `Where`, `Select`, `Any`, `All`, `First`, `FirstOrDefault`, `Last`,
//! `LastOrDefault`, `Count(pred)`, `Sum`, `Min`, `Max`, `OrderBy`, `OrderByDescending`, `Skip`,
//! `Take`, `Distinct`, `Reverse`, `Concat`, `ElementAt`, `ToArray`, `ToList`; `Array.Exists`,
//! `Array.IndexOf`, `Array.Copy`, `Enumerable.Range`. `x.ToString()` and `x.Equals(y)` on
//! anything.
//!
//! **Cryptography** (aws-lc-rs; MD5 from RustCrypto): `new HMACSHA256([key])` (and `HMACSHA1`,
//! `HMACSHA384`, `HMACSHA512`; without a key a random one, as .NET), `Key` (get and set),
//! `ComputeHash(byte[])`, `HashSize`, static `HMACSHA256.HashData(key, data)`;
//! `SHA256.Create()` (and `SHA1`, `SHA384`, `SHA512`, `MD5`) with `ComputeHash`, static
//! `SHA256.HashData(data)`; `Aes.Create()` (random 256-bit `Key` and `IV`, both settable and
//! checked: 16/24/32-byte keys, 16-byte IVs), `EncryptCbc(data, iv)`, `DecryptCbc(data, iv)`.
//! APIM's `byte[].Encrypt(alg, key, iv)`, `Encrypt(SymmetricAlgorithm[, key, iv])` and the same
//! `Decrypt` run AES in CBC mode with PKCS7 padding (APIM's defaults); `alg` is `"Aes"` or
//! `"Rijndael"` (also with `System.Security.Cryptography.`, `…Managed`), anything else (`DES`,
//! `TripleDES`, …) is a run-time error, as is a wrong key or IV size or bad padding. Errors
//! never quote keys, IVs or data.
//!
//! **XML** (LINQ to XML, read-only): `XDocument.Parse(text)`, `XElement.Parse(text)`;
//! `Root`, `Elements([name])`, `Element(name)`, `Descendants([name])`,
//! `DescendantsAndSelf([name])`, `Attributes([name])`, `Attribute(name)`, `Parent`,
//! `Document`, `Name` (`LocalName`, `NamespaceName`; compares with a string), `Value` (all
//! text below), `HasElements`, `HasAttributes`, `(string)` of an element or attribute, `is`/`as`
//! `XElement`, and LINQ over the sequences. Names are `"local"` (no namespace, as in .NET) or
//! `"{namespace}local"`. `ToString()` gives the markup as written (.NET re-indents it).
//! Changing a document (`Add`, `Remove`, `SetValue`, …) is a run-time error, and
//! `XmlReader`, `XmlDocument` and `new XDocument(…)` are refused.
//!
//! **Regular expressions** (the `regex` crate): `Regex.IsMatch(input, pattern[, options])`,
//! `Match`, `Matches` (an array of matches), `Split`, `Replace(input, pattern, replacement[,
//! options])`, `Regex.Escape`; `new Regex(pattern[, options])` with `IsMatch`, `Match`,
//! `Matches`, `Replace(input, replacement)`, `Split`; a `Match` or `Group` has `Success`,
//! `Value`, `Index`, `Length`, `Name`, and a match `Groups[n]`/`Groups["name"]` (a missing
//! group is unsuccessful with value `""`, never null) and `Groups.Count`. `RegexOptions.None`,
//! `IgnoreCase`, `Multiline`, `Singleline`, `IgnorePatternWhitespace`, `Compiled`,
//! `CultureInvariant`, combined with `|`. Replacements use `$1`, `${name}`, `$&`, `$$`.
//!
//! **Semantics worth knowing.** `==` compares strings, numbers, dates and a JValue by value;
//! objects by reference. A JSON token missing from its object reads as `null`. Strings count
//! characters, not UTF-16 units. Every evaluation has a step budget
//! ([`Context::step_budget`], default [`DEFAULT_STEP_BUDGET`]) and strings and arrays have size
//! caps, so no expression can run away; a budget overrun cannot be caught by `catch`. Runtime
//! failures (null reference, bad cast, parse failure, missing key, budget) are [`EvalError`]s.
//! Regular expressions match in linear time, so .NET constructs that need backtracking
//! (look-ahead/behind, backreferences, atomic groups) are refused; a pattern written as a
//! string literal is compiled (or refused) when the policy loads, others when first used, and
//! compiled patterns are bounded to 1 MiB and cached. Unlike .NET, groups are numbered in
//! order of their opening parenthesis whether named or not, and `$` matches only at the very
//! end (or at line ends with `Multiline`).

mod ast;
mod builtins;
mod catalog;
mod check;
mod context;
mod convert;
mod ctx_members;
mod error;
mod eval;
mod lexer;
mod memory;
mod parser;
pub mod stored;
mod time;
mod types;
mod value;

pub use context::{Context, CtxObj, Msg, Prop, UrlKind, UrlPart, DEFAULT_STEP_BUDGET};
pub use error::{EvalError, ExprError};
pub use memory::MemoryContext;
pub use time::{DateTime, DateTimeOffset, DtKind, TimeSpan};
pub use value::{CertificateInfo, Jwt, StoredMessage, Value};

/// The .NET behaviour Liquid's filters share with expressions (`WebUtility`, `Regex`,
/// `ToString()`, date formats), so a value prints and converts the same way in both.
pub(crate) mod dotnet {
    pub(crate) use super::builtins::encoding::{escape, unescape};
    pub(crate) use super::builtins::regex::{compile as regex, replacement_syntax};
    pub(crate) use super::convert::{double_to_string, to_string};
    pub(crate) use super::time::{format as format_time, parse_iso};
    pub(crate) use super::value::lock;
}

/// A compiled expression: parsed and checked once, evaluated any number of times.
#[derive(Debug, Clone)]
pub struct Expression {
    source: String,
    program: ast::Program,
    slots: usize,
    functions: std::sync::Arc<[ast::LocalFn]>,
}

impl Expression {
    /// Compiles `@( … )` or `@{ … }`.
    pub fn compile(source: &str) -> Result<Self, ExprError> {
        let mut program = parser::parse(source)?;
        let (slots, functions) = check::check_program(&mut program)?;
        Ok(Expression {
            source: source.to_string(),
            program,
            slots,
            functions: functions.into(),
        })
    }

    /// The source as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Evaluates against one request's context.
    pub fn evaluate(&self, ctx: &mut dyn Context) -> Result<Value, EvalError> {
        eval::run(&self.program, self.slots, &self.functions, ctx)
    }

    /// Evaluates and converts the result as a policy attribute or body would: `null` becomes
    /// the empty string, anything else its `ToString()`.
    pub fn evaluate_to_string(&self, ctx: &mut dyn Context) -> Result<String, EvalError> {
        let v = self.evaluate(ctx)?;
        Ok(match v {
            Value::Ctx(CtxObj::Url(k)) => {
                convert::to_string(&ctx.property(Prop::Url(k, UrlPart::Full)))
            }
            other => convert::to_string(&other),
        })
    }

    /// Evaluates a condition (`<when condition="@(…)">`): the result must be a bool.
    pub fn evaluate_bool(&self, ctx: &mut dyn Context) -> Result<bool, EvalError> {
        let v = self.evaluate(ctx)?;
        convert::need_bool(&v, "the condition").map_err(|e| e.at(0))
    }
}
