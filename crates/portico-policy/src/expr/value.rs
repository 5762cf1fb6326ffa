//! Runtime values. Scalars are copied; .NET reference types (arrays, lists, dictionaries,
//! JObject/JArray) are shared behind `Arc<Mutex<…>>` so that `body.Add(…)` mutates the object
//! every alias sees. Values are `Send + Sync`, so a variable set by one policy can cross an
//! `.await` in the gateway before the next policy reads it. Locks are only ever held for the
//! duration of a copy or a single mutation, never while evaluating code, so they cannot deadlock.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

pub use super::builtins::crypto::CryptoObj;
pub use super::builtins::regex::RegexValue;
pub use super::builtins::xml::XmlRef;
use super::context::{CtxObj, Msg};
use super::time::{DateTime, DateTimeOffset, TimeSpan};
use super::types::Ty;

/// A value of the expression language.
#[derive(Clone, Debug, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Char(char),
    Int(i32),
    Long(i64),
    Double(f64),
    Str(Arc<str>),
    /// `T[]` and `List<T>`.
    Array(ArrayRef),
    /// `Dictionary<string, T>` (also JWT claims: string → string[]).
    Dict(DictRef),
    /// `KeyValuePair<K, V>`, as enumerated from a dictionary.
    Pair(Arc<(Value, Value)>),
    /// A JToken (JObject, JArray or JValue), by reference into its document.
    Json(JsonRef),
    /// A JProperty: the key a `JsonRef` path ends with, inside its parent object.
    JProperty(JsonRef),
    DateTime(DateTime),
    DateTimeOffset(DateTimeOffset),
    TimeSpan(TimeSpan),
    Guid(u128),
    Jwt(Arc<Jwt>),
    Basic(Arc<(String, String)>),
    Certificate(Arc<CertificateInfo>),
    /// A response or request kept in a variable (`send-request`'s `response-variable-name`).
    Message(Arc<StoredMessage>),
    Headers(Owner),
    Body(Owner),
    /// An object reached from `context` (`context.Request`, `context.Api`, …).
    Ctx(CtxObj),
    Random(Arc<Mutex<u64>>),
    /// A caught exception: `catch (Exception ex) { ex.Message }`.
    Exception(Arc<str>),
    /// A named constant such as `StringComparison.OrdinalIgnoreCase` or `Formatting.None`.
    Enum(&'static str, &'static str),
    /// `Encoding.UTF8` (and its siblings, which Portico treats alike for ASCII-safe text).
    Encoding(&'static str),
    /// A hash, HMAC or AES object (`new HMACSHA256(key)`, `SHA256.Create()`, `Aes.Create()`).
    Crypto(Arc<Mutex<CryptoObj>>),
    /// A compiled `Regex`, a `Match`/`Group`, or a match's `Groups`.
    Regex(RegexValue),
    /// An `XDocument`, `XElement`, `XName` or `XAttribute` (read-only).
    Xml(XmlRef),
}

/// Whose headers or body a `Headers`/`Body` value reads.
#[derive(Clone, Debug)]
pub enum Owner {
    Ctx(Msg),
    Stored(Arc<StoredMessage>),
}

/// A message captured in a variable, for example by `send-request`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StoredMessage {
    pub status_code: i32,
    pub status_reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Arc<[u8]>,
}

/// A certificate as expressions see it (`context.Request.Certificate`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CertificateInfo {
    pub subject: String,
    pub issuer: String,
    /// Upper-case hex SHA-1, as .NET prints it.
    pub thumbprint: String,
    pub serial_number: String,
    pub not_before: DateTime,
    pub not_after: DateTime,
}

/// A JWT decoded without validation by `AsJwt()`.
#[derive(Clone, Debug, PartialEq)]
pub struct Jwt {
    pub header: serde_json::Map<String, serde_json::Value>,
    pub claims: serde_json::Map<String, serde_json::Value>,
}

pub type ArrayRef = Arc<Mutex<ArrayData>>;
pub type DictRef = Arc<Mutex<Vec<(String, Value)>>>;

#[derive(Clone, Debug)]
pub struct ArrayData {
    pub elem: Ty,
    /// `List<T>` rather than `T[]` (lists grow; arrays do not).
    pub list: bool,
    pub items: Vec<Value>,
}

/// Locks a shared value. A poisoned lock cannot happen (nothing panics while holding one), but
/// if it did the data is still consistent, so it is used rather than panicking.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One step of a path from a JSON document's root.
#[derive(Clone, Debug, PartialEq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// A reference to a token inside a shared JSON document.
#[derive(Clone, Debug)]
pub struct JsonRef {
    pub root: Arc<Mutex<serde_json::Value>>,
    pub path: Arc<[Seg]>,
}

impl JsonRef {
    pub fn new(v: serde_json::Value) -> Self {
        JsonRef {
            root: Arc::new(Mutex::new(v)),
            path: Arc::from(Vec::new()),
        }
    }

    pub fn child(&self, seg: Seg) -> Self {
        let mut path = self.path.to_vec();
        path.push(seg);
        JsonRef {
            root: self.root.clone(),
            path: path.into(),
        }
    }

