//! The .NET type names an expression may write (in casts, declarations, `is`/`as`, generic
//! arguments and as static receivers such as `Math.Max`), and their resolution from source text.
//! A name not listed here is a compile error that lists the supported ones.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ty {
    /// `var`: the type of the initializer.
    Var,
    Void,
    Object,
    String,
    Bool,
    Char,
    Byte,
    Short,
    Int,
    UInt,
    Long,
    ULong,
    Float,
    Double,
    Decimal,
    DateTime,
    DateTimeOffset,
    TimeSpan,
    Guid,
    JToken,
    JObject,
    JArray,
    JProperty,
    JValue,
    Jwt,
    BasicCredentials,
    /// `IResponse`/`IRequest`/`IMessage`: a message stored in a variable by `send-request`.
    Message,
    Certificate,
    Random,
    Exception,
    Uri,
    /// `System.Security.Cryptography` hash, HMAC and AES objects.
    Crypto(CryptoClass),
    /// `System.Text.RegularExpressions.Regex`.
    Regex,
    /// A regex `Match` or one of its `Group`s (they have the same members).
    Match,
    /// LINQ to XML (`System.Xml.Linq`), read-only.
    XDocument,
    XElement,
    XName,
    XAttribute,
    Array(Box<Ty>),
    List(Box<Ty>),
    Dictionary(Box<Ty>, Box<Ty>),
    KeyValuePair(Box<Ty>, Box<Ty>),
    Enumerable(Box<Ty>),
    Nullable(Box<Ty>),
    /// Classes only used for their static members.
    Static(StaticClass),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaticClass {
    Math,
    Convert,
    Encoding,
    StringComparison,
    ArrayClass,
    BitConverter,
    WebUtility,
    JsonConvert,
    Formatting,
    Enumerable,
    RegexOptions,
}

/// The `System.Security.Cryptography` classes Portico implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CryptoClass {
    HmacSha1,
    HmacSha256,
    HmacSha384,
    HmacSha512,
    Sha1,
    Sha256,
    Sha384,
    Sha512,
    Md5,
    /// `Aes.Create()`; also the type of `SymmetricAlgorithm` variables.
    Aes,
}

impl CryptoClass {
    /// The .NET class name (also the class its static members are listed under).
    pub fn name(self) -> &'static str {
        match self {
            CryptoClass::HmacSha1 => "HMACSHA1",
            CryptoClass::HmacSha256 => "HMACSHA256",
            CryptoClass::HmacSha384 => "HMACSHA384",
            CryptoClass::HmacSha512 => "HMACSHA512",
            CryptoClass::Sha1 => "SHA1",
            CryptoClass::Sha256 => "SHA256",
            CryptoClass::Sha384 => "SHA384",
            CryptoClass::Sha512 => "SHA512",
            CryptoClass::Md5 => "MD5",
            CryptoClass::Aes => "Aes",
        }
    }

    pub fn is_hmac(self) -> bool {
        matches!(
            self,
            CryptoClass::HmacSha1
                | CryptoClass::HmacSha256
                | CryptoClass::HmacSha384
                | CryptoClass::HmacSha512
        )
    }
}

// Namespaces a policy may spell out in full (`System.Text.Encoding.UTF8`); they are dropped.
pub const NAMESPACES: &[&str] = &[
    "System",
    "System.Text",
    "System.Net",
    "System.Linq",
    "System.Security",
    "System.Security.Cryptography",
    "System.Text.RegularExpressions",
    "System.Xml",
    "System.Xml.Linq",
    "System.Collections.Generic",
    "System.Security.Cryptography.X509Certificates",
    "Newtonsoft",
    "Newtonsoft.Json",
    "Newtonsoft.Json.Linq",
    "Microsoft.IdentityModel.Tokens",
];

