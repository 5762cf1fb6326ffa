//! `<validate-jwt>`: where the token comes from, what answers a failure, and what a valid
//! token must satisfy (keys inline or from OpenID discovery, audiences, issuers, required
//! claims). Encrypted tokens (`<decryption-keys>`) and keys by `certificate-id` are refused
//! by name.

use super::Policy;
use crate::template::{Param, Template};
use crate::xml::reader::El;

/// Where the token is read from (exactly one).
#[derive(Debug, Clone)]
pub enum TokenSource {
    Header(Template),
    Query(Template),
    Value(Template),
}

/// A signing key written in the policy.
#[derive(Debug, Clone)]
pub enum SigningKey {
    /// Base64 bytes of a symmetric (HMAC) key.
    Symmetric { id: Option<String>, key: Template },
    /// An RSA public key by base64url modulus and exponent.
    Rsa {
        id: Option<String>,
        n: String,
        e: String,
    },
}

/// `<claim>` of `<required-claims>`.
#[derive(Debug, Clone)]
pub struct RequiredClaim {
    pub name: String,
    /// `match="all"` (default): every value must be present; `any`: one is enough.
    pub match_all: bool,
    /// Splits a claim's text value into several values (`scp="a b"` with `separator=" "`).
    pub separator: Option<String>,
    pub values: Vec<Template>,
}

#[derive(Debug, Clone)]
pub struct ValidateJwt {
    pub source: TokenSource,
    /// APIM default: 401.
    pub failed_status: Param<u16>,
    /// `None`: APIM's default messages.
    pub failed_message: Option<Template>,
    /// APIM default: true.
    pub require_expiration_time: Param<bool>,
    pub require_scheme: Option<Template>,
    /// APIM default: true.
    pub require_signed_tokens: Param<bool>,
    /// Seconds of leeway on `exp` and `nbf`; APIM default 0.
    pub clock_skew: Param<u32>,
    pub output_token_variable_name: Option<String>,
    pub openid_configs: Vec<String>,
    pub keys: Vec<SigningKey>,
    pub audiences: Vec<Template>,
    pub issuers: Vec<Template>,
    pub required_claims: Vec<RequiredClaim>,
}

pub(super) fn validate_jwt(el: &El<'_, '_>) -> Option<Policy> {
    let mut a = el.attrs();
    let header = a.template("header-name");
    let query = a.template("query-parameter-name");
    let value = a.template("token-value");
    let failed_status = a.param("failed-validation-httpcode", "a status code", |c: &u16| {
        (100..=599).contains(c)
    });
    let failed_message = a.template("failed-validation-error-message");
    let require_exp = a.flag("require-expiration-time");
    let require_scheme = a.template("require-scheme");
    let require_signed = a.flag("require-signed-tokens");
    let clock_skew = a.param("clock-skew", "a number of seconds", |_: &u32| true);
    let output = a.literal("output-token-variable-name", false);
    a.finish();
    let source = match (header, query, value) {
        (Some(h), None, None) => TokenSource::Header(h),
        (None, Some(q), None) => TokenSource::Query(q),
        (None, None, Some(v)) => TokenSource::Value(v),
        _ => {
            el.error("give exactly one of header-name, query-parameter-name or token-value");
            return None;
        }
    };
    let mut policy = ValidateJwt {
        source,
        failed_status: failed_status.unwrap_or(Param::Value(401)),
        failed_message,
        require_expiration_time: require_exp.unwrap_or(Param::Value(true)),
        require_scheme,
        require_signed_tokens: require_signed.unwrap_or(Param::Value(true)),
        clock_skew: clock_skew.unwrap_or(Param::Value(0)),
        output_token_variable_name: output,
        openid_configs: Vec::new(),
        keys: Vec::new(),
        audiences: Vec::new(),
        issuers: Vec::new(),
        required_claims: Vec::new(),
    };
    for child in el.children() {
        match child.name() {
            "openid-config" => {
                let mut a = child.attrs();
                let url = a.literal("url", true);
                a.finish();
                child.expect_empty();
                policy.openid_configs.extend(url);
            }
            "issuer-signing-keys" => {
                child.attrs().finish();
                policy.keys.extend(child.children().filter_map(|k| key(&k)));
            }
            "audiences" => {
                child.attrs().finish();
                policy.audiences = texts(&child, "audience");
            }
            "issuers" => {
                child.attrs().finish();
                policy.issuers = texts(&child, "issuer");
            }
            "required-claims" => {
                child.attrs().finish();
                policy.required_claims = child.children().filter_map(|c| claim(&c)).collect();
            }
            "decryption-keys" => child.error(
                "encrypted tokens are not supported by Portico yet: remove <decryption-keys>",
            ),
            other => child.error(format!(
                "unexpected element <{other}>: expected openid-config, issuer-signing-keys, \
                 audiences, issuers or required-claims"
            )),
        }
    }
    Some(Policy::ValidateJwt(Box::new(policy)))
}

/// The text of each `<name>` child.
fn texts(list: &El<'_, '_>, name: &str) -> Vec<Template> {
    let mut out = Vec::new();
    for child in list.children() {
        if child.name() != name {
            child.error(format!("<{}> holds <{name}> elements only", list.name()));
            continue;
        }
        child.attrs().finish();
        out.extend(child.text(true));
    }
    out
}

fn key(el: &El<'_, '_>) -> Option<SigningKey> {
    if el.name() != "key" {
        el.error("<issuer-signing-keys> holds <key> elements only");
        return None;
    }
    let mut a = el.attrs();
    let id = a.literal("id", false);
    let n = a.literal("n", false);
    let e = a.literal("e", false);
    a.refuse(
        &["certificate-id"],
        ": give the key as base64 text, or as n and e",
    );
    a.finish();
    match (n, e) {
        (Some(n), Some(e)) => {
            el.expect_empty();
            Some(SigningKey::Rsa { id, n, e })
        }
        (None, None) => el.text(true).map(|key| SigningKey::Symmetric { id, key }),
        _ => {
            el.error("an RSA key needs both n and e");
            None
        }
    }
}

fn claim(el: &El<'_, '_>) -> Option<RequiredClaim> {
    if el.name() != "claim" {
        el.error("<required-claims> holds <claim> elements only");
        return None;
    }
    let mut a = el.attrs();
    let name = a.literal("name", true);
    let match_all = a.choice("match", &[("all", true), ("any", false)]);
    // Not `literal`: a separator is often a single space.
    let separator = a.template("separator");
    a.finish();
    let separator = match separator {
        Some(Template::Literal(l)) if !l.as_str().is_empty() => Some(l.as_str().to_owned()),
        Some(_) => {
            el.error("separator must be fixed, non-empty text");
            return None;
        }
        None => None,
    };
    Some(RequiredClaim {
        name: name?,
        match_all: match_all.unwrap_or(true),
        separator,
        values: texts(el, "value"),
    })
}