    /// Runs `f` on the token, or returns `None` when it no longer exists.
    pub fn with<R>(&self, f: impl FnOnce(&serde_json::Value) -> R) -> Option<R> {
        let root = lock(&self.root);
        resolve(&root, &self.path).map(f)
    }

    pub fn with_mut<R>(&self, f: impl FnOnce(&mut serde_json::Value) -> R) -> Option<R> {
        let mut root = lock(&self.root);
        resolve_mut(&mut root, &self.path).map(f)
    }

    /// A copy of the token.
    pub fn get(&self) -> Option<serde_json::Value> {
        self.with(Clone::clone)
    }

    pub fn same(&self, other: &JsonRef) -> bool {
        Arc::ptr_eq(&self.root, &other.root) && self.path == other.path
    }
}

fn resolve<'a>(mut v: &'a serde_json::Value, path: &[Seg]) -> Option<&'a serde_json::Value> {
    for seg in path {
        v = match seg {
            Seg::Key(k) => v.as_object()?.get(k)?,
            Seg::Index(i) => v.as_array()?.get(*i)?,
        };
    }
    Some(v)
}

fn resolve_mut<'a>(
    mut v: &'a mut serde_json::Value,
    path: &[Seg],
) -> Option<&'a mut serde_json::Value> {
    for seg in path {
        v = match seg {
            Seg::Key(k) => v.as_object_mut()?.get_mut(k)?,
            Seg::Index(i) => v.as_array_mut()?.get_mut(*i)?,
        };
    }
    Some(v)
}

impl Value {
    pub fn str(s: impl Into<Arc<str>>) -> Value {
        Value::Str(s.into())
    }

    pub fn array(elem: Ty, items: Vec<Value>) -> Value {
        Value::Array(Arc::new(Mutex::new(ArrayData {
            elem,
            list: false,
            items,
        })))
    }

    pub fn list(elem: Ty, items: Vec<Value>) -> Value {
        Value::Array(Arc::new(Mutex::new(ArrayData {
            elem,
            list: true,
            items,
        })))
    }

    pub fn bytes(bytes: &[u8]) -> Value {
        let items = bytes.iter().map(|b| Value::Int(i32::from(*b))).collect();
        Value::array(Ty::Byte, items)
    }

    pub fn strings<S: Into<Arc<str>>>(items: impl IntoIterator<Item = S>) -> Value {
        Value::array(Ty::String, items.into_iter().map(Value::str).collect())
    }

    pub fn json(v: serde_json::Value) -> Value {
        Value::Json(JsonRef::new(v))
    }

    pub fn dict(entries: Vec<(String, Value)>) -> Value {
        Value::Dict(Arc::new(Mutex::new(entries)))
    }

    pub fn is_null(&self) -> bool {
        match self {
            Value::Null => true,
            // A reference to a token that has since been removed reads as null.
            Value::Json(r) => r.with(|_| ()).is_none(),
            _ => false,
        }
    }

    /// The .NET type name, for error messages.
    pub fn type_name(&self) -> String {
        match self {
            Value::Null => "null".into(),
            Value::Bool(_) => "bool".into(),
            Value::Char(_) => "char".into(),
            Value::Int(_) => "int".into(),
            Value::Long(_) => "long".into(),
            Value::Double(_) => "double".into(),
            Value::Str(_) => "string".into(),
            Value::Array(a) => {
                let a = lock(a);
                if a.list {
                    format!("List<{}>", a.elem)
                } else {
                    format!("{}[]", a.elem)
                }
            }
            Value::Dict(_) => "Dictionary<string, object>".into(),
            Value::Pair(_) => "KeyValuePair".into(),
            Value::Json(r) => match r.with(json_kind) {
                Some(k) => k.into(),
                None => "JToken".into(),
            },
            Value::JProperty(_) => "JProperty".into(),
            Value::DateTime(_) => "DateTime".into(),
            Value::DateTimeOffset(_) => "DateTimeOffset".into(),
            Value::TimeSpan(_) => "TimeSpan".into(),
            Value::Guid(_) => "Guid".into(),
            Value::Jwt(_) => "Jwt".into(),
            Value::Basic(_) => "BasicAuthCredentials".into(),
            Value::Certificate(_) => "X509Certificate2".into(),
            Value::Message(_) => "IResponse".into(),
            Value::Headers(_) => "IReadOnlyDictionary<string, string[]>".into(),
            Value::Body(_) => "IMessageBody".into(),
            Value::Ctx(o) => o.type_name().into(),
            Value::Random(_) => "Random".into(),
            Value::Exception(_) => "Exception".into(),
            Value::Enum(t, _) => (*t).into(),
            Value::Encoding(_) => "Encoding".into(),
            Value::Crypto(c) => lock(c).class.name().into(),
            Value::Regex(r) => r.type_name().into(),
            Value::Xml(x) => super::builtins::xml::type_name(x).into(),
        }
    }
}

/// JObject, JArray or JValue, by the token's shape.
pub fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Object(_) => "JObject",
        serde_json::Value::Array(_) => "JArray",
        _ => "JValue",
    }
}

impl fmt::Display for Value {
    /// .NET's `ToString()`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&super::convert::to_string(self))
    }
}