const NAMES: &[(&str, Ty)] = &[
    ("var", Ty::Var),
    ("void", Ty::Void),
    ("object", Ty::Object),
    ("Object", Ty::Object),
    ("string", Ty::String),
    ("String", Ty::String),
    ("bool", Ty::Bool),
    ("Boolean", Ty::Bool),
    ("char", Ty::Char),
    ("Char", Ty::Char),
    ("byte", Ty::Byte),
    ("Byte", Ty::Byte),
    ("short", Ty::Short),
    ("Int16", Ty::Short),
    ("int", Ty::Int),
    ("Int32", Ty::Int),
    ("uint", Ty::UInt),
    ("UInt32", Ty::UInt),
    ("long", Ty::Long),
    ("Int64", Ty::Long),
    ("ulong", Ty::ULong),
    ("UInt64", Ty::ULong),
    ("float", Ty::Float),
    ("Single", Ty::Float),
    ("double", Ty::Double),
    ("Double", Ty::Double),
    ("decimal", Ty::Decimal),
    ("Decimal", Ty::Decimal),
    ("DateTime", Ty::DateTime),
    ("DateTimeOffset", Ty::DateTimeOffset),
    ("TimeSpan", Ty::TimeSpan),
    ("Guid", Ty::Guid),
    ("JToken", Ty::JToken),
    ("JObject", Ty::JObject),
    ("JArray", Ty::JArray),
    ("JProperty", Ty::JProperty),
    ("JValue", Ty::JValue),
    ("Jwt", Ty::Jwt),
    ("BasicAuthCredentials", Ty::BasicCredentials),
    ("IResponse", Ty::Message),
    ("IRequest", Ty::Message),
    ("IMessage", Ty::Message),
    ("X509Certificate2", Ty::Certificate),
    ("Random", Ty::Random),
    ("Exception", Ty::Exception),
    ("Uri", Ty::Uri),
    ("HMACSHA1", Ty::Crypto(CryptoClass::HmacSha1)),
    ("HMACSHA256", Ty::Crypto(CryptoClass::HmacSha256)),
    ("HMACSHA384", Ty::Crypto(CryptoClass::HmacSha384)),
    ("HMACSHA512", Ty::Crypto(CryptoClass::HmacSha512)),
    ("SHA1", Ty::Crypto(CryptoClass::Sha1)),
    ("SHA256", Ty::Crypto(CryptoClass::Sha256)),
    ("SHA384", Ty::Crypto(CryptoClass::Sha384)),
    ("SHA512", Ty::Crypto(CryptoClass::Sha512)),
    ("MD5", Ty::Crypto(CryptoClass::Md5)),
    ("Aes", Ty::Crypto(CryptoClass::Aes)),
    ("SymmetricAlgorithm", Ty::Crypto(CryptoClass::Aes)),
    ("Regex", Ty::Regex),
    ("Match", Ty::Match),
    ("Group", Ty::Match),
    ("XDocument", Ty::XDocument),
    ("XElement", Ty::XElement),
    ("XName", Ty::XName),
    ("XAttribute", Ty::XAttribute),
    ("RegexOptions", Ty::Static(StaticClass::RegexOptions)),
    ("Math", Ty::Static(StaticClass::Math)),
    ("Convert", Ty::Static(StaticClass::Convert)),
    ("Encoding", Ty::Static(StaticClass::Encoding)),
    (
        "StringComparison",
        Ty::Static(StaticClass::StringComparison),
    ),
    ("Array", Ty::Static(StaticClass::ArrayClass)),
    ("BitConverter", Ty::Static(StaticClass::BitConverter)),
    ("WebUtility", Ty::Static(StaticClass::WebUtility)),
    ("JsonConvert", Ty::Static(StaticClass::JsonConvert)),
    ("Formatting", Ty::Static(StaticClass::Formatting)),
    ("Enumerable", Ty::Static(StaticClass::Enumerable)),
];

const GENERICS: &[&str] = &[
    "List",
    "IList",
    "Dictionary",
    "IDictionary",
    "IReadOnlyDictionary",
    "KeyValuePair",
    "IEnumerable",
    "Nullable",
];

/// Resolves a (possibly namespace-qualified) simple type name without generic arguments.
pub fn simple(name: &str) -> Option<Ty> {
    let short = strip_namespace(name);
    NAMES
        .iter()
        .find(|(n, _)| *n == short)
        .map(|(_, t)| t.clone())
}

/// True when `name` is a generic type Portico knows (`List`, `Dictionary`, …).
pub fn is_generic(name: &str) -> bool {
    GENERICS.contains(&strip_namespace(name))
}

/// Builds a generic type from its name and arguments; `None` when the arity is wrong.
pub fn generic(name: &str, mut args: Vec<Ty>) -> Option<Ty> {
    let b = Box::new;
    Some(match (strip_namespace(name), args.len()) {
        ("List" | "IList", 1) => Ty::List(b(args.remove(0))),
        ("IEnumerable", 1) => Ty::Enumerable(b(args.remove(0))),
        ("Nullable", 1) => Ty::Nullable(b(args.remove(0))),
        ("Dictionary" | "IDictionary" | "IReadOnlyDictionary", 2) => {
            let k = args.remove(0);
            Ty::Dictionary(b(k), b(args.remove(0)))
        }
        ("KeyValuePair", 2) => {
            let k = args.remove(0);
            Ty::KeyValuePair(b(k), b(args.remove(0)))
        }
        _ => return None,
    })
}

pub fn strip_namespace(name: &str) -> &str {
    match name.rfind('.') {
        Some(i) if NAMESPACES.contains(&&name[..i]) => &name[i + 1..],
        _ => name,
    }
}

/// The list shown when a type name is unknown.
pub fn supported_list() -> String {
    let mut names: Vec<&str> = NAMES.iter().map(|(n, _)| *n).collect();
    names.extend(GENERICS.iter().copied());
    names.join(", ")
}

impl Ty {
    /// Integral and floating types, for arithmetic conversions.
    pub fn is_numeric(&self) -> bool {
        matches!(
            self,
            Ty::Byte
                | Ty::Short
                | Ty::Int
                | Ty::UInt
                | Ty::Long
                | Ty::ULong
                | Ty::Float
                | Ty::Double
                | Ty::Decimal
        )
    }
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::Array(t) => write!(f, "{t}[]"),
            Ty::List(t) => write!(f, "List<{t}>"),
            Ty::Enumerable(t) => write!(f, "IEnumerable<{t}>"),
            Ty::Nullable(t) => write!(f, "{t}?"),
            Ty::Dictionary(k, v) => write!(f, "Dictionary<{k}, {v}>"),
            Ty::KeyValuePair(k, v) => write!(f, "KeyValuePair<{k}, {v}>"),
            other => {
                let name = NAMES
                    .iter()
                    .find(|(_, t)| t == other)
                    .map_or("?", |(n, _)| *n);
                f.write_str(name)
            }
        }
    }
}
